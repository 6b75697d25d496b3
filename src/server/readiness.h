#pragma once
// /ready: the daemon's start-up is complete (first-run demo included), the store answers a
// read, a small write probe succeeds (at most one probe a second), and no request met a
// store error in the last `error_hold_ms` (a full disk can let a tiny probe through while
// attempts with images fail). Thread-safe.

#include <atomic>
#include <cstdint>
#include <mutex>

#include "store/store.h"

namespace faceauth {

class Readiness {
 public:
  explicit Readiness(Store& store, int64_t error_hold_ms = 30000, int64_t probe_every_ms = 1000)
      : store_(store), error_hold_ms_(error_hold_ms), probe_every_ms_(probe_every_ms) {}

  void mark_started() { started_ = true; }
  void note_store_error(int64_t now_ms) { last_error_ms_ = now_ms; }
  bool ready(int64_t now_ms);

 private:
  bool probe(int64_t now_ms);

  Store& store_;
  const int64_t error_hold_ms_;
  const int64_t probe_every_ms_;
  std::atomic<bool> started_{false};
  std::atomic<int64_t> last_error_ms_{INT64_MIN / 2};
  std::mutex mutex_;
  int64_t probed_ms_ = INT64_MIN / 2;
  bool probe_ok_ = false;
};

}  // namespace faceauth
