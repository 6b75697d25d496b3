#pragma once
// Face recognition net: an aligned chip in, an L2-normalised descriptor out.
// Not thread-safe (cv::dnn::Net keeps state): one instance per worker.

#include <filesystem>
#include <string>
#include <vector>

#include <opencv2/dnn.hpp>

#include "vision/aligner.h"
#include "vision/model_manifest.h"
#include "vision/similarity.h"

namespace faceauth {

struct EmbedderOptions {
  Alignment alignment = Alignment::dlib68;
  bool flip = false;  // also embed the mirrored chip and average (about twice the time)
};

class Embedder {
 public:
  Embedder(const std::filesystem::path& model_dir, const std::string& model_name, EmbedderOptions options = {});

  // `chip` is BGR 8-bit of the model's input size (see chip_template()).
  std::vector<float> embed(const cv::Mat& chip);
  const ChipTemplate& chip_template() const { return chip_; }
  // The pipeline that makes comparable descriptors: model version, alignment, flip. Two
  // descriptors are comparable only when their versions are equal.
  const std::string& model_version() const { return version_; }
  // Raw similarity -> 0-100 for this pipeline, from the manifest's "calibration"; empty
  // when it has none (a new model before tools/eval/calibrate.py ran).
  const ScoreCalibration& calibration() const { return calibration_; }

 private:
  std::vector<float> run(const cv::Mat& chip);

  ModelManifest manifest_;
  cv::dnn::Net net_;
  ChipTemplate chip_;
  bool flip_ = false;
  std::string version_;
  ScoreCalibration calibration_;
};

}  // namespace faceauth
