// DashboardRouter: static files, sign-in, the admin API's gate (authentication, CSRF, Origin,
// roles) and the audit log. The dashboard's own admin routes are in dashboard_admin.cpp.
#include "api/dashboard_call.h"

#include <chrono>
#include <sstream>

#include "crypto/passwords.h"
#include "http/text.h"

namespace faceauth {

namespace {

constexpr const char* kSessionCookie = "fa_session";
constexpr const char* kSignInCookie = "fa_signin";
constexpr const char* kCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
    "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

bool changes_state(const std::string& method) { return method != "GET" && method != "HEAD"; }

std::string content_type_for(std::string_view path) {
  auto ends = [&](std::string_view suffix) {
    return path.size() >= suffix.size() && path.substr(path.size() - suffix.size()) == suffix;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  if (ends(".json")) return "application/json";
  if (ends(".ico")) return "image/x-icon";
  if (ends(".txt")) return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

void security_headers(HttpResponse& response) {
  response.headers.emplace_back("Content-Security-Policy", kCsp);
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  response.headers.emplace_back("Referrer-Policy", "no-referrer");
  response.headers.emplace_back("X-Frame-Options", "DENY");
  response.headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
}

std::string cookie(const std::string& name, const std::string& value, int64_t max_age_s, bool secure) {
  std::string out = name + "=" + value + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(max_age_s);
  if (secure) out += "; Secure";
  return out;
}

HttpResponse json_response(int status, const nlohmann::json& body) {
  HttpResponse response;
  response.status = status;
  response.body = body.dump();
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

// The error body of the table, with our code "forbidden" (403): signed in, but not allowed.
HttpResponse forbidden(const std::string& request_id, const std::string& message) {
  HttpResponse response =
      json_response(403, {{"errorCode", "forbidden"}, {"message", message}, {"traceId", request_id}});
  response.headers.emplace_back("x-request-id", request_id);
  return response;
}

// A hashed asset name: "assets/NAME-HASH.EXT" (esbuild's [name]-[hash]).
bool hashed_asset(std::string_view path) { return path.rfind("assets/", 0) == 0 && path.find('-') != path.npos; }

}  // namespace

std::string cookie_value(const HttpRequest& request, const std::string& name) {
  auto range = request.headers.equal_range("cookie");
  for (auto it = range.first; it != range.second; ++it) {
    std::stringstream stream(it->second);
    std::string part;
    while (std::getline(stream, part, ';')) {
      size_t start = part.find_first_not_of(' ');
      if (start == std::string::npos) continue;
      part = part.substr(start);
      if (part.size() > name.size() && part.compare(0, name.size(), name) == 0 && part[name.size()] == '=') {
        return part.substr(name.size() + 1);
      }
    }
  }
  return "";
}

std::string url_origin(const std::string& url) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) return "";
  size_t end = url.find('/', scheme + 3);
  return url.substr(0, end);
}

DashboardRouter::DashboardRouter(ApiRouter& api, FaceAuthService& service, Accounts& accounts, EnginePool& engines,
                                 const Sealer& sealer, DashboardStats& stats, DashboardConfig config,
                                 const std::vector<EmbeddedFile>& files)
    : api_(api),
      service_(service),
      accounts_(accounts),
      engines_(engines),
      sealer_(sealer),
      stats_(stats),
      config_(std::move(config)),
      files_(files) {}

HttpResponse DashboardRouter::handle(const HttpRequest& request) {
  auto started = std::chrono::steady_clock::now();
  Call call{request, request_id_for(request), split_path(request.path), std::nullopt, ""};
  HttpResponse response;
  try {
    response = route(call);
  } catch (const std::logic_error& e) {
    response = error_response({ApiErrorCode::invalid_data_format, e.what()}, call.request_id);
  } catch (const StoreError&) {
    response = error_response({ApiErrorCode::data_processing_error, ""}, call.request_id);
  } catch (const std::exception&) {
    response = error_response({ApiErrorCode::detection_server_error, ""}, call.request_id);
  }
  bool has_id = false;
  for (const auto& header : response.headers) has_id = has_id || header.first == "x-request-id";
  if (!has_id) response.headers.emplace_back("x-request-id", call.request_id);
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  int decision = 0;
  bool decides = request.method == "POST" &&
                 (request.path == "/v3/faceauth" || (call.segments.size() == 5 && call.segments[4] == "try-it"));
  if (decides && response.status == 200) {
    bool approved = response.body.find("\"auth_status\":\"approved\"") != std::string::npos;
    decision = approved ? 1 : -1;
  }
  stats_.observe(now_ms(), response.status, ms, decision);
  return response;
}

HttpResponse DashboardRouter::route(Call& call) {
  const auto& s = call.segments;
  if (!s.empty() && s[0] == "dashboard") return serve_file(call);
  if (s.empty() && call.request.method == "GET") {
    HttpResponse moved;
    moved.status = 302;
    moved.headers.emplace_back("Location", "/dashboard/");
    moved.content_type = "text/plain; charset=utf-8";
    moved.body = "the dashboard is at /dashboard/\n";
    return moved;
  }
  if (s.size() >= 3 && s[0] == "admin" && s[1] == "v1" && s[2] == "auth") return auth(call);
  if (s.size() >= 2 && s[0] == "admin" && s[1] == "v1") return admin(call);
  return api_.handle(call.request);
}

HttpResponse DashboardRouter::serve_file(Call& call) {
  const std::string& path = call.request.path;
  if (call.request.method != "GET" && call.request.method != "HEAD") {
    return error_response({ApiErrorCode::method_not_allowed, ""}, call.request_id);
  }
  if (path == "/dashboard") {
    HttpResponse moved;
    moved.status = 301;
    moved.headers.emplace_back("Location", "/dashboard/");
    moved.content_type = "text/plain; charset=utf-8";
    return moved;
  }
  std::string_view relative = std::string_view(path).substr(std::string_view("/dashboard/").size());
  if (relative.empty()) relative = "index.html";
  for (const EmbeddedFile& file : files_) {
    if (file.path != relative) continue;
    HttpResponse response;
    response.content_type = content_type_for(file.path);
    response.body = std::string(file.data);
    response.headers.emplace_back("Cache-Control",
                                  hashed_asset(file.path) ? "public, max-age=31536000, immutable" : "no-cache");
    security_headers(response);
    return response;
  }
  if (files_.empty()) {
    return error_response({ApiErrorCode::not_found, "the dashboard was not built (run scripts/setup.sh)"},
                          call.request_id);
  }
  return error_response({ApiErrorCode::not_found, ""}, call.request_id);
}

// Same origin: the Origin header names this server (its public URL, or the Host it was
// reached at), and Sec-Fetch-Site, when sent, says same-origin.
static bool same_origin(const HttpRequest& request, const std::string& public_url) {
  const std::string* origin = request.header("origin");
  if (!origin) return false;
  const std::string* site = request.header("sec-fetch-site");
  if (site && *site != "same-origin") return false;
  std::string mine = url_origin(public_url);
  if (!mine.empty() && *origin == mine) return true;
  const std::string* host = request.header("host");
  return host && (*origin == "http://" + *host || *origin == "https://" + *host);
}

HttpResponse DashboardRouter::auth(Call& call) {
  const auto& s = call.segments;
  const std::string& method = call.request.method;
  bool secure = config_.public_url.rfind("https://", 0) == 0;
  if (s.size() == 4 && s[3] == "csrf" && method == "GET") {
    std::string token = random_token_hex();
    HttpResponse response = json_response(200, {{"csrf_token", token}});
    response.headers.emplace_back("Set-Cookie", cookie(kSignInCookie, token, 3600, secure));
    return response;
  }
  if (s.size() == 4 && s[3] == "session" && method == "GET") {
    std::string token = cookie_value(call.request, kSessionCookie);
    std::optional<Principal> who = accounts_.session(token, now_ms());
    if (!who) return error_response({ApiErrorCode::unauthorized, "not signed in"}, call.request_id);
    return json_response(
        200, {{"user", {{"name", who->actor}, {"role", role_name(who->role)}}}, {"csrf_token", csrf_token_for(token)}});
  }
  if (s.size() == 4 && s[3] == "sign-in" && method == "POST") {
    std::string expected = cookie_value(call.request, kSignInCookie);
    const std::string* given = call.request.header("x-csrf-token");
    if (!same_origin(call.request, config_.public_url)) {
      return forbidden(call.request_id, "cross-site request refused (Origin)");
    }
    if (!given || !same_text(*given, expected)) return forbidden(call.request_id, "missing or wrong CSRF token");
    nlohmann::json body = nlohmann::json::parse(call.request.body, nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body.value("username", nlohmann::json()).is_string() ||
        !body.value("password", nlohmann::json()).is_string()) {
      return error_response({ApiErrorCode::required_field_missing, "username and password are required"},
                            call.request_id);
    }
    std::string name = body["username"], password = body["password"];
    SignIn result = accounts_.sign_in(name, password, call.request.client_address, now_ms());
    call.audit_actor = is_valid_text(name) ? utf8_prefix(name, 64) : "(not a name)";
    HttpResponse response;
    if (result.result == SignIn::Result::throttled) {
      ApiError error{ApiErrorCode::too_many_requests, "too many failed sign-ins; try again later"};
      error.retry_after_seconds = static_cast<int>((result.retry_after_ms + 999) / 1000);
      response = error_response(error, call.request_id);
    } else if (result.result == SignIn::Result::bad_credentials) {
      response = error_response({ApiErrorCode::unauthorized, "wrong user name or password"}, call.request_id);
    } else {
      call.who = Principal{result.user.name, result.user.role, result.user.id, result.token};
      response = json_response(200, {{"user", {{"name", result.user.name}, {"role", role_name(result.user.role)}}},
                                     {"csrf_token", result.csrf_token},
                                     {"expire_time", iso_time(result.expires_ms)}});
      int64_t max_age = (result.expires_ms - now_ms()) / 1000;
      response.headers.emplace_back("Set-Cookie", cookie(kSessionCookie, result.token, max_age, secure));
      response.headers.emplace_back("Set-Cookie", cookie(kSignInCookie, "", 0, secure));
    }
    record_audit(call, response.status);
    return response;
  }
  if (s.size() == 4 && s[3] == "sign-out" && method == "POST") {
    if (std::optional<HttpResponse> denied = gate(call)) return *denied;
    if (!call.who->bearer()) accounts_.sign_out(call.who->session_token);
    HttpResponse response = json_response(200, {{"message", "success"}});
    response.headers.emplace_back("Set-Cookie", cookie(kSessionCookie, "", 0, secure));
    record_audit(call, response.status);
    return response;
  }
  return error_response({ApiErrorCode::not_found, ""}, call.request_id);
}

// Authenticates and authorises an /admin/v1 request; the refusal, or nothing (call.who set).
std::optional<HttpResponse> DashboardRouter::gate(Call& call) {
  const HttpRequest& request = call.request;
  const std::string* auth = request.header("authorization");
  const std::string prefix = "Bearer ";
  if (auth) {
    if (auth->rfind(prefix, 0) != 0 || config_.admin_token_hash.empty() ||
        !same_hash(hash_key(auth->substr(prefix.size())), config_.admin_token_hash)) {
      return error_response({ApiErrorCode::unauthorized, ""}, call.request_id);
    }
    call.who = Principal{"admin-token", Role::owner, "", ""};
    return std::nullopt;
  }
  std::string token = cookie_value(request, kSessionCookie);
  call.who = accounts_.session(token, now_ms());
  if (!call.who) return error_response({ApiErrorCode::unauthorized, ""}, call.request_id);
  if (changes_state(request.method)) {
    const std::string* csrf = request.header("x-csrf-token");
    if (!same_origin(request, config_.public_url)) {
      return forbidden(call.request_id, "cross-site request refused (Origin)");
    }
    if (!csrf || !same_text(*csrf, csrf_token_for(token))) {
      return forbidden(call.request_id, "missing or wrong CSRF token");
    }
  }
  if (!role_allows(call.who->role, request.method, request.path)) {
    return forbidden(call.request_id, std::string("the role ") + role_name(call.who->role) + " may not do this");
  }
  return std::nullopt;
}

HttpResponse DashboardRouter::admin(Call& call) {
  std::optional<HttpResponse> blocked = api_.auth_throttled(call.request, call.request_id);
  if (blocked) return std::move(*blocked);
  std::optional<HttpResponse> denied = gate(call);
  // A wrong bearer token counts toward the address's 401 throttle, as on the API's own routes.
  if (denied && denied->status == 401 && call.request.header("authorization")) api_.note_auth_failure(call.request);
  if (denied) {
    if (call.who && changes_state(call.request.method)) record_audit(call, denied->status);
    return *denied;
  }
  std::optional<HttpResponse> mine = extra(call);
  HttpResponse response = mine ? std::move(*mine) : api_.handle(call.request);
  for (const auto& header : response.headers) {
    if (header.first == "x-request-id") call.request_id = header.second;  // ApiRouter's own
  }
  if (changes_state(call.request.method)) record_audit(call, response.status);
  return response;
}

void DashboardRouter::record_audit(const Call& call, int status) {
  AuditEntry entry;
  entry.time_ms = now_ms();
  entry.actor = call.who ? call.who->actor : "anonymous";
  entry.role = call.who ? role_name(call.who->role) : "";
  if (!call.who && !call.audit_actor.empty()) entry.actor = "anonymous (" + call.audit_actor + ")";
  // The route with its ids replaced, the ids apart: no query string (it may hold a search).
  std::string action = call.request.method, target;
  for (size_t i = 0; i < call.segments.size(); ++i) {
    bool id = i >= 3 && (call.segments[i - 1] == "kyc-projects" || call.segments[i - 1] == "faceauth-projects" ||
                         call.segments[i - 1] == "submissions" || call.segments[i - 1] == "attempts" ||
                         call.segments[i - 1] == "users" || call.segments[i - 1] == "events");
    // Appends, not operator+: GCC 12's -Wrestrict misreads "x" + std::string&& at -O2.
    action.append(i == 0 ? " /" : "/");
    action.append(id ? std::string_view("{id}") : std::string_view(call.segments[i]));
    if (!id) continue;
    if (!target.empty()) target.push_back(' ');
    target.append(call.segments[i], 0, 128);
  }
  entry.action = action;
  entry.target = target;
  entry.status = status;
  entry.client_address = call.request.client_address;
  entry.request_id = call.request_id;
  service_.store().append_audit(entry);
}

}  // namespace faceauth
