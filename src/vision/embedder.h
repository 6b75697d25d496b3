#pragma once
// Face recognition net: an aligned chip in, an L2-normalised descriptor out.
// Not thread-safe (cv::dnn::Net keeps state): one instance per worker.

#include <filesystem>
#include <string>
#include <vector>

#include <opencv2/dnn.hpp>

#include "vision/aligner.h"
#include "vision/model_manifest.h"

namespace faceauth {

class Embedder {
 public:
  Embedder(const std::filesystem::path& model_dir, const std::string& model_name);

  // `chip` is BGR 8-bit of the model's input size (see chip_template()).
  std::vector<float> embed(const cv::Mat& chip);
  const ChipTemplate& chip_template() const { return chip_; }
  const std::string& model_version() const { return manifest_.version; }

 private:
  ModelManifest manifest_;
  cv::dnn::Net net_;
  ChipTemplate chip_;
};

}  // namespace faceauth
