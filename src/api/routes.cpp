#include "api/routes.h"

#include "api/form.h"

#include <algorithm>

#include <chrono>
#include <cstdint>
#include <optional>
#include <sstream>

namespace faceauth {

struct ApiRouter::Context {
  const HttpRequest& request;
  std::string request_id;
  std::string route = "other";
  std::vector<std::string> segments;  // path split on '/'
};

namespace {

bool plain_id(const std::string& text) {
  if (text.empty() || text.size() > 128) return false;
  for (char c : text) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
  }
  return true;
}

// Digits only, within [low, high].
bool parse_whole(const std::string& text, int64_t low, int64_t high, int64_t& out) {
  if (text.empty() || text.size() > 18) return false;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  if (value < low || value > high) return false;
  out = value;
  return true;
}

// A query parameter; an empty value counts as absent.
std::optional<std::string> query_param(const HttpRequest& request, std::string_view name) {
  const std::string* value = request.query_value(name);
  if (!value || value->empty()) return std::nullopt;
  return *value;
}

std::optional<nlohmann::json> json_body(const HttpRequest& request) {
  if (request.body.empty()) return nlohmann::json::object();
  nlohmann::json doc = nlohmann::json::parse(request.body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  return doc;
}

}  // namespace

ApiRouter::ApiRouter(FaceAuthService& service, Metrics& metrics, RouterConfig config)
    : service_(service), metrics_(metrics), config_(std::move(config)), throttle_(config_.auth_throttle) {}

HttpResponse ApiRouter::handle(const HttpRequest& request) {
  if (request.method == "HEAD") {  // as GET; the server sends no body
    HttpRequest get = request;
    get.method = "GET";
    return handle(get);
  }
  auto started = std::chrono::steady_clock::now();
  Context context{request, request_id_for(request), "other", split_path(request.path)};
  HttpResponse response;
  try {
    response = dispatch(context);
  } catch (const nlohmann::json::exception&) {  // a JSON field of the wrong type in a client's body
    response = fail(context, ApiErrorCode::invalid_data_format, "a field of the JSON body has the wrong type");
  } catch (const std::logic_error& e) {  // invalid_argument, out_of_range: bad client input (our messages)
    response = fail(context, ApiErrorCode::invalid_data_format, e.what());
  } catch (const StoreError&) {
    if (config_.on_store_error) config_.on_store_error();
    response = fail(context, ApiErrorCode::data_processing_error);
  } catch (const std::exception&) {
    response = fail(context, ApiErrorCode::detection_server_error);
  }
  if (response.status == 401) note_auth_failure(request);
  bool has_id = false;
  for (const auto& header : response.headers) has_id = has_id || header.first == "x-request-id";
  if (!has_id) response.headers.emplace_back("x-request-id", context.request_id);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  metrics_.observe_request(context.route, response.status, seconds);
  return response;
}

std::optional<HttpResponse> ApiRouter::auth_throttled(const HttpRequest& request, const std::string& request_id) {
  int retry_after = 1;
  if (!throttle_.blocked(address_host(request.client_address), retry_after)) return std::nullopt;
  return error_response({ApiErrorCode::too_many_requests,
                         "Too many requests with an unknown key or token from this address; retry after "
                         "Retry-After seconds",
                         retry_after},
                        request_id);
}

void ApiRouter::note_auth_failure(const HttpRequest& request) {
  throttle_.record_failure(address_host(request.client_address));
}

HttpResponse ApiRouter::protocol_error(HttpProtocolError error) {
  std::string id = random_hex_id();
  ApiErrorCode code = error == HttpProtocolError::header_too_large ? ApiErrorCode::header_too_large
                      : error == HttpProtocolError::body_too_large ? ApiErrorCode::image_too_large
                      : error == HttpProtocolError::overloaded     ? ApiErrorCode::detection_server_error
                                                                   : ApiErrorCode::invalid_data_format;
  metrics_.observe_request("protocol_error", api_error_status(code), 0.0);
  std::string message = error == HttpProtocolError::overloaded ? "The server is busy; retry" : "";
  return error_response({code, message}, id);
}

HttpResponse ApiRouter::fail(Context& context, ApiErrorCode code, std::string message) {
  return error_response({code, std::move(message)}, context.request_id);
}

HttpResponse ApiRouter::respond(Context& context, const Outcome& outcome) {
  if (outcome.error) return error_response(*outcome.error, context.request_id);
  HttpResponse response;
  response.status = outcome.status;
  // Never throws: bytes that are not UTF-8 (none should reach a body) become U+FFFD.
  response.body = outcome.body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  return response;
}

HttpResponse ApiRouter::dispatch(Context& context) {
  const auto& segments = context.segments;
  const std::string& method = context.request.method;
  if (segments.size() == 1 && method == "GET") {
    HttpResponse response;
    response.content_type = "text/plain; version=0.0.4";
    if (segments[0] == "health") return context.route = "health", response.body = "ok\n", response;
    if (segments[0] == "ready") {
      context.route = "ready";
      bool ready = config_.ready && config_.ready();
      response.status = ready ? 200 : 503;
      response.body = ready ? "ready\n" : "not ready\n";
      return response;
    }
    if (segments[0] == "metrics") return context.route = "metrics", response.body = metrics_.render(), response;
  }
  if (!segments.empty() && (segments[0] == "v3" || segments[0] == "admin")) {
    std::optional<HttpResponse> blocked = auth_throttled(context.request, context.request_id);
    if (blocked) return context.route = "auth_throttled", std::move(*blocked);
  }
  if (segments.size() == 2 && segments[0] == "v3" && segments[1] == "faceauth") {
    context.route = "faceauth";
    if (method == "GET" || method == "DELETE") return context.route = "faceauth_history", history(context);
    if (method != "POST") return fail(context, ApiErrorCode::method_not_allowed);
    return faceauth(context);
  }
  if (segments.size() == 3 && segments[0] == "v3" && segments[1] == "faceauth" && segments[2] == "image") {
    context.route = "faceauth_image";
    if (method != "GET") return fail(context, ApiErrorCode::method_not_allowed);
    return history(context);
  }
  if (segments.size() >= 2 && segments[0] == "v3" && segments[1] == "submissions") {
    context.route = "submissions";
    const std::string* key = context.request.header("x-api-key");
    if (!key || key->empty()) return fail(context, ApiErrorCode::required_field_missing, "x-api-key is required");
    std::optional<ApiKey> owner = service_.resolve_key(*key, KeyKind::kyc);
    if (!owner) return fail(context, ApiErrorCode::Invalid_projectId);
    return submissions(context, owner->project_id, 2);
  }
  if (segments.size() >= 2 && segments[0] == "admin" && segments[1] == "v1") {
    context.route = "admin";
    return admin(context);
  }
  return fail(context, ApiErrorCode::not_found);
}

// 1-255 visible ASCII characters (a UUID is the usual choice).
static bool valid_idempotency_key(const std::string& key) {
  if (key.empty() || key.size() > 255) return false;
  return std::all_of(key.begin(), key.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

// The request's Idempotency-Key into `key`; the error response when it is not valid.
std::optional<HttpResponse> ApiRouter::take_idempotency_key(Context& context, std::string& key) {
  const std::string* header = context.request.header("idempotency-key");
  if (!header) return std::nullopt;
  if (!valid_idempotency_key(*header)) {
    return fail(context, ApiErrorCode::invalid_data_format,
                "Idempotency-Key must be 1 to 255 visible ASCII characters");
  }
  key = *header;
  return std::nullopt;
}

HttpResponse ApiRouter::faceauth(Context& context) {
  const std::string* key = context.request.header("x-api-key");
  FormFields form = parse_form(context.request, {"faceImage"}, config_.max_field_bytes);
  if (form.error) return fail(context, *form.error, form.message);
  if (!key || key->empty()) return fail(context, ApiErrorCode::required_field_missing, "x-api-key is required");
  if (!form.values.count("submissionId") || form.values["submissionId"].empty()) {
    return fail(context, ApiErrorCode::required_field_missing, "submissionId is required");
  }
  if (!form.values.count("faceImage")) {
    return fail(context, ApiErrorCode::required_field_missing, "faceImage is required");
  }
  AuthInput input{*key,
                  form_field(form, "submissionId"),
                  form.values["faceImage"],
                  form_field(form, "userId"),
                  form_field(form, "cf1"),
                  form_field(form, "cf2"),
                  form_field(form, "cf3"),
                  context.request.client_address,
                  ""};
  if (std::optional<HttpResponse> bad = take_idempotency_key(context, input.idempotency_key)) return *bad;
  return respond(context, service_.authenticate(input));
}

// GET and DELETE /v3/faceauth, GET /v3/faceauth/image (add-on key).
HttpResponse ApiRouter::history(Context& context) {
  const HttpRequest& request = context.request;
  const std::string* key = request.header("x-api-key");
  if (!key || key->empty()) return fail(context, ApiErrorCode::required_field_missing, "x-api-key is required");
  std::optional<std::string> auth_id = query_param(request, "authId");
  if (context.route == "faceauth_image") return respond(context, service_.attempt_image(*key, auth_id));
  if (request.method == "DELETE") return respond(context, service_.delete_attempt(*key, auth_id));
  HistoryInput input{*key,
                     auth_id,
                     query_param(request, "startDate"),
                     query_param(request, "endDate"),
                     query_param(request, "count"),
                     query_param(request, "nextKey_id"),
                     query_param(request, "nextKey_date")};
  return respond(context, service_.list_attempts(input));
}

HttpResponse ApiRouter::submissions(Context& context, const std::string& kyc_project_id, size_t first) {
  const auto& segments = context.segments;
  const std::string& method = context.request.method;
  size_t rest = segments.size() - first;
  if (rest == 0 && method == "POST") {
    FormFields form = parse_form(context.request, {"selfieImage", "idImage"}, config_.max_field_bytes);
    if (form.error) return fail(context, *form.error, form.message);
    SubmissionInput input{
        form.values["selfieImage"], form.values["idImage"],  form_field(form, "userId"), form_field(form, "email"),
        form_field(form, "cf1"),    form_field(form, "cf2"), form_field(form, "cf3"),    ""};
    if (std::optional<HttpResponse> bad = take_idempotency_key(context, input.idempotency_key)) return *bad;
    return respond(context, service_.create_submission(kyc_project_id, input));
  }
  if (rest == 0 && method == "GET") {
    SubmissionFilter filter;
    if (const std::string* status = context.request.query_value("status")) {
      filter.status = parse_submission_status(*status);
      if (!filter.status)
        return fail(context, ApiErrorCode::invalid_data_format, "status must be pending, approved or rejected");
    }
    if (const std::string* user = context.request.query_value("userId")) filter.user_id = *user;
    if (const std::string* after = context.request.query_value("after")) filter.after_id = *after;
    if (std::optional<std::string> limit = query_param(context.request, "limit")) {
      int64_t wanted = 0;
      if (!parse_whole(*limit, 1, 1000, wanted)) {
        return fail(context, ApiErrorCode::invalid_data_format, "limit is a whole number from 1 to 1000");
      }
      filter.limit = static_cast<int>(wanted);
    }
    return respond(context, service_.list_submissions(kyc_project_id, filter));
  }
  if (rest < 1 || !plain_id(segments[first])) return fail(context, ApiErrorCode::Invalid_submissionId);
  const std::string& id = segments[first];
  if (rest == 1 && method == "GET") return respond(context, service_.get_submission(kyc_project_id, id));
  if (rest == 1 && method == "DELETE") return respond(context, service_.delete_submission(kyc_project_id, id));
  if (rest == 2 && method == "POST" && (segments[first + 1] == "approve" || segments[first + 1] == "reject")) {
    auto status = segments[first + 1] == "approve" ? SubmissionStatus::approved : SubmissionStatus::rejected;
    return respond(context, service_.set_submission_status(kyc_project_id, id, status));
  }
  return fail(context, ApiErrorCode::not_found);
}

HttpResponse ApiRouter::admin(Context& context) {
  const std::string* auth = context.request.header("authorization");
  const std::string prefix = "Bearer ";
  if (!config_.admin_checked_outside && (!auth || auth->rfind(prefix, 0) != 0 || config_.admin_token_hash.empty() ||
                                         !same_hash(hash_key(auth->substr(prefix.size())), config_.admin_token_hash))) {
    return fail(context, ApiErrorCode::unauthorized);
  }
  const auto& segments = context.segments;
  // /admin/v1/kyc-projects/{id}/submissions...
  if (segments.size() >= 5 && segments[2] == "kyc-projects" && segments[4] == "submissions") {
    if (!service_.store().get_kyc_project(segments[3]))
      return fail(context, ApiErrorCode::not_found, "No such KYC project");
    return submissions(context, segments[3], 5);
  }
  if (segments.size() >= 5 && segments[2] == "kyc-projects" && segments[4] == "webhook") return webhook(context);
  if (segments.size() >= 5 && segments[2] == "faceauth-projects" &&
      (segments[4] == "lockouts" || segments[4] == "lockout-events")) {
    return lockout(context);
  }
  return admin_projects(context);
}

// /admin/v1/faceauth-projects/{id}/lockouts/{submissionId} (GET: state, DELETE: unlock) and
// /admin/v1/faceauth-projects/{id}/lockout-events (the event log).
HttpResponse ApiRouter::lockout(Context& context) {
  const auto& s = context.segments;
  const std::string& method = context.request.method;
  const std::string& id = s[3];
  if (s.size() == 6 && s[4] == "lockouts") {
    if (!plain_id(s[5])) return fail(context, ApiErrorCode::Invalid_submissionId);
    if (method == "GET") return respond(context, service_.get_lockout(id, s[5]));
    if (method == "DELETE") return respond(context, service_.unlock_submission(id, s[5]));
    return fail(context, ApiErrorCode::method_not_allowed);
  }
  if (s.size() == 5 && s[4] == "lockout-events") {
    if (method != "GET") return fail(context, ApiErrorCode::method_not_allowed);
    std::optional<std::string> after = query_param(context.request, "after");
    std::optional<std::string> limit = query_param(context.request, "limit");
    int64_t after_seq = 0;
    int64_t count = 100;
    if (after && !parse_whole(*after, 0, INT64_MAX, after_seq)) {
      return fail(context, ApiErrorCode::invalid_data_format, "after is an event seq (a whole number)");
    }
    if (limit && !parse_whole(*limit, 1, 1000, count)) {
      return fail(context, ApiErrorCode::invalid_data_format, "limit is a whole number from 1 to 1000");
    }
    return respond(context, service_.list_lockout_events(id, after_seq, static_cast<int>(count)));
  }
  return fail(context, ApiErrorCode::not_found);
}

// /admin/v1/kyc-projects/{id}/webhook[/deliveries]
HttpResponse ApiRouter::webhook(Context& context) {
  const auto& s = context.segments;
  const std::string& method = context.request.method;
  const std::string& id = s[3];
  if (s.size() == 5 && method == "GET") return respond(context, service_.get_webhook(id));
  if (s.size() == 5 && method == "DELETE") return respond(context, service_.delete_webhook(id));
  if (s.size() == 5 && (method == "PUT" || method == "POST")) {
    std::optional<nlohmann::json> body = json_body(context.request);
    if (!body) return fail(context, ApiErrorCode::invalid_data_format, "the body must be a JSON object");
    return respond(context, service_.set_webhook(id, *body));
  }
  if (s.size() == 6 && s[5] == "deliveries" && method == "GET") {
    std::optional<std::string> after = query_param(context.request, "after");
    std::optional<std::string> limit = query_param(context.request, "limit");
    int64_t after_seq = 0;
    int count = 100;
    if (after && !parse_whole(*after, 0, INT64_MAX, after_seq)) {
      return fail(context, ApiErrorCode::invalid_data_format, "after is a delivery seq");
    }
    int64_t wanted = count;
    if (limit && !parse_whole(*limit, 1, 1000, wanted)) {
      return fail(context, ApiErrorCode::invalid_data_format, "limit is 1-1000");
    }
    count = static_cast<int>(wanted);
    return respond(context, service_.list_webhook_deliveries(id, after_seq, count));
  }
  return fail(context, ApiErrorCode::not_found);
}

HttpResponse ApiRouter::admin_projects(Context& context) {
  const auto& s = context.segments;
  const std::string& method = context.request.method;
  std::optional<nlohmann::json> body = json_body(context.request);
  if (!body) return fail(context, ApiErrorCode::invalid_data_format, "the body must be a JSON object");
  bool kyc = s.size() >= 3 && s[2] == "kyc-projects";
  bool fa = s.size() >= 3 && s[2] == "faceauth-projects";
  if (s.size() == 3 && kyc && method == "POST") return respond(context, service_.create_kyc_project(*body));
  if (s.size() == 3 && kyc && method == "GET") return respond(context, service_.list_kyc_projects());
  if (s.size() == 3 && fa && method == "POST") return respond(context, service_.create_faceauth_project(*body));
  if (s.size() == 3 && fa && method == "GET") {
    const std::string* owner = context.request.query_value("kyc_project_id");
    return respond(context, service_.list_faceauth_projects(owner ? *owner : ""));
  }
  if (s.size() == 4 && fa && method == "GET") return respond(context, service_.get_faceauth_project(s[3]));
  if (s.size() == 4 && kyc && (method == "PUT" || method == "PATCH")) {
    return respond(context, service_.update_kyc_project(s[3], *body));
  }
  if (s.size() == 5 && fa && s[4] == "policy" && method == "GET") {
    return respond(context, service_.get_faceauth_project(s[3]));
  }
  if (s.size() == 5 && fa && s[4] == "policy" && (method == "PUT" || method == "POST")) {
    return respond(context, service_.set_policy(s[3], *body));
  }
  if (s.size() == 5 && (kyc || fa) && s[4] == "rotate-key" && method == "POST") {
    return respond(context, service_.rotate_key(kyc ? KeyKind::kyc : KeyKind::addon, s[3]));
  }
  return fail(context, ApiErrorCode::not_found);
}

}  // namespace faceauth
