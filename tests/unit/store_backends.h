#pragma once
// The stores the contract tests run against: SQLite on a temporary file, and PostgreSQL in
// a fresh schema of the server named by FACEAUTH_TEST_PG_URL (scripts/test.sh starts one
// with tests/tools/pg_test_server.sh). Without that variable the PostgreSQL variants are
// skipped, unless FACEAUTH_TEST_PG_REQUIRED=1 (scripts/test.sh, CI), which makes them fail.

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "store/store.h"

namespace faceauth {

class StoreBackend {
 public:
  virtual ~StoreBackend() = default;
  // A new Store on this backend's database (a second one sees what the first wrote).
  virtual std::unique_ptr<Store> open() = 0;
  // What the database says, behind the store's back (one integer; plain SQL both speak).
  virtual int64_t query_int(const std::string& sql) = 0;
  virtual void exec(const std::string& sql) = 0;
  // Tables and indexes of the schema.
  virtual int64_t schema_objects() = 0;
  // Opening a store where there is none: StoreError expected.
  virtual std::unique_ptr<Store> open_unreachable() = 0;
  // The database's connection URL for this test (PostgreSQL), or "sqlite:PATH".
  virtual std::string url() const = 0;
};

// "sqlite" or "postgres"; nullptr when PostgreSQL is not configured for this run.
std::unique_ptr<StoreBackend> make_store_backend(const std::string& name);

// For SetUp: the backend, or a skip (developer run) / failure (FACEAUTH_TEST_PG_REQUIRED=1).
#define FACEAUTH_OPEN_BACKEND(backend, name)                                                        \
  do {                                                                                              \
    backend = make_store_backend(name);                                                             \
    if (!backend) {                                                                                 \
      const char* required = std::getenv("FACEAUTH_TEST_PG_REQUIRED");                              \
      if (required && std::string(required) == "1") FAIL() << "FACEAUTH_TEST_PG_URL is not set";    \
      GTEST_SKIP() << "no PostgreSQL for this run (set FACEAUTH_TEST_PG_URL, see scripts/test.sh)"; \
    }                                                                                               \
  } while (0)

// Test names: "sqlite", "postgres".
inline std::string store_backend_name(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

}  // namespace faceauth
