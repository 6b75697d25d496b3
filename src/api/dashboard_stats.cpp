#include "api/dashboard_stats.h"

#include <cmath>

namespace faceauth {
namespace {

constexpr int64_t kMinuteMs = 60'000;

nlohmann::json minute_json(int64_t start_ms, uint64_t requests, uint64_t errors, uint64_t approved, uint64_t rejected,
                           const std::array<uint32_t, DashboardStats::kBuckets>& latency) {
  return {{"start_ms", start_ms},
          {"requests", requests},
          {"server_errors", errors},
          {"approved", approved},
          {"rejected", rejected},
          {"p50_ms", DashboardStats::quantile(latency, 0.5)},
          {"p95_ms", DashboardStats::quantile(latency, 0.95)}};
}

}  // namespace

DashboardStats::DashboardStats(int minutes) : ring_(static_cast<size_t>(std::max(minutes, 1))) {}

double DashboardStats::bucket_upper_ms(int i) { return 0.5 * std::pow(1.25, i); }

int DashboardStats::bucket_of(double latency_ms) {
  for (int i = 0; i < kBuckets - 1; ++i) {
    if (latency_ms <= bucket_upper_ms(i)) return i;
  }
  return kBuckets - 1;
}

double DashboardStats::quantile(const std::array<uint32_t, kBuckets>& histogram, double q) {
  uint64_t total = 0;
  for (uint32_t count : histogram) total += count;
  if (total == 0) return 0;
  // The smallest bucket whose cumulative count reaches ceil(q * total).
  uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(total))));
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += histogram[static_cast<size_t>(i)];
    if (seen >= rank) return std::round(bucket_upper_ms(i) * 10) / 10;
  }
  return std::round(bucket_upper_ms(kBuckets - 1) * 10) / 10;
}

void DashboardStats::observe(int64_t now_ms, int status, double latency_ms, int decision) {
  int64_t start = now_ms - now_ms % kMinuteMs;
  std::lock_guard lock(mutex_);
  Minute& minute = ring_[static_cast<size_t>((start / kMinuteMs) % static_cast<int64_t>(ring_.size()))];
  if (minute.start_ms != start) minute = Minute{start};
  minute.requests++;
  if (status >= 500) minute.server_errors++;
  if (decision > 0) minute.approved++;
  if (decision < 0) minute.rejected++;
  minute.latency[static_cast<size_t>(bucket_of(latency_ms))]++;
}

nlohmann::json DashboardStats::render(int64_t now_ms) const {
  int64_t newest = now_ms - now_ms % kMinuteMs;
  int64_t oldest = newest - (static_cast<int64_t>(ring_.size()) - 1) * kMinuteMs;
  nlohmann::json series = nlohmann::json::array();
  Minute total;
  std::lock_guard lock(mutex_);
  for (int64_t start = oldest; start <= newest; start += kMinuteMs) {
    const Minute& minute = ring_[static_cast<size_t>((start / kMinuteMs) % static_cast<int64_t>(ring_.size()))];
    if (minute.start_ms != start) {
      series.push_back(minute_json(start, 0, 0, 0, 0, {}));
      continue;
    }
    series.push_back(
        minute_json(start, minute.requests, minute.server_errors, minute.approved, minute.rejected, minute.latency));
    total.requests += minute.requests;
    total.server_errors += minute.server_errors;
    total.approved += minute.approved;
    total.rejected += minute.rejected;
    for (int i = 0; i < kBuckets; ++i) total.latency[static_cast<size_t>(i)] += minute.latency[static_cast<size_t>(i)];
  }
  nlohmann::json totals =
      minute_json(oldest, total.requests, total.server_errors, total.approved, total.rejected, total.latency);
  uint64_t decided = total.approved + total.rejected;
  totals["approval_rate"] = decided ? static_cast<double>(total.approved) / static_cast<double>(decided) : 0.0;
  return {{"minute_ms", kMinuteMs}, {"series", series}, {"totals", totals}};
}

}  // namespace faceauth
