// SQLite implementation of Store: one connection, guarded by a mutex; cached prepared
// statements with bound parameters only; every write in BEGIN IMMEDIATE ... COMMIT.
//
// Durability choice: journal_mode=WAL with synchronous=FULL. NORMAL would keep the file
// consistent in WAL mode, but the last commits before a power loss or OS crash could roll
// back after the fact. Callers act on commits (a caller is shown a new key, and a rotation
// revokes the old one), and a revocation that silently comes undone after a crash would
// revive a key that was meant to be dead. FULL costs one fsync of the WAL per commit.

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include "store/row_values.h"
#include "store/store.h"

namespace faceauth {
namespace {

// Numbered schema migrations, applied in order, each once, each in its own transaction.
// Append new ones; never edit one that has shipped. Constant DDL only (no values).
struct Migration {
  int version;
  const char* sql;
};

constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE kyc_projects (
  id          TEXT PRIMARY KEY NOT NULL,
  name        TEXT NOT NULL,
  webhook_url TEXT NOT NULL DEFAULT '',
  created_ms  INTEGER NOT NULL
) STRICT;

CREATE TABLE faceauth_projects (
  id                   TEXT PRIMARY KEY NOT NULL,
  kyc_project_id       TEXT NOT NULL REFERENCES kyc_projects(id),
  name                 TEXT NOT NULL,
  policy_json          TEXT NOT NULL,
  image_retention_days INTEGER NOT NULL,
  created_ms           INTEGER NOT NULL
) STRICT;
CREATE INDEX faceauth_projects_kyc ON faceauth_projects(kyc_project_id);

-- A key belongs to exactly one project: a KYC project (kind 'kyc') or a FaceAuth project
-- (kind 'addon'); two columns so that both are real foreign keys.
CREATE TABLE api_keys (
  id                  TEXT PRIMARY KEY NOT NULL,
  kind                TEXT NOT NULL CHECK (kind IN ('kyc', 'addon')),
  kyc_project_id      TEXT REFERENCES kyc_projects(id),
  faceauth_project_id TEXT REFERENCES faceauth_projects(id),
  prefix              TEXT NOT NULL,
  hash                BLOB NOT NULL CHECK (length(hash) = 32),
  created_ms          INTEGER NOT NULL,
  revoked_ms          INTEGER,
  CHECK ((kind = 'kyc' AND kyc_project_id IS NOT NULL AND faceauth_project_id IS NULL) OR
         (kind = 'addon' AND faceauth_project_id IS NOT NULL AND kyc_project_id IS NULL))
) STRICT;
CREATE UNIQUE INDEX api_keys_hash ON api_keys(hash);
CREATE INDEX api_keys_kyc_project ON api_keys(kyc_project_id);
CREATE INDEX api_keys_faceauth_project ON api_keys(faceauth_project_id);

CREATE TABLE submissions (
  id              TEXT PRIMARY KEY NOT NULL,
  kyc_project_id  TEXT NOT NULL REFERENCES kyc_projects(id),
  status          TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
  user_id         TEXT NOT NULL,
  email           TEXT NOT NULL,
  cf1             TEXT NOT NULL,
  cf2             TEXT NOT NULL,
  cf3             TEXT NOT NULL,
  template_sealed BLOB NOT NULL,
  template_model  TEXT NOT NULL,
  template_source TEXT NOT NULL,
  selfie_sealed   BLOB NOT NULL,
  id_image_sealed BLOB NOT NULL,
  created_ms      INTEGER NOT NULL,
  updated_ms      INTEGER NOT NULL
) STRICT;
CREATE INDEX submissions_project_id ON submissions(kyc_project_id, id);
CREATE INDEX submissions_project_user ON submissions(kyc_project_id, user_id, id);

-- kyc_submission_id is plain text, not a foreign key: deleting a submission keeps the
-- record of the attempts made against it.
CREATE TABLE attempts (
  id                  TEXT PRIMARY KEY NOT NULL,
  faceauth_project_id TEXT NOT NULL REFERENCES faceauth_projects(id),
  kyc_submission_id   TEXT NOT NULL,
  approved            INTEGER NOT NULL CHECK (approved IN (0, 1)),
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
  latency_ms          REAL NOT NULL,
  created_ms          INTEGER NOT NULL,
  image_sealed        BLOB NOT NULL,
  delete_check        INTEGER NOT NULL CHECK (delete_check IN (0, 1))
) STRICT;
CREATE INDEX attempts_project_created ON attempts(faceauth_project_id, created_ms, id);
)sql"},
    {2, R"sql(
ALTER TABLE kyc_projects ADD COLUMN auto_approve_threshold REAL NOT NULL DEFAULT 0;
)sql"},
    {3, R"sql(
ALTER TABLE kyc_projects ADD COLUMN webhook_secret_sealed BLOB NOT NULL DEFAULT x'';

ALTER TABLE attempts ADD COLUMN image_state TEXT NOT NULL DEFAULT 'stored'
  CHECK (image_state IN ('stored', 'not_stored', 'deleted', 'expired'));
UPDATE attempts SET image_state = CASE WHEN delete_check = 1 THEN 'deleted'
                                       WHEN length(image_sealed) = 0 THEN 'not_stored'
                                       ELSE 'stored' END;
-- The retention sweeper's range scan per project.
CREATE INDEX attempts_stored_images ON attempts(faceauth_project_id, created_ms) WHERE image_state = 'stored';

-- The outbox: one row per webhook event, written with its attempt.
CREATE TABLE webhook_events (
  id              TEXT PRIMARY KEY NOT NULL,
  kyc_project_id  TEXT NOT NULL REFERENCES kyc_projects(id),
  attempt_id      TEXT NOT NULL,
  payload         TEXT NOT NULL,
  created_ms      INTEGER NOT NULL,
  state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts        INTEGER NOT NULL,
  next_attempt_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX webhook_events_due ON webhook_events(next_attempt_ms, created_ms) WHERE state = 'pending';
CREATE INDEX webhook_events_attempt ON webhook_events(attempt_id);

-- Every try at delivering an event.
CREATE TABLE webhook_deliveries (
  seq            INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id       TEXT NOT NULL REFERENCES webhook_events(id),
  kyc_project_id TEXT NOT NULL,
  attempt_id     TEXT NOT NULL,
  url            TEXT NOT NULL,
  attempt        INTEGER NOT NULL,
  started_ms     INTEGER NOT NULL,
  http_status    INTEGER NOT NULL,
  error          TEXT NOT NULL,
  duration_ms    REAL NOT NULL,
  event_state    TEXT NOT NULL
) STRICT;
CREATE INDEX webhook_deliveries_project ON webhook_deliveries(kyc_project_id, seq);
)sql"},
    {4, R"sql(
-- Lockout: failed similarity checks are counted from the attempts themselves (a sliding
-- window), the lock of each (FaceAuth project, submission) is one row.
ALTER TABLE attempts ADD COLUMN similarity_failed INTEGER NOT NULL DEFAULT 0 CHECK (similarity_failed IN (0, 1));
UPDATE attempts SET similarity_failed = 1
  WHERE EXISTS (SELECT 1 FROM json_each(attempts.fail_codes_json) WHERE value = 'face_compare_underscore');
CREATE INDEX attempts_similarity_failures ON attempts(faceauth_project_id, kyc_submission_id, created_ms)
  WHERE similarity_failed = 1;

-- counted_from_ms: failures at or before it (the last lock or unlock) no longer count.
CREATE TABLE lockouts (
  faceauth_project_id TEXT NOT NULL REFERENCES faceauth_projects(id),
  submission_id       TEXT NOT NULL,
  locked_ms           INTEGER NOT NULL,
  locked_until_ms     INTEGER NOT NULL,
  counted_from_ms     INTEGER NOT NULL,
  PRIMARY KEY (faceauth_project_id, submission_id)
) STRICT;

CREATE TABLE lockout_events (
  seq                 INTEGER PRIMARY KEY AUTOINCREMENT,
  faceauth_project_id TEXT NOT NULL,
  submission_id       TEXT NOT NULL,
  kind                TEXT NOT NULL CHECK (kind IN ('locked', 'unlocked')),
  time_ms             INTEGER NOT NULL,
  locked_until_ms     INTEGER NOT NULL,
  failures            INTEGER NOT NULL,
  attempt_id          TEXT NOT NULL,
  actor               TEXT NOT NULL
) STRICT;
CREATE INDEX lockout_events_project ON lockout_events(faceauth_project_id, seq);

-- One row rewritten by the readiness probe.
CREATE TABLE write_probe (
  id         INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
  written_ms INTEGER NOT NULL
) STRICT;
)sql"},
    // Dashboard users and their sessions (the cookie's token is stored as its SHA-256).
    {5, R"sql(
CREATE TABLE users (
  id                  TEXT PRIMARY KEY NOT NULL,
  name                TEXT NOT NULL UNIQUE,
  role                TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'viewer')),
  password_hash       TEXT NOT NULL,
  created_ms          INTEGER NOT NULL,
  password_changed_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
  token_hash     BLOB PRIMARY KEY NOT NULL CHECK (length(token_hash) = 32),
  user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_ms     INTEGER NOT NULL,
  expires_ms     INTEGER NOT NULL,
  client_address TEXT NOT NULL
) STRICT;
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expiry ON sessions(expires_ms);
)sql"},
    // The audit log of changes made through the admin API.
    {6, R"sql(
CREATE TABLE audit_log (
  seq            INTEGER PRIMARY KEY AUTOINCREMENT,
  time_ms        INTEGER NOT NULL,
  actor          TEXT NOT NULL,
  role           TEXT NOT NULL,
  action         TEXT NOT NULL,
  target         TEXT NOT NULL,
  status         INTEGER NOT NULL,
  client_address TEXT NOT NULL,
  request_id     TEXT NOT NULL
) STRICT;
CREATE INDEX audit_log_time ON audit_log(time_ms);
)sql"},
    {7, R"sql(
-- The interface several servers need (PostgreSQL's migration 7 is the same): the outbox
-- lease, the shared rate limit, values every server checks at start.
ALTER TABLE webhook_events ADD COLUMN lease_until_ms INTEGER NOT NULL DEFAULT 0;
CREATE TABLE rate_buckets (
  bucket     TEXT PRIMARY KEY NOT NULL,
  tokens     REAL NOT NULL,
  updated_ms INTEGER NOT NULL
) STRICT;
CREATE TABLE cluster_values (
  name  TEXT PRIMARY KEY NOT NULL,
  value BLOB NOT NULL
) STRICT;
)sql"},
    {8, R"sql(
-- Idempotency-Key of creating requests (PostgreSQL's migration 8 is the same).
CREATE TABLE idempotency_keys (
  project_id    TEXT NOT NULL,
  key           TEXT NOT NULL,
  request_hash  BLOB NOT NULL,
  response_body TEXT NOT NULL,
  created_ms    INTEGER NOT NULL,
  PRIMARY KEY (project_id, key)
) STRICT;
CREATE INDEX idempotency_keys_created ON idempotency_keys(created_ms);
)sql"},
};

// The columns read_kyc_project() and read_faceauth_project() expect, in their order.
constexpr const char* kKycProjectColumns =
    "SELECT id, name, webhook_url, created_ms, auto_approve_threshold, webhook_secret_sealed";
constexpr const char* kAttemptColumns =
    "SELECT id, faceauth_project_id, kyc_submission_id, approved, scores_json, fail_codes_json, comments_json, "
    "policy_json, user_id, cf1, cf2, cf3, key_id, client_address, latency_ms, created_ms, image_sealed, "
    "delete_check, image_state, similarity_failed FROM attempts";
constexpr const char* kWebhookEventColumns =
    "SELECT id, kyc_project_id, attempt_id, payload, created_ms, state, attempts, next_attempt_ms FROM "
    "webhook_events";
constexpr const char* kFaceAuthProjectColumns =
    "SELECT id, kyc_project_id, name, policy_json, image_retention_days, created_ms";

// The highest number, wherever it is in the list (numbers are handed out per branch).
constexpr int latest_version() {
  int latest = 0;
  for (const Migration& migration : kMigrations) latest = std::max(latest, migration.version);
  return latest;
}
constexpr int kLatestVersion = latest_version();

constexpr int kBusyTimeoutMs = 5000;  // wait for another writer (a second process on the file)

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

const char* key_kind_name(KeyKind kind) { return kind == KeyKind::kyc ? "kyc" : "addon"; }

// A cached statement in use: binds parameters in order, steps, reads columns, and resets
// (clearing its bindings, which may point at the caller's buffers) when it goes out of scope.
class Query {
 public:
  Query(sqlite3* db, sqlite3_stmt* stmt, const char* what) : db_(db), stmt_(stmt), what_(what) {}
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;
  ~Query() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  Query& text(const std::string& value) {
    check(sqlite3_bind_text64(stmt_, next(), value.data(), value.size(), SQLITE_STATIC, SQLITE_UTF8));
    return *this;
  }
  // Bound without a copy (SQLITE_STATIC): the value must outlive this Query, so temporaries
  // are refused at compile time.
  Query& text(std::string&&) = delete;
  Query& text(const char* value) {
    check(sqlite3_bind_text(stmt_, next(), value, -1, SQLITE_TRANSIENT));
    return *this;
  }
  Query& blob(Bytes&&) = delete;
  Query& blob(const Bytes& value) {
    // A null pointer would bind NULL; an empty blob is a zero-length blob.
    if (value.empty()) {
      check(sqlite3_bind_zeroblob(stmt_, next(), 0));
    } else {
      check(sqlite3_bind_blob64(stmt_, next(), value.data(), value.size(), SQLITE_STATIC));
    }
    return *this;
  }
  Query& integer(int64_t value) {
    check(sqlite3_bind_int64(stmt_, next(), value));
    return *this;
  }
  Query& real(double value) {
    check(sqlite3_bind_double(stmt_, next(), value));
    return *this;
  }
  Query& boolean(bool value) { return integer(value ? 1 : 0); }
  Query& null() {
    check(sqlite3_bind_null(stmt_, next()));
    return *this;
  }

  // True with a row to read, false when done.
  bool step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail();
  }
  // Runs a statement that returns no rows; the number of rows it changed.
  int run() {
    if (step()) throw StoreError(std::string(what_) + ": unexpected result row");
    return sqlite3_changes(db_);
  }

  std::string column_text(int column) const {
    const unsigned char* data = sqlite3_column_text(stmt_, column);
    int size = sqlite3_column_bytes(stmt_, column);
    if (data == nullptr || size <= 0) return {};
    return std::string(reinterpret_cast<const char*>(data), static_cast<size_t>(size));
  }
  Bytes column_blob(int column) const {
    const void* data = sqlite3_column_blob(stmt_, column);
    int size = sqlite3_column_bytes(stmt_, column);
    if (data == nullptr || size <= 0) return {};
    const auto* bytes = static_cast<const uint8_t*>(data);
    return Bytes(bytes, bytes + size);
  }
  int64_t column_int(int column) const { return sqlite3_column_int64(stmt_, column); }
  bool column_is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  double column_real(int column) const { return sqlite3_column_double(stmt_, column); }

 private:
  int next() { return ++index_; }
  void check(int rc) {
    if (rc != SQLITE_OK) fail();
  }
  [[noreturn]] void fail() { throw StoreError(std::string(what_) + ": " + sqlite3_errmsg(db_)); }

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  const char* what_;
  int index_ = 0;
};

// The row a Query stands on, column by column, as row_values' readers take it.
struct QueryColumns {
  const Query& query;
  std::string text(int column) const { return query.column_text(column); }
  int64_t integer(int column) const { return query.column_int(column); }
  double real(int column) const { return query.column_real(column); }
  Bytes blob(int column) const { return query.column_blob(column); }
  bool boolean(int column) const { return query.column_int(column) != 0; }
};

// Creates the database file private to its owner when absent (SQLite would use 0644, and the
// -wal and -shm files take the database file's mode).
void create_private_file(const std::string& path) {
  if (path.empty() || path == ":memory:" || path.rfind("file:", 0) == 0) return;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) ::close(fd);  // otherwise it exists or cannot be made: SQLite reports the latter
}

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(const std::string& path) {
    create_private_file(path);
    sqlite3* db = nullptr;
    int rc =
        sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
      sqlite3_close_v2(db);
      throw StoreError("cannot open database " + path + ": " + message);
    }
    db_ = db;
    try {
      configure();
    } catch (...) {
      close();
      throw;
    }
  }
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;
  ~SqliteStore() override { close(); }

  void migrate() override {
    std::lock_guard lock(mutex_);
    exec(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY NOT NULL, applied_ms INTEGER NOT "
        "NULL) STRICT",
        "create schema_version");
    {
      Query q = query("SELECT COALESCE(MAX(version), 0) FROM schema_version", "read schema version");
      q.step();
      int64_t current = q.column_int(0);
      if (current > kLatestVersion) {
        throw StoreError("database schema version " + std::to_string(current) + " is newer than this program's (" +
                         std::to_string(kLatestVersion) + ")");
      }
    }
    for (const Migration& migration : kMigrations) {
      transaction("migrate", [&] {
        // Checked inside the write transaction: two processes starting together apply it once.
        {
          Query applied = query("SELECT 1 FROM schema_version WHERE version = ?", "read schema version");
          if (applied.integer(migration.version).step()) return;
        }
        exec(migration.sql, "apply migration");
        query("INSERT INTO schema_version(version, applied_ms) VALUES(?, ?)", "record migration")
            .integer(migration.version)
            .integer(now_ms())
            .run();
      });
    }
  }

  bool ping() override {
    std::lock_guard lock(mutex_);
    try {
      Query q = query("SELECT COUNT(*) FROM schema_version", "ping");
      return q.step();
    } catch (const StoreError&) {
      return false;
    }
  }

  void create_kyc_project(const KycProject& project, const ApiKey& kyc_key) override {
    if (kyc_key.kind != KeyKind::kyc || kyc_key.project_id != project.id) {
      throw StoreError("create KYC project: the key is not a KYC key of this project");
    }
    std::lock_guard lock(mutex_);
    transaction("create KYC project", [&] {
      row_values::kyc_project(query("INSERT INTO kyc_projects(id, name, webhook_url, created_ms, "
                                    "auto_approve_threshold, webhook_secret_sealed) "
                                    "VALUES(?, ?, ?, ?, ?, ?)",
                                    "create KYC project"),
                              project)
          .run();
      insert_key(kyc_key);
    });
  }

  void create_faceauth_project(const FaceAuthProject& project, const ApiKey& addon_key) override {
    if (addon_key.kind != KeyKind::addon || addon_key.project_id != project.id) {
      throw StoreError("create FaceAuth project: the key is not an add-on key of this project");
    }
    std::string policy = policy_json(project.policy).dump();
    std::lock_guard lock(mutex_);
    transaction("create FaceAuth project", [&] {
      row_values::faceauth_project(
          query(
              "INSERT INTO faceauth_projects(id, kyc_project_id, name, policy_json, image_retention_days, created_ms) "
              "VALUES(?, ?, ?, ?, ?, ?)",
              "create FaceAuth project"),
          project, policy)
          .run();
      insert_key(addon_key);
    });
  }

  std::vector<KycProject> list_kyc_projects() override {
    std::lock_guard lock(mutex_);
    Query q =
        query(std::string(kKycProjectColumns) + " FROM kyc_projects ORDER BY created_ms, id", "list KYC projects");
    std::vector<KycProject> out;
    while (q.step()) out.push_back(read_kyc_project(q));
    return out;
  }

  std::vector<FaceAuthProject> list_faceauth_projects(const std::string& kyc_project_id) override {
    std::lock_guard lock(mutex_);
    Query q = query(std::string(kFaceAuthProjectColumns) +
                        " FROM faceauth_projects WHERE ?1 = '' OR kyc_project_id = ?1 ORDER BY created_ms, id",
                    "list FaceAuth projects");
    q.text(kyc_project_id);
    std::vector<FaceAuthProject> out;
    while (q.step()) out.push_back(read_faceauth_project(q));
    return out;
  }

  std::optional<KycProject> get_kyc_project(const std::string& id) override {
    std::lock_guard lock(mutex_);
    Query q = query(std::string(kKycProjectColumns) + " FROM kyc_projects WHERE id = ?", "get KYC project");
    if (!q.text(id).step()) return std::nullopt;
    return read_kyc_project(q);
  }

  std::optional<FaceAuthProject> get_faceauth_project(const std::string& id) override {
    std::lock_guard lock(mutex_);
    Query q =
        query(std::string(kFaceAuthProjectColumns) + " FROM faceauth_projects WHERE id = ?", "get FaceAuth project");
    if (!q.text(id).step()) return std::nullopt;
    return read_faceauth_project(q);
  }

  // The owning KYC project and the creation time do not change.
  bool update_faceauth_project(const FaceAuthProject& project) override {
    std::string policy = policy_json(project.policy).dump();
    std::lock_guard lock(mutex_);
    return transaction("update FaceAuth project", [&] {
      return query("UPDATE faceauth_projects SET name = ?, policy_json = ?, image_retention_days = ? WHERE id = ?",
                   "update FaceAuth project")
                 .text(project.name)
                 .text(policy)
                 .integer(project.image_retention_days)
                 .text(project.id)
                 .run() > 0;
    });
  }

  bool update_kyc_project(const KycProject& project) override {
    std::lock_guard lock(mutex_);
    return transaction("update KYC project", [&] {
      return query(
                 "UPDATE kyc_projects SET name = ?, webhook_url = ?, auto_approve_threshold = ?, "
                 "webhook_secret_sealed = ? WHERE id = ?",
                 "update KYC project")
                 .text(project.name)
                 .text(project.webhook_url)
                 .real(project.auto_approve_threshold)
                 .blob(project.webhook_secret_sealed)
                 .text(project.id)
                 .run() > 0;
    });
  }

  std::optional<ApiKey> find_key(const Bytes& hash) override {
    std::lock_guard lock(mutex_);
    Query q = query(
        "SELECT k.id, k.kind, COALESCE(k.kyc_project_id, k.faceauth_project_id), k.prefix, k.hash, k.created_ms "
        "FROM api_keys k "
        "LEFT JOIN kyc_projects kp ON k.kind = 'kyc' AND kp.id = k.kyc_project_id "
        "LEFT JOIN faceauth_projects fp ON k.kind = 'addon' AND fp.id = k.faceauth_project_id "
        "WHERE k.hash = ? AND k.revoked_ms IS NULL AND (kp.id IS NOT NULL OR fp.id IS NOT NULL)",
        "find key");
    if (!q.blob(hash).step()) return std::nullopt;
    ApiKey key;
    key.id = q.column_text(0);
    key.kind = q.column_text(1) == "kyc" ? KeyKind::kyc : KeyKind::addon;
    key.project_id = q.column_text(2);
    key.prefix = q.column_text(3);
    key.hash = q.column_blob(4);
    key.created_ms = q.column_int(5);
    return key;
  }

  bool rotate_key(const ApiKey& new_key) override {
    const bool kyc = new_key.kind == KeyKind::kyc;
    std::lock_guard lock(mutex_);
    return transaction("rotate key", [&] {
      {
        Query exists =
            query(kyc ? "SELECT 1 FROM kyc_projects WHERE id = ?" : "SELECT 1 FROM faceauth_projects WHERE id = ?",
                  "rotate key");
        if (!exists.text(new_key.project_id).step()) return false;
      }
      query(kyc ? "UPDATE api_keys SET revoked_ms = ? WHERE kyc_project_id = ? AND kind = 'kyc' AND revoked_ms IS NULL"
                : "UPDATE api_keys SET revoked_ms = ? WHERE faceauth_project_id = ? AND kind = 'addon' AND revoked_ms "
                  "IS NULL",
            "rotate key")
          .integer(new_key.created_ms)
          .text(new_key.project_id)
          .run();
      insert_key(new_key);
      return true;
    });
  }

  void create_submission(const Submission& s, const IdempotencyRecord* response) override {
    std::lock_guard lock(mutex_);
    transaction("create submission", [&] {
      row_values::submission(
          query("INSERT INTO submissions(id, kyc_project_id, status, user_id, email, cf1, cf2, cf3, template_sealed, "
                "template_model, template_source, selfie_sealed, id_image_sealed, created_ms, updated_ms) "
                "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                "create submission"),
          s)
          .run();
      if (response) store_response(*response);
    });
  }

  std::optional<Submission> get_submission(const std::string& kyc_project_id, const std::string& id) override {
    std::lock_guard lock(mutex_);
    Query q = query(std::string(kSubmissionColumns) + " WHERE kyc_project_id = ? AND id = ?", "get submission");
    if (!q.text(kyc_project_id).text(id).step()) return std::nullopt;
    return read_submission(q);
  }

  std::vector<Submission> list_submissions(const std::string& kyc_project_id, const SubmissionFilter& filter) override {
    const int64_t limit = std::clamp(filter.limit, 1, 1000);
    std::lock_guard lock(mutex_);
    Query q = query(std::string(kSubmissionColumns) +
                        " WHERE kyc_project_id = ?1 AND id > ?2 AND (?3 IS NULL OR status = ?3) AND "
                        "(?4 = '' OR user_id = ?4) ORDER BY id LIMIT ?5",
                    "list submissions");
    q.text(kyc_project_id).text(filter.after_id);
    if (filter.status) {
      q.text(submission_status_name(*filter.status));
    } else {
      q.null();
    }
    q.text(filter.user_id).integer(limit);
    std::vector<Submission> out;
    while (q.step()) out.push_back(read_submission(q));
    return out;
  }

  bool set_submission_status(const std::string& kyc_project_id, const std::string& id, SubmissionStatus status,
                             int64_t updated_ms) override {
    std::lock_guard lock(mutex_);
    return transaction("set submission status", [&] {
      return query("UPDATE submissions SET status = ?, updated_ms = ? WHERE kyc_project_id = ? AND id = ?",
                   "set submission status")
                 .text(submission_status_name(status))
                 .integer(updated_ms)
                 .text(kyc_project_id)
                 .text(id)
                 .run() > 0;
    });
  }

  bool replace_submission_template(const std::string& kyc_project_id, const std::string& id,
                                   const std::string& old_model, const Submission& updated) override {
    std::lock_guard lock(mutex_);
    return transaction("replace submission template", [&] {
      return query(
                 "UPDATE submissions SET template_sealed = ?, template_model = ?, updated_ms = ? "
                 "WHERE kyc_project_id = ? AND id = ? AND template_model = ?",
                 "replace submission template")
                 .blob(updated.template_sealed)
                 .text(updated.template_model)
                 .integer(updated.updated_ms)
                 .text(kyc_project_id)
                 .text(id)
                 .text(old_model)
                 .run() > 0;
    });
  }

  bool delete_submission(const std::string& kyc_project_id, const std::string& id) override {
    std::lock_guard lock(mutex_);
    return transaction("delete submission", [&] {
      return query("DELETE FROM submissions WHERE kyc_project_id = ? AND id = ?", "delete submission")
                 .text(kyc_project_id)
                 .text(id)
                 .run() > 0;
    });
  }

  void insert_attempt(const Attempt& a, const std::optional<WebhookEvent>& event,
                      const IdempotencyRecord* response) override {
    std::lock_guard lock(mutex_);
    transaction("insert attempt", [&] {
      insert_attempt_row(a);
      if (event) insert_webhook_event(*event);
      if (response) store_response(*response);
    });
  }

  LockoutState insert_attempt_counted(const Attempt& a, const std::optional<WebhookEvent>& event,
                                      const LockoutRule& rule, const std::optional<WebhookEvent>& lock_event,
                                      const IdempotencyRecord* response) override {
    std::lock_guard lock(mutex_);
    return transaction("insert attempt", [&] {
      insert_attempt_row(a);
      if (event) insert_webhook_event(*event);
      if (response) store_response(*response);
      LockoutRow row = read_lockout_row(a.faceauth_project_id, a.submission_id);
      LockoutState state = lockout_state(row, a.faceauth_project_id, a.submission_id, rule, a.created_ms);
      if (rule.failures <= 0 || !a.similarity_failed || state.locked || state.failures < rule.failures) return state;
      row = {a.created_ms, a.created_ms + rule.lock_ms, a.created_ms};
      write_lockout_row(a.faceauth_project_id, a.submission_id, row);
      LockoutEvent logged{
          0,       a.faceauth_project_id, a.submission_id, "locked", a.created_ms, row.until_ms, state.failures, a.id,
          "policy"};
      insert_lockout_event(logged);
      if (lock_event) insert_webhook_event(*lock_event);
      state.locked = true;
      state.locked_ms = row.locked_ms;
      state.locked_until_ms = row.until_ms;
      return state;
    });
  }

  LockoutState get_lockout(const std::string& faceauth_project_id, const std::string& submission_id,
                           const LockoutRule& rule, int64_t now_ms) override {
    std::lock_guard lock(mutex_);
    LockoutRow row = read_lockout_row(faceauth_project_id, submission_id);
    return lockout_state(row, faceauth_project_id, submission_id, rule, now_ms);
  }

  bool unlock_submission(const std::string& faceauth_project_id, const std::string& submission_id, int64_t now_ms,
                         const std::optional<WebhookEvent>& unlock_event) override {
    std::lock_guard lock(mutex_);
    return transaction("unlock submission", [&] {
      LockoutRow row = read_lockout_row(faceauth_project_id, submission_id);
      const bool was_locked = row.until_ms > now_ms;
      LockoutRow unlocked{row.locked_ms, was_locked ? now_ms : row.until_ms, now_ms};
      write_lockout_row(faceauth_project_id, submission_id, unlocked);
      if (!was_locked) return false;
      insert_lockout_event({0, faceauth_project_id, submission_id, "unlocked", now_ms, row.until_ms, 0, "", "admin"});
      if (unlock_event) insert_webhook_event(*unlock_event);
      return true;
    });
  }

  std::vector<LockoutEvent> list_lockout_events(const std::string& faceauth_project_id, int64_t after_seq,
                                                int limit) override {
    std::lock_guard lock(mutex_);
    Query q = query(
        "SELECT seq, faceauth_project_id, submission_id, kind, time_ms, locked_until_ms, failures, attempt_id, actor "
        "FROM lockout_events WHERE faceauth_project_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        "list lockout events");
    q.text(faceauth_project_id).integer(after_seq).integer(std::clamp(limit, 1, 1000));
    std::vector<LockoutEvent> out;
    while (q.step()) out.push_back(row_values::lockout_event_from(QueryColumns{q}));
    return out;
  }

  bool probe_write(int64_t now_ms) override {
    std::lock_guard lock(mutex_);
    // A short wait: a probe that waits as long as a request would answer too late to matter.
    sqlite3_busy_timeout(db_, 1000);
    bool ok = true;
    try {
      transaction("write probe", [&] {
        query(
            "INSERT INTO write_probe(id, written_ms) VALUES(1, ?) "
            "ON CONFLICT(id) DO UPDATE SET written_ms = excluded.written_ms",
            "write probe")
            .integer(now_ms)
            .run();
      });
    } catch (const StoreError&) {
      ok = false;
    }
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    return ok;
  }

  std::optional<Attempt> get_attempt(const std::string& faceauth_project_id, const std::string& id) override {
    std::lock_guard lock(mutex_);
    Query q = query(std::string(kAttemptColumns) + " WHERE faceauth_project_id = ? AND id = ?", "get attempt");
    if (!q.text(faceauth_project_id).text(id).step()) return std::nullopt;
    return read_attempt(q);
  }

  std::vector<Attempt> list_attempts(const AttemptQuery& aq) override {
    // Row values keep the keyset condition one index range: (created_ms, id) > after.
    std::pair<int64_t, std::string> after{aq.from_ms, ""};
    if (aq.after && *aq.after > after) after = *aq.after;
    const int64_t limit = std::clamp(aq.limit, 1, 10000);
    std::lock_guard lock(mutex_);
    Query q = query(std::string(kAttemptColumns) +
                        " WHERE faceauth_project_id = ? AND (created_ms, id) > (?, ?) AND created_ms < ? "
                        "ORDER BY created_ms, id LIMIT ?",
                    "list attempts");
    q.text(aq.faceauth_project_id).integer(after.first).text(after.second).integer(aq.to_ms).integer(limit);
    std::vector<Attempt> out;
    while (q.step()) out.push_back(read_attempt(q));
    return out;
  }

  bool purge_attempt(const std::string& faceauth_project_id, const std::string& id) override {
    std::lock_guard lock(mutex_);
    return transaction("purge attempt", [&] {
      bool purged = query(
                        "UPDATE attempts SET image_sealed = x'', user_id = '', cf1 = '', cf2 = '', cf3 = '', "
                        "client_address = '', delete_check = 1, image_state = 'deleted' "
                        "WHERE faceauth_project_id = ? AND id = ? AND delete_check = 0",
                        "purge attempt")
                        .text(faceauth_project_id)
                        .text(id)
                        .run() > 0;
      if (purged) {
        query(
            "UPDATE webhook_events SET payload = json_set(payload, '$.data.user_id', '', '$.data.cf1', '', "
            "'$.data.cf2', '', '$.data.cf3', '') WHERE attempt_id = ? AND "
            "json_extract(payload, '$.webhook_trigger') = 'faceAuth'",
            "purge attempt")
            .text(id)
            .run();
      }
      return purged;
    });
  }

  int64_t purge_expired_images(int64_t now_ms) override {
    constexpr int64_t kDayMs = 86'400'000;
    int64_t purged = 0;
    for (const FaceAuthProject& project : list_faceauth_projects("")) {
      if (project.image_retention_days < 0) continue;
      const int64_t cutoff = now_ms - project.image_retention_days * kDayMs;
      std::lock_guard lock(mutex_);
      purged += transaction("purge expired images", [&] {
        return query(
                   "UPDATE attempts SET image_sealed = x'', image_state = 'expired' "
                   "WHERE faceauth_project_id = ? AND image_state = 'stored' AND created_ms < ?",
                   "purge expired images")
            .text(project.id)
            .integer(cutoff)
            .run();
      });
    }
    return purged;
  }

  std::vector<WebhookEvent> due_webhook_events(int64_t now_ms, int limit) override {
    std::lock_guard lock(mutex_);
    Query q = query(std::string(kWebhookEventColumns) +
                        " WHERE state = 'pending' AND next_attempt_ms <= ?1 AND lease_until_ms <= ?1 "
                        "ORDER BY next_attempt_ms, created_ms LIMIT ?2",
                    "due webhook events");
    q.integer(now_ms).integer(std::max(limit, 1));
    std::vector<WebhookEvent> out;
    while (q.step()) out.push_back(read_webhook_event(q));
    return out;
  }

  std::vector<WebhookEvent> claim_webhook_events(int64_t now_ms, int limit, int64_t lease_ms) override {
    std::lock_guard lock(mutex_);
    return transaction("claim webhook events", [&] {
      std::vector<WebhookEvent> out;
      {
        Query q = query(std::string(kWebhookEventColumns) +
                            " WHERE state = 'pending' AND next_attempt_ms <= ?1 AND lease_until_ms <= ?1 "
                            "ORDER BY next_attempt_ms, created_ms LIMIT ?2",
                        "claim webhook events");
        q.integer(now_ms).integer(std::max(limit, 1));
        while (q.step()) out.push_back(read_webhook_event(q));
      }
      for (const WebhookEvent& e : out) {
        query("UPDATE webhook_events SET lease_until_ms = ? WHERE id = ?", "claim webhook events")
            .integer(now_ms + lease_ms)
            .text(e.id)
            .run();
      }
      return out;
    });
  }

  std::optional<int64_t> next_webhook_due_ms() override {
    std::lock_guard lock(mutex_);
    Query q = query("SELECT MIN(MAX(next_attempt_ms, lease_until_ms)) FROM webhook_events WHERE state = 'pending'",
                    "next webhook due");
    if (!q.step() || q.column_is_null(0)) return std::nullopt;
    return q.column_int(0);
  }

  void record_webhook_delivery(const WebhookDelivery& d, const WebhookEvent& event) override {
    std::lock_guard lock(mutex_);
    transaction("record webhook delivery", [&] {
      row_values::webhook_delivery(
          query("INSERT INTO webhook_deliveries(event_id, kyc_project_id, attempt_id, url, attempt, started_ms, "
                "http_status, error, duration_ms, event_state) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                "record webhook delivery"),
          d, event.state)
          .run();
      query("UPDATE webhook_events SET state = ?, attempts = ?, next_attempt_ms = ?, lease_until_ms = 0 WHERE id = ?",
            "record webhook delivery")
          .text(webhook_state_name(event.state))
          .integer(event.attempts)
          .integer(event.next_attempt_ms)
          .text(event.id)
          .run();
    });
  }

  std::vector<WebhookDelivery> list_webhook_deliveries(const std::string& kyc_project_id, int64_t after_seq,
                                                       int limit) override {
    std::lock_guard lock(mutex_);
    Query q = query(
        "SELECT seq, event_id, kyc_project_id, attempt_id, url, attempt, started_ms, http_status, error, "
        "duration_ms, event_state FROM webhook_deliveries WHERE kyc_project_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        "list webhook deliveries");
    q.text(kyc_project_id).integer(after_seq).integer(std::clamp(limit, 1, 1000));
    std::vector<WebhookDelivery> out;
    while (q.step()) out.push_back(row_values::webhook_delivery_from(QueryColumns{q}));
    return out;
  }

  bool requeue_webhook_event(const std::string& kyc_project_id, const std::string& event_id, int64_t now_ms) override {
    std::lock_guard lock(mutex_);
    return transaction("requeue webhook event", [&] {
      return query(
                 "UPDATE webhook_events SET state = 'pending', attempts = 0, next_attempt_ms = ? "
                 "WHERE kyc_project_id = ? AND id = ?",
                 "requeue webhook event")
                 .integer(now_ms)
                 .text(kyc_project_id)
                 .text(event_id)
                 .run() > 0;
    });
  }

  bool create_user(const User& user) override {
    std::lock_guard lock(mutex_);
    return transaction("create user", [&] {
      {
        Query taken = query("SELECT 1 FROM users WHERE name = ?", "create user");
        if (taken.text(user.name).step()) return false;
      }
      row_values::user(query("INSERT INTO users(id, name, role, password_hash, created_ms, password_changed_ms) "
                             "VALUES(?, ?, ?, ?, ?, ?)",
                             "create user"),
                       user)
          .run();
      return true;
    });
  }

  std::vector<User> list_users() override {
    std::lock_guard lock(mutex_);
    Query q = query(std::string(kUserColumns) + " ORDER BY name", "list users");
    std::vector<User> out;
    while (q.step()) out.push_back(read_user(q));
    return out;
  }

  std::optional<User> find_user(const std::string& name) override {
    std::lock_guard lock(mutex_);
    Query q = query(std::string(kUserColumns) + " WHERE name = ?", "find user");
    if (!q.text(name).step()) return std::nullopt;
    return read_user(q);
  }

  std::optional<User> get_user(const std::string& id) override {
    std::lock_guard lock(mutex_);
    Query q = query(std::string(kUserColumns) + " WHERE id = ?", "get user");
    if (!q.text(id).step()) return std::nullopt;
    return read_user(q);
  }

  bool set_user_password(const std::string& id, const std::string& password_hash, int64_t now_ms) override {
    std::lock_guard lock(mutex_);
    return transaction("set user password", [&] {
      bool changed =
          query("UPDATE users SET password_hash = ?, password_changed_ms = ? WHERE id = ?", "set user password")
              .text(password_hash)
              .integer(now_ms)
              .text(id)
              .run() > 0;
      if (changed) query("DELETE FROM sessions WHERE user_id = ?", "set user password").text(id).run();
      return changed;
    });
  }

  bool delete_user(const std::string& id) override {
    std::lock_guard lock(mutex_);
    return transaction("delete user", [&] {
      query("DELETE FROM sessions WHERE user_id = ?", "delete user").text(id).run();
      return query("DELETE FROM users WHERE id = ?", "delete user").text(id).run() > 0;
    });
  }

  void create_session(const Session& session) override {
    std::lock_guard lock(mutex_);
    transaction("create session", [&] {
      row_values::session(
          query(
              "INSERT INTO sessions(token_hash, user_id, created_ms, expires_ms, client_address) VALUES(?, ?, ?, ?, ?)",
              "create session"),
          session)
          .run();
    });
  }

  std::optional<Session> find_session(const Bytes& token_hash, int64_t now_ms) override {
    std::lock_guard lock(mutex_);
    Query q = query(
        "SELECT token_hash, user_id, created_ms, expires_ms, client_address FROM sessions "
        "WHERE token_hash = ? AND expires_ms > ?",
        "find session");
    if (!q.blob(token_hash).integer(now_ms).step()) return std::nullopt;
    return Session{q.column_blob(0), q.column_text(1), q.column_int(2), q.column_int(3), q.column_text(4)};
  }

  bool delete_session(const Bytes& token_hash) override {
    std::lock_guard lock(mutex_);
    return transaction("delete session", [&] {
      return query("DELETE FROM sessions WHERE token_hash = ?", "delete session").blob(token_hash).run() > 0;
    });
  }

  int64_t delete_expired_sessions(int64_t now_ms) override {
    std::lock_guard lock(mutex_);
    return transaction("delete expired sessions", [&] {
      return static_cast<int64_t>(
          query("DELETE FROM sessions WHERE expires_ms <= ?", "delete expired sessions").integer(now_ms).run());
    });
  }

  void append_audit(const AuditEntry& e) override {
    std::lock_guard lock(mutex_);
    transaction("append audit", [&] {
      row_values::audit_entry(
          query("INSERT INTO audit_log(time_ms, actor, role, action, target, status, client_address, request_id) "
                "VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
                "append audit"),
          e)
          .run();
    });
  }

  std::vector<AuditEntry> list_audit(const AuditQuery& aq) override {
    std::lock_guard lock(mutex_);
    Query q = query(
        "SELECT seq, time_ms, actor, role, action, target, status, client_address, request_id FROM audit_log "
        "WHERE (?1 = '' OR actor = ?1) AND (?2 = '' OR instr(action, ?2) > 0) AND time_ms >= ?3 AND time_ms < ?4 "
        "AND (?5 = 0 OR seq < ?5) ORDER BY seq DESC LIMIT ?6",
        "list audit");
    q.text(aq.actor)
        .text(aq.action)
        .integer(aq.from_ms)
        .integer(aq.to_ms)
        .integer(aq.before_seq)
        .integer(std::clamp(aq.limit, 1, 1000));
    std::vector<AuditEntry> out;
    while (q.step()) out.push_back(row_values::audit_entry_from(QueryColumns{q}));
    return out;
  }

  int64_t count_attempts(const std::string& faceauth_project_id) override {
    std::lock_guard lock(mutex_);
    Query q = query("SELECT COUNT(*) FROM attempts WHERE faceauth_project_id = ?", "count attempts");
    q.text(faceauth_project_id).step();
    return q.column_int(0);
  }

  int64_t take_rate_token(const std::string& bucket, double rate_per_second, double burst, int64_t now_ms) override {
    const double per_ms = rate_per_second / 1000.0;
    std::lock_guard lock(mutex_);
    double before = transaction("rate limit", [&] {
      double tokens = burst;
      int64_t updated = now_ms;
      {
        Query q = query("SELECT tokens, updated_ms FROM rate_buckets WHERE bucket = ?", "rate limit");
        if (q.text(bucket).step()) {
          updated = q.column_int(1);
          tokens =
              std::min(burst, q.column_real(0) + static_cast<double>(std::max<int64_t>(0, now_ms - updated)) * per_ms);
        }
      }
      query(
          "INSERT INTO rate_buckets(bucket, tokens, updated_ms) VALUES(?1, ?2, ?3) "
          "ON CONFLICT (bucket) DO UPDATE SET tokens = ?2, updated_ms = ?3",
          "rate limit")
          .text(bucket)
          .real(tokens >= 1 ? tokens - 1 : tokens)
          .integer(std::max(updated, now_ms))
          .run();
      return tokens;
    });
    if (before >= 1) return 0;
    if (per_ms <= 0) return 60'000;
    return std::max<int64_t>(1, static_cast<int64_t>(std::ceil((1 - before) / per_ms - 1e-6)));
  }

  Bytes put_cluster_value_if_absent(const std::string& name, const Bytes& value) override {
    std::lock_guard lock(mutex_);
    return transaction("cluster value", [&] {
      query("INSERT INTO cluster_values(name, value) VALUES(?, ?) ON CONFLICT (name) DO NOTHING", "cluster value")
          .text(name)
          .blob(value)
          .run();
      Query q = query("SELECT value FROM cluster_values WHERE name = ?", "cluster value");
      q.text(name).step();
      return q.column_blob(0);
    });
  }

  IdempotencyClaim claim_idempotency_key(IdempotencyRecord& record, int64_t now_ms, int64_t stale_ms,
                                         int64_t keep_ms) override {
    std::lock_guard lock(mutex_);
    return transaction("claim idempotency key", [&] {
      query("DELETE FROM idempotency_keys WHERE project_id = ? AND key = ? AND created_ms < ?", "claim idempotency key")
          .text(record.project_id)
          .text(record.key)
          .integer(now_ms - keep_ms)
          .run();
      IdempotencyClaim claim = IdempotencyClaim::claimed;
      {
        Query q = query(
            "SELECT request_hash, response_body, created_ms FROM idempotency_keys WHERE project_id = ? AND "
            "key = ?",
            "claim idempotency key");
        if (q.text(record.project_id).text(record.key).step()) {
          record.response_body = q.column_text(1);
          claim = idempotency_claim(q.column_blob(0), record, q.column_int(2), now_ms, stale_ms);
          if (claim != IdempotencyClaim::claimed) return claim;
        }
      }
      query(
          "INSERT INTO idempotency_keys(project_id, key, request_hash, response_body, created_ms) "
          "VALUES(?1, ?2, ?3, '', ?4) ON CONFLICT (project_id, key) DO UPDATE SET created_ms = ?4",
          "claim idempotency key")
          .text(record.project_id)
          .text(record.key)
          .blob(record.request_hash)
          .integer(now_ms)
          .run();
      return claim;
    });
  }

  void release_idempotency_key(const std::string& project_id, const std::string& key) override {
    std::lock_guard lock(mutex_);
    transaction("release idempotency key", [&] {
      query("DELETE FROM idempotency_keys WHERE project_id = ? AND key = ? AND response_body = ''",
            "release idempotency key")
          .text(project_id)
          .text(key)
          .run();
    });
  }

  int64_t purge_idempotency_keys(int64_t before_ms) override {
    std::lock_guard lock(mutex_);
    return transaction("purge idempotency keys", [&] {
      return query("DELETE FROM idempotency_keys WHERE created_ms < ?", "purge idempotency keys")
          .integer(before_ms)
          .run();
    });
  }

 private:
  // Callers hold mutex_ inside a transaction.
  void store_response(const IdempotencyRecord& r) {
    int changed = query(
                      "UPDATE idempotency_keys SET response_body = ? WHERE project_id = ? AND key = ? AND "
                      "request_hash = ? AND response_body = ''",
                      "store idempotent response")
                      .text(r.response_body)
                      .text(r.project_id)
                      .text(r.key)
                      .blob(r.request_hash)
                      .run();
    if (changed != 1) throw StoreError("store idempotent response: the key is no longer held by this request");
  }

  static constexpr const char* kUserColumns =
      "SELECT id, name, role, password_hash, created_ms, password_changed_ms FROM users";

  static User read_user(const Query& q) { return row_values::user_from(QueryColumns{q}); }

  static constexpr const char* kSubmissionColumns =
      "SELECT id, kyc_project_id, status, user_id, email, cf1, cf2, cf3, template_sealed, template_model, "
      "template_source, selfie_sealed, id_image_sealed, created_ms, updated_ms FROM submissions";

  void configure() {
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    // Refuse SQL that could corrupt the file on purpose (writable_schema and the like).
    sqlite3_db_config(db_, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
    {
      Query q = query("PRAGMA journal_mode = WAL", "set WAL mode");
      if (!q.step() || q.column_text(0) != "wal") throw StoreError("set WAL mode: the database refused WAL mode");
    }
    exec("PRAGMA foreign_keys = ON", "enable foreign keys");
    {
      Query q = query("PRAGMA foreign_keys", "enable foreign keys");
      if (!q.step() || q.column_int(0) != 1) throw StoreError("enable foreign keys: not supported by this SQLite");
    }
    exec("PRAGMA synchronous = FULL", "set synchronous");
    // Deleted rows (sealed images and templates) are overwritten, not left in free pages.
    exec("PRAGMA secure_delete = ON", "set secure_delete");
  }

  void close() {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    statements_.clear();
    sqlite3_close_v2(db_);
    db_ = nullptr;
  }

  // Constant SQL without values (pragmas, transaction control, migrations' DDL).
  void exec(const char* sql, const char* what) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
      std::string message = error ? error : sqlite3_errmsg(db_);
      sqlite3_free(error);
      throw StoreError(std::string(what) + ": " + message);
    }
  }

  // A prepared statement from the cache; callers hold mutex_.
  Query query(const std::string& sql, const char* what) {
    auto found = statements_.find(sql);
    if (found == statements_.end()) {
      sqlite3_stmt* stmt = nullptr;
      if (sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()) + 1, SQLITE_PREPARE_PERSISTENT, &stmt,
                             nullptr) != SQLITE_OK) {
        sqlite3_finalize(stmt);
        throw StoreError(std::string(what) + ": " + sqlite3_errmsg(db_));
      }
      found = statements_.emplace(sql, stmt).first;
    }
    return Query(db_, found->second, what);
  }

  // Runs `body` in BEGIN IMMEDIATE ... COMMIT; rolls back and rethrows on any error.
  // Callers hold mutex_.
  template <typename Body>
  auto transaction(const char* what, Body&& body) -> decltype(body()) {
    exec("BEGIN IMMEDIATE", what);
    try {
      if constexpr (std::is_void_v<decltype(body())>) {
        body();
        exec("COMMIT", what);
      } else {
        auto result = body();
        exec("COMMIT", what);
        return result;
      }
    } catch (...) {
      if (sqlite3_get_autocommit(db_) == 0) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }

  void insert_key(const ApiKey& key) {
    const bool kyc = key.kind == KeyKind::kyc;
    Query q = query(
        "INSERT INTO api_keys(id, kind, kyc_project_id, faceauth_project_id, prefix, hash, created_ms, revoked_ms) "
        "VALUES(?, ?, ?, ?, ?, ?, ?, NULL)",
        "insert key");
    q.text(key.id).text(key_kind_name(key.kind));
    if (kyc) {
      q.text(key.project_id).null();
    } else {
      q.null().text(key.project_id);
    }
    q.text(key.prefix).blob(key.hash).integer(key.created_ms).run();
  }

  static KycProject read_kyc_project(const Query& q) { return row_values::kyc_project_from(QueryColumns{q}); }

  static Attempt read_attempt(const Query& q) { return row_values::attempt_from(QueryColumns{q}); }

  static WebhookEvent read_webhook_event(const Query& q) { return row_values::webhook_event_from(QueryColumns{q}); }

  // Callers hold mutex_ inside a transaction.
  void insert_webhook_event(const WebhookEvent& e) {
    row_values::webhook_event(
        query("INSERT INTO webhook_events(id, kyc_project_id, attempt_id, payload, created_ms, state, attempts, "
              "next_attempt_ms) VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
              "insert webhook event"),
        e)
        .run();
  }

  // Callers hold mutex_ inside a transaction.
  void insert_attempt_row(const Attempt& a) {
    row_values::attempt(
        query(
            "INSERT INTO attempts(id, faceauth_project_id, kyc_submission_id, approved, scores_json, fail_codes_json, "
            "comments_json, policy_json, user_id, cf1, cf2, cf3, key_id, client_address, latency_ms, created_ms, "
            "image_sealed, delete_check, image_state, similarity_failed) "
            "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            "insert attempt"),
        a)
        .run();
  }

  // The lockouts row of a (project, submission); zeros when there is none.
  struct LockoutRow {
    int64_t locked_ms = 0, until_ms = 0, counted_from_ms = 0;
  };

  // Callers hold mutex_.
  LockoutRow read_lockout_row(const std::string& faceauth_project_id, const std::string& submission_id) {
    Query q = query(
        "SELECT locked_ms, locked_until_ms, counted_from_ms FROM lockouts WHERE faceauth_project_id = ? AND "
        "submission_id = ?",
        "read lockout");
    if (!q.text(faceauth_project_id).text(submission_id).step()) return {};
    return {q.column_int(0), q.column_int(1), q.column_int(2)};
  }

  // Callers hold mutex_ inside a transaction.
  void write_lockout_row(const std::string& faceauth_project_id, const std::string& submission_id,
                         const LockoutRow& row) {
    query(
        "INSERT INTO lockouts(faceauth_project_id, submission_id, locked_ms, locked_until_ms, counted_from_ms) "
        "VALUES(?, ?, ?, ?, ?) ON CONFLICT(faceauth_project_id, submission_id) DO UPDATE SET "
        "locked_ms = excluded.locked_ms, locked_until_ms = excluded.locked_until_ms, "
        "counted_from_ms = excluded.counted_from_ms",
        "write lockout")
        .text(faceauth_project_id)
        .text(submission_id)
        .integer(row.locked_ms)
        .integer(row.until_ms)
        .integer(row.counted_from_ms)
        .run();
  }

  // The state at now_ms; failures are counted in (max(now - window, counted_from), now].
  // Callers hold mutex_.
  LockoutState lockout_state(const LockoutRow& row, const std::string& faceauth_project_id,
                             const std::string& submission_id, const LockoutRule& rule, int64_t now_ms) {
    LockoutState state;
    state.locked = row.until_ms > now_ms;
    state.locked_ms = row.locked_ms;
    state.locked_until_ms = row.until_ms;
    Query q = query(
        "SELECT COUNT(*) FROM attempts WHERE faceauth_project_id = ? AND kyc_submission_id = ? AND "
        "similarity_failed = 1 AND created_ms > ? AND created_ms <= ?",
        "count failures");
    q.text(faceauth_project_id).text(submission_id).integer(std::max(now_ms - rule.window_ms, row.counted_from_ms));
    q.integer(now_ms).step();
    state.failures = static_cast<int>(q.column_int(0));
    return state;
  }

  // Callers hold mutex_ inside a transaction.
  void insert_lockout_event(const LockoutEvent& e) {
    row_values::lockout_event(
        query(
            "INSERT INTO lockout_events(faceauth_project_id, submission_id, kind, time_ms, locked_until_ms, failures, "
            "attempt_id, actor) VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
            "log lockout event"),
        e)
        .run();
  }

  static FaceAuthProject read_faceauth_project(const Query& q) {
    return row_values::faceauth_project_from(QueryColumns{q});
  }

  static Submission read_submission(const Query& q) { return row_values::submission_from(QueryColumns{q}); }

  sqlite3* db_ = nullptr;
  std::mutex mutex_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

}  // namespace

std::unique_ptr<Store> open_sqlite_store(const std::string& path) {
  auto store = std::make_unique<SqliteStore>(path);
  store->migrate();
  return store;
}

}  // namespace faceauth
