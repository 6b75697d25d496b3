#pragma once
// Per-key token buckets: each key may make `per_minute` requests a minute on average, with
// bursts up to `burst`. Thread-safe. Keys idle for long are forgotten.

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

namespace faceauth {

class RateLimiter {
 public:
  RateLimiter(double per_minute, double burst) : rate_per_second_(per_minute / 60.0), burst_(burst) {}

  // False when the key has no token left; `retry_after_seconds` then says when one comes.
  bool allow(const std::string& key, int& retry_after_seconds);

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point updated;
  };
  double rate_per_second_;
  double burst_;
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace faceauth
