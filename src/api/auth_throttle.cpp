#include "api/auth_throttle.h"

#include <algorithm>

namespace faceauth {

bool AuthThrottle::blocked(const std::string& address, int& retry_after_seconds, Clock::time_point now) {
  if (config_.limit <= 0) return false;
  std::lock_guard lock(mutex_);
  auto it = entries_.find(address);
  if (it == entries_.end() || it->second.blocked_until <= now) return false;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(it->second.blocked_until - now).count();
  retry_after_seconds = static_cast<int>(std::max<int64_t>(1, (left + 999) / 1000));
  return true;
}

void AuthThrottle::record_failure(const std::string& address, Clock::time_point now) {
  if (config_.limit <= 0) return;
  std::lock_guard lock(mutex_);
  if (entries_.size() >= kMaxAddresses) forget_idle(now);
  Entry& entry = entries_[address];
  while (!entry.failures.empty() && entry.failures.front() <= now - config_.window) entry.failures.pop_front();
  entry.failures.push_back(now);
  if (static_cast<int>(entry.failures.size()) >= config_.limit) {
    entry.blocked_until = now + config_.block;
    entry.failures.clear();  // counting starts again after the block
  }
}

void AuthThrottle::forget_idle(Clock::time_point now) {
  std::erase_if(entries_, [&](const auto& item) {
    const Entry& entry = item.second;
    return entry.blocked_until <= now && (entry.failures.empty() || entry.failures.back() <= now - config_.window);
  });
  if (entries_.size() >= kMaxAddresses) entries_.clear();  // still full: bounded memory wins
}

std::string address_host(std::string_view address) {
  if (!address.empty() && address.front() == '[') {
    size_t close = address.find(']');
    return std::string(close == std::string_view::npos ? address.substr(1) : address.substr(1, close - 1));
  }
  size_t colon = address.find(':');
  if (colon != std::string_view::npos && address.find(':', colon + 1) == std::string_view::npos) {
    return std::string(address.substr(0, colon));  // ipv4:port
  }
  return std::string(address);  // a bare IPv4 or IPv6 address
}

}  // namespace faceauth
