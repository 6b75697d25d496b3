#include "api/engine_pool.h"

#include <stdexcept>

namespace faceauth {

EnginePool::EnginePool(const EngineConfig& config, int size) : size_(size) {
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
  if (!freed_.wait_for(lock, wait, [&] { return !idle_.empty(); })) return Lease(this, nullptr);
  std::unique_ptr<FaceEngine> engine = std::move(idle_.back());
  idle_.pop_back();
  return Lease(this, std::move(engine));
}

void EnginePool::give_back(std::unique_ptr<FaceEngine> engine) {
  {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(engine));
  }
  freed_.notify_one();
}

}  // namespace faceauth
