#pragma once
// A background thread that runs one step, sleeps as long as the step asks, and runs it again:
// the webhook delivery worker and the retention sweeper. wake() cuts a sleep short; stop()
// lets the step in progress finish and joins. A step that throws is logged (its message only)
// and retried after a second.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace faceauth {

class BackgroundLoop {
 public:
  // step returns the milliseconds to sleep before the next step.
  BackgroundLoop(std::string name, std::function<int64_t()> step);
  BackgroundLoop(const BackgroundLoop&) = delete;
  BackgroundLoop& operator=(const BackgroundLoop&) = delete;
  ~BackgroundLoop();

  void start();
  void wake();
  void stop();

 private:
  void run();

  std::string name_;
  std::function<int64_t()> step_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool woken_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace faceauth
