#include "store_backends.h"

#include <libpq-fe.h>
#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "crypto/secrets.h"

namespace faceauth {
namespace {

namespace fs = std::filesystem;

class SqliteBackend final : public StoreBackend {
 public:
  SqliteBackend() {
    dir_ = fs::temp_directory_path() / ("faceauth_store_" + random_hex_id());
    fs::create_directories(dir_);
    path_ = dir_ / "faceauth.db";
  }
  ~SqliteBackend() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  std::unique_ptr<Store> open() override { return open_sqlite_store(path_.string()); }
  int64_t query_int(const std::string& sql) override {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    int64_t value = -1;
    if (sqlite3_step(stmt) == SQLITE_ROW) value = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close_v2(db);
    return value;
  }
  void exec(const std::string& sql) override {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK) << (error ? error : "");
    sqlite3_free(error);
    sqlite3_close_v2(db);
  }
  int64_t schema_objects() override { return query_int("SELECT COUNT(*) FROM sqlite_schema"); }
  std::unique_ptr<Store> open_unreachable() override {
    return open_sqlite_store((dir_ / "no" / "such" / "dir" / "x.db").string());
  }
  std::string url() const override { return "sqlite:" + path_.string(); }

 private:
  fs::path dir_, path_;
};

// One schema per test on the shared test server: tests never see each other's rows.
class PostgresBackend final : public StoreBackend {
 public:
  explicit PostgresBackend(const std::string& server_url) : server_url_(server_url) {
    schema_ = "t_" + random_hex_id();
    url_ = server_url + (server_url.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" + schema_ +
           "&application_name=faceauthd_" + schema_;
    admin_ = PQconnectdb(server_url.c_str());
    if (PQstatus(admin_) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(admin_));
    exec("CREATE SCHEMA " + schema_);
    exec("SET search_path TO " + schema_);
  }
  ~PostgresBackend() override {
    PQclear(PQexec(admin_, ("DROP SCHEMA " + schema_ + " CASCADE").c_str()));
    PQfinish(admin_);
  }
  std::unique_ptr<Store> open() override { return open_postgres_store(url_, 4); }
  int64_t query_int(const std::string& sql) override {
    PGresult* result = PQexec(admin_, sql.c_str());
    EXPECT_EQ(PQresultStatus(result), PGRES_TUPLES_OK) << PQresultErrorMessage(result);
    int64_t value = -1;
    if (PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) > 0)
      value = std::stoll(PQgetvalue(result, 0, 0));
    PQclear(result);
    return value;
  }
  void exec(const std::string& sql) override {
    PGresult* result = PQexec(admin_, sql.c_str());
    EXPECT_EQ(PQresultStatus(result), PGRES_COMMAND_OK) << PQresultErrorMessage(result);
    PQclear(result);
  }
  int64_t schema_objects() override {
    return query_int(
        "SELECT COUNT(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '" + schema_ +
        "'");
  }
  std::unique_ptr<Store> open_unreachable() override {
    return open_postgres_store("postgresql://faceauth@127.0.0.1:1/faceauth", 1);
  }
  std::string url() const override { return url_; }

 private:
  std::string server_url_, schema_, url_;
  PGconn* admin_ = nullptr;
};

}  // namespace

std::unique_ptr<StoreBackend> make_store_backend(const std::string& name) {
  init_crypto();
  if (name == "sqlite") return std::make_unique<SqliteBackend>();
  const char* url = std::getenv("FACEAUTH_TEST_PG_URL");
  if (url == nullptr || *url == '\0') return nullptr;
  return std::make_unique<PostgresBackend>(url);
}

}  // namespace faceauth
