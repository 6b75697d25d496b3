#include "api/service.h"

#include <sodium.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <span>

#include "http/text.h"
#include "vision/checks/quality.h"
#include "vision/face/similarity.h"

namespace faceauth {
namespace {

constexpr int64_t kIdempotencyKeepMs = 86'400'000;  // a day
// A claim not answered within this long was on a server that died: a retry takes it over.
// Longer than a request runs after its body is read (engine-wait-ms 3 s, then the work).
constexpr int64_t kIdempotencyStaleMs = 30'000;

// SHA-256 over a request's fields, each with its length (a retry may use another multipart
// boundary or field order and is still the same request).
Bytes fields_hash(std::initializer_list<std::string_view> parts) {
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  for (std::string_view part : parts) {
    const uint64_t size = part.size();
    crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(&size), sizeof size);
    crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(part.data()), part.size());
  }
  Bytes out(crypto_hash_sha256_BYTES);
  crypto_hash_sha256_final(&state, out.data());
  return out;
}

Bytes request_hash(const AuthInput& in) {
  return fields_hash({"faceauth", in.submission_id, in.user_id, in.cf1, in.cf2, in.cf3, in.image});
}

Bytes request_hash(const SubmissionInput& in) {
  return fields_hash({"submission", in.selfie, in.id_image, in.user_id, in.email, in.cf1, in.cf2, in.cf3});
}

std::span<const uint8_t> as_bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

nlohmann::json string_array(const Decision& decision, bool comments) {  // in the table's order
  nlohmann::json out = nlohmann::json::array();
  for (const FailCode& fail : decision.fails) out.push_back(comments ? fail.comment : fail.code);
  return out;
}

nlohmann::json kyc_project_json(const KycProject& project) {
  return {{"id", project.id},
          {"name", project.name},
          {"webhook_url", project.webhook_url},
          {"auto_approve_threshold", project.auto_approve_threshold},
          {"create_time", iso_time(project.created_ms)}};
}

nlohmann::json faceauth_project_json(const FaceAuthProject& project) {
  return {{"id", project.id},
          {"kyc_project_id", project.kyc_project_id},
          {"name", project.name},
          {"policy", policy_json(project.policy)},
          {"policy_warnings", policy_warnings_json(project.policy)},
          {"image_retention_days", project.image_retention_days},
          {"create_time", iso_time(project.created_ms)}};
}

nlohmann::json submission_json(const Submission& submission) {
  return {{"submissionId", submission.id},
          {"status", submission_status_name(submission.status)},
          {"userId", submission.user_id},
          {"email", submission.email},
          {"cf1", submission.cf1},
          {"cf2", submission.cf2},
          {"cf3", submission.cf3},
          {"has_selfie", !submission.selfie_sealed.empty()},
          {"has_id_image", !submission.id_image_sealed.empty()},
          {"reference", submission.template_source},
          {"model_version", submission.template_model},
          {"create_time", iso_time(submission.created_ms)},
          {"update_time", iso_time(submission.updated_ms)}};
}

ApiKey make_key_record(KeyKind kind, const std::string& project_id, const NewKey& key) {
  return {random_hex_id(), kind, project_id, key.prefix, key.hash, now_ms()};
}

int retention_field(const nlohmann::json& request, int fallback) {
  if (!request.contains("image_retention_days")) return fallback;
  const nlohmann::json& value = request.at("image_retention_days");
  if (!value.is_number_integer() || value.get<int64_t>() < -1 || value.get<int64_t>() > 36500) {
    throw std::invalid_argument("image_retention_days must be an integer from -1 (keep) to 36500");
  }
  return value.get<int>();
}

// The table's message for image errors (the vendor's text); the engine's own for a saturated
// or failed engine, which says to retry.
Outcome engine_failure(const Error& error) {
  ApiErrorCode code = api_error_from_engine(error.code);
  return Outcome::fail(code, code == ApiErrorCode::detection_server_error ? error.message : "");
}

// The attribute scores a policy needs. A required mask covers the lower face, so occlusion
// then judges only the eyes and brows (docs/attributes.md).
AttributeNeeds attribute_needs(const Policy& policy) {
  RequiredScores on = required_scores(policy);
  return {on.occluded, on.face_cover, on.head_cover, on.face_cover};
}

}  // namespace

std::string text_field(const nlohmann::json& request, const char* name, bool required) {
  if (!request.contains(name)) {
    if (required) throw std::invalid_argument(std::string(name) + " is required");
    return "";
  }
  if (!request.at(name).is_string()) throw std::invalid_argument(std::string(name) + " must be a string");
  std::string value = request.at(name).get<std::string>();
  if (required && value.empty()) throw std::invalid_argument(std::string(name) + " must not be empty");
  if (value.size() > 256) throw std::invalid_argument(std::string(name) + " is too long");
  if (!is_valid_text(value)) throw std::invalid_argument(std::string(name) + " must be valid UTF-8 without NUL");
  return value;
}

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string iso_time(int64_t ms) {
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  size_t length = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  char millis[8];
  std::snprintf(millis, sizeof millis, ".%03dZ", static_cast<int>(ms % 1000));
  return std::string(text, length) + millis;
}

FaceAuthService::FaceAuthService(Store& store, EnginePool& engines, const Sealer& sealer, ServiceConfig config)
    : store_(store),
      engines_(engines),
      sealer_(sealer),
      config_(config),
      limiter_(config.rate_per_minute, config.rate_burst) {}

std::optional<ApiKey> FaceAuthService::resolve_key(const std::string& key, KeyKind kind) {
  if (key.empty() || key.size() > 200) return std::nullopt;
  Bytes hash = hash_key(key);
  std::optional<ApiKey> found = store_.find_key(hash);
  if (!found || found->kind != kind || !same_hash(found->hash, hash)) return std::nullopt;
  return found;
}

// Several servers on one store share each key's bucket in the store; one server keeps it in memory.
bool FaceAuthService::allow_request(const std::string& key_id, int& retry_after) {
  if (!store_.shared()) return limiter_.allow(key_id, retry_after);
  int64_t wait_ms =
      store_.take_rate_token("addon:" + key_id, config_.rate_per_minute / 60.0, config_.rate_burst, now_ms());
  retry_after = static_cast<int>(std::max<int64_t>(1, (wait_ms + 999) / 1000));
  return wait_ms == 0;
}

Outcome FaceAuthService::authenticate(const AuthInput& input) {
  std::optional<ApiKey> key = resolve_key(input.api_key, KeyKind::addon);
  if (!key) return Outcome::fail(ApiErrorCode::Invalid_projectId);
  int retry_after = 1;
  if (config_.rate_per_minute > 0 && !allow_request(key->id, retry_after)) {
    Outcome limited = Outcome::fail(ApiErrorCode::too_many_requests);
    limited.error->retry_after_seconds = retry_after;
    return limited;
  }
  std::optional<FaceAuthProject> project = store_.get_faceauth_project(key->project_id);
  if (!project) return Outcome::fail(ApiErrorCode::Invalid_projectId);
  if (input.idempotency_key.empty()) return decide_and_record(input, *key, *project, nullptr);
  return once(project->id, input.idempotency_key, request_hash(input), 200,
              [&](IdempotencyRecord* response) { return decide_and_record(input, *key, *project, response); });
}

// The same key and request answer the first response (for POST /v3/faceauth the same
// authentication_id), from any server; the first request's response is stored with its
// write, in one transaction.
Outcome FaceAuthService::once(const std::string& project_id, const std::string& key, Bytes request_hash,
                              int success_status, const std::function<Outcome(IdempotencyRecord*)>& run) {
  IdempotencyRecord record{project_id, key, std::move(request_hash), "", now_ms()};
  switch (store_.claim_idempotency_key(record, record.created_ms, kIdempotencyStaleMs, kIdempotencyKeepMs)) {
    case IdempotencyClaim::done:
      return Outcome::ok(nlohmann::ordered_json::parse(record.response_body), success_status);
    case IdempotencyClaim::mismatch:
      return Outcome::fail(ApiErrorCode::idempotency_key_reused);
    case IdempotencyClaim::in_progress:
      return Outcome::fail(ApiErrorCode::idempotency_key_in_progress);
    case IdempotencyClaim::claimed:
      break;
  }
  Outcome outcome;
  try {
    outcome = run(&record);
  } catch (...) {
    try {
      store_.release_idempotency_key(project_id, key);
    } catch (const StoreError&) {  // the claim goes stale and a retry takes it over
    }
    throw;
  }
  if (outcome.error) store_.release_idempotency_key(project_id, key);  // errors are not stored
  return outcome;
}

Outcome FaceAuthService::decide_and_record(const AuthInput& input, const ApiKey& key, const FaceAuthProject& project,
                                           IdempotencyRecord* response) {
  std::optional<Submission> submission = store_.get_submission(project.kyc_project_id, input.submission_id);
  if (!submission) return Outcome::fail(ApiErrorCode::Invalid_submissionId);
  if (submission->status != SubmissionStatus::approved || submission->template_sealed.empty()) {
    return Outcome::fail(ApiErrorCode::invalid_submission_status);
  }
  if (std::optional<Outcome> refused = refuse_when_locked(project, *submission)) return *refused;
  return compare_and_record(input, key, project, *submission, response);
}

Outcome FaceAuthService::compare_and_record(const AuthInput& input, const ApiKey& key, const FaceAuthProject& project,
                                            const Submission& submission, IdempotencyRecord* response) {
  const int64_t started = now_ms();
  std::optional<Bytes> plain = sealer_.open(submission.template_sealed);
  if (!plain) return Outcome::fail(ApiErrorCode::data_processing_error, "The reference template cannot be read");
  std::vector<float> reference = bytes_to_floats(*plain);
  Result<FaceAnalysis> analysis = analyze(as_bytes(input.image), attribute_needs(project.policy));
  if (!analysis) return engine_failure(analysis.error());
  if (config_.on_stage_times) config_.on_stage_times(analysis->ms);
  if (analysis->model_version != submission.template_model) {
    std::optional<std::vector<float>> remade = reembed_reference(submission);
    if (!remade) {
      return Outcome::fail(ApiErrorCode::detection_server_error,
                           "The submission's reference was made by model " + submission.template_model +
                               " and its stored image cannot be re-embedded by the current model; "
                               "re-create the submission");
    }
    reference = std::move(*remade);
  }
  Scores scores;
  scores.face_similarity = analysis->calibration.score(cosine_similarity(analysis->embedding, reference));
  RequiredScores on = required_scores(project.policy);
  if (on.liveness || on.quality) {
    FaceChecks checks = check_face(*analysis, on.liveness ? config_.liveness.get() : nullptr);
    scores.liveness = checks.liveness;
    scores.quality = checks.quality;
  }
  scores.occluded = analysis->attributes.occluded;
  scores.face_cover = analysis->attributes.face_cover;
  scores.head_cover = analysis->attributes.head_cover;
  Decision decision = decide(scores, project.policy);
  Attempt attempt;
  attempt.id = random_uuid();
  attempt.faceauth_project_id = project.id;
  attempt.submission_id = submission.id;
  attempt.approved = decision.approved;
  nlohmann::json quality = quality_measures_json(scores, project.policy);
  nlohmann::json stored_scores = scores_json(scores, project.policy);
  if (!quality.is_null()) stored_scores["quality"] = quality;
  attempt.scores_json = stored_scores.dump();
  attempt.similarity_failed = similarity_failed(decision);
  attempt.fail_codes_json = string_array(decision, false).dump();
  attempt.comments_json = string_array(decision, true).dump();
  attempt.policy_json = policy_json(project.policy).dump();
  attempt.user_id = input.user_id;
  attempt.cf1 = input.cf1;
  attempt.cf2 = input.cf2;
  attempt.cf3 = input.cf3;
  attempt.key_id = key.id;
  attempt.client_address = input.client_address;
  attempt.created_ms = now_ms();
  attempt.latency_ms = static_cast<double>(attempt.created_ms - started);
  if (project.image_retention_days != 0) attempt.image_sealed = sealer_.seal(as_bytes(input.image));
  std::optional<WebhookEvent> event = webhook_event_for(project.kyc_project_id, attempt);
  nlohmann::ordered_json body = {{"authentication_id", attempt.id},
                                 {"auth_status", decision.approved ? "approved" : "rejected"},
                                 {"create_time", iso_time(attempt.created_ms)},
                                 {"score", scores_json(scores, project.policy)}};
  if (!decision.approved) {
    body["fail_code"] = string_array(decision, false);
    body["rejected_comment"] = string_array(decision, true);
  }
  if (!quality.is_null()) body["quality"] = quality;  // ours, beside the vendor's fields
  // The response is stored with the attempt (same transaction) for a retry with its Idempotency-Key.
  if (response) response->response_body = body.dump();
  LockoutRule rule = lockout_rule(project.policy.lockout);
  std::optional<WebhookEvent> lock_event;
  if (rule.failures > 0 && attempt.similarity_failed) {
    lock_event = lockout_webhook_event(project.kyc_project_id, attempt.id,
                                       lockout_payload(project.id, submission.id, "locked", attempt.created_ms,
                                                       attempt.created_ms + rule.lock_ms, rule.failures, attempt.id),
                                       attempt.created_ms);
  }
  LockoutState lock = store_.insert_attempt_counted(attempt, event, rule, lock_event, response);
  bool lock_event_written = lock.locked && lock.locked_ms == attempt.created_ms && lock_event;
  if ((event || lock_event_written) && config_.on_webhook_event) config_.on_webhook_event();
  return Outcome::ok(body);
}

Outcome FaceAuthService::create_kyc_project(const nlohmann::json& request) {
  KycProject project{random_hex_id(),
                     text_field(request, "name", true),
                     "",
                     now_ms(),
                     threshold_field(request, "auto_approve_threshold", 0.0),
                     {}};
  std::optional<std::string> secret = apply_webhook_url(project, text_field(request, "webhook_url", false));
  NewKey key = generate_key("kyc");
  store_.create_kyc_project(project, make_key_record(KeyKind::kyc, project.id, key));
  nlohmann::json body = {{"project", kyc_project_json(project)}, {"kyc_key", key.key}};
  if (secret) body["webhook_secret"] = *secret;
  return Outcome::ok(body, 201);
}

Outcome FaceAuthService::update_kyc_project(const std::string& id, const nlohmann::json& request) {
  std::optional<KycProject> project = store_.get_kyc_project(id);
  if (!project) return Outcome::fail(ApiErrorCode::not_found, "No such KYC project");
  if (request.contains("name")) project->name = text_field(request, "name", true);
  std::optional<std::string> secret;
  if (request.contains("webhook_url")) secret = apply_webhook_url(*project, text_field(request, "webhook_url", false));
  project->auto_approve_threshold = threshold_field(request, "auto_approve_threshold", project->auto_approve_threshold);
  if (!store_.update_kyc_project(*project)) return Outcome::fail(ApiErrorCode::not_found, "No such KYC project");
  nlohmann::json body = kyc_project_json(*project);
  if (secret) body["webhook_secret"] = *secret;
  return Outcome::ok(body);
}

Outcome FaceAuthService::list_kyc_projects() {
  nlohmann::json items = nlohmann::json::array();
  for (const KycProject& project : store_.list_kyc_projects()) items.push_back(kyc_project_json(project));
  return Outcome::ok({{"projects", items}});
}

Outcome FaceAuthService::create_faceauth_project(const nlohmann::json& request) {
  FaceAuthProject project;
  project.id = random_hex_id();
  project.kyc_project_id = text_field(request, "kyc_project_id", true);
  project.name = text_field(request, "name", true);
  if (request.contains("policy")) project.policy = policy_from_json(request.at("policy"));
  project.image_retention_days = retention_field(request, project.image_retention_days);
  project.created_ms = now_ms();
  if (!store_.get_kyc_project(project.kyc_project_id))
    return Outcome::fail(ApiErrorCode::not_found, "No such KYC project");
  NewKey key = generate_key("fa");
  store_.create_faceauth_project(project, make_key_record(KeyKind::addon, project.id, key));
  return Outcome::ok({{"project", faceauth_project_json(project)}, {"addon_key", key.key}}, 201);
}

Outcome FaceAuthService::list_faceauth_projects(const std::string& kyc_project_id) {
  nlohmann::json items = nlohmann::json::array();
  for (const FaceAuthProject& project : store_.list_faceauth_projects(kyc_project_id)) {
    items.push_back(faceauth_project_json(project));
  }
  return Outcome::ok({{"projects", items}});
}

Outcome FaceAuthService::get_faceauth_project(const std::string& id) {
  std::optional<FaceAuthProject> project = store_.get_faceauth_project(id);
  if (!project) return Outcome::fail(ApiErrorCode::not_found, "No such FaceAuth project");
  return Outcome::ok(faceauth_project_json(*project));
}

Outcome FaceAuthService::set_policy(const std::string& faceauth_project_id, const nlohmann::json& request) {
  std::optional<FaceAuthProject> project = store_.get_faceauth_project(faceauth_project_id);
  if (!project) return Outcome::fail(ApiErrorCode::not_found, "No such FaceAuth project");
  nlohmann::json policy = request.contains("policy") ? request.at("policy") : request;
  project->policy = policy_from_json(policy, project->policy);
  project->image_retention_days = retention_field(request, project->image_retention_days);
  if (!store_.update_faceauth_project(*project)) return Outcome::fail(ApiErrorCode::not_found, "No such project");
  return Outcome::ok(faceauth_project_json(*project));
}

Outcome FaceAuthService::rotate_key(KeyKind kind, const std::string& project_id) {
  NewKey key = generate_key(kind == KeyKind::kyc ? "kyc" : "fa");
  if (!store_.rotate_key(make_key_record(kind, project_id, key))) {
    return Outcome::fail(ApiErrorCode::not_found, "No such project");
  }
  return Outcome::ok({{kind == KeyKind::kyc ? "kyc_key" : "addon_key", key.key}});
}

Result<FaceAnalysis> FaceAuthService::analyze(std::span<const uint8_t> image, const AttributeNeeds& needs) {
  EnginePool::Lease engine = engines_.acquire(config_.engine_wait);
  if (!engine) return make_error(ErrorCode::detection_server_error, "The face engine is saturated; retry");
  return engine->analyze(image, Stages::all, needs);
}

Outcome FaceAuthService::create_submission(const std::string& kyc_project_id, const SubmissionInput& input) {
  if (input.selfie.empty() && input.id_image.empty()) {
    return Outcome::fail(ApiErrorCode::required_field_missing, "selfieImage or idImage is required");
  }
  if (input.idempotency_key.empty()) return store_submission(kyc_project_id, input, nullptr);
  if (!store_.get_kyc_project(kyc_project_id)) return Outcome::fail(ApiErrorCode::not_found, "No such KYC project");
  return once(kyc_project_id, input.idempotency_key, request_hash(input), 201,
              [&](IdempotencyRecord* response) { return store_submission(kyc_project_id, input, response); });
}

Outcome FaceAuthService::store_submission(const std::string& kyc_project_id, const SubmissionInput& input,
                                          IdempotencyRecord* response) {
  std::optional<KycProject> project = store_.get_kyc_project(kyc_project_id);
  if (!project) return Outcome::fail(ApiErrorCode::not_found, "No such KYC project");
  // The reference face is the selfie when there is one, else the face on the ID (vendor rule).
  bool from_selfie = !input.selfie.empty();
  Result<FaceAnalysis> analysis = analyze(as_bytes(from_selfie ? input.selfie : input.id_image));
  if (!analysis) return engine_failure(analysis.error());
  Submission submission = new_submission(kyc_project_id, input, *analysis, from_selfie);
  nlohmann::ordered_json auto_approval = nullptr;
  if (project->auto_approve_threshold > 0 && from_selfie && !input.id_image.empty()) {
    Result<FaceAnalysis> id_face = analyze(as_bytes(input.id_image));
    double score =
        id_face ? analysis->calibration.score(cosine_similarity(analysis->embedding, id_face->embedding)) : 0.0;
    bool approved = score >= project->auto_approve_threshold;
    if (approved) submission.status = SubmissionStatus::approved;
    auto_approval = {
        {"id_selfie_score", score}, {"threshold", project->auto_approve_threshold}, {"approved", approved}};
    if (!id_face) auto_approval["id_image_error"] = error_code_name(id_face.error().code);
  }
  nlohmann::ordered_json body = submission_json(submission);
  if (!auto_approval.is_null()) body["auto_approval"] = auto_approval;
  if (response) response->response_body = body.dump();
  store_.create_submission(submission, response);
  return Outcome::ok(body, 201);
}

std::optional<std::vector<float>> FaceAuthService::reembed_reference(const Submission& submission) {
  const Bytes& sealed = submission.template_source == "id" ? submission.id_image_sealed : submission.selfie_sealed;
  if (sealed.empty()) return std::nullopt;
  std::optional<Bytes> image = sealer_.open(sealed);
  if (!image) return std::nullopt;
  Result<FaceAnalysis> analysis = analyze(*image);
  if (!analysis) return std::nullopt;
  Submission updated = submission;
  updated.template_sealed = sealer_.seal(floats_to_bytes(analysis->embedding));
  updated.template_model = analysis->model_version;
  updated.updated_ms = now_ms();
  // A concurrent request may have re-made it first: either way this descriptor is current.
  store_.replace_submission_template(submission.kyc_project_id, submission.id, submission.template_model, updated);
  return std::move(analysis->embedding);
}

Submission FaceAuthService::new_submission(const std::string& kyc_project_id, const SubmissionInput& input,
                                           const FaceAnalysis& reference, bool from_selfie) {
  Submission submission;
  submission.id = random_hex_id();
  submission.kyc_project_id = kyc_project_id;
  submission.user_id = input.user_id;
  submission.email = input.email;
  submission.cf1 = input.cf1;
  submission.cf2 = input.cf2;
  submission.cf3 = input.cf3;
  submission.template_sealed = sealer_.seal(floats_to_bytes(reference.embedding));
  submission.template_model = reference.model_version;
  submission.template_source = from_selfie ? "selfie" : "id";
  if (!input.selfie.empty()) submission.selfie_sealed = sealer_.seal(as_bytes(input.selfie));
  if (!input.id_image.empty()) submission.id_image_sealed = sealer_.seal(as_bytes(input.id_image));
  submission.created_ms = submission.updated_ms = now_ms();
  return submission;
}

Outcome FaceAuthService::get_submission(const std::string& kyc_project_id, const std::string& id) {
  std::optional<Submission> submission = store_.get_submission(kyc_project_id, id);
  if (!submission) return Outcome::fail(ApiErrorCode::Invalid_submissionId);
  return Outcome::ok(submission_json(*submission));
}

Outcome FaceAuthService::list_submissions(const std::string& kyc_project_id, const SubmissionFilter& filter) {
  std::vector<Submission> page = store_.list_submissions(kyc_project_id, filter);
  nlohmann::json items = nlohmann::json::array();
  for (const Submission& submission : page) items.push_back(submission_json(submission));
  nlohmann::json body = {{"submissions", items}};
  if (static_cast<int>(page.size()) == filter.limit && !page.empty()) body["next_after"] = page.back().id;
  return Outcome::ok(body);
}

Outcome FaceAuthService::set_submission_status(const std::string& kyc_project_id, const std::string& id,
                                               SubmissionStatus status) {
  if (!store_.set_submission_status(kyc_project_id, id, status, now_ms())) {
    return Outcome::fail(ApiErrorCode::Invalid_submissionId);
  }
  return get_submission(kyc_project_id, id);
}

Outcome FaceAuthService::delete_submission(const std::string& kyc_project_id, const std::string& id) {
  if (!store_.delete_submission(kyc_project_id, id)) return Outcome::fail(ApiErrorCode::Invalid_submissionId);
  return Outcome::ok({{"message", "success"}});
}

}  // namespace faceauth
