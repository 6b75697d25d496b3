#include "server/readiness.h"

namespace faceauth {

bool Readiness::ready(int64_t now_ms) {
  if (!started_) return false;
  if (now_ms - last_error_ms_.load() < error_hold_ms_) return false;
  return store_.ping() && probe(now_ms);
}

bool Readiness::probe(int64_t now_ms) {
  std::lock_guard lock(mutex_);
  if (now_ms - probed_ms_ >= probe_every_ms_ || now_ms < probed_ms_) {
    probe_ok_ = store_.probe_write(now_ms);
    probed_ms_ = now_ms;
  }
  return probe_ok_;
}

}  // namespace faceauth
