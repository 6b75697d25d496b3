#include <gtest/gtest.h>

#include <thread>

#include "api/rate_limiter.h"

namespace faceauth {
namespace {

TEST(RateLimiter, AllowsTheBurstThenRefusesWithARetryTime) {
  RateLimiter limiter(60, 3);  // one a second, bursts of three
  int retry = 0;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.allow("key", retry)) << i;
  EXPECT_FALSE(limiter.allow("key", retry));
  EXPECT_EQ(retry, 1);
  EXPECT_TRUE(limiter.allow("other key", retry));  // buckets are per key
}

TEST(RateLimiter, RefillsOverTime) {
  RateLimiter limiter(6000, 1);  // a hundred a second
  int retry = 0;
  EXPECT_TRUE(limiter.allow("key", retry));
  EXPECT_FALSE(limiter.allow("key", retry));
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_TRUE(limiter.allow("key", retry));
}

}  // namespace
}  // namespace faceauth
