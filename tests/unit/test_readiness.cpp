// /ready's rule on a real SQLite store: start-up complete, a write probe that succeeds, and
// no store error in the hold time.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>

#include "crypto/secrets.h"
#include "server/readiness.h"

namespace faceauth {
namespace {

namespace fs = std::filesystem;

class ReadinessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    init_crypto();
    dir_ = fs::temp_directory_path() / ("faceauth_ready_" + random_hex_id());
    fs::create_directories(dir_);
    store_ = open_sqlite_store((dir_ / "faceauth.db").string());
  }
  void TearDown() override {
    store_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  fs::path dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(ReadinessTest, NotReadyUntilStartUpIsComplete) {
  Readiness readiness(*store_);
  EXPECT_FALSE(readiness.ready(1000));
  readiness.mark_started();
  EXPECT_TRUE(readiness.ready(1000));
}

TEST_F(ReadinessTest, AStoreErrorHoldsReadinessOff) {
  Readiness readiness(*store_, 30000);
  readiness.mark_started();
  readiness.note_store_error(10'000);
  EXPECT_FALSE(readiness.ready(10'001));
  EXPECT_FALSE(readiness.ready(39'999));
  EXPECT_TRUE(readiness.ready(40'000));
}

TEST_F(ReadinessTest, NotReadyWhileWritesFail) {
  Readiness readiness(*store_, 30000, 0);  // probe on every call
  readiness.mark_started();
  EXPECT_TRUE(readiness.ready(1000));
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2((dir_ / "faceauth.db").c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  EXPECT_FALSE(readiness.ready(2000));
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close_v2(db);
  EXPECT_TRUE(readiness.ready(3000));
}

}  // namespace
}  // namespace faceauth
