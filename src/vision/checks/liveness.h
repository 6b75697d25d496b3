#pragma once
// Passive liveness from one photo: texture and colour features of the aligned face (print and
// screen artefacts: LBP histograms in YCrCb and HSV, high-frequency energy, colour moments,
// specular highlights) and a logistic-regression head trained on NUAA (tools/train/
// train_liveness.py, weights in models/heads/liveness.json). Stateless functions; a
// LivenessModel is read-only after loading and thread-safe.

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include "vision/face/face_types.h"
#include "vision/nets/model_manifest.h"

namespace faceauth {

// The folder of the committed heads: $FACEAUTH_HEADS, else models/heads of the source tree.
std::filesystem::path default_heads_dir();

// The face as the liveness features see it: a 96x96 BGR chip on the dlib template with 0.2
// padding. `landmarks` are pixels of `bgr`.
constexpr int kLivenessChip = 96;
cv::Mat liveness_chip(const cv::Mat& bgr, const Landmarks68& landmarks);

// hm_liveness (human-models' 32x32 liveness CNN) as a feature extractor: the chip shrunk to
// 32x32, its last conv block mean-pooled (32) and its hidden layer (64). Thread-safe (the
// forward pass is serialised; it takes well under a millisecond).
class LivenessNet {
 public:
  static constexpr size_t kSize = 96;
  explicit LivenessNet(const std::filesystem::path& model_dir);  // throws std::runtime_error
  void append(const cv::Mat& chip, std::vector<float>& out) const;
  const std::string& version() const { return version_; }

 private:
  std::shared_ptr<const ModelManifest> manifest_;
  mutable cv::dnn::Net net_;
  mutable std::mutex mutex_;
  std::string version_;
};

// Texture, colour and spectrum features of a liveness chip (kLivenessChip square, BGR 8-bit):
// every group of liveness_feature_names() but `livenet`. Histograms are L1-normalised and
// square-rooted (Hellinger).
std::vector<float> liveness_texture_features(const cv::Mat& chip);
// All features, in the order of liveness_feature_names(): the texture features, then the net's.
std::vector<float> liveness_features(const cv::Mat& chip, const LivenessNet& net);
// One name per feature, "group.index" (e.g. "lbp_cr.12"), so training can pick groups.
std::vector<std::string> liveness_feature_names();

// Logistic regression on standardised features: score = 100 * sigmoid(clip(w . (x - mean) /
// scale + b, -L, L)), live = high. The bias and temperature are set so that the documented
// default threshold is 50 and a score reads as a probability on held-apart sessions and
// sources; L (the head's `logit_limit`) bounds the score (1-99 for the committed head), so it
// never saturates on what it has not seen.
class LivenessModel {
 public:
  // Throws std::runtime_error when the file is missing or does not match the features, or the
  // hm_liveness model is missing from `model_dir`.
  explicit LivenessModel(const std::filesystem::path& path,
                         const std::filesystem::path& model_dir = default_model_dir());
  double score(const std::vector<float>& features) const;
  double score_chip(const cv::Mat& chip) const;  // features and score
  const LivenessNet& net() const { return net_; }
  const std::string& version() const { return version_; }
  double default_threshold() const { return default_threshold_; }

 private:
  std::string version_;
  double default_threshold_ = 50;
  std::vector<double> mean_, scale_, weights_;
  double bias_ = 0, logit_limit_ = 30;
  LivenessNet net_;
};

}  // namespace faceauth
