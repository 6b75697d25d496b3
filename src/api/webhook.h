#pragma once
// Webhooks of a KYC project: the event body, its signature, and delivery with retries.
//
// Signature (docs/webhooks.md): headers
//   X-FaceAuth-Event-Id:  the event's id (the same on every retry: deduplicate on it)
//   X-FaceAuth-Timestamp: Unix seconds when this try was signed
//   X-FaceAuth-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>
// Receivers recompute the HMAC over the raw body, compare in constant time, and refuse a
// timestamp more than 300 s from their clock.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto/secrets.h"
#include "http/http_client.h"
#include "store/store.h"

namespace faceauth {

constexpr int kWebhookToleranceSeconds = 300;

// "v1=" + lower-case hex of HMAC-SHA256(secret, timestamp "." body).
std::string webhook_signature(std::string_view secret, int64_t timestamp, std::string_view body);

// {"webhook_trigger": "faceAuth", "data": {authentication_id, submission_id, auth_status,
// create_time, user_id, cf1, cf2, cf3}}
std::string webhook_payload(const Attempt& attempt, const std::string& create_time);

// A new random secret to show once ("whsec_" + 43 base64url characters).
std::string new_webhook_secret();

struct WebhookRetry {
  int backoff_ms = 1000;        // wait after the first failed try; doubles after each one
  int backoff_max_ms = 300000;  // the cap of that wait
  int max_attempts = 8;         // tries before the event is marked failed
  int timeout_ms = 5000;        // per try: connect, send, status line
  int lease_ms = 30000;         // a claimed event is this server's for so long (then another's)
};

// The wait before try number attempts_done + 1.
int64_t webhook_backoff_ms(const WebhookRetry& retry, int attempts_done);

using WebhookSender =
    std::function<HttpPostResult(const HttpUrl& url, const std::vector<std::pair<std::string, std::string>>& headers,
                                 std::string_view body, int timeout_ms)>;

// A monotonic clock in milliseconds; it times each try, whose length delays the next one.
using WebhookClock = std::function<int64_t()>;

// Delivers due events from the store's outbox, one at a time, logging each try. Not
// thread-safe: one deliverer per process.
class WebhookDeliverer {
 public:
  WebhookDeliverer(Store& store, const Sealer& sealer, WebhookRetry retry, WebhookSender sender = {},
                   WebhookClock clock = {});

  // Tries every event due at now_ms (at most `limit`); returns how many were tried.
  int deliver_due(int64_t now_ms, int limit = 50);
  // Milliseconds until the next pending event is due (0 when one is due now), or -1 when none.
  int64_t wait_ms(int64_t now_ms);

 private:
  void deliver(WebhookEvent event, int64_t now_ms);

  Store& store_;
  const Sealer& sealer_;
  WebhookRetry retry_;
  WebhookSender sender_;
  WebhookClock clock_;
};

}  // namespace faceauth
