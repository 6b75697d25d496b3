#pragma once
// A bounded pool of face engines, each with its own nets (cv::dnn nets are not
// thread-safe). A request borrows one with a deadline and waits in a bounded queue: when the
// queue is full, or no engine frees up in time, the caller answers 503 detection_server_error
// (with Retry-After) instead of queueing without bound.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "vision/face/face_engine.h"

namespace faceauth {

class EnginePool {
 public:
  // `max_waiting`: callers that may wait for an engine at once; more fail at once.
  EnginePool(const EngineConfig& config, int size, int max_waiting = 64);

  class Lease {
   public:
    Lease(EnginePool* pool, std::unique_ptr<FaceEngine> engine) : pool_(pool), engine_(std::move(engine)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    explicit operator bool() const { return engine_ != nullptr; }
    FaceEngine& operator*() { return *engine_; }
    FaceEngine* operator->() { return engine_.get(); }

   private:
    EnginePool* pool_;
    std::unique_ptr<FaceEngine> engine_;
  };

  // An engine, or an empty lease when none was free within `wait` or the queue is full.
  Lease acquire(std::chrono::milliseconds wait);
  int size() const { return size_; }
  // The embedding pipeline every engine of the pool runs (the templates' model version).
  const std::string& model_version() const { return model_version_; }
  int waiting() const;

 private:
  void give_back(std::unique_ptr<FaceEngine> engine);

  int size_;
  std::string model_version_;
  int max_waiting_;
  int waiting_ = 0;
  mutable std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<FaceEngine>> idle_;
};

}  // namespace faceauth
