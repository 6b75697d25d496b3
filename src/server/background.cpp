#include "server/background.h"

#include <chrono>
#include <exception>
#include <iostream>

namespace faceauth {

BackgroundLoop::BackgroundLoop(std::string name, std::function<int64_t()> step)
    : name_(std::move(name)), step_(std::move(step)) {}

BackgroundLoop::~BackgroundLoop() { stop(); }

void BackgroundLoop::start() {
  thread_ = std::thread([this] { run(); });
}

void BackgroundLoop::wake() {
  std::lock_guard lock(mutex_);
  woken_ = true;
  changed_.notify_one();
}

void BackgroundLoop::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    changed_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

void BackgroundLoop::run() {
  for (;;) {
    int64_t sleep_ms = 1000;
    try {
      sleep_ms = step_();
    } catch (const std::exception& e) {
      std::cerr << "faceauthd: " << name_ << ": " << e.what() << std::endl;
    }
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, std::chrono::milliseconds(sleep_ms), [this] { return stopping_ || woken_; });
    if (stopping_) return;
    woken_ = false;
  }
}

}  // namespace faceauth
