#pragma once
// Throttle of failed authentication per client address: `limit` 401 answers (unknown or
// revoked keys, a wrong admin token) within `window` block that address for `block`; a
// blocked address is answered 429 too_many_requests with Retry-After before any key lookup.
// In-process (each server counts its own); thread-safe; memory bounded (addresses whose
// failures and block are over are forgotten, and at most kMaxAddresses are kept).

#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace faceauth {

struct AuthThrottleConfig {
  int limit = 30;  // 401s per address within the window; 0 = off
  std::chrono::milliseconds window{60000};
  std::chrono::milliseconds block{60000};
};

class AuthThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kMaxAddresses = 100000;

  explicit AuthThrottle(AuthThrottleConfig config) : config_(config) {}

  // True when the address is blocked; `retry_after_seconds` then says for how long.
  bool blocked(const std::string& address, int& retry_after_seconds, Clock::time_point now = Clock::now());
  // Counts one 401 answer to the address.
  void record_failure(const std::string& address, Clock::time_point now = Clock::now());

 private:
  struct Entry {
    std::deque<Clock::time_point> failures;  // within the window, oldest first, at most `limit`
    Clock::time_point blocked_until{};
  };
  void forget_idle(Clock::time_point now);

  AuthThrottleConfig config_;
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
};

// The host of "ip:port", "[v6]:port", "ip" or "v6" (the client address without its port).
std::string address_host(std::string_view address);

}  // namespace faceauth
