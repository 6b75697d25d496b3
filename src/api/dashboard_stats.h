#pragma once
// The server's own counters over time, for the dashboard's overview: per minute, requests,
// server errors, FaceAuth decisions and request latency (a log-spaced histogram, so p50 and
// p95 come out within one bucket, about 12 %). The last `minutes` minutes are kept, in memory
// (a restart starts them again; /metrics has the cumulative Prometheus counters). Thread-safe.

#include <array>
#include <cstdint>
#include <mutex>
#include <vector>

#include <nlohmann/json.hpp>

namespace faceauth {

class DashboardStats {
 public:
  explicit DashboardStats(int minutes = 120);

  // One answered request; `decision` is +1 approved, -1 rejected, 0 no decision.
  void observe(int64_t now_ms, int status, double latency_ms, int decision);
  // {"minute_ms", "series": [{"start_ms", "requests", "server_errors", "approved", "rejected",
  //  "p50_ms", "p95_ms"}...], "totals": {...same plus "approval_rate"}}, oldest first.
  nlohmann::json render(int64_t now_ms) const;

  static constexpr int kBuckets = 64;
  // The upper bound in ms of histogram bucket i (0.5 ms * 1.25^i).
  static double bucket_upper_ms(int i);
  // The q-quantile (0-1) of a histogram: the upper bound of the bucket holding it; 0 when empty.
  static double quantile(const std::array<uint32_t, kBuckets>& histogram, double q);

 private:
  struct Minute {
    int64_t start_ms = -1;
    uint64_t requests = 0, server_errors = 0, approved = 0, rejected = 0;
    std::array<uint32_t, kBuckets> latency{};
  };
  static int bucket_of(double latency_ms);

  mutable std::mutex mutex_;
  std::vector<Minute> ring_;
};

}  // namespace faceauth
