#include "server/metrics.h"

#include <cstdio>

namespace faceauth {
namespace {

std::string number(double value) {
  char text[64];
  std::snprintf(text, sizeof text, "%.9g", value);
  return text;
}

}  // namespace

void Metrics::Histogram::observe(double seconds) {
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++counts[i];
  }
  ++count;
  sum += seconds;
}

void Metrics::observe_request(const std::string& route, int status, double seconds) {
  std::lock_guard lock(mutex_);
  ++requests_[{route, status}];
  request_seconds_[route].observe(seconds);
}

void Metrics::observe_stage(const std::string& stage, double seconds) {
  std::lock_guard lock(mutex_);
  stage_seconds_[stage].observe(seconds);
}

void Metrics::render_histogram(std::string& out, const std::string& name, const std::string& labels,
                               const Histogram& histogram) {
  std::string sep = labels.empty() ? "" : ",";
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    out += name + "_bucket{" + labels + sep + "le=\"" + number(kBuckets[i]) + "\"} " +
           std::to_string(histogram.counts[i]) + "\n";
  }
  out += name + "_bucket{" + labels + sep + "le=\"+Inf\"} " + std::to_string(histogram.count) + "\n";
  out += name + "_sum{" + labels + "} " + number(histogram.sum) + "\n";
  out += name + "_count{" + labels + "} " + std::to_string(histogram.count) + "\n";
}

void Metrics::set_collector(std::function<std::string()> collector) {
  std::lock_guard lock(mutex_);
  collector_ = std::move(collector);
}

std::string render_connection_stats(const HttpServerStats& s) {
  auto line = [](const std::string& name, const std::string& labels, uint64_t value) {
    return name + (labels.empty() ? "" : "{" + labels + "}") + " " + std::to_string(value) + "\n";
  };
  std::string out =
      "# HELP faceauth_connections_open Open client connections.\n# TYPE faceauth_connections_open gauge\n";
  out += line("faceauth_connections_open", "", s.open);
  out += "# HELP faceauth_connections_accepted_total Connections admitted.\n";
  out += "# TYPE faceauth_connections_accepted_total counter\n";
  out += line("faceauth_connections_accepted_total", "", s.accepted);
  out += "# HELP faceauth_connections_refused_total Connections closed at accept, by cap.\n";
  out += "# TYPE faceauth_connections_refused_total counter\n";
  out += line("faceauth_connections_refused_total", "reason=\"max_connections\"", s.refused_max_connections);
  out += line("faceauth_connections_refused_total", "reason=\"per_address\"", s.refused_per_address);
  out += "# HELP faceauth_connections_closed_total Connections closed by a timeout, by reason.\n";
  out += "# TYPE faceauth_connections_closed_total counter\n";
  out += line("faceauth_connections_closed_total", "reason=\"slow_header\"", s.closed_slow_header);
  out += line("faceauth_connections_closed_total", "reason=\"slow_body\"", s.closed_slow_body);
  out += line("faceauth_connections_closed_total", "reason=\"idle\"", s.closed_idle);
  out += "# HELP faceauth_requests_overloaded_total Requests answered 503 with every handler thread busy.\n";
  out += "# TYPE faceauth_requests_overloaded_total counter\n";
  out += line("faceauth_requests_overloaded_total", "", s.overloaded);
  out += "# HELP faceauth_handler_queue Requests waiting for a handler thread.\n# TYPE faceauth_handler_queue gauge\n";
  out += line("faceauth_handler_queue", "", s.handler_queue);
  return out;
}

std::string Metrics::render() const {
  std::lock_guard lock(mutex_);
  std::string out = "# HELP faceauth_requests_total HTTP requests by route and status.\n";
  out += "# TYPE faceauth_requests_total counter\n";
  for (const auto& [key, count] : requests_) {
    out += "faceauth_requests_total{route=\"" + key.first + "\",status=\"" + std::to_string(key.second) + "\"} " +
           std::to_string(count) + "\n";
  }
  out += "# HELP faceauth_request_seconds Request latency by route.\n# TYPE faceauth_request_seconds histogram\n";
  for (const auto& [route, histogram] : request_seconds_) {
    render_histogram(out, "faceauth_request_seconds", "route=\"" + route + "\"", histogram);
  }
  out += "# HELP faceauth_stage_seconds Face engine latency by stage.\n# TYPE faceauth_stage_seconds histogram\n";
  for (const auto& [stage, histogram] : stage_seconds_) {
    render_histogram(out, "faceauth_stage_seconds", "stage=\"" + stage + "\"", histogram);
  }
  if (collector_) out += collector_();
  return out;
}

}  // namespace faceauth
