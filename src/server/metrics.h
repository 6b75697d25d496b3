#pragma once
// Prometheus metrics: requests by route and status, request latency and engine stage
// latency as histograms, and the HTTP server's connection gauges and counters (through a
// collector set at start). Thread-safe; rendered as the text exposition format.

#include <array>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "http/http_server.h"

namespace faceauth {

class Metrics {
 public:
  void observe_request(const std::string& route, int status, double seconds);
  void observe_stage(const std::string& stage, double seconds);
  std::string render() const;
  // Called by render() for more exposition text (the connection stats); set before serving.
  void set_collector(std::function<std::string()> collector);

 private:
  static constexpr std::array<double, 12> kBuckets = {0.005, 0.01, 0.02, 0.03, 0.05, 0.075,
                                                      0.1,   0.2,  0.5,  1.0,  2.5,  10.0};
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> counts{};
    uint64_t count = 0;
    double sum = 0;
    void observe(double seconds);
  };
  static void render_histogram(std::string& out, const std::string& name, const std::string& labels,
                               const Histogram& histogram);

  std::function<std::string()> collector_;
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::map<std::string, Histogram> request_seconds_;
  std::map<std::string, Histogram> stage_seconds_;
};

// The HTTP server's stats as Prometheus text: faceauth_connections_open,
// faceauth_connections_accepted_total, faceauth_connections_refused_total{reason},
// faceauth_connections_closed_total{reason}, faceauth_requests_overloaded_total,
// faceauth_handler_queue.
std::string render_connection_stats(const HttpServerStats& stats);

}  // namespace faceauth
