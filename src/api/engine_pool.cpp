#include "api/engine_pool.h"

#include <stdexcept>

namespace faceauth {

EnginePool::EnginePool(const EngineConfig& config, int size, int max_waiting) : size_(size), max_waiting_(max_waiting) {
  for (int i = 0; i < size; ++i) idle_.push_back(std::make_unique<FaceEngine>(config));
  if (!idle_.empty()) model_version_ = idle_.front()->model_version();
  if (!idle_.empty() && idle_.front()->calibration().empty()) {
    throw std::runtime_error("the embedding pipeline " + idle_.front()->model_version() +
                             " has no score calibration in its manifest (see docs/accuracy.md)");
  }
}

EnginePool::Lease::~Lease() {
  if (engine_) pool_->give_back(std::move(engine_));
}

EnginePool::Lease EnginePool::acquire(std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  if (idle_.empty()) {
    if (waiting_ >= max_waiting_) return Lease(this, nullptr);
    ++waiting_;
    EngineLoad::Hold demand;  // a caller waiting for an engine: no core is idle for a second net
    const bool freed = freed_.wait_for(lock, wait, [&] { return !idle_.empty(); });
    --waiting_;
    if (!freed) return Lease(this, nullptr);
  }
  std::unique_ptr<FaceEngine> engine = std::move(idle_.back());
  idle_.pop_back();
  return Lease(this, std::move(engine));
}

int EnginePool::waiting() const {
  std::lock_guard lock(mutex_);
  return waiting_;
}

void EnginePool::give_back(std::unique_ptr<FaceEngine> engine) {
  {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(engine));
  }
  freed_.notify_one();
}

}  // namespace faceauth
