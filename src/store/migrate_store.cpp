#include "store/migrate_store.h"

#include <sodium.h>
#include <sqlite3.h>

#include <charconv>
#include <memory>
#include <optional>

#include "store/postgres/pg_connection.h"
#include "store/store.h"

namespace faceauth {
namespace {

// Column types as both schemas have them: text, integer, real, blob, boolean (SQLite 0/1).
enum class Kind { text, integer, real, blob, boolean };

struct Column {
  const char* name;
  Kind kind;
};

struct Table {
  const char* name;
  const char* key;  // ORDER BY and ON CONFLICT columns
  std::vector<Column> columns;
};

// Parents before children (foreign keys). rate_buckets are not copied: they refill.
const std::vector<Table>& tables() {
  using K = Kind;
  static const std::vector<Table> all = {
      {"kyc_projects",
       "id",
       {{"id", K::text},
        {"name", K::text},
        {"webhook_url", K::text},
        {"created_ms", K::integer},
        {"auto_approve_threshold", K::real},
        {"webhook_secret_sealed", K::blob}}},
      {"faceauth_projects",
       "id",
       {{"id", K::text},
        {"kyc_project_id", K::text},
        {"name", K::text},
        {"policy_json", K::text},
        {"image_retention_days", K::integer},
        {"created_ms", K::integer}}},
      {"api_keys",
       "id",
       {{"id", K::text},
        {"kind", K::text},
        {"kyc_project_id", K::text},
        {"faceauth_project_id", K::text},
        {"prefix", K::text},
        {"hash", K::blob},
        {"created_ms", K::integer},
        {"revoked_ms", K::integer}}},
      {"submissions",
       "id",
       {{"id", K::text},
        {"kyc_project_id", K::text},
        {"status", K::text},
        {"user_id", K::text},
        {"email", K::text},
        {"cf1", K::text},
        {"cf2", K::text},
        {"cf3", K::text},
        {"template_sealed", K::blob},
        {"template_model", K::text},
        {"template_source", K::text},
        {"selfie_sealed", K::blob},
        {"id_image_sealed", K::blob},
        {"created_ms", K::integer},
        {"updated_ms", K::integer}}},
      {"attempts",
       "id",
       {{"id", K::text},
        {"faceauth_project_id", K::text},
        {"kyc_submission_id", K::text},
        {"approved", K::boolean},
        {"scores_json", K::text},
        {"fail_codes_json", K::text},
        {"comments_json", K::text},
        {"policy_json", K::text},
        {"user_id", K::text},
        {"cf1", K::text},
        {"cf2", K::text},
        {"cf3", K::text},
        {"key_id", K::text},
        {"client_address", K::text},
        {"latency_ms", K::real},
        {"created_ms", K::integer},
        {"image_sealed", K::blob},
        {"delete_check", K::boolean},
        {"image_state", K::text},
        {"similarity_failed", K::boolean}}},
      {"webhook_events",
       "id",
       {{"id", K::text},
        {"kyc_project_id", K::text},
        {"attempt_id", K::text},
        {"payload", K::text},
        {"created_ms", K::integer},
        {"state", K::text},
        {"attempts", K::integer},
        {"next_attempt_ms", K::integer},
        {"lease_until_ms", K::integer}}},
      {"webhook_deliveries",
       "seq",
       {{"seq", K::integer},
        {"event_id", K::text},
        {"kyc_project_id", K::text},
        {"attempt_id", K::text},
        {"url", K::text},
        {"attempt", K::integer},
        {"started_ms", K::integer},
        {"http_status", K::integer},
        {"error", K::text},
        {"duration_ms", K::real},
        {"event_state", K::text}}},
      {"idempotency_keys",
       "project_id, key",
       {{"project_id", K::text},
        {"key", K::text},
        {"request_hash", K::blob},
        {"response_body", K::text},
        {"created_ms", K::integer}}},
      {"cluster_values", "name", {{"name", K::text}, {"value", K::blob}}},
      {"lockouts",
       "faceauth_project_id, submission_id",
       {{"faceauth_project_id", K::text},
        {"submission_id", K::text},
        {"locked_ms", K::integer},
        {"locked_until_ms", K::integer},
        {"counted_from_ms", K::integer}}},
      {"lockout_events",
       "seq",
       {{"seq", K::integer},
        {"faceauth_project_id", K::text},
        {"submission_id", K::text},
        {"kind", K::text},
        {"time_ms", K::integer},
        {"locked_until_ms", K::integer},
        {"failures", K::integer},
        {"attempt_id", K::text},
        {"actor", K::text}}},
      {"users",
       "id",
       {{"id", K::text},
        {"name", K::text},
        {"role", K::text},
        {"password_hash", K::text},
        {"created_ms", K::integer},
        {"password_changed_ms", K::integer}}},
      {"sessions",
       "token_hash",
       {{"token_hash", K::blob},
        {"user_id", K::text},
        {"created_ms", K::integer},
        {"expires_ms", K::integer},
        {"client_address", K::text}}},
      {"audit_log",
       "seq",
       {{"seq", K::integer},
        {"time_ms", K::integer},
        {"actor", K::text},
        {"role", K::text},
        {"action", K::text},
        {"target", K::text},
        {"status", K::integer},
        {"client_address", K::text},
        {"request_id", K::text}}},
  };
  return all;
}

struct Value {
  bool null = false;
  int64_t integer = 0;
  double real = 0;
  std::string bytes;  // text or blob
};
using Row = std::vector<Value>;

std::string column_list(const Table& t) {
  std::string out;
  for (const Column& c : t.columns) out += (out.empty() ? "" : ", ") + std::string(c.name);
  return out;
}

std::string real_text(double value) {
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, ec == std::errc{} ? end : buffer);
}

// A running SHA-256 over rows: each value typed and length-prefixed.
class RowHash {
 public:
  RowHash() { crypto_hash_sha256_init(&state_); }
  void add(const Table& t, const Row& row) {
    for (size_t i = 0; i < row.size(); ++i) {
      const Value& v = row[i];
      std::string part = v.null                               ? std::string("\x01N")
                         : t.columns[i].kind == Kind::integer ? std::to_string(v.integer)
                         : t.columns[i].kind == Kind::boolean ? std::string(v.integer ? "1" : "0")
                         : t.columns[i].kind == Kind::real    ? real_text(v.real)
                                                              : v.bytes;
      const uint64_t size = part.size();
      crypto_hash_sha256_update(&state_, reinterpret_cast<const unsigned char*>(&size), sizeof size);
      crypto_hash_sha256_update(&state_, reinterpret_cast<const unsigned char*>(part.data()), part.size());
    }
  }
  std::string hex() {
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&state_, digest);
    char text[crypto_hash_sha256_BYTES * 2 + 1];
    sodium_bin2hex(text, sizeof text, digest, sizeof digest);
    return text;
  }

 private:
  crypto_hash_sha256_state state_;
};

class SqliteReader {
 public:
  explicit SqliteReader(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close_v2(db_);
      throw StoreError("open " + path + ": " + message);
    }
  }
  ~SqliteReader() { sqlite3_close_v2(db_); }
  SqliteReader(const SqliteReader&) = delete;
  SqliteReader& operator=(const SqliteReader&) = delete;

  std::vector<Row> rows(const Table& t) {
    std::string sql = "SELECT " + column_list(t) + " FROM " + t.name + " ORDER BY " + t.key;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      throw StoreError(std::string("read ") + t.name + ": " + sqlite3_errmsg(db_));
    }
    std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> owned(stmt, &sqlite3_finalize);
    std::vector<Row> out;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) out.push_back(read_row(t, stmt));
    if (rc != SQLITE_DONE) throw StoreError(std::string("read ") + t.name + ": " + sqlite3_errmsg(db_));
    return out;
  }

 private:
  static Row read_row(const Table& t, sqlite3_stmt* stmt) {
    Row row(t.columns.size());
    for (int i = 0; i < static_cast<int>(t.columns.size()); ++i) {
      Value& v = row[i];
      v.null = sqlite3_column_type(stmt, i) == SQLITE_NULL;
      v.integer = sqlite3_column_int64(stmt, i);
      v.real = sqlite3_column_double(stmt, i);
      const void* data = sqlite3_column_blob(stmt, i);
      if (data) v.bytes.assign(static_cast<const char*>(data), static_cast<size_t>(sqlite3_column_bytes(stmt, i)));
    }
    return row;
  }
  sqlite3* db_ = nullptr;
};

pg::Params params_of(const Table& t, const Row& row) {
  pg::Params p;
  for (size_t i = 0; i < row.size(); ++i) {
    const Value& v = row[i];
    if (v.null) {
      p.null();
      continue;
    }
    switch (t.columns[i].kind) {
      case Kind::text:
        p.text(v.bytes);
        break;
      case Kind::integer:
        p.integer(v.integer);
        break;
      case Kind::real:
        p.real(v.real);
        break;
      case Kind::blob:
        p.blob(Bytes(v.bytes.begin(), v.bytes.end()));
        break;
      case Kind::boolean:
        p.boolean(v.integer != 0);
        break;
    }
  }
  return p;
}

std::string upsert_sql(const Table& t) {
  std::string values, updates;
  for (size_t i = 0; i < t.columns.size(); ++i) {
    values += (i ? ", $" : "$") + std::to_string(i + 1);
    const std::string name = t.columns[i].name;
    updates += (i ? ", " : "") + name + " = EXCLUDED." + name;
  }
  return "INSERT INTO " + std::string(t.name) + "(" + column_list(t) + ") VALUES(" + values + ") ON CONFLICT (" +
         t.key + ") DO UPDATE SET " + updates;
}

// The key's text columns in byte order, as SQLite sorts them.
std::string pg_order(const Table& t) {
  std::string out, key = t.key;
  size_t start = 0;
  while (start < key.size()) {
    size_t end = key.find(", ", start);
    std::string column = key.substr(start, end == std::string::npos ? std::string::npos : end - start);
    bool text = false;
    for (const Column& c : t.columns) text = text || (column == c.name && c.kind == Kind::text);
    out += (out.empty() ? "" : ", ") + column + (text ? " COLLATE \"C\"" : "");
    if (end == std::string::npos) break;
    start = end + 2;
  }
  return out;
}

// The target's rows of a table in key order, hashed like the source's.
TableCopy verify(pg::Connection& c, const Table& t, const std::vector<Row>& source) {
  TableCopy out;
  out.table = t.name;
  out.source_rows = static_cast<int64_t>(source.size());
  RowHash source_hash;
  for (const Row& row : source) source_hash.add(t, row);
  out.source_sha256 = source_hash.hex();
  pg::Rows r = c.run("SELECT " + column_list(t) + " FROM " + t.name + " ORDER BY " + pg_order(t), "verify");
  out.target_rows = r.size();
  RowHash target_hash;
  for (int i = 0; i < r.size(); ++i) {
    Row row(t.columns.size());
    for (int j = 0; j < static_cast<int>(t.columns.size()); ++j) {
      Value& v = row[j];
      v.null = r.is_null(i, j);
      if (v.null) continue;
      switch (t.columns[j].kind) {
        case Kind::text:
          v.bytes = r.text(i, j);
          break;
        case Kind::blob: {
          Bytes b = r.blob(i, j);
          v.bytes.assign(b.begin(), b.end());
          break;
        }
        case Kind::integer:
        case Kind::boolean:
          v.integer = r.integer(i, j);
          break;
        case Kind::real:
          v.real = r.real(i, j);
          break;
      }
    }
    target_hash.add(t, row);
  }
  out.target_sha256 = target_hash.hex();
  return out;
}

}  // namespace

std::vector<TableCopy> migrate_sqlite_to_postgres(const std::string& sqlite_path, const std::string& postgres_url) {
  if (sodium_init() < 0) throw StoreError("libsodium did not initialise");
  open_sqlite_store(sqlite_path);        // the source at the latest schema (a no-op when it is)
  open_postgres_store(postgres_url, 1);  // the target's tables, under the migration lock
  SqliteReader source(sqlite_path);
  pg::Connection target(postgres_url);
  std::vector<std::vector<Row>> rows;
  for (const Table& t : tables()) rows.push_back(source.rows(t));
  target.exec("BEGIN", "copy");
  try {
    for (size_t i = 0; i < tables().size(); ++i) {
      const std::string sql = upsert_sql(tables()[i]);
      for (const Row& row : rows[i]) target.run(sql, params_of(tables()[i], row), tables()[i].name);
    }
    // Logs keep their numbers; new entries continue after them.
    for (const char* log : {"webhook_deliveries", "lockout_events", "audit_log"}) {
      target.run(std::string("SELECT setval(pg_get_serial_sequence('") + log +
                     "', 'seq'), COALESCE(MAX(seq), 0) + 1, " + "false) FROM " + log,
                 "copy");
    }
    target.exec("COMMIT", "copy");
  } catch (...) {
    target.rollback_quietly();
    throw;
  }
  std::vector<TableCopy> out;
  for (size_t i = 0; i < tables().size(); ++i) out.push_back(verify(target, tables()[i], rows[i]));
  return out;
}

}  // namespace faceauth
