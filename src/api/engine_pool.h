#pragma once
// A bounded pool of face engines, each with its own nets (cv::dnn nets are not
// thread-safe). A request borrows one with a deadline; when none frees up in time the caller
// answers 503 detection_server_error instead of queueing without bound.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "vision/face_engine.h"

namespace faceauth {

class EnginePool {
 public:
  EnginePool(const EngineConfig& config, int size);

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

  // An engine, or an empty lease when none was free within `wait`.
  Lease acquire(std::chrono::milliseconds wait);
  int size() const { return size_; }
  // The embedding pipeline every engine of the pool runs (the templates' model version).
  const std::string& model_version() const { return model_version_; }

 private:
  void give_back(std::unique_ptr<FaceEngine> engine);

  int size_;
  std::string model_version_;
  mutable std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<FaceEngine>> idle_;
};

}  // namespace faceauth
