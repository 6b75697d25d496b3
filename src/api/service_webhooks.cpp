// FaceAuthService: webhook configuration of KYC projects, the outbox event of an attempt,
// and the delivery log.
#include <stdexcept>

#include "api/service.h"
#include "api/webhook.h"
#include "http/http_client.h"
#include "http/text.h"

namespace faceauth {
namespace {

std::span<const uint8_t> as_bytes(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// A caller's secret: 16-256 printable ASCII characters.
std::string secret_field(const nlohmann::json& request) {
  const nlohmann::json& value = request.at("secret");
  if (!value.is_string()) throw std::invalid_argument("secret must be a string");
  std::string secret = value.get<std::string>();
  if (secret.size() < 16 || secret.size() > 256) throw std::invalid_argument("secret must be 16-256 characters");
  for (char c : secret) {
    if (c < 0x21 || c > 0x7e) throw std::invalid_argument("secret must be printable ASCII without spaces");
  }
  return secret;
}

nlohmann::ordered_json webhook_json(const KycProject& project) {
  return {{"kyc_project_id", project.id},
          {"url", project.webhook_url},
          {"has_secret", !project.webhook_secret_sealed.empty()}};
}

nlohmann::ordered_json delivery_json(const WebhookDelivery& d) {
  return {{"seq", d.seq},
          {"event_id", d.event_id},
          {"authentication_id", d.attempt_id},
          {"url", d.url},
          {"attempt", d.attempt},
          {"time", iso_time(d.started_ms)},
          {"http_status", d.http_status},
          {"error", d.error},
          {"duration_ms", d.duration_ms},
          {"event_state", webhook_state_name(d.event_state)}};
}

}  // namespace

std::optional<std::string> FaceAuthService::apply_webhook_url(KycProject& project, const std::string& url) {
  if (url.empty()) {
    project.webhook_url.clear();
    project.webhook_secret_sealed.clear();
    return std::nullopt;
  }
  if (!is_valid_text(url) || !parse_http_url(url)) {
    throw std::invalid_argument("webhook_url must be an http:// URL (http://host[:port][/path])");
  }
  project.webhook_url = url;
  if (!project.webhook_secret_sealed.empty()) return std::nullopt;
  std::string secret = new_webhook_secret();
  project.webhook_secret_sealed = sealer_.seal(as_bytes(secret));
  return secret;
}

std::optional<WebhookEvent> FaceAuthService::webhook_event_for(const std::string& kyc_project_id,
                                                               const Attempt& attempt) {
  std::optional<KycProject> project = store_.get_kyc_project(kyc_project_id);
  if (!project || project->webhook_url.empty()) return std::nullopt;
  WebhookEvent event;
  event.id = random_uuid();
  event.kyc_project_id = kyc_project_id;
  event.attempt_id = attempt.id;
  event.payload = webhook_payload(attempt, iso_time(attempt.created_ms));
  event.created_ms = event.next_attempt_ms = attempt.created_ms;
  return event;
}

Outcome FaceAuthService::get_webhook(const std::string& kyc_project_id) {
  std::optional<KycProject> project = store_.get_kyc_project(kyc_project_id);
  if (!project) return Outcome::fail(ApiErrorCode::not_found, "No such KYC project");
  return Outcome::ok(webhook_json(*project));
}

Outcome FaceAuthService::set_webhook(const std::string& kyc_project_id, const nlohmann::json& request) {
  std::optional<KycProject> project = store_.get_kyc_project(kyc_project_id);
  if (!project) return Outcome::fail(ApiErrorCode::not_found, "No such KYC project");
  // As every admin route: a missing or malformed field of the JSON body is invalid_data_format.
  if (!request.contains("url") || !request.at("url").is_string() || request.at("url").get<std::string>().empty()) {
    return Outcome::fail(ApiErrorCode::invalid_data_format, "url is required (an http:// URL)");
  }
  std::optional<std::string> given;
  if (request.contains("secret")) given = secret_field(request);
  if (given) project->webhook_secret_sealed.clear();
  std::optional<std::string> made = apply_webhook_url(*project, request.at("url").get<std::string>());
  if (given) {
    made.reset();
    project->webhook_secret_sealed = sealer_.seal(as_bytes(*given));
  }
  if (!store_.update_kyc_project(*project)) return Outcome::fail(ApiErrorCode::not_found, "No such KYC project");
  nlohmann::ordered_json body = webhook_json(*project);
  if (made) body["secret"] = *made;  // shown once; only its sealed form is kept
  return Outcome::ok(body);
}

Outcome FaceAuthService::delete_webhook(const std::string& kyc_project_id) {
  std::optional<KycProject> project = store_.get_kyc_project(kyc_project_id);
  if (!project) return Outcome::fail(ApiErrorCode::not_found, "No such KYC project");
  apply_webhook_url(*project, "");
  if (!store_.update_kyc_project(*project)) return Outcome::fail(ApiErrorCode::not_found, "No such KYC project");
  return Outcome::ok({{"message", "success"}});
}

Outcome FaceAuthService::list_webhook_deliveries(const std::string& kyc_project_id, int64_t after_seq, int limit) {
  if (!store_.get_kyc_project(kyc_project_id)) return Outcome::fail(ApiErrorCode::not_found, "No such KYC project");
  std::vector<WebhookDelivery> page = store_.list_webhook_deliveries(kyc_project_id, after_seq, limit);
  nlohmann::ordered_json items = nlohmann::ordered_json::array();
  for (const WebhookDelivery& d : page) items.push_back(delivery_json(d));
  nlohmann::ordered_json body = {{"deliveries", items}};
  if (!page.empty() && static_cast<int>(page.size()) == limit) body["next_after"] = page.back().seq;
  return Outcome::ok(body);
}

}  // namespace faceauth
