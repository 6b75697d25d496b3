// The admin routes the dashboard adds (docs/openapi.yaml): users, audit log, stats,
// calibration, a FaceAuth project's attempts with their images and purge, submission images,
// try-it, webhook redelivery and secret rotation, FaceAuth project rename.
#include <sodium.h>

#include <sstream>

#include "api/dashboard_call.h"
#include "api/form.h"

namespace faceauth {

namespace {

HttpResponse outcome_response(const Outcome& outcome, const std::string& request_id) {
  if (outcome.error) return error_response(*outcome.error, request_id);
  HttpResponse response;
  response.status = outcome.status;
  response.body = outcome.body.dump();
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

HttpResponse fail(const std::string& request_id, ApiErrorCode code, std::string message = "") {
  return error_response({code, std::move(message)}, request_id);
}

nlohmann::json body_json(const HttpRequest& request) {
  if (request.body.empty()) return nlohmann::json::object();
  nlohmann::json doc = nlohmann::json::parse(request.body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) throw std::invalid_argument("the body must be a JSON object");
  return doc;
}

// Digits only (at most 15), or `fallback` when absent; throws std::invalid_argument.
int64_t number_param(const HttpRequest& request, std::string_view name, int64_t fallback, int64_t low, int64_t high) {
  const std::string* text = request.query_value(name);
  if (!text || text->empty()) return fallback;
  if (text->size() > 15) throw std::invalid_argument(std::string(name) + " is out of range");
  int64_t value = 0;
  for (char c : *text) {
    if (c < '0' || c > '9') throw std::invalid_argument(std::string(name) + " must be a whole number");
    value = value * 10 + (c - '0');
  }
  if (value < low || value > high) throw std::invalid_argument(std::string(name) + " is out of range");
  return value;
}

std::string text_param(const HttpRequest& request, std::string_view name) {
  const std::string* text = request.query_value(name);
  if (!text) return "";
  if (text->size() > 256) throw std::invalid_argument(std::string(name) + " is too long");
  return *text;
}

std::string image_type(const Bytes& image) {
  auto starts = [&](std::string_view magic, size_t at = 0) {
    return image.size() >= at + magic.size() && std::equal(magic.begin(), magic.end(), image.begin() + at);
  };
  if (starts("\xFF\xD8\xFF")) return "image/jpeg";
  if (starts("\x89PNG")) return "image/png";
  if (starts("RIFF") && starts("WEBP", 8)) return "image/webp";
  if (starts("BM")) return "image/bmp";
  return "application/octet-stream";
}

HttpResponse image_response(const Bytes& image) {
  HttpResponse response;
  response.content_type = image_type(image);
  response.body.assign(image.begin(), image.end());
  response.headers.emplace_back("Cache-Control", "private, no-store");
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  response.headers.emplace_back("Content-Security-Policy", "default-src 'none'; sandbox");
  return response;
}

nlohmann::ordered_json parsed(const std::string& text) {
  nlohmann::ordered_json value = nlohmann::ordered_json::parse(text, nullptr, false);
  return value.is_discarded() ? nlohmann::ordered_json() : value;
}

nlohmann::ordered_json attempt_json(const Attempt& a) {
  return {{"authId", a.id},
          {"create_time", iso_time(a.created_ms)},
          {"created_ms", a.created_ms},
          {"auth_status", a.approved ? "approved" : "rejected"},
          {"submissionId", a.submission_id},
          {"userId", a.user_id},
          {"cf1", a.cf1},
          {"cf2", a.cf2},
          {"cf3", a.cf3},
          {"score", parsed(a.scores_json)},
          {"policy", parsed(a.policy_json)},
          {"fail_code", parsed(a.fail_codes_json)},
          {"rejected_comment", parsed(a.comments_json)},
          {"image_status", a.image_state},
          {"delete_check", a.delete_check},
          {"via", a.key_id == "admin-try-it" ? "try-it" : "api"},
          {"latency_ms", a.latency_ms}};
}

// A webhook secret like the ones the service makes: 32 random bytes, base64url.
std::string new_secret() {
  unsigned char random[32];
  randombytes_buf(random, sizeof random);
  constexpr int kVariant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  char encoded[sodium_base64_ENCODED_LEN(sizeof random, kVariant)];
  sodium_bin2base64(encoded, sizeof encoded, random, sizeof random, kVariant);
  return std::string("whsec_") + encoded;
}

}  // namespace

std::optional<HttpResponse> DashboardRouter::extra(Call& call) {
  const auto& s = call.segments;
  const std::string& method = call.request.method;
  const std::string& id = call.request_id;
  if (s.size() >= 3 && s[2] == "users") return users(call);
  if (s.size() == 3 && s[2] == "audit" && method == "GET") return audit(call);
  if (s.size() == 3 && s[2] == "stats" && method == "GET") {
    nlohmann::json body = stats_.render(now_ms());
    body["ready"] = config_.ready ? config_.ready() : false;
    body["engines"] = engines_.size();
    return outcome_response(Outcome::ok(body), id);
  }
  if (s.size() == 3 && s[2] == "calibration" && method == "GET") {
    nlohmann::ordered_json body = {{"embedder", config_.embedder},
                                   {"score_to_far", "FAR = 10^(-(score - 10) / 20)"},
                                   {"calibration", config_.calibration}};
    return outcome_response(Outcome::ok(body), id);
  }
  bool fa = s.size() >= 4 && s[2] == "faceauth-projects";
  bool kyc = s.size() >= 4 && s[2] == "kyc-projects";
  if (fa && s.size() == 4 && (method == "PUT" || method == "PATCH")) return rename_faceauth(call);
  if (fa && s.size() >= 5 && s[4] == "attempts") return attempts(call);
  if (fa && s.size() == 5 && s[4] == "try-it") {
    if (method != "POST") return fail(id, ApiErrorCode::method_not_allowed);
    return try_it(call);
  }
  if (kyc && s.size() == 7 && s[4] == "submissions" && (s[6] == "selfie" || s[6] == "id-image")) {
    if (method != "GET") return fail(id, ApiErrorCode::method_not_allowed);
    return submission_image(call);
  }
  if (kyc && s.size() >= 6 && s[4] == "webhook" && (s[5] == "rotate-secret" || s[5] == "events")) {
    return webhook_extra(call);
  }
  return std::nullopt;
}

// /admin/v1/users[/{name}[/reset-password]] (owner only: role_allows).
HttpResponse DashboardRouter::users(Call& call) {
  const auto& s = call.segments;
  const std::string& method = call.request.method;
  if (s.size() == 3 && method == "GET") return outcome_response(accounts_.list_users(), call.request_id);
  if (s.size() == 3 && method == "POST") {
    return outcome_response(accounts_.add_user(body_json(call.request)), call.request_id);
  }
  if (s.size() == 4 && method == "DELETE") return outcome_response(accounts_.remove_user(s[3]), call.request_id);
  if (s.size() == 5 && s[4] == "reset-password" && method == "POST") {
    return outcome_response(accounts_.reset_password(s[3], body_json(call.request)), call.request_id);
  }
  return fail(call.request_id, ApiErrorCode::not_found);
}

// GET /admin/v1/audit?actor=&action=&from_ms=&to_ms=&before=&limit=
HttpResponse DashboardRouter::audit(Call& call) {
  const HttpRequest& r = call.request;
  AuditQuery query;
  query.actor = text_param(r, "actor");
  query.action = text_param(r, "action");
  query.from_ms = number_param(r, "from_ms", 0, 0, INT64_MAX / 2);
  query.to_ms = number_param(r, "to_ms", INT64_MAX / 2, 0, INT64_MAX / 2);
  query.before_seq = number_param(r, "before", 0, 0, INT64_MAX / 2);
  query.limit = static_cast<int>(number_param(r, "limit", 100, 1, 1000));
  std::vector<AuditEntry> page = service_.store().list_audit(query);
  nlohmann::ordered_json items = nlohmann::ordered_json::array();
  for (const AuditEntry& e : page) {
    items.push_back({{"seq", e.seq},
                     {"time", iso_time(e.time_ms)},
                     {"actor", e.actor},
                     {"role", e.role},
                     {"action", e.action},
                     {"target", e.target},
                     {"status", e.status},
                     {"client_address", e.client_address},
                     {"request_id", e.request_id}});
  }
  nlohmann::ordered_json body = {{"entries", items}};
  if (static_cast<int>(page.size()) == query.limit) body["next_before"] = page.back().seq;
  return outcome_response(Outcome::ok(body), call.request_id);
}

// /admin/v1/faceauth-projects/{id}/attempts[/{authId}[/image]]
HttpResponse DashboardRouter::attempts(Call& call) {
  const auto& s = call.segments;
  const HttpRequest& r = call.request;
  const std::string& project_id = s[3];
  if (!service_.store().get_faceauth_project(project_id)) {
    return fail(call.request_id, ApiErrorCode::not_found, "No such FaceAuth project");
  }
  if (s.size() == 7 && s[6] == "image" && r.method == "GET") return attempt_image(call, project_id, s[5]);
  if (s.size() == 6 && r.method == "DELETE") {
    if (!service_.store().purge_attempt(project_id, s[5])) return fail(call.request_id, ApiErrorCode::Invalid_authId);
    return outcome_response(Outcome::ok({{"message", "success"}, {"authId", s[5]}}), call.request_id);
  }
  if (s.size() == 6 && r.method == "GET") {
    std::optional<Attempt> attempt = service_.store().get_attempt(project_id, s[5]);
    if (!attempt) return fail(call.request_id, ApiErrorCode::Invalid_authId);
    return outcome_response(Outcome::ok(attempt_json(*attempt)), call.request_id);
  }
  if (s.size() != 5 || r.method != "GET") return fail(call.request_id, ApiErrorCode::not_found);
  std::string status = text_param(r, "status");
  if (!status.empty() && status != "approved" && status != "rejected") {
    return fail(call.request_id, ApiErrorCode::invalid_data_format, "status is approved or rejected");
  }
  std::string user_id = text_param(r, "userId");
  AttemptQuery query;
  query.faceauth_project_id = project_id;
  query.from_ms = number_param(r, "from_ms", 0, 0, INT64_MAX / 2);
  query.to_ms = number_param(r, "to_ms", INT64_MAX / 2, 0, INT64_MAX / 2);
  int limit = static_cast<int>(number_param(r, "limit", 50, 1, 500));
  if (r.query_value("after_id")) {
    query.after = std::make_pair(number_param(r, "after_ms", 0, 0, INT64_MAX / 2), text_param(r, "after_id"));
  }
  query.limit = 500;
  nlohmann::ordered_json items = nlohmann::ordered_json::array();
  std::optional<std::pair<int64_t, std::string>> last;
  bool more = false;
  // Filters apply after the keyset page: at most 20 pages (10,000 attempts) per call, then a
  // cursor to go on from.
  for (int page = 0; page < 20 && !more; ++page) {
    std::vector<Attempt> batch = service_.store().list_attempts(query);
    for (const Attempt& a : batch) {
      last = std::make_pair(a.created_ms, a.id);
      bool wanted =
          (status.empty() || (status == "approved") == a.approved) && (user_id.empty() || a.user_id == user_id);
      if (wanted) items.push_back(attempt_json(a));
      if (static_cast<int>(items.size()) == limit) {
        more = true;
        break;
      }
    }
    if (static_cast<int>(batch.size()) < query.limit) break;
    query.after = last;
    if (page == 19) more = true;
  }
  nlohmann::ordered_json body = {{"attempts", items}};
  if (more && last) body["next"] = {{"after_ms", last->first}, {"after_id", last->second}};
  return outcome_response(Outcome::ok(body), call.request_id);
}

HttpResponse DashboardRouter::attempt_image(Call& call, const std::string& project_id, const std::string& id) {
  std::optional<Attempt> attempt = service_.store().get_attempt(project_id, id);
  if (!attempt) return fail(call.request_id, ApiErrorCode::Invalid_authId);
  if (attempt->image_sealed.empty()) {
    return fail(call.request_id, ApiErrorCode::not_found, "no image is kept (" + attempt->image_state + ")");
  }
  std::optional<Bytes> image = sealer_.open(attempt->image_sealed);
  if (!image) return fail(call.request_id, ApiErrorCode::data_processing_error, "the image cannot be read");
  return image_response(*image);
}

// GET /admin/v1/kyc-projects/{id}/submissions/{sid}/selfie|id-image
HttpResponse DashboardRouter::submission_image(Call& call) {
  const auto& s = call.segments;
  std::optional<Submission> submission = service_.store().get_submission(s[3], s[5]);
  if (!submission) return fail(call.request_id, ApiErrorCode::Invalid_submissionId);
  const Bytes& sealed = s[6] == "selfie" ? submission->selfie_sealed : submission->id_image_sealed;
  if (sealed.empty()) return fail(call.request_id, ApiErrorCode::not_found, "the submission has no such image");
  std::optional<Bytes> image = sealer_.open(sealed);
  if (!image) return fail(call.request_id, ApiErrorCode::data_processing_error, "the image cannot be read");
  return image_response(*image);
}

// POST /admin/v1/faceauth-projects/{id}/try-it: multipart faceImage + submissionId (+ userId).
HttpResponse DashboardRouter::try_it(Call& call) {
  const HttpRequest& r = call.request;
  // The API's form rule (POST /v3/faceauth), with the vendor's limit on text fields.
  FormFields form = parse_form(r, {"faceImage"}, kFormFieldBytes);
  if (form.error) return fail(call.request_id, *form.error, form.message);
  std::string submission_id = form_field(form, "submissionId"), user_id = form_field(form, "userId");
  std::string_view image = form.values["faceImage"];
  if (submission_id.empty())
    return fail(call.request_id, ApiErrorCode::required_field_missing, "submissionId is required");
  if (image.empty()) return fail(call.request_id, ApiErrorCode::required_field_missing, "faceImage is required");
  AuthInput input{"", submission_id, image, user_id, "", "", "", r.client_address, ""};
  Outcome outcome = service_.authenticate_in_project(call.segments[3], input);
  if (outcome.error) return outcome_response(outcome, call.request_id);
  std::optional<FaceAuthProject> project = service_.store().get_faceauth_project(call.segments[3]);
  nlohmann::ordered_json body = outcome.body;
  if (project) body["policy"] = policy_json(project->policy);
  // Where the face is, for drawing: the subject's box and 68 landmarks in image pixels.
  EnginePool::Lease engine = engines_.acquire(std::chrono::milliseconds(3000));
  if (engine) {
    auto analysis = engine->analyze(std::span(reinterpret_cast<const uint8_t*>(image.data()), image.size()));
    if (analysis && !analysis->faces.empty()) {
      const cv::Rect2f& box = analysis->faces.front().box;
      nlohmann::ordered_json points = nlohmann::ordered_json::array();
      for (const cv::Point2f& p : analysis->landmarks)
        points.push_back({std::round(p.x * 10) / 10, std::round(p.y * 10) / 10});
      body["face"] = {{"image_width", analysis->image_width},
                      {"image_height", analysis->image_height},
                      {"box", {{"x", box.x}, {"y", box.y}, {"width", box.width}, {"height", box.height}}},
                      {"landmarks", points},
                      {"face_count", analysis->faces.size()}};
    }
  }
  return outcome_response(Outcome::ok(body), call.request_id);
}

// POST .../webhook/rotate-secret, POST .../webhook/events/{eventId}/redeliver
HttpResponse DashboardRouter::webhook_extra(Call& call) {
  const auto& s = call.segments;
  if (call.request.method != "POST") return fail(call.request_id, ApiErrorCode::method_not_allowed);
  const std::string& kyc_id = s[3];
  std::optional<KycProject> project = service_.store().get_kyc_project(kyc_id);
  if (!project) return fail(call.request_id, ApiErrorCode::not_found, "No such KYC project");
  if (s.size() == 6 && s[5] == "rotate-secret") {
    if (project->webhook_url.empty()) {
      return fail(call.request_id, ApiErrorCode::invalid_data_format, "the project has no webhook URL");
    }
    std::string secret = new_secret();
    Outcome outcome = service_.set_webhook(kyc_id, {{"url", project->webhook_url}, {"secret", secret}});
    if (!outcome.error) outcome.body["secret"] = secret;  // shown once; only its sealed form is kept
    return outcome_response(outcome, call.request_id);
  }
  if (s.size() == 8 && s[5] == "events" && s[7] == "redeliver") {
    if (!service_.store().requeue_webhook_event(kyc_id, s[6], now_ms())) {
      return fail(call.request_id, ApiErrorCode::not_found, "No such webhook event in this project");
    }
    if (config_.on_webhook_requeued) config_.on_webhook_requeued();
    return outcome_response(Outcome::ok({{"message", "queued"}, {"event_id", s[6]}}, 202), call.request_id);
  }
  return fail(call.request_id, ApiErrorCode::not_found);
}

// PUT /admin/v1/faceauth-projects/{id}: {"name"?, "image_retention_days"?}
HttpResponse DashboardRouter::rename_faceauth(Call& call) {
  nlohmann::json request = body_json(call.request);
  std::optional<FaceAuthProject> project = service_.store().get_faceauth_project(call.segments[3]);
  if (!project) return fail(call.request_id, ApiErrorCode::not_found, "No such FaceAuth project");
  if (request.contains("name")) project->name = text_field(request, "name", true);
  if (!service_.store().update_faceauth_project(*project)) {
    return fail(call.request_id, ApiErrorCode::not_found, "No such FaceAuth project");
  }
  if (request.contains("image_retention_days")) {
    nlohmann::json change = {{"image_retention_days", request.at("image_retention_days")},
                             {"policy", nlohmann::json::object()}};
    return outcome_response(service_.set_policy(project->id, change), call.request_id);
  }
  return outcome_response(service_.get_faceauth_project(project->id), call.request_id);
}

}  // namespace faceauth
