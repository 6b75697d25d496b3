#pragma once
// Passive liveness from one photo: texture and colour features of the aligned face (print and
// screen artefacts: LBP histograms in YCrCb and HSV, high-frequency energy, colour moments,
// specular highlights) and a logistic-regression head trained on NUAA (tools/train/
// train_liveness.py, weights in models/heads/liveness.json). Stateless functions; a
// LivenessModel is read-only after loading and thread-safe.

#include <filesystem>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "vision/face_types.h"

namespace faceauth {

// The folder of the committed heads: $FACEAUTH_HEADS, else models/heads of the source tree.
std::filesystem::path default_heads_dir();

// The face as the liveness features see it: a 96x96 BGR chip on the dlib template with 0.2
// padding. `landmarks` are pixels of `bgr`.
constexpr int kLivenessChip = 96;
cv::Mat liveness_chip(const cv::Mat& bgr, const Landmarks68& landmarks);

// Feature vector of a liveness chip (kLivenessChip square, BGR 8-bit), in the order of
// liveness_feature_names(). Histograms are L1-normalised and square-rooted (Hellinger).
std::vector<float> liveness_features(const cv::Mat& chip);
// One name per feature, "group.index" (e.g. "lbp_cr.12"), so training can pick groups.
std::vector<std::string> liveness_feature_names();

// Logistic regression on standardised features: score = 100 * sigmoid(w . (x - mean) / scale + b),
// 0-100, live = high. The bias is set so that the documented default threshold is 50.
class LivenessModel {
 public:
  // Throws std::runtime_error when the file is missing or does not match the features.
  explicit LivenessModel(const std::filesystem::path& path);
  double score(const std::vector<float>& features) const;
  const std::string& version() const { return version_; }
  double default_threshold() const { return default_threshold_; }

 private:
  std::string version_;
  double default_threshold_ = 50;
  std::vector<double> mean_, scale_, weights_;
  double bias_ = 0;
};

}  // namespace faceauth
