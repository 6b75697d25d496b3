#include "api/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace faceauth {

bool RateLimiter::allow(const std::string& key, int& retry_after_seconds) {
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  if (buckets_.size() > 100000) buckets_.clear();  // bounded memory; buckets refill to full anyway
  auto [it, fresh] = buckets_.try_emplace(key, Bucket{burst_, now});
  Bucket& bucket = it->second;
  if (!fresh) {
    double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
    bucket.tokens = std::min(burst_, bucket.tokens + elapsed * rate_per_second_);
    bucket.updated = now;
  }
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    return true;
  }
  retry_after_seconds = std::max(1, static_cast<int>(std::ceil((1.0 - bucket.tokens) / rate_per_second_)));
  return false;
}

}  // namespace faceauth
