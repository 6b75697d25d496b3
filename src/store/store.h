#pragma once
// Storage behind one interface: SQLite (embedded, default) now, PostgreSQL later, the same
// tests for both. Records are plain structs; secrets arrive already hashed and biometric
// data already encrypted (see crypto/), so a store never sees a key or a raw template.
// Every method is one transaction; a failure throws StoreError and leaves nothing
// half-written. Implementations are thread-safe.

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "policy/policy.h"

namespace faceauth {

class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using Bytes = std::vector<uint8_t>;

struct KycProject {
  std::string id;
  std::string name;
  std::string webhook_url;  // "" when none
  int64_t created_ms = 0;
  // A new submission with both a selfie and an ID photo whose faces score at least this
  // (0-100 similarity score) is approved at once; 0 = off, submissions start pending.
  double auto_approve_threshold = 0;
  Bytes webhook_secret_sealed{};  // sealed HMAC secret of the webhook; empty when none
};

struct FaceAuthProject {
  std::string id;
  std::string kyc_project_id;
  std::string name;
  Policy policy;
  int image_retention_days = 30;  // 0: face images are never stored; -1: kept until deleted
  int64_t created_ms = 0;
};

enum class KeyKind { kyc, addon };

struct ApiKey {
  std::string id;
  KeyKind kind = KeyKind::addon;
  std::string project_id;  // a KYC project for kyc keys, a FaceAuth project for add-on keys
  std::string prefix;      // the first characters of the key, for people to tell keys apart
  Bytes hash;              // SHA-256 of the whole key
  int64_t created_ms = 0;
};

enum class SubmissionStatus { pending, approved, rejected };
const char* submission_status_name(SubmissionStatus status);
std::optional<SubmissionStatus> parse_submission_status(const std::string& text);

struct Submission {
  std::string id;
  std::string kyc_project_id;
  SubmissionStatus status = SubmissionStatus::pending;
  std::string user_id, email, cf1, cf2, cf3;
  Bytes template_sealed;        // encrypted reference descriptor; empty when no face was found
  std::string template_model;   // model version that made it
  std::string template_source;  // "selfie" | "id" | ""
  Bytes selfie_sealed;          // encrypted image bytes, empty when none
  Bytes id_image_sealed;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

struct SubmissionFilter {
  std::optional<SubmissionStatus> status;
  std::string user_id;   // "" = any
  std::string after_id;  // keyset pagination: ids sorted ascending, "" = from the start
  int limit = 100;
};

struct Attempt {
  std::string id;  // authentication_id
  std::string faceauth_project_id;
  std::string submission_id;
  bool approved = false;
  std::string scores_json;      // the response's `score` object
  std::string fail_codes_json;  // JSON array of codes
  std::string comments_json;    // JSON array of rejected comments
  std::string policy_json;      // snapshot of the policy it was judged under
  std::string user_id, cf1, cf2, cf3;
  std::string key_id;
  std::string client_address;
  double latency_ms = 0;
  int64_t created_ms = 0;
  Bytes image_sealed;  // encrypted face image, empty when retention keeps none
  bool delete_check = false;
  // What became of the face image: "stored", "not_stored" (retention 0), "deleted" (DELETE
  // /v3/faceauth), "expired" (the retention sweeper). Set by the store.
  std::string image_state;
};

// One page of a project's attempts, oldest first, ordered by (created_ms, id).
struct AttemptQuery {
  std::string faceauth_project_id;
  int64_t from_ms = 0;  // created_ms >= from_ms
  int64_t to_ms = 0;    // created_ms < to_ms
  // Keyset pagination: the (created_ms, id) of the last attempt already seen, or none.
  std::optional<std::pair<int64_t, std::string>> after;
  int limit = 2000;
};

// A webhook event in the outbox: written in the same transaction as its attempt, POSTed by
// the delivery worker until delivered or out of attempts.
enum class WebhookState { pending, delivered, failed };
const char* webhook_state_name(WebhookState state);

struct WebhookEvent {
  std::string id;
  std::string kyc_project_id;
  std::string attempt_id;
  std::string payload;  // the JSON body
  int64_t created_ms = 0;
  WebhookState state = WebhookState::pending;
  int attempts = 0;  // deliveries tried so far
  int64_t next_attempt_ms = 0;
};

// One try at delivering an event (the delivery log).
struct WebhookDelivery {
  int64_t seq = 0;  // assigned by the store, increasing
  std::string event_id;
  std::string kyc_project_id;
  std::string attempt_id;
  std::string url;
  int attempt = 0;  // 1 for the first try
  int64_t started_ms = 0;
  int http_status = 0;  // 0 when no HTTP answer came
  std::string error;    // "" on a 2xx answer
  double duration_ms = 0;
  WebhookState event_state = WebhookState::pending;  // the event's state after this try
};

// A client's Idempotency-Key on a creating request (per project, kept a day): the request it
// was first used with (a hash) and the response that request got ("" while in progress).
struct IdempotencyRecord {
  std::string project_id;
  std::string key;
  Bytes request_hash;
  std::string response_body;
  int64_t created_ms = 0;
};

enum class IdempotencyClaim {
  claimed,      // this request holds the key now: run it, store its response with its write
  done,         // answered before: the stored response is returned
  mismatch,     // the key was used with another request
  in_progress,  // the first request with this key is still running
};

class Store {
 public:
  virtual ~Store() = default;

  // Schema migrations to the latest version (a version table records the applied ones).
  virtual void migrate() = 0;
  virtual bool ping() = 0;  // storage reachable

  virtual void create_kyc_project(const KycProject& project, const ApiKey& kyc_key) = 0;
  virtual void create_faceauth_project(const FaceAuthProject& project, const ApiKey& addon_key) = 0;
  virtual std::vector<KycProject> list_kyc_projects() = 0;
  virtual std::vector<FaceAuthProject> list_faceauth_projects(const std::string& kyc_project_id) = 0;  // "" = all
  virtual std::optional<KycProject> get_kyc_project(const std::string& id) = 0;
  virtual std::optional<FaceAuthProject> get_faceauth_project(const std::string& id) = 0;
  // False when no such project.
  virtual bool update_faceauth_project(const FaceAuthProject& project) = 0;
  virtual bool update_kyc_project(const KycProject& project) = 0;

  // The live key with this hash (of a live project), or nothing. Callers compare the hash
  // they computed with the returned one in constant time.
  virtual std::optional<ApiKey> find_key(const Bytes& hash) = 0;
  // Revokes the project's live keys of that kind and adds `new_key`; false when no project.
  virtual bool rotate_key(const ApiKey& new_key) = 0;

  // With `response`: the response stored under its claimed Idempotency-Key, in the same transaction.
  virtual void create_submission(const Submission& submission, const IdempotencyRecord* response) = 0;
  void create_submission(const Submission& submission) { create_submission(submission, nullptr); }
  // Scoped by KYC project: another project's id answers nothing, exactly as an absent one.
  virtual std::optional<Submission> get_submission(const std::string& kyc_project_id, const std::string& id) = 0;
  virtual std::vector<Submission> list_submissions(const std::string& kyc_project_id,
                                                   const SubmissionFilter& filter) = 0;
  virtual bool set_submission_status(const std::string& kyc_project_id, const std::string& id, SubmissionStatus status,
                                     int64_t updated_ms) = 0;
  // Replaces the reference template made by `old_model` (re-embedding after a model change);
  // false when the submission is absent or its template is no longer from `old_model`.
  virtual bool replace_submission_template(const std::string& kyc_project_id, const std::string& id,
                                           const std::string& old_model, const Submission& updated) = 0;
  // Deletes the submission with its images and template; false when absent.
  virtual bool delete_submission(const std::string& kyc_project_id, const std::string& id) = 0;

  // The attempt and, when given, its webhook event and the response stored under the
  // request's Idempotency-Key (claimed before), in one transaction.
  virtual void insert_attempt(const Attempt& attempt, const std::optional<WebhookEvent>& event,
                              const IdempotencyRecord* response) = 0;
  void insert_attempt(const Attempt& attempt, const std::optional<WebhookEvent>& event) {
    insert_attempt(attempt, event, nullptr);
  }
  void insert_attempt(const Attempt& attempt) { insert_attempt(attempt, std::nullopt, nullptr); }
  virtual std::optional<Attempt> get_attempt(const std::string& faceauth_project_id, const std::string& id) = 0;
  virtual int64_t count_attempts(const std::string& faceauth_project_id) = 0;
  // Up to query.limit attempts after query.after within [from_ms, to_ms).
  virtual std::vector<Attempt> list_attempts(const AttemptQuery& query) = 0;
  // Erases the image, userId and cf1-cf3 of one attempt (and of its webhook events), sets
  // delete_check; keeps id, status, scores and time. False when absent or already deleted.
  virtual bool purge_attempt(const std::string& faceauth_project_id, const std::string& id) = 0;
  // Erases the images older than each project's retention (all of them for retention 0);
  // returns how many.
  virtual int64_t purge_expired_images(int64_t now_ms) = 0;

  // Events due for a try (pending, next_attempt_ms <= now_ms, not leased), oldest first.
  virtual std::vector<WebhookEvent> due_webhook_events(int64_t now_ms, int limit) = 0;
  // Claims up to `limit` due events for this process, oldest first: each is hidden from every
  // other claim until now_ms + lease_ms or until its delivery is recorded, so each event is
  // tried by one server at a time, and a server that dies mid-try leaves it to another
  // after the lease. (PostgreSQL: FOR UPDATE SKIP LOCKED.)
  virtual std::vector<WebhookEvent> claim_webhook_events(int64_t now_ms, int limit, int64_t lease_ms) = 0;
  // When the next pending event can be tried (its next_attempt_ms, or its lease's end), or nothing.
  virtual std::optional<int64_t> next_webhook_due_ms() = 0;
  // Logs a try and updates its event (state, attempts, next_attempt_ms) and ends its lease,
  // in one transaction.
  virtual void record_webhook_delivery(const WebhookDelivery& delivery, const WebhookEvent& event) = 0;
  // The delivery log of a KYC project, oldest first, after `after_seq`.
  virtual std::vector<WebhookDelivery> list_webhook_deliveries(const std::string& kyc_project_id, int64_t after_seq,
                                                               int limit) = 0;

  // True when several servers may share this store (PostgreSQL): per-process state such as
  // the rate limit then lives in the store.
  virtual bool shared() const { return false; }
  // One token of a shared token bucket (`rate_per_second`, up to `burst`), taken atomically:
  // 0 when taken, else the milliseconds until one is there.
  virtual int64_t take_rate_token(const std::string& bucket, double rate_per_second, double burst, int64_t now_ms) = 0;
  // A named value every server of the cluster sees (the sealing check, the model version):
  // stored when absent; returns the stored one, the given one or the one written before.
  virtual Bytes put_cluster_value_if_absent(const std::string& name, const Bytes& value) = 0;

  // Takes (record.project_id, record.key) for a request with record.request_hash at now_ms.
  // A record older than keep_ms is forgotten; one still in progress after stale_ms (its
  // server died) is taken over. `response_body` is filled for `done`.
  virtual IdempotencyClaim claim_idempotency_key(IdempotencyRecord& record, int64_t now_ms, int64_t stale_ms,
                                                 int64_t keep_ms) = 0;
  // Gives up a claimed key whose request stored nothing (an error answer): a retry runs again.
  virtual void release_idempotency_key(const std::string& project_id, const std::string& key) = 0;
  // Deletes the records created before `before_ms`; returns how many.
  virtual int64_t purge_idempotency_keys(int64_t before_ms) = 0;
};

// What a stored Idempotency-Key record (its request hash and creation time, and
// request.response_body read from it) means for a request: both stores decide alike.
IdempotencyClaim idempotency_claim(const Bytes& stored_hash, const IdempotencyRecord& request, int64_t created_ms,
                                   int64_t now_ms, int64_t stale_ms);

// Opens (creating when needed) an SQLite database file in WAL mode and migrates it.
std::unique_ptr<Store> open_sqlite_store(const std::string& path);
// Connects to a PostgreSQL database (a libpq URL, postgresql://user@host:port/db) with a
// pool of `pool_size` connections and migrates it under an advisory lock.
std::unique_ptr<Store> open_postgres_store(const std::string& url, int pool_size);
// The store the `database` setting names: a postgresql:// or postgres:// URL, sqlite:PATH,
// or "" for `default_sqlite_path`.
std::unique_ptr<Store> open_store(const std::string& database, const std::string& default_sqlite_path, int pool_size);
bool is_postgres_url(const std::string& database);

}  // namespace faceauth
