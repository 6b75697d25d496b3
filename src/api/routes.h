#pragma once
// HTTP <-> service: parses requests (multipart, JSON, headers), calls one service function,
// serialises the outcome. Every response carries x-request-id; every error has the table's
// body. Routes:
//   POST /v3/faceauth                                  add-on key (x-api-key)
//   GET|DELETE /v3/faceauth, GET /v3/faceauth/image    add-on key (x-api-key)
//   POST|GET /v3/submissions, GET|DELETE /v3/submissions/{id},
//   POST /v3/submissions/{id}/approve|reject           KYC key (x-api-key)
//   /admin/v1/...                                      admin token (Authorization: Bearer)
// Under /v3 and /admin, a client address with too many 401s is answered 429 first.
//   GET /health, /ready, /metrics
// HEAD on any route is answered as GET (the server drops the body).
// The admin routes are listed in docs/openapi.yaml.

#include <functional>
#include <optional>
#include <string>

#include "api/auth_throttle.h"
#include "api/form.h"
#include "api/service.h"
#include "http/http_server.h"
#include "http/multipart.h"
#include "server/metrics.h"

namespace faceauth {

struct RouterConfig {
  Bytes admin_token_hash;                    // SHA-256 of the admin token
  size_t max_field_bytes = kFormFieldBytes;  // text fields longer than this: invalid_data_format
  std::function<bool()> ready;               // start-up complete, models loaded, storage reachable and writable
  AuthThrottleConfig auth_throttle{};        // repeated 401s per client address
  std::function<void()> on_store_error;      // a request met a StoreError (readiness)
  // True when a front (DashboardRouter) has authenticated and authorised every /admin/v1
  // request before it gets here: the bearer check is then not repeated.
  bool admin_checked_outside = false;
};

class ApiRouter {
 public:
  ApiRouter(FaceAuthService& service, Metrics& metrics, RouterConfig config);

  HttpResponse handle(const HttpRequest& request);
  HttpResponse protocol_error(HttpProtocolError error);
  // The per-address throttle of 401s, for a front that authenticates /admin/v1 itself: the
  // 429 for a blocked client address (or nothing), and the count of one more 401.
  std::optional<HttpResponse> auth_throttled(const HttpRequest& request, const std::string& request_id);
  void note_auth_failure(const HttpRequest& request);

 private:
  struct Context;
  HttpResponse dispatch(Context& context);
  HttpResponse faceauth(Context& context);
  std::optional<HttpResponse> take_idempotency_key(Context& context, std::string& key);
  HttpResponse history(Context& context);
  HttpResponse webhook(Context& context);
  HttpResponse submissions(Context& context, const std::string& kyc_project_id, size_t first_segment);
  HttpResponse admin(Context& context);
  HttpResponse admin_projects(Context& context);
  HttpResponse lockout(Context& context);
  HttpResponse respond(Context& context, const Outcome& outcome);
  HttpResponse fail(Context& context, ApiErrorCode code, std::string message = "");

  FaceAuthService& service_;
  Metrics& metrics_;
  RouterConfig config_;
  AuthThrottle throttle_;
};

}  // namespace faceauth
