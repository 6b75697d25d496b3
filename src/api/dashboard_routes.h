#pragma once
// The front of faceauthd: serves the dashboard under /dashboard/, signs people in and out
// (/admin/v1/auth/...), authenticates every /admin/v1 request (the admin bearer token, or a
// session cookie with its CSRF token and a same-origin Origin on state-changing requests),
// authorises it by role, records each change in the audit log, and answers the admin routes
// the dashboard adds (users, audit, stats, calibration, attempts, images, try-it, webhook
// redelivery and secret rotation, FaceAuth project rename). Everything else goes to ApiRouter.
//
// Cookies: fa_session (HttpOnly, SameSite=Strict, Path=/, Secure when the public URL is
// https) holds the session token; fa_signin (same flags) the double-submit token of the
// sign-in form, which GET /admin/v1/auth/csrf hands out. A state-changing request with a
// session cookie needs the header X-CSRF-Token: the session's CSRF token (from sign-in or GET
// /admin/v1/auth/session). Bearer requests need no CSRF token (no browser sends one by itself).

#include <functional>
#include <string>
#include <vector>

#include "api/accounts.h"
#include "api/dashboard_assets.h"
#include "api/dashboard_stats.h"
#include "api/routes.h"

namespace faceauth {

struct DashboardConfig {
  Bytes admin_token_hash;      // SHA-256 of the admin token
  std::string public_url;      // http(s)://host:port as people reach the server; https turns on Secure
  nlohmann::json calibration;  // the embedder's calibration entry ("knots", "rates_at_score", ...), or null
  std::string embedder;        // its name, shown beside the threshold
  std::function<void()> on_webhook_requeued;  // wake the delivery worker
  std::function<bool()> ready;
};

class DashboardRouter {
 public:
  // `api` must have been built with RouterConfig::admin_checked_outside = true.
  DashboardRouter(ApiRouter& api, FaceAuthService& service, Accounts& accounts, EnginePool& engines,
                  const Sealer& sealer, DashboardStats& stats, DashboardConfig config,
                  const std::vector<EmbeddedFile>& files = dashboard_files());

  HttpResponse handle(const HttpRequest& request);

 private:
  struct Call;
  HttpResponse route(Call& call);
  HttpResponse serve_file(Call& call);
  HttpResponse auth(Call& call);
  HttpResponse admin(Call& call);
  std::optional<HttpResponse> extra(Call& call);
  std::optional<HttpResponse> gate(Call& call);
  HttpResponse users(Call& call);
  HttpResponse audit(Call& call);
  HttpResponse attempts(Call& call);
  HttpResponse attempt_image(Call& call, const std::string& project_id, const std::string& id);
  HttpResponse submission_image(Call& call);
  HttpResponse try_it(Call& call);
  HttpResponse webhook_extra(Call& call);
  HttpResponse rename_faceauth(Call& call);
  void record_audit(const Call& call, int status);

  ApiRouter& api_;
  FaceAuthService& service_;
  Accounts& accounts_;
  EnginePool& engines_;
  const Sealer& sealer_;
  DashboardStats& stats_;
  DashboardConfig config_;
  const std::vector<EmbeddedFile>& files_;
};

// "name=value; other=..." -> the value of `name`, or "".
std::string cookie_value(const HttpRequest& request, const std::string& name);
// The scheme://host[:port] of a URL ("" when it has none).
std::string url_origin(const std::string& url);

}  // namespace faceauth
