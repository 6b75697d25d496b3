// PostgreSQL implementation of Store, for several servers on one database: a pool of libpq
// connections, prepared statements with bound parameters only (bytea binary), every write one
// transaction, the same constraints as the SQLite schema.
//
// A call that loses its connection before COMMIT was sent is retried once on a fresh
// connection (the server rolled the first try back); a second loss, or a loss during COMMIT
// (whose outcome the client cannot know), throws StoreError. Migrations run under a
// session advisory lock, so servers starting together apply each one once.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "store/postgres/pg_connection.h"
#include "store/row_values.h"
#include "store/store.h"

namespace faceauth {
namespace {

using pg::Connection;
using pg::Params;
using pg::Rows;

constexpr int64_t kMigrationLock = 0x66616365'00000001;  // pg_advisory_lock keys of ours
constexpr int64_t kSweeperLock = 0x66616365'00000002;

struct Migration {
  int version;
  const char* sql;
};

// The SQLite schema's migrations in PostgreSQL's types, under the same numbers. Append new
// ones; never edit one that has shipped.
constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE kyc_projects (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  webhook_url TEXT NOT NULL DEFAULT '',
  created_ms  BIGINT NOT NULL
);
CREATE TABLE faceauth_projects (
  id                   TEXT PRIMARY KEY,
  kyc_project_id       TEXT NOT NULL REFERENCES kyc_projects(id),
  name                 TEXT NOT NULL,
  policy_json          TEXT NOT NULL,
  image_retention_days INTEGER NOT NULL,
  created_ms           BIGINT NOT NULL
);
CREATE INDEX faceauth_projects_kyc ON faceauth_projects(kyc_project_id);
CREATE TABLE api_keys (
  id                  TEXT PRIMARY KEY,
  kind                TEXT NOT NULL CHECK (kind IN ('kyc', 'addon')),
  kyc_project_id      TEXT REFERENCES kyc_projects(id),
  faceauth_project_id TEXT REFERENCES faceauth_projects(id),
  prefix              TEXT NOT NULL,
  hash                BYTEA NOT NULL CHECK (octet_length(hash) = 32),
  created_ms          BIGINT NOT NULL,
  revoked_ms          BIGINT,
  CHECK ((kind = 'kyc' AND kyc_project_id IS NOT NULL AND faceauth_project_id IS NULL) OR
         (kind = 'addon' AND faceauth_project_id IS NOT NULL AND kyc_project_id IS NULL))
);
CREATE UNIQUE INDEX api_keys_hash ON api_keys(hash);
CREATE INDEX api_keys_kyc_project ON api_keys(kyc_project_id);
CREATE INDEX api_keys_faceauth_project ON api_keys(faceauth_project_id);
CREATE TABLE submissions (
  id              TEXT PRIMARY KEY,
  kyc_project_id  TEXT NOT NULL REFERENCES kyc_projects(id),
  status          TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
  user_id         TEXT NOT NULL,
  email           TEXT NOT NULL,
  cf1             TEXT NOT NULL,
  cf2             TEXT NOT NULL,
  cf3             TEXT NOT NULL,
  template_sealed BYTEA NOT NULL,
  template_model  TEXT NOT NULL,
  template_source TEXT NOT NULL,
  selfie_sealed   BYTEA NOT NULL,
  id_image_sealed BYTEA NOT NULL,
  created_ms      BIGINT NOT NULL,
  updated_ms      BIGINT NOT NULL
);
CREATE INDEX submissions_project_id ON submissions(kyc_project_id, id);
CREATE INDEX submissions_project_user ON submissions(kyc_project_id, user_id, id);
CREATE TABLE attempts (
  id                  TEXT PRIMARY KEY,
  faceauth_project_id TEXT NOT NULL REFERENCES faceauth_projects(id),
  kyc_submission_id   TEXT NOT NULL,
  approved            BOOLEAN NOT NULL,
  scores_json         TEXT NOT NULL,
  fail_codes_json     TEXT NOT NULL,
  comments_json       TEXT NOT NULL,
  policy_json         TEXT NOT NULL,
  user_id             TEXT NOT NULL,
  cf1                 TEXT NOT NULL,
  cf2                 TEXT NOT NULL,
  cf3                 TEXT NOT NULL,
  key_id              TEXT NOT NULL,
  client_address      TEXT NOT NULL,
  latency_ms          DOUBLE PRECISION NOT NULL,
  created_ms          BIGINT NOT NULL,
  image_sealed        BYTEA NOT NULL,
  delete_check        BOOLEAN NOT NULL
);
CREATE INDEX attempts_project_created ON attempts(faceauth_project_id, created_ms, id);
)sql"},
    {2, R"sql(
ALTER TABLE kyc_projects ADD COLUMN auto_approve_threshold DOUBLE PRECISION NOT NULL DEFAULT 0;
)sql"},
    {3, R"sql(
ALTER TABLE kyc_projects ADD COLUMN webhook_secret_sealed BYTEA NOT NULL DEFAULT '\x';
ALTER TABLE attempts ADD COLUMN image_state TEXT NOT NULL DEFAULT 'stored'
  CHECK (image_state IN ('stored', 'not_stored', 'deleted', 'expired'));
UPDATE attempts SET image_state = CASE WHEN delete_check THEN 'deleted'
                                       WHEN octet_length(image_sealed) = 0 THEN 'not_stored'
                                       ELSE 'stored' END;
CREATE INDEX attempts_stored_images ON attempts(faceauth_project_id, created_ms) WHERE image_state = 'stored';
CREATE TABLE webhook_events (
  id              TEXT PRIMARY KEY,
  kyc_project_id  TEXT NOT NULL REFERENCES kyc_projects(id),
  attempt_id      TEXT NOT NULL,
  payload         TEXT NOT NULL,
  created_ms      BIGINT NOT NULL,
  state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts        INTEGER NOT NULL,
  next_attempt_ms BIGINT NOT NULL
);
CREATE INDEX webhook_events_due ON webhook_events(next_attempt_ms, created_ms) WHERE state = 'pending';
CREATE INDEX webhook_events_attempt ON webhook_events(attempt_id);
CREATE TABLE webhook_deliveries (
  seq            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  event_id       TEXT NOT NULL REFERENCES webhook_events(id),
  kyc_project_id TEXT NOT NULL,
  attempt_id     TEXT NOT NULL,
  url            TEXT NOT NULL,
  attempt        INTEGER NOT NULL,
  started_ms     BIGINT NOT NULL,
  http_status    INTEGER NOT NULL,
  error          TEXT NOT NULL,
  duration_ms    DOUBLE PRECISION NOT NULL,
  event_state    TEXT NOT NULL
);
CREATE INDEX webhook_deliveries_project ON webhook_deliveries(kyc_project_id, seq);
)sql"},
    {4, R"sql(
ALTER TABLE attempts ADD COLUMN similarity_failed BOOLEAN NOT NULL DEFAULT false;
UPDATE attempts SET similarity_failed = true WHERE fail_codes_json::jsonb ? 'face_compare_underscore';
CREATE INDEX attempts_similarity_failures ON attempts(faceauth_project_id, kyc_submission_id, created_ms)
  WHERE similarity_failed;
CREATE TABLE lockouts (
  faceauth_project_id TEXT NOT NULL REFERENCES faceauth_projects(id),
  submission_id       TEXT NOT NULL,
  locked_ms           BIGINT NOT NULL,
  locked_until_ms     BIGINT NOT NULL,
  counted_from_ms     BIGINT NOT NULL,
  PRIMARY KEY (faceauth_project_id, submission_id)
);
CREATE TABLE lockout_events (
  seq                 BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  faceauth_project_id TEXT NOT NULL,
  submission_id       TEXT NOT NULL,
  kind                TEXT NOT NULL CHECK (kind IN ('locked', 'unlocked')),
  time_ms             BIGINT NOT NULL,
  locked_until_ms     BIGINT NOT NULL,
  failures            INTEGER NOT NULL,
  attempt_id          TEXT NOT NULL,
  actor               TEXT NOT NULL
);
CREATE INDEX lockout_events_project ON lockout_events(faceauth_project_id, seq);
CREATE TABLE write_probe (
  id         INTEGER PRIMARY KEY CHECK (id = 1),
  written_ms BIGINT NOT NULL
);
)sql"},
    {5, R"sql(
CREATE TABLE users (
  id                  TEXT PRIMARY KEY,
  name                TEXT NOT NULL UNIQUE,
  role                TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'viewer')),
  password_hash       TEXT NOT NULL,
  created_ms          BIGINT NOT NULL,
  password_changed_ms BIGINT NOT NULL
);
CREATE TABLE sessions (
  token_hash     BYTEA PRIMARY KEY CHECK (octet_length(token_hash) = 32),
  user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_ms     BIGINT NOT NULL,
  expires_ms     BIGINT NOT NULL,
  client_address TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expiry ON sessions(expires_ms);
)sql"},
    {6, R"sql(
CREATE TABLE audit_log (
  seq            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  time_ms        BIGINT NOT NULL,
  actor          TEXT NOT NULL,
  role           TEXT NOT NULL,
  action         TEXT NOT NULL,
  target         TEXT NOT NULL,
  status         INTEGER NOT NULL,
  client_address TEXT NOT NULL,
  request_id     TEXT NOT NULL
);
CREATE INDEX audit_log_time ON audit_log(time_ms);
)sql"},
    {7, R"sql(
-- Several servers: the outbox lease, the shared rate limit, values every server checks.
ALTER TABLE webhook_events ADD COLUMN lease_until_ms BIGINT NOT NULL DEFAULT 0;
CREATE TABLE rate_buckets (
  bucket     TEXT PRIMARY KEY,
  tokens     DOUBLE PRECISION NOT NULL,
  updated_ms BIGINT NOT NULL
);
CREATE TABLE cluster_values (
  name  TEXT PRIMARY KEY,
  value BYTEA NOT NULL
);
)sql"},
    {8, R"sql(
CREATE TABLE idempotency_keys (
  project_id    TEXT NOT NULL,
  key           TEXT NOT NULL,
  request_hash  BYTEA NOT NULL,
  response_body TEXT NOT NULL,
  created_ms    BIGINT NOT NULL,
  PRIMARY KEY (project_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys(created_ms);
)sql"},
};

// The highest number, wherever it is in the list (numbers are handed out per branch).
constexpr int latest_version() {
  int latest = 0;
  for (const Migration& migration : kMigrations) latest = std::max(latest, migration.version);
  return latest;
}
constexpr int kLatestVersion = latest_version();

constexpr const char* kKycProjectColumns =
    "SELECT id, name, webhook_url, created_ms, auto_approve_threshold, webhook_secret_sealed FROM kyc_projects";
constexpr const char* kFaceAuthProjectColumns =
    "SELECT id, kyc_project_id, name, policy_json, image_retention_days, created_ms FROM faceauth_projects";
constexpr const char* kSubmissionColumns =
    "SELECT id, kyc_project_id, status, user_id, email, cf1, cf2, cf3, template_sealed, template_model, "
    "template_source, selfie_sealed, id_image_sealed, created_ms, updated_ms FROM submissions";
constexpr const char* kAttemptColumns =
    "SELECT id, faceauth_project_id, kyc_submission_id, approved, scores_json, fail_codes_json, comments_json, "
    "policy_json, user_id, cf1, cf2, cf3, key_id, client_address, latency_ms, created_ms, image_sealed, "
    "delete_check, image_state, similarity_failed FROM attempts";
constexpr const char* kWebhookEventFields =
    "id, kyc_project_id, attempt_id, payload, created_ms, state, attempts, next_attempt_ms";

int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

const char* key_kind_name(KeyKind kind) { return kind == KeyKind::kyc ? "kyc" : "addon"; }

// Row i of a result, column by column, as row_values' readers take it.
struct RowColumns {
  const Rows& rows;
  int row;
  std::string text(int column) const { return rows.text(row, column); }
  int64_t integer(int column) const { return rows.integer(row, column); }
  double real(int column) const { return rows.real(row, column); }
  Bytes blob(int column) const { return rows.blob(row, column); }
  bool boolean(int column) const { return rows.boolean(row, column); }
};

KycProject read_kyc_project(const Rows& r, int i) { return row_values::kyc_project_from(RowColumns{r, i}); }

FaceAuthProject read_faceauth_project(const Rows& r, int i) {
  return row_values::faceauth_project_from(RowColumns{r, i});
}

Submission read_submission(const Rows& r, int i) { return row_values::submission_from(RowColumns{r, i}); }

Attempt read_attempt(const Rows& r, int i) { return row_values::attempt_from(RowColumns{r, i}); }

WebhookEvent read_webhook_event(const Rows& r, int i) { return row_values::webhook_event_from(RowColumns{r, i}); }

class PgStore final : public Store {
 public:
  PgStore(const std::string& url, int pool_size) : pool_(url, pool_size) {}

  void migrate() override {
    pg::Pool::Lease c = pool_.acquire();
    c->run("SELECT pg_advisory_lock($1)", Params().integer(kMigrationLock), "lock for migration");
    try {
      migrate_locked(*c);
    } catch (...) {
      c->rollback_quietly();
      c->run("SELECT pg_advisory_unlock($1)", Params().integer(kMigrationLock), "unlock after migration");
      throw;
    }
    c->run("SELECT pg_advisory_unlock($1)", Params().integer(kMigrationLock), "unlock after migration");
  }

  bool ping() override {
    try {
      return with_connection(
          "ping", [](Connection& c) { return c.run("SELECT COUNT(*) FROM schema_version", "ping").size() == 1; });
    } catch (const StoreError&) {
      return false;
    }
  }

  bool shared() const override { return true; }

  void create_kyc_project(const KycProject& project, const ApiKey& kyc_key) override {
    if (kyc_key.kind != KeyKind::kyc || kyc_key.project_id != project.id) {
      throw StoreError("create KYC project: the key is not a KYC key of this project");
    }
    transaction("create KYC project", [&](Connection& c) {
      c.run(
          "INSERT INTO kyc_projects(id, name, webhook_url, created_ms, auto_approve_threshold, webhook_secret_sealed) "
          "VALUES($1, $2, $3, $4, $5, $6)",
          row_values::kyc_project(Params(), project), "create KYC project");
      insert_key(c, kyc_key);
    });
  }

  void create_faceauth_project(const FaceAuthProject& project, const ApiKey& addon_key) override {
    if (addon_key.kind != KeyKind::addon || addon_key.project_id != project.id) {
      throw StoreError("create FaceAuth project: the key is not an add-on key of this project");
    }
    std::string policy = policy_json(project.policy).dump();
    transaction("create FaceAuth project", [&](Connection& c) {
      c.run(
          "INSERT INTO faceauth_projects(id, kyc_project_id, name, policy_json, image_retention_days, created_ms) "
          "VALUES($1, $2, $3, $4, $5, $6)",
          row_values::faceauth_project(Params(), project, policy), "create FaceAuth project");
      insert_key(c, addon_key);
    });
  }

  std::vector<KycProject> list_kyc_projects() override {
    Rows r = read(std::string(kKycProjectColumns) + " ORDER BY created_ms, id", {}, "list KYC projects");
    std::vector<KycProject> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(read_kyc_project(r, i));
    return out;
  }

  std::vector<FaceAuthProject> list_faceauth_projects(const std::string& kyc_project_id) override {
    Rows r = read(
        std::string(kFaceAuthProjectColumns) + " WHERE $1::text = '' OR kyc_project_id = $1 ORDER BY created_ms, id",
        Params().text(kyc_project_id), "list FaceAuth projects");
    std::vector<FaceAuthProject> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(read_faceauth_project(r, i));
    return out;
  }

  std::optional<KycProject> get_kyc_project(const std::string& id) override {
    Rows r = read(std::string(kKycProjectColumns) + " WHERE id = $1", Params().text(id), "get KYC project");
    if (r.size() == 0) return std::nullopt;
    return read_kyc_project(r, 0);
  }

  std::optional<FaceAuthProject> get_faceauth_project(const std::string& id) override {
    Rows r = read(std::string(kFaceAuthProjectColumns) + " WHERE id = $1", Params().text(id), "get FaceAuth project");
    if (r.size() == 0) return std::nullopt;
    return read_faceauth_project(r, 0);
  }

  bool update_faceauth_project(const FaceAuthProject& project) override {
    std::string policy = policy_json(project.policy).dump();
    return write("UPDATE faceauth_projects SET name = $1, policy_json = $2, image_retention_days = $3 WHERE id = $4",
                 Params().text(project.name).text(policy).integer(project.image_retention_days).text(project.id),
                 "update FaceAuth project") > 0;
  }

  bool update_kyc_project(const KycProject& project) override {
    return write(
               "UPDATE kyc_projects SET name = $1, webhook_url = $2, auto_approve_threshold = $3, "
               "webhook_secret_sealed = $4 WHERE id = $5",
               Params()
                   .text(project.name)
                   .text(project.webhook_url)
                   .real(project.auto_approve_threshold)
                   .blob(project.webhook_secret_sealed)
                   .text(project.id),
               "update KYC project") > 0;
  }

  std::optional<ApiKey> find_key(const Bytes& hash) override {
    Rows r = read(
        "SELECT k.id, k.kind, COALESCE(k.kyc_project_id, k.faceauth_project_id), k.prefix, k.hash, k.created_ms "
        "FROM api_keys k "
        "LEFT JOIN kyc_projects kp ON k.kind = 'kyc' AND kp.id = k.kyc_project_id "
        "LEFT JOIN faceauth_projects fp ON k.kind = 'addon' AND fp.id = k.faceauth_project_id "
        "WHERE k.hash = $1 AND k.revoked_ms IS NULL AND (kp.id IS NOT NULL OR fp.id IS NOT NULL)",
        Params().blob(hash), "find key");
    if (r.size() == 0) return std::nullopt;
    ApiKey key;
    key.id = r.text(0, 0);
    key.kind = r.text(0, 1) == "kyc" ? KeyKind::kyc : KeyKind::addon;
    key.project_id = r.text(0, 2);
    key.prefix = r.text(0, 3);
    key.hash = r.blob(0, 4);
    key.created_ms = r.integer(0, 5);
    return key;
  }

  bool rotate_key(const ApiKey& new_key) override {
    const bool kyc = new_key.kind == KeyKind::kyc;
    return transaction("rotate key", [&](Connection& c) {
      // The project row lock orders concurrent rotations: each sees the one before it.
      Rows exists = c.run(kyc ? "SELECT 1 FROM kyc_projects WHERE id = $1 FOR UPDATE"
                              : "SELECT 1 FROM faceauth_projects WHERE id = $1 FOR UPDATE",
                          Params().text(new_key.project_id), "rotate key");
      if (exists.size() == 0) return false;
      c.run(kyc ? "UPDATE api_keys SET revoked_ms = $1 WHERE kyc_project_id = $2 AND kind = 'kyc' AND revoked_ms IS "
                  "NULL"
                : "UPDATE api_keys SET revoked_ms = $1 WHERE faceauth_project_id = $2 AND kind = 'addon' AND "
                  "revoked_ms IS NULL",
            Params().integer(new_key.created_ms).text(new_key.project_id), "rotate key");
      insert_key(c, new_key);
      return true;
    });
  }

  void create_submission(const Submission& s, const IdempotencyRecord* response) override {
    Params params;
    row_values::submission(params, s);
    transaction("create submission", [&](Connection& c) {
      c.run(
          "INSERT INTO submissions(id, kyc_project_id, status, user_id, email, cf1, cf2, cf3, template_sealed, "
          "template_model, template_source, selfie_sealed, id_image_sealed, created_ms, updated_ms) "
          "VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
          params, "create submission");
      if (response) store_response(c, *response);
    });
  }

  std::optional<Submission> get_submission(const std::string& kyc_project_id, const std::string& id) override {
    Rows r = read(std::string(kSubmissionColumns) + " WHERE kyc_project_id = $1 AND id = $2",
                  Params().text(kyc_project_id).text(id), "get submission");
    if (r.size() == 0) return std::nullopt;
    return read_submission(r, 0);
  }

  std::vector<Submission> list_submissions(const std::string& kyc_project_id, const SubmissionFilter& filter) override {
    Params params;
    params.text(kyc_project_id).text(filter.after_id);
    if (filter.status) {
      params.text(submission_status_name(*filter.status));
    } else {
      params.null();
    }
    params.text(filter.user_id).integer(std::clamp(filter.limit, 1, 1000));
    // COLLATE "C": ids sort by bytes, as in SQLite, whatever the database's locale.
    Rows r = read(std::string(kSubmissionColumns) +
                      " WHERE kyc_project_id = $1 AND id COLLATE \"C\" > $2 AND ($3::text IS NULL OR status = $3) "
                      "AND ($4::text = '' OR user_id = $4) ORDER BY id COLLATE \"C\" LIMIT $5",
                  params, "list submissions");
    std::vector<Submission> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(read_submission(r, i));
    return out;
  }

  bool set_submission_status(const std::string& kyc_project_id, const std::string& id, SubmissionStatus status,
                             int64_t updated_ms) override {
    return write("UPDATE submissions SET status = $1, updated_ms = $2 WHERE kyc_project_id = $3 AND id = $4",
                 Params().text(submission_status_name(status)).integer(updated_ms).text(kyc_project_id).text(id),
                 "set submission status") > 0;
  }

  bool replace_submission_template(const std::string& kyc_project_id, const std::string& id,
                                   const std::string& old_model, const Submission& updated) override {
    return write(
               "UPDATE submissions SET template_sealed = $1, template_model = $2, updated_ms = $3 "
               "WHERE kyc_project_id = $4 AND id = $5 AND template_model = $6",
               Params()
                   .blob(updated.template_sealed)
                   .text(updated.template_model)
                   .integer(updated.updated_ms)
                   .text(kyc_project_id)
                   .text(id)
                   .text(old_model),
               "replace submission template") > 0;
  }

  bool delete_submission(const std::string& kyc_project_id, const std::string& id) override {
    return write("DELETE FROM submissions WHERE kyc_project_id = $1 AND id = $2",
                 Params().text(kyc_project_id).text(id), "delete submission") > 0;
  }

  void insert_attempt(const Attempt& a, const std::optional<WebhookEvent>& event,
                      const IdempotencyRecord* response) override {
    transaction("insert attempt", [&](Connection& c) {
      insert_attempt_row(c, a);
      if (event) insert_webhook_event(c, *event);
      if (response) store_response(c, *response);
    });
  }

  // The lockout row of the (project, submission) is locked first: attempts on the same
  // submission through several servers count one after another.
  LockoutState insert_attempt_counted(const Attempt& a, const std::optional<WebhookEvent>& event,
                                      const LockoutRule& rule, const std::optional<WebhookEvent>& lock_event,
                                      const IdempotencyRecord* response) override {
    return transaction("insert attempt", [&](Connection& c) {
      insert_attempt_row(c, a);
      if (event) insert_webhook_event(c, *event);
      if (response) store_response(c, *response);
      LockoutRow row = lock_lockout_row(c, a.faceauth_project_id, a.submission_id);
      LockoutState state = lockout_state(c, row, a.faceauth_project_id, a.submission_id, rule, a.created_ms);
      if (rule.failures <= 0 || !a.similarity_failed || state.locked || state.failures < rule.failures) return state;
      row = {a.created_ms, a.created_ms + rule.lock_ms, a.created_ms};
      write_lockout_row(c, a.faceauth_project_id, a.submission_id, row);
      insert_lockout_event(c, {0, a.faceauth_project_id, a.submission_id, "locked", a.created_ms, row.until_ms,
                               state.failures, a.id, "policy"});
      if (lock_event) insert_webhook_event(c, *lock_event);
      state.locked = true;
      state.locked_ms = row.locked_ms;
      state.locked_until_ms = row.until_ms;
      return state;
    });
  }

  LockoutState get_lockout(const std::string& faceauth_project_id, const std::string& submission_id,
                           const LockoutRule& rule, int64_t now_ms) override {
    return with_connection("read lockout", [&](Connection& c) {
      Rows r = c.run(
          "SELECT locked_ms, locked_until_ms, counted_from_ms FROM lockouts WHERE faceauth_project_id = $1 AND "
          "submission_id = $2",
          Params().text(faceauth_project_id).text(submission_id), "read lockout");
      LockoutRow row;
      if (r.size() > 0) row = {r.integer(0, 0), r.integer(0, 1), r.integer(0, 2)};
      return lockout_state(c, row, faceauth_project_id, submission_id, rule, now_ms);
    });
  }

  bool unlock_submission(const std::string& faceauth_project_id, const std::string& submission_id, int64_t now_ms,
                         const std::optional<WebhookEvent>& unlock_event) override {
    return transaction("unlock submission", [&](Connection& c) {
      LockoutRow row = lock_lockout_row(c, faceauth_project_id, submission_id);
      const bool was_locked = row.until_ms > now_ms;
      write_lockout_row(c, faceauth_project_id, submission_id,
                        {row.locked_ms, was_locked ? now_ms : row.until_ms, now_ms});
      if (!was_locked) return false;
      insert_lockout_event(c,
                           {0, faceauth_project_id, submission_id, "unlocked", now_ms, row.until_ms, 0, "", "admin"});
      if (unlock_event) insert_webhook_event(c, *unlock_event);
      return true;
    });
  }

  std::vector<LockoutEvent> list_lockout_events(const std::string& faceauth_project_id, int64_t after_seq,
                                                int limit) override {
    Rows r = read(
        "SELECT seq, faceauth_project_id, submission_id, kind, time_ms, locked_until_ms, failures, attempt_id, actor "
        "FROM lockout_events WHERE faceauth_project_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        Params().text(faceauth_project_id).integer(after_seq).integer(std::clamp(limit, 1, 1000)),
        "list lockout events");
    std::vector<LockoutEvent> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(row_values::lockout_event_from(RowColumns{r, i}));
    return out;
  }

  bool probe_write(int64_t now_ms) override {
    try {
      write(
          "INSERT INTO write_probe(id, written_ms) VALUES(1, $1) ON CONFLICT (id) DO UPDATE SET written_ms = "
          "EXCLUDED.written_ms",
          Params().integer(now_ms), "write probe");
      return true;
    } catch (const StoreError&) {
      return false;
    }
  }

  std::optional<Attempt> get_attempt(const std::string& faceauth_project_id, const std::string& id) override {
    Rows r = read(std::string(kAttemptColumns) + " WHERE faceauth_project_id = $1 AND id = $2",
                  Params().text(faceauth_project_id).text(id), "get attempt");
    if (r.size() == 0) return std::nullopt;
    return read_attempt(r, 0);
  }

  int64_t count_attempts(const std::string& faceauth_project_id) override {
    Rows r = read("SELECT COUNT(*) FROM attempts WHERE faceauth_project_id = $1", Params().text(faceauth_project_id),
                  "count attempts");
    return r.integer(0, 0);
  }

  std::vector<Attempt> list_attempts(const AttemptQuery& aq) override {
    std::pair<int64_t, std::string> after{aq.from_ms, ""};
    if (aq.after && *aq.after > after) after = *aq.after;
    Rows r = read(std::string(kAttemptColumns) +
                      " WHERE faceauth_project_id = $1 AND (created_ms, id COLLATE \"C\") > ($2, $3) AND "
                      "created_ms < $4 ORDER BY created_ms, id COLLATE \"C\" LIMIT $5",
                  Params()
                      .text(aq.faceauth_project_id)
                      .integer(after.first)
                      .text(after.second)
                      .integer(aq.to_ms)
                      .integer(std::clamp(aq.limit, 1, 10000)),
                  "list attempts");
    std::vector<Attempt> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(read_attempt(r, i));
    return out;
  }

  bool purge_attempt(const std::string& faceauth_project_id, const std::string& id) override {
    return transaction("purge attempt", [&](Connection& c) {
      bool purged = c.run(
                         "UPDATE attempts SET image_sealed = '\\x', user_id = '', cf1 = '', cf2 = '', cf3 = '', "
                         "client_address = '', delete_check = true, image_state = 'deleted' "
                         "WHERE faceauth_project_id = $1 AND id = $2 AND NOT delete_check",
                         Params().text(faceauth_project_id).text(id), "purge attempt")
                        .affected() > 0;
      if (purged) {
        c.run(
            "UPDATE webhook_events SET payload = jsonb_set(payload::jsonb, '{data}', (payload::jsonb -> 'data') || "
            "'{\"user_id\": \"\", \"cf1\": \"\", \"cf2\": \"\", \"cf3\": \"\"}'::jsonb)::text WHERE attempt_id = $1 "
            "AND payload::jsonb ->> 'webhook_trigger' = 'faceAuth'",
            Params().text(id), "purge attempt");
      }
      return purged;
    });
  }

  // One server at a time: the others skip while one holds the sweeper's advisory lock.
  int64_t purge_expired_images(int64_t now_ms) override {
    constexpr int64_t kDayMs = 86'400'000;
    pg::Pool::Lease c = pool_.acquire();
    if (!c->run("SELECT pg_try_advisory_lock($1)", Params().integer(kSweeperLock), "lock the sweeper").boolean(0, 0)) {
      return 0;
    }
    int64_t purged = 0;
    try {
      Rows projects = c->run("SELECT id, image_retention_days FROM faceauth_projects WHERE image_retention_days >= 0",
                             "purge expired images");
      for (int i = 0; i < projects.size(); ++i) {
        const int64_t cutoff = now_ms - projects.integer(i, 1) * kDayMs;
        purged += c->run(
                       "UPDATE attempts SET image_sealed = '\\x', image_state = 'expired' "
                       "WHERE faceauth_project_id = $1 AND image_state = 'stored' AND created_ms < $2",
                       Params().text(projects.text(i, 0)).integer(cutoff), "purge expired images")
                      .affected();
      }
    } catch (const pg::ConnectionLost&) {
      throw;  // the session and its lock are gone with the connection
    } catch (...) {
      c->run("SELECT pg_advisory_unlock($1)", Params().integer(kSweeperLock), "unlock the sweeper");
      throw;
    }
    c->run("SELECT pg_advisory_unlock($1)", Params().integer(kSweeperLock), "unlock the sweeper");
    return purged;
  }

  std::vector<WebhookEvent> due_webhook_events(int64_t now_ms, int limit) override {
    Rows r = read(std::string("SELECT ") + kWebhookEventFields +
                      " FROM webhook_events WHERE state = 'pending' AND next_attempt_ms <= $1 AND lease_until_ms <= $1 "
                      "ORDER BY next_attempt_ms, created_ms LIMIT $2",
                  Params().integer(now_ms).integer(std::max(limit, 1)), "due webhook events");
    return events_of(r);
  }

  std::vector<WebhookEvent> claim_webhook_events(int64_t now_ms, int limit, int64_t lease_ms) override {
    return transaction("claim webhook events", [&](Connection& c) {
      Rows r = c.run(std::string("UPDATE webhook_events SET lease_until_ms = $2 WHERE id IN (SELECT id FROM "
                                 "webhook_events WHERE state = 'pending' AND next_attempt_ms <= $1 AND "
                                 "lease_until_ms <= $1 ORDER BY next_attempt_ms, created_ms LIMIT $3 "
                                 "FOR UPDATE SKIP LOCKED) RETURNING ") +
                         kWebhookEventFields,
                     Params().integer(now_ms).integer(now_ms + lease_ms).integer(std::max(limit, 1)),
                     "claim webhook events");
      std::vector<WebhookEvent> out = events_of(r);
      std::sort(out.begin(), out.end(), [](const WebhookEvent& a, const WebhookEvent& b) {
        return std::tie(a.next_attempt_ms, a.created_ms) < std::tie(b.next_attempt_ms, b.created_ms);
      });
      return out;
    });
  }

  std::optional<int64_t> next_webhook_due_ms() override {
    Rows r = read("SELECT MIN(GREATEST(next_attempt_ms, lease_until_ms)) FROM webhook_events WHERE state = 'pending'",
                  {}, "next webhook due");
    if (r.is_null(0, 0)) return std::nullopt;
    return r.integer(0, 0);
  }

  void record_webhook_delivery(const WebhookDelivery& d, const WebhookEvent& event) override {
    transaction("record webhook delivery", [&](Connection& c) {
      c.run(
          "INSERT INTO webhook_deliveries(event_id, kyc_project_id, attempt_id, url, attempt, started_ms, "
          "http_status, error, duration_ms, event_state) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
          row_values::webhook_delivery(Params(), d, event.state), "record webhook delivery");
      c.run(
          "UPDATE webhook_events SET state = $1, attempts = $2, next_attempt_ms = $3, lease_until_ms = 0 WHERE id = $4",
          Params()
              .text(webhook_state_name(event.state))
              .integer(event.attempts)
              .integer(event.next_attempt_ms)
              .text(event.id),
          "record webhook delivery");
    });
  }

  std::vector<WebhookDelivery> list_webhook_deliveries(const std::string& kyc_project_id, int64_t after_seq,
                                                       int limit) override {
    Rows r = read(
        "SELECT seq, event_id, kyc_project_id, attempt_id, url, attempt, started_ms, http_status, error, "
        "duration_ms, event_state FROM webhook_deliveries WHERE kyc_project_id = $1 AND seq > $2 ORDER BY seq "
        "LIMIT $3",
        Params().text(kyc_project_id).integer(after_seq).integer(std::clamp(limit, 1, 1000)),
        "list webhook deliveries");
    std::vector<WebhookDelivery> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(row_values::webhook_delivery_from(RowColumns{r, i}));
    return out;
  }

  // A token bucket row, read and written under its row lock: concurrent servers take turns.
  int64_t take_rate_token(const std::string& bucket, double rate_per_second, double burst, int64_t now_ms) override {
    const double per_ms = rate_per_second / 1000.0;
    double before = transaction("rate limit", [&](Connection& c) {
      c.run(
          "INSERT INTO rate_buckets(bucket, tokens, updated_ms) VALUES($1, $2::float8, $3::bigint) "
          "ON CONFLICT (bucket) DO NOTHING",
          Params().text(bucket).real(burst).integer(now_ms), "rate limit");
      Rows r = c.run("SELECT tokens, updated_ms FROM rate_buckets WHERE bucket = $1 FOR UPDATE", Params().text(bucket),
                     "rate limit");
      const int64_t updated = r.integer(0, 1);
      const double tokens =
          std::min(burst, r.real(0, 0) + static_cast<double>(std::max<int64_t>(0, now_ms - updated)) * per_ms);
      c.run("UPDATE rate_buckets SET tokens = $2::float8, updated_ms = $3::bigint WHERE bucket = $1",
            Params().text(bucket).real(tokens >= 1 ? tokens - 1 : tokens).integer(std::max(updated, now_ms)),
            "rate limit");
      return tokens;
    });
    if (before >= 1) return 0;
    if (per_ms <= 0) return 60'000;
    return std::max<int64_t>(1, static_cast<int64_t>(std::ceil((1 - before) / per_ms - 1e-6)));
  }

  Bytes put_cluster_value_if_absent(const std::string& name, const Bytes& value) override {
    return transaction("cluster value", [&](Connection& c) {
      c.run("INSERT INTO cluster_values(name, value) VALUES($1, $2) ON CONFLICT (name) DO NOTHING",
            Params().text(name).blob(value), "cluster value");
      return c.run("SELECT value FROM cluster_values WHERE name = $1", Params().text(name), "cluster value").blob(0, 0);
    });
  }

  // The row is inserted or locked first: concurrent requests with one key take turns.
  IdempotencyClaim claim_idempotency_key(IdempotencyRecord& record, int64_t now_ms, int64_t stale_ms,
                                         int64_t keep_ms) override {
    return transaction("claim idempotency key", [&](Connection& c) {
      c.run("DELETE FROM idempotency_keys WHERE project_id = $1 AND key = $2 AND created_ms < $3",
            Params().text(record.project_id).text(record.key).integer(now_ms - keep_ms), "claim idempotency key");
      Rows inserted = c.run(
          "INSERT INTO idempotency_keys(project_id, key, request_hash, response_body, created_ms) "
          "VALUES($1, $2, $3, '', $4) ON CONFLICT (project_id, key) DO NOTHING",
          Params().text(record.project_id).text(record.key).blob(record.request_hash).integer(now_ms),
          "claim idempotency key");
      if (inserted.affected() == 1) return IdempotencyClaim::claimed;
      Rows r = c.run(
          "SELECT request_hash, response_body, created_ms FROM idempotency_keys WHERE project_id = $1 AND key = $2 "
          "FOR UPDATE",
          Params().text(record.project_id).text(record.key), "claim idempotency key");
      record.response_body = r.text(0, 1);
      IdempotencyClaim claim = idempotency_claim(r.blob(0, 0), record, r.integer(0, 2), now_ms, stale_ms);
      if (claim == IdempotencyClaim::claimed) {
        c.run("UPDATE idempotency_keys SET created_ms = $3 WHERE project_id = $1 AND key = $2",
              Params().text(record.project_id).text(record.key).integer(now_ms), "claim idempotency key");
      }
      return claim;
    });
  }

  void release_idempotency_key(const std::string& project_id, const std::string& key) override {
    write("DELETE FROM idempotency_keys WHERE project_id = $1 AND key = $2 AND response_body = ''",
          Params().text(project_id).text(key), "release idempotency key");
  }

  int64_t purge_idempotency_keys(int64_t before_ms) override {
    return write("DELETE FROM idempotency_keys WHERE created_ms < $1", Params().integer(before_ms),
                 "purge idempotency keys");
  }

  bool requeue_webhook_event(const std::string& kyc_project_id, const std::string& event_id, int64_t now_ms) override {
    return write(
               "UPDATE webhook_events SET state = 'pending', attempts = 0, next_attempt_ms = $1, lease_until_ms = 0 "
               "WHERE kyc_project_id = $2 AND id = $3",
               Params().integer(now_ms).text(kyc_project_id).text(event_id), "requeue webhook event") > 0;
  }

  bool create_user(const User& user) override {
    return write(
               "INSERT INTO users(id, name, role, password_hash, created_ms, password_changed_ms) "
               "VALUES($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING",
               row_values::user(Params(), user), "create user") > 0;
  }

  std::vector<User> list_users() override {
    return users_of(read(std::string(kUserColumns) + " ORDER BY name COLLATE \"C\"", {}, "list users"));
  }

  std::optional<User> find_user(const std::string& name) override {
    std::vector<User> found =
        users_of(read(std::string(kUserColumns) + " WHERE name = $1", Params().text(name), "find user"));
    if (found.empty()) return std::nullopt;
    return found[0];
  }

  std::optional<User> get_user(const std::string& id) override {
    std::vector<User> found =
        users_of(read(std::string(kUserColumns) + " WHERE id = $1", Params().text(id), "get user"));
    if (found.empty()) return std::nullopt;
    return found[0];
  }

  bool set_user_password(const std::string& id, const std::string& password_hash, int64_t now_ms) override {
    return transaction("set user password", [&](Connection& c) {
      bool changed = c.run("UPDATE users SET password_hash = $1, password_changed_ms = $2 WHERE id = $3",
                           Params().text(password_hash).integer(now_ms).text(id), "set user password")
                         .affected() > 0;
      if (changed) c.run("DELETE FROM sessions WHERE user_id = $1", Params().text(id), "set user password");
      return changed;
    });
  }

  bool delete_user(const std::string& id) override {
    return transaction("delete user", [&](Connection& c) {
      c.run("DELETE FROM sessions WHERE user_id = $1", Params().text(id), "delete user");
      return c.run("DELETE FROM users WHERE id = $1", Params().text(id), "delete user").affected() > 0;
    });
  }

  void create_session(const Session& session) override {
    write(
        "INSERT INTO sessions(token_hash, user_id, created_ms, expires_ms, client_address) VALUES($1, $2, $3, $4, $5)",
        row_values::session(Params(), session), "create session");
  }

  std::optional<Session> find_session(const Bytes& token_hash, int64_t now_ms) override {
    Rows r = read(
        "SELECT token_hash, user_id, created_ms, expires_ms, client_address FROM sessions "
        "WHERE token_hash = $1 AND expires_ms > $2",
        Params().blob(token_hash).integer(now_ms), "find session");
    if (r.size() == 0) return std::nullopt;
    return Session{r.blob(0, 0), r.text(0, 1), r.integer(0, 2), r.integer(0, 3), r.text(0, 4)};
  }

  bool delete_session(const Bytes& token_hash) override {
    return write("DELETE FROM sessions WHERE token_hash = $1", Params().blob(token_hash), "delete session") > 0;
  }

  int64_t delete_expired_sessions(int64_t now_ms) override {
    return write("DELETE FROM sessions WHERE expires_ms <= $1", Params().integer(now_ms), "delete expired sessions");
  }

  void append_audit(const AuditEntry& e) override {
    write(
        "INSERT INTO audit_log(time_ms, actor, role, action, target, status, client_address, request_id) "
        "VALUES($1, $2, $3, $4, $5, $6, $7, $8)",
        row_values::audit_entry(Params(), e), "append audit");
  }

  std::vector<AuditEntry> list_audit(const AuditQuery& aq) override {
    Rows r = read(
        "SELECT seq, time_ms, actor, role, action, target, status, client_address, request_id FROM audit_log "
        "WHERE ($1::text = '' OR actor = $1) AND ($2::text = '' OR strpos(action, $2) > 0) AND time_ms >= $3 "
        "AND time_ms < $4 AND ($5::bigint = 0 OR seq < $5) ORDER BY seq DESC LIMIT $6",
        Params()
            .text(aq.actor)
            .text(aq.action)
            .integer(aq.from_ms)
            .integer(aq.to_ms)
            .integer(aq.before_seq)
            .integer(std::clamp(aq.limit, 1, 1000)),
        "list audit");
    std::vector<AuditEntry> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(row_values::audit_entry_from(RowColumns{r, i}));
    return out;
  }

 private:
  static constexpr const char* kUserColumns =
      "SELECT id, name, role, password_hash, created_ms, password_changed_ms FROM users";

  static std::vector<User> users_of(const Rows& r) {
    std::vector<User> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(row_values::user_from(RowColumns{r, i}));
    return out;
  }

  struct LockoutRow {
    int64_t locked_ms = 0, until_ms = 0, counted_from_ms = 0;
  };

  // Inside a transaction: the row (made when absent, never locked) under FOR UPDATE.
  static LockoutRow lock_lockout_row(Connection& c, const std::string& project, const std::string& submission) {
    c.run(
        "INSERT INTO lockouts(faceauth_project_id, submission_id, locked_ms, locked_until_ms, counted_from_ms) "
        "VALUES($1, $2, 0, 0, 0) ON CONFLICT (faceauth_project_id, submission_id) DO NOTHING",
        Params().text(project).text(submission), "lock lockout");
    Rows r = c.run(
        "SELECT locked_ms, locked_until_ms, counted_from_ms FROM lockouts WHERE faceauth_project_id = $1 AND "
        "submission_id = $2 FOR UPDATE",
        Params().text(project).text(submission), "lock lockout");
    return {r.integer(0, 0), r.integer(0, 1), r.integer(0, 2)};
  }

  static void write_lockout_row(Connection& c, const std::string& project, const std::string& submission,
                                const LockoutRow& row) {
    c.run(
        "UPDATE lockouts SET locked_ms = $3, locked_until_ms = $4, counted_from_ms = $5 WHERE faceauth_project_id = "
        "$1 AND submission_id = $2",
        Params()
            .text(project)
            .text(submission)
            .integer(row.locked_ms)
            .integer(row.until_ms)
            .integer(row.counted_from_ms),
        "write lockout");
  }

  // The state at now_ms; failures are counted in (max(now - window, counted_from), now].
  static LockoutState lockout_state(Connection& c, const LockoutRow& row, const std::string& project,
                                    const std::string& submission, const LockoutRule& rule, int64_t now_ms) {
    LockoutState state;
    state.locked = row.until_ms > now_ms;
    state.locked_ms = row.locked_ms;
    state.locked_until_ms = row.until_ms;
    Rows r = c.run(
        "SELECT COUNT(*) FROM attempts WHERE faceauth_project_id = $1 AND kyc_submission_id = $2 AND "
        "similarity_failed AND created_ms > $3 AND created_ms <= $4",
        Params()
            .text(project)
            .text(submission)
            .integer(std::max(now_ms - rule.window_ms, row.counted_from_ms))
            .integer(now_ms),
        "count failures");
    state.failures = static_cast<int>(r.integer(0, 0));
    return state;
  }

  static void insert_lockout_event(Connection& c, const LockoutEvent& e) {
    c.run(
        "INSERT INTO lockout_events(faceauth_project_id, submission_id, kind, time_ms, locked_until_ms, failures, "
        "attempt_id, actor) VALUES($1, $2, $3, $4, $5, $6, $7, $8)",
        row_values::lockout_event(Params(), e), "log lockout event");
  }

  static void insert_attempt_row(Connection& c, const Attempt& a) {
    Params params;
    row_values::attempt(params, a);
    c.run(
        "INSERT INTO attempts(id, faceauth_project_id, kyc_submission_id, approved, scores_json, fail_codes_json, "
        "comments_json, policy_json, user_id, cf1, cf2, cf3, key_id, client_address, latency_ms, created_ms, "
        "image_sealed, delete_check, image_state, similarity_failed) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
        "$11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
        params, "insert attempt");
  }

  static void store_response(Connection& c, const IdempotencyRecord& r) {
    Rows changed = c.run(
        "UPDATE idempotency_keys SET response_body = $1 WHERE project_id = $2 AND key = $3 AND request_hash = $4 AND "
        "response_body = ''",
        Params().text(r.response_body).text(r.project_id).text(r.key).blob(r.request_hash),
        "store idempotent response");
    if (changed.affected() != 1)
      throw StoreError("store idempotent response: the key is no longer held by this request");
  }

  void migrate_locked(Connection& c) {
    c.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_ms BIGINT NOT NULL)",
           "create schema_version");
    const int64_t current =
        c.run("SELECT COALESCE(MAX(version), 0) FROM schema_version", "read schema version").integer(0, 0);
    if (current > kLatestVersion) {
      throw StoreError("database schema version " + std::to_string(current) + " is newer than this program's (" +
                       std::to_string(kLatestVersion) + ")");
    }
    for (const Migration& migration : kMigrations) {
      if (c.run("SELECT 1 FROM schema_version WHERE version = $1", Params().integer(migration.version),
                "read schema version")
              .size() > 0) {
        continue;
      }
      c.exec("BEGIN", "migrate");
      c.exec(migration.sql, "apply migration");
      c.run("INSERT INTO schema_version(version, applied_ms) VALUES($1, $2)",
            Params().integer(migration.version).integer(wall_ms()), "record migration");
      c.exec("COMMIT", "migrate");
    }
  }

  // Runs `body` on a pooled connection; once more, reconnected, when the connection was lost
  // (a server restart leaves every pooled connection stale).
  template <typename Body>
  auto with_connection(const char* what, Body&& body) -> decltype(body(std::declval<Connection&>())) {
    const std::string unreachable = std::string(what) + ": database unreachable";
    pg::Pool::Lease c = acquire(unreachable);
    try {
      return body(*c);
    } catch (const pg::ConnectionLost& lost) {
      if (committing_lost(lost) || !c->reset()) throw StoreError(unreachable);
    }
    try {
      return body(*c);
    } catch (const pg::ConnectionLost&) {
      throw StoreError(unreachable);
    }
  }

  pg::Pool::Lease acquire(const std::string& unreachable) {
    try {
      return pool_.acquire();
    } catch (const pg::ConnectionLost&) {
      throw StoreError(unreachable);
    }
  }

  static bool committing_lost(const pg::ConnectionLost& lost) {
    return std::string_view(lost.what()).starts_with("commit:");
  }

  // BEGIN ... COMMIT around `body`; an error rolls back. A lost COMMIT is not retried.
  template <typename Body>
  auto transaction(const char* what, Body&& body) -> decltype(body(std::declval<Connection&>())) {
    return with_connection(what, [&](Connection& c) {
      c.exec("BEGIN", what);
      try {
        if constexpr (std::is_void_v<decltype(body(c))>) {
          body(c);
          c.exec("COMMIT", "commit");
        } else {
          auto result = body(c);
          c.exec("COMMIT", "commit");
          return result;
        }
      } catch (...) {
        c.rollback_quietly();
        throw;
      }
    });
  }

  Rows read(const std::string& sql, const Params& params, const char* what) {
    return with_connection(what, [&](Connection& c) { return c.run(sql, params, what); });
  }

  // One statement in its own (implicit) transaction; the rows it changed.
  int64_t write(const std::string& sql, const Params& params, const char* what) {
    return read(sql, params, what).affected();
  }

  static void insert_key(Connection& c, const ApiKey& key) {
    const bool kyc = key.kind == KeyKind::kyc;
    Params params;
    params.text(key.id).text(key_kind_name(key.kind));
    if (kyc) {
      params.text(key.project_id).null();
    } else {
      params.null().text(key.project_id);
    }
    params.text(key.prefix).blob(key.hash).integer(key.created_ms);
    c.run(
        "INSERT INTO api_keys(id, kind, kyc_project_id, faceauth_project_id, prefix, hash, created_ms, revoked_ms) "
        "VALUES($1, $2, $3, $4, $5, $6, $7, NULL)",
        params, "insert key");
  }

  static void insert_webhook_event(Connection& c, const WebhookEvent& e) {
    c.run(
        "INSERT INTO webhook_events(id, kyc_project_id, attempt_id, payload, created_ms, state, attempts, "
        "next_attempt_ms) VALUES($1, $2, $3, $4, $5, $6, $7, $8)",
        row_values::webhook_event(Params(), e), "insert webhook event");
  }

  static std::vector<WebhookEvent> events_of(const Rows& r) {
    std::vector<WebhookEvent> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(read_webhook_event(r, i));
    return out;
  }

  pg::Pool pool_;
};

}  // namespace

std::unique_ptr<Store> open_postgres_store(const std::string& url, int pool_size) {
  auto store = std::make_unique<PgStore>(url, pool_size);
  store->migrate();
  return store;
}

}  // namespace faceauth
