// EnginePool's bounded queue, with an empty pool (no engine ever frees up, no models needed).
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "api/engine_pool.h"

// GCC 12 at -O2 reports the default-constructed EngineConfig's strings as maybe-uninitialized
// (a known false positive of its inliner with std::string members); only this file needs it.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace faceauth {
namespace {

using std::chrono::milliseconds;

TEST(EnginePool, AFullQueueFailsAtOnceAndAWaiterTimesOut) {
  EnginePool pool(EngineConfig{}, 0, 1);
  bool first_got_one = true;
  std::thread waiter([&] { first_got_one = static_cast<bool>(pool.acquire(milliseconds(3000))); });
  for (int i = 0; i < 500 && pool.waiting() < 1; ++i) std::this_thread::sleep_for(milliseconds(10));
  ASSERT_EQ(pool.waiting(), 1);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(pool.acquire(milliseconds(60000)));  // the queue (1) is full: no wait at all
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_LT(waited, milliseconds(30000));  // far below the 60 s it would have waited
  waiter.join();
  EXPECT_FALSE(first_got_one);  // no engine within its 3 s
  EXPECT_EQ(pool.waiting(), 0);
}

TEST(EnginePool, NoQueueMeansNoWait) {
  EnginePool pool(EngineConfig{}, 0, 0);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(pool.acquire(milliseconds(60000)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(30000));
  EXPECT_EQ(pool.waiting(), 0);
}

}  // namespace
}  // namespace faceauth
