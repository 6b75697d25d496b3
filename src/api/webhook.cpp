#include "api/webhook.h"

#include <sodium.h>

#include <algorithm>
#include <chrono>

#include <nlohmann/json.hpp>

namespace faceauth {
namespace {

std::string to_hex(const unsigned char* data, size_t size) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < size; ++i) out += {digits[data[i] >> 4], digits[data[i] & 15]};
  return out;
}

int64_t steady_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace

std::string webhook_signature(std::string_view secret, int64_t timestamp, std::string_view body) {
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(secret.data()), secret.size());
  std::string prefix = std::to_string(timestamp) + ".";
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(prefix.data()), prefix.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(body.data()), body.size());
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_final(&state, mac);
  return "v1=" + to_hex(mac, sizeof mac);
}

std::string webhook_payload(const Attempt& attempt, const std::string& create_time) {
  nlohmann::ordered_json data = {{"authentication_id", attempt.id},
                                 {"submission_id", attempt.submission_id},
                                 {"auth_status", attempt.approved ? "approved" : "rejected"},
                                 {"create_time", create_time},
                                 {"user_id", attempt.user_id},
                                 {"cf1", attempt.cf1},
                                 {"cf2", attempt.cf2},
                                 {"cf3", attempt.cf3}};
  nlohmann::ordered_json body = {{"webhook_trigger", "faceAuth"}, {"data", data}};
  return body.dump();
}

std::string new_webhook_secret() { return generate_key("whsec").key; }

int64_t webhook_backoff_ms(const WebhookRetry& retry, int attempts_done) {
  int64_t wait = retry.backoff_ms;
  for (int i = 1; i < attempts_done && wait < retry.backoff_max_ms; ++i) wait *= 2;
  return std::min<int64_t>(wait, retry.backoff_max_ms);
}

WebhookDeliverer::WebhookDeliverer(Store& store, const Sealer& sealer, WebhookRetry retry, WebhookSender sender,
                                   WebhookClock clock)
    : store_(store), sealer_(sealer), retry_(retry), sender_(std::move(sender)), clock_(std::move(clock)) {
  if (!clock_) clock_ = steady_ms;
  if (!sender_) {
    sender_ = [](const HttpUrl& url, const std::vector<std::pair<std::string, std::string>>& headers,
                 std::string_view body,
                 int timeout_ms) { return http_post(url, headers, "application/json", body, timeout_ms); };
  }
}

int WebhookDeliverer::deliver_due(int64_t now_ms, int limit) {
  // The lease covers every try of the batch, so no other server picks one up meanwhile.
  const int64_t lease = std::max<int64_t>(retry_.lease_ms, int64_t{limit} * (retry_.timeout_ms + 1000));
  std::vector<WebhookEvent> due = store_.claim_webhook_events(now_ms, limit, lease);
  for (WebhookEvent& event : due) deliver(std::move(event), now_ms);
  return static_cast<int>(due.size());
}

int64_t WebhookDeliverer::wait_ms(int64_t now_ms) {
  std::optional<int64_t> next = store_.next_webhook_due_ms();
  if (!next) return -1;
  return std::max<int64_t>(0, *next - now_ms);
}

void WebhookDeliverer::deliver(WebhookEvent event, int64_t now_ms) {
  WebhookDelivery log;
  log.event_id = event.id;
  log.kyc_project_id = event.kyc_project_id;
  log.attempt_id = event.attempt_id;
  log.attempt = event.attempts + 1;
  log.started_ms = now_ms;
  std::optional<KycProject> project = store_.get_kyc_project(event.kyc_project_id);
  std::optional<HttpUrl> url = project ? parse_http_url(project->webhook_url) : std::nullopt;
  std::optional<Bytes> secret = project ? sealer_.open(project->webhook_secret_sealed) : std::nullopt;
  event.attempts += 1;
  if (!url || !secret) {  // the webhook was removed (or never valid): nothing to retry
    log.url = project ? project->webhook_url : "";
    log.error = "no valid webhook URL and secret on the KYC project";
    event.state = WebhookState::failed;
  } else {
    log.url = project->webhook_url;
    int64_t timestamp = now_ms / 1000;
    std::string key(secret->begin(), secret->end());
    std::vector<std::pair<std::string, std::string>> headers = {
        {"X-FaceAuth-Event-Id", event.id},
        {"X-FaceAuth-Timestamp", std::to_string(timestamp)},
        {"X-FaceAuth-Signature", webhook_signature(key, timestamp, event.payload)}};
    sodium_memzero(key.data(), key.size());
    sodium_memzero(secret->data(), secret->size());
    int64_t started = clock_();
    HttpPostResult result = sender_(*url, headers, event.payload, retry_.timeout_ms);
    log.duration_ms = static_cast<double>(clock_() - started);
    log.http_status = result.status;
    bool ok = result.status >= 200 && result.status < 300;
    log.error = ok ? "" : result.status ? "HTTP " + std::to_string(result.status) : result.error;
    event.state = ok                                      ? WebhookState::delivered
                  : event.attempts >= retry_.max_attempts ? WebhookState::failed
                                                          : WebhookState::pending;
    event.next_attempt_ms = now_ms + static_cast<int64_t>(log.duration_ms) + webhook_backoff_ms(retry_, event.attempts);
  }
  log.event_state = event.state;
  store_.record_webhook_delivery(log, event);
}

}  // namespace faceauth
