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
  std::string scores_json;      // the response's `score` object, and the `quality` measurements under "quality"
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
  // A failed similarity check (face_compare_underscore): counts towards the lockout.
  bool similarity_failed = false;
};

// The lockout rule of a FaceAuth project's policy, in milliseconds; failures 0 = off.
struct LockoutRule {
  int failures = 0;
  int64_t window_ms = 0;
  int64_t lock_ms = 0;
};

// The lock state of one submission in one FaceAuth project (the lock is keyed by both).
struct LockoutState {
  bool locked = false;          // locked_until_ms > the time asked about
  int64_t locked_until_ms = 0;  // end of the current or last lock; 0 = never locked
  int64_t locked_ms = 0;        // start of that lock
  // Failed similarity checks that count now: within the window, after the last lock or unlock.
  int failures = 0;
};

// The event log of locks and unlocks, per FaceAuth project.
struct LockoutEvent {
  int64_t seq = 0;  // assigned by the store, increasing
  std::string faceauth_project_id;
  std::string submission_id;
  std::string kind;  // "locked" | "unlocked"
  int64_t time_ms = 0;
  int64_t locked_until_ms = 0;  // for "locked": when the lock ends
  int failures = 0;             // for "locked": the failures that locked it
  std::string attempt_id;       // for "locked": the attempt that locked it
  std::string actor;            // "policy" for a lock, "admin" for an unlock
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

// A person who signs in to the dashboard. owner: everything, users too; admin: projects,
// keys, policies, submissions, webhooks; viewer: reads, but no key and no face image.
enum class Role { owner, admin, viewer };
const char* role_name(Role role);
std::optional<Role> parse_role(const std::string& text);

struct User {
  std::string id;
  std::string name;  // unique; what people type to sign in
  Role role = Role::viewer;
  std::string password_hash;  // argon2id string of crypto_pwhash_str (salt and limits inside)
  int64_t created_ms = 0;
  int64_t password_changed_ms = 0;
};

// A signed-in browser. The cookie holds a random token; the store keeps its SHA-256 only.
struct Session {
  Bytes token_hash;
  std::string user_id;
  int64_t created_ms = 0;
  int64_t expires_ms = 0;
  std::string client_address;
};

// One change made through the admin API (dashboard, CLI or scripts): who, when, what, from
// where. Never a secret: no bodies, no keys, no passwords.
struct AuditEntry {
  int64_t seq = 0;  // assigned by the store, increasing
  int64_t time_ms = 0;
  std::string actor;   // a user name, "admin-token" or "anonymous" (a refused sign-in)
  std::string role;    // the actor's role, "" for anonymous
  std::string action;  // e.g. "POST /admin/v1/kyc-projects/{id}/rotate-key"
  std::string target;  // the ids in the path, space separated
  int status = 0;      // the HTTP status answered
  std::string client_address;
  std::string request_id;
};

// Newest first: entries with seq < before_seq (0 = from the newest), within [from_ms, to_ms).
struct AuditQuery {
  std::string actor;   // "" = anyone
  std::string action;  // substring of the action, "" = any
  int64_t from_ms = 0;
  int64_t to_ms = INT64_MAX;
  int64_t before_seq = 0;
  int limit = 100;
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
  // The attempt, its webhook event and the lockout count in one transaction. When the rule is
  // on, the attempt is a failed similarity check and its (project, submission) is not locked
  // at attempt.created_ms, the failures since max(created_ms - window, the last lock or
  // unlock) are counted; reaching rule.failures locks it until created_ms + lock_ms, logs a
  // "locked" LockoutEvent and writes `lock_event` (when given) to the outbox; `response` as
  // for insert_attempt. Returns the lock state after the attempt.
  virtual LockoutState insert_attempt_counted(const Attempt& attempt, const std::optional<WebhookEvent>& event,
                                              const LockoutRule& rule, const std::optional<WebhookEvent>& lock_event,
                                              const IdempotencyRecord* response) = 0;
  // The lock state of a submission in a FaceAuth project at now_ms (failures counted in
  // rule.window_ms).
  virtual LockoutState get_lockout(const std::string& faceauth_project_id, const std::string& submission_id,
                                   const LockoutRule& rule, int64_t now_ms) = 0;
  // Ends the lock (if any) and restarts the failure count at now_ms; when it was locked, logs
  // an "unlocked" LockoutEvent and writes `unlock_event` (when given) to the outbox. Returns
  // whether it was locked.
  virtual bool unlock_submission(const std::string& faceauth_project_id, const std::string& submission_id,
                                 int64_t now_ms, const std::optional<WebhookEvent>& unlock_event) = 0;
  // The lockout event log of a FaceAuth project, oldest first, after `after_seq`.
  virtual std::vector<LockoutEvent> list_lockout_events(const std::string& faceauth_project_id, int64_t after_seq,
                                                        int limit) = 0;
  // A small write in its own transaction (readiness); false when it fails.
  virtual bool probe_write(int64_t now_ms) = 0;

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

  // Makes an event of the project pending again, due now, with a fresh try budget (the
  // dashboard's "redeliver"); false when the project has no such event.
  virtual bool requeue_webhook_event(const std::string& kyc_project_id, const std::string& event_id,
                                     int64_t now_ms) = 0;

  // Dashboard users. create_user is false when the name is taken.
  virtual bool create_user(const User& user) = 0;
  virtual std::vector<User> list_users() = 0;  // by name
  virtual std::optional<User> find_user(const std::string& name) = 0;
  virtual std::optional<User> get_user(const std::string& id) = 0;
  // A new password hash; ends every session of the user. False when no such user.
  virtual bool set_user_password(const std::string& id, const std::string& password_hash, int64_t now_ms) = 0;
  // Removes the user and its sessions; false when absent.
  virtual bool delete_user(const std::string& id) = 0;

  virtual void create_session(const Session& session) = 0;
  // The session with this token hash when it has not expired at now_ms.
  virtual std::optional<Session> find_session(const Bytes& token_hash, int64_t now_ms) = 0;
  virtual bool delete_session(const Bytes& token_hash) = 0;
  virtual int64_t delete_expired_sessions(int64_t now_ms) = 0;

  virtual void append_audit(const AuditEntry& entry) = 0;
  virtual std::vector<AuditEntry> list_audit(const AuditQuery& query) = 0;
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
