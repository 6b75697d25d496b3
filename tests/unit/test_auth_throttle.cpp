// The per-address throttle of failed authentication, with explicit times.
#include <gtest/gtest.h>

#include "api/auth_throttle.h"

namespace faceauth {
namespace {

using namespace std::chrono_literals;
using Clock = AuthThrottle::Clock;

TEST(AuthThrottle, BlocksAnAddressAfterTheLimitWithinTheWindow) {
  AuthThrottle throttle({3, 1000ms, 2000ms});
  Clock::time_point t0 = Clock::now();
  int retry = 0;
  throttle.record_failure("10.0.0.1", t0);
  throttle.record_failure("10.0.0.1", t0 + 100ms);
  EXPECT_FALSE(throttle.blocked("10.0.0.1", retry, t0 + 200ms));
  throttle.record_failure("10.0.0.1", t0 + 300ms);
  ASSERT_TRUE(throttle.blocked("10.0.0.1", retry, t0 + 300ms));
  EXPECT_EQ(retry, 2);
  EXPECT_TRUE(throttle.blocked("10.0.0.1", retry, t0 + 1400ms));
  EXPECT_EQ(retry, 1);                                             // 0.9 s left rounds up
  EXPECT_FALSE(throttle.blocked("10.0.0.2", retry, t0 + 400ms));   // per address
  EXPECT_FALSE(throttle.blocked("10.0.0.1", retry, t0 + 2300ms));  // the block is over
  // The count starts again after a block.
  throttle.record_failure("10.0.0.1", t0 + 2400ms);
  EXPECT_FALSE(throttle.blocked("10.0.0.1", retry, t0 + 2400ms));
}

TEST(AuthThrottle, FailuresOutsideTheWindowDoNotAddUp) {
  AuthThrottle throttle({3, 1000ms, 2000ms});
  Clock::time_point t0 = Clock::now();
  int retry = 0;
  for (int i = 0; i < 10; ++i) throttle.record_failure("10.0.0.1", t0 + i * 600ms);
  EXPECT_FALSE(throttle.blocked("10.0.0.1", retry, t0 + 5500ms));
}

TEST(AuthThrottle, LimitZeroIsOff) {
  AuthThrottle throttle({0, 1000ms, 2000ms});
  Clock::time_point t0 = Clock::now();
  int retry = 0;
  for (int i = 0; i < 100; ++i) throttle.record_failure("10.0.0.1", t0);
  EXPECT_FALSE(throttle.blocked("10.0.0.1", retry, t0));
}

TEST(AuthThrottle, AddressHostDropsThePort) {
  EXPECT_EQ(address_host("127.0.0.1:5000"), "127.0.0.1");
  EXPECT_EQ(address_host("[::1]:5000"), "::1");
  EXPECT_EQ(address_host("203.0.113.7"), "203.0.113.7");
  EXPECT_EQ(address_host("2001:db8::1"), "2001:db8::1");
  EXPECT_EQ(address_host(""), "");
}

}  // namespace
}  // namespace faceauth
