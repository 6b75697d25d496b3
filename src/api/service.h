#pragma once
// What the API does, without HTTP: authenticate a selfie against a submission, and manage
// projects, keys, policies and submissions. Handlers translate requests to these calls and
// outcomes to responses. Thread-safe (the store and the engine pool are).

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/api_error.h"
#include "api/engine_pool.h"
#include "api/rate_limiter.h"
#include "crypto/secrets.h"
#include "store/store.h"
#include "vision/checks/liveness.h"

namespace faceauth {

struct Outcome {
  std::optional<ApiError> error;
  nlohmann::ordered_json body;  // keys in the order written, as the vendor's responses
  int status = 200;

  static Outcome fail(ApiErrorCode code, std::string message = "") {
    return {ApiError{code, std::move(message)}, {}, 0};
  }
  static Outcome ok(nlohmann::ordered_json body, int status = 200) { return {std::nullopt, std::move(body), status}; }
};

struct AuthInput {
  std::string api_key;
  std::string submission_id;
  std::string_view image;
  std::string user_id, cf1, cf2, cf3;
  std::string client_address;
  std::string idempotency_key;  // "" = none
};

struct SubmissionInput {
  std::string_view selfie, id_image;  // either may be empty, not both
  std::string user_id, email, cf1, cf2, cf3;
  std::string idempotency_key;  // "" = none
};

struct ServiceConfig {
  std::chrono::milliseconds engine_wait{3000};            // longer: 503 detection_server_error
  std::function<void(const StageTimes&)> on_stage_times;  // metrics of each analysed image
  double rate_per_minute = 6000;                          // POST /v3/faceauth per add-on key; 0 = no limit
  double rate_burst = 200;
  // Read-only, shared by the request threads; without it a policy with liveness on rejects
  // every attempt with Liveness_fail (a check that is on but unmeasured fails).
  std::shared_ptr<const LivenessModel> liveness;
  std::function<void()> on_webhook_event;  // an event was written to the outbox
};

// GET /v3/faceauth: the query parameters as given (nothing = absent).
struct HistoryInput {
  std::string api_key;
  std::optional<std::string> auth_id, start_date, end_date, count, next_id, next_date;
};

// A text field of a JSON body: a string of at most 256 bytes without NUL, not empty when
// `required`; "" when absent and not required. Throws std::invalid_argument (a 400).
std::string text_field(const nlohmann::json& request, const char* name, bool required);

class FaceAuthService {
 public:
  FaceAuthService(Store& store, EnginePool& engines, const Sealer& sealer, ServiceConfig config = {});

  // POST /v3/faceauth. The key, submission and status are checked before any image work.
  Outcome authenticate(const AuthInput& input);

  // The dashboard's "try it" (src/api/service_dashboard.cpp): authenticate() in a project named
  // by the admin API, without its key or rate limit; the attempt is recorded (key_id
  // "admin-try-it") like any other.
  Outcome authenticate_in_project(const std::string& faceauth_project_id, const AuthInput& input);

  // Which project a key belongs to (live keys only), compared in constant time.
  std::optional<ApiKey> resolve_key(const std::string& key, KeyKind kind);

  Outcome create_kyc_project(const nlohmann::json& request);
  Outcome update_kyc_project(const std::string& id, const nlohmann::json& request);
  Outcome list_kyc_projects();
  Outcome create_faceauth_project(const nlohmann::json& request);
  Outcome list_faceauth_projects(const std::string& kyc_project_id);
  Outcome get_faceauth_project(const std::string& id);
  Outcome set_policy(const std::string& faceauth_project_id, const nlohmann::json& request);
  Outcome rotate_key(KeyKind kind, const std::string& project_id);

  // With input.idempotency_key: once per KYC project and key, as POST /v3/faceauth.
  Outcome create_submission(const std::string& kyc_project_id, const SubmissionInput& input);
  Outcome get_submission(const std::string& kyc_project_id, const std::string& id);
  Outcome list_submissions(const std::string& kyc_project_id, const SubmissionFilter& filter);
  Outcome set_submission_status(const std::string& kyc_project_id, const std::string& id, SubmissionStatus status);
  Outcome delete_submission(const std::string& kyc_project_id, const std::string& id);

  // Attempt history (src/api/service_history.cpp): GET /v3/faceauth, GET /v3/faceauth/image
  // and DELETE /v3/faceauth, scoped to the add-on key's project.
  Outcome list_attempts(const HistoryInput& input);
  Outcome attempt_image(const std::string& api_key, const std::optional<std::string>& auth_id);
  Outcome delete_attempt(const std::string& api_key, const std::optional<std::string>& auth_id);

  // Webhooks of a KYC project (src/api/service_webhooks.cpp).
  Outcome get_webhook(const std::string& kyc_project_id);
  Outcome set_webhook(const std::string& kyc_project_id, const nlohmann::json& request);
  Outcome delete_webhook(const std::string& kyc_project_id);
  Outcome list_webhook_deliveries(const std::string& kyc_project_id, int64_t after_seq, int limit);

  // Lockouts of a FaceAuth project's submissions (src/api/service_lockout.cpp).
  Outcome get_lockout(const std::string& faceauth_project_id, const std::string& submission_id);
  Outcome unlock_submission(const std::string& faceauth_project_id, const std::string& submission_id);
  Outcome list_lockout_events(const std::string& faceauth_project_id, int64_t after_seq, int limit);

  Store& store() { return store_; }

 private:
  // With a pooled engine; `needs` = the attribute scores to compute.
  Result<FaceAnalysis> analyze(std::span<const uint8_t> image, const AttributeNeeds& needs = {});
  Submission new_submission(const std::string& kyc_project_id, const SubmissionInput& input,
                            const FaceAnalysis& reference, bool from_selfie);
  // The reference of a submission made by another model, re-made from its stored image by
  // the current one and saved; nullopt when no stored image gives a face.
  std::optional<std::vector<float>> reembed_reference(const Submission& submission);
  // Sets the project's webhook URL (validated; "" turns it off) and makes a secret when it
  // has none; returns the new secret, to show once.
  std::optional<std::string> apply_webhook_url(KycProject& project, const std::string& url);
  // The event of a decided attempt when its KYC project has a webhook.
  std::optional<WebhookEvent> webhook_event_for(const std::string& kyc_project_id, const Attempt& attempt);
  // 429 too_many_requests with Retry-After when the policy's lockout holds the submission.
  std::optional<Outcome> refuse_when_locked(const FaceAuthProject& project, const Submission& submission);
  // An outbox event of the lockout webhook when the KYC project has a webhook.
  std::optional<WebhookEvent> lockout_webhook_event(const std::string& kyc_project_id, const std::string& attempt_id,
                                                    std::string payload, int64_t time_ms);
  Outcome compare_and_record(const AuthInput& input, const ApiKey& key, const FaceAuthProject& project,
                             const Submission& submission, IdempotencyRecord* response);

  bool allow_request(const std::string& key_id, int& retry_after);
  // Runs `run` once per (project, Idempotency-Key): a repeat answers the stored response.
  Outcome once(const std::string& project_id, const std::string& key, Bytes request_hash, int success_status,
               const std::function<Outcome(IdempotencyRecord*)>& run);
  Outcome store_submission(const std::string& kyc_project_id, const SubmissionInput& input,
                           IdempotencyRecord* response);
  Outcome decide_and_record(const AuthInput& input, const ApiKey& key, const FaceAuthProject& project,
                            IdempotencyRecord* response);
  Store& store_;
  EnginePool& engines_;
  const Sealer& sealer_;
  ServiceConfig config_;
  RateLimiter limiter_;
};

// The store's rule of a policy's lockout (all zero when off).
LockoutRule lockout_rule(const LockoutPolicy& policy);
// {"webhook_trigger": "faceAuthLockout", "data": {faceauth_project_id, submission_id, state
// ("locked" | "unlocked"), time, locked_until, failures, authentication_id}}
std::string lockout_payload(const std::string& faceauth_project_id, const std::string& submission_id, const char* state,
                            int64_t time_ms, int64_t locked_until_ms, int failures, const std::string& attempt_id);

// Milliseconds since the epoch, and its text in the vendor's format (2023-08-08T07:04:48.633Z).
int64_t now_ms();
std::string iso_time(int64_t ms);

}  // namespace faceauth
