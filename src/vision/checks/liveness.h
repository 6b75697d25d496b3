#pragma once
// Passive liveness from one photo, two heads fused (docs/liveness.md):
// - the print head (models/heads/liveness.json): texture, colour, spectrum and hm_liveness
//   features of the aligned face, trained on NUAA's printed photos;
// - the screen head (models/heads/liveness_screen.json): hm_faceres features of the head crop
//   (the attribute pass's `upper` + `lower` regions), trained on replay/'s screens.
// The score is 100 * sigmoid(clip(min(print logit, screen logit), -L, L)): live only when both
// heads say so (tools/train/train_liveness_fused.py). Stateless functions; a LivenessModel is
// read-only after loading and thread-safe.

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

struct AttributeFeatures;
class AttributeModel;

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

// A logistic-regression head on standardised features: logit = w . (x - mean) / scale + b.
struct LinearLogit {
  std::vector<double> mean, scale, weights;
  double bias = 0;
  double logit(const std::vector<float>& features) const;  // throws std::invalid_argument on a wrong size
};

// The fused score: score = 100 * sigmoid(clip(min(print, screen), -L, L)), live = high. Both
// heads' calibration (the operating point at the default threshold 50 and a temperature, set on
// held-apart sessions and sources) is folded into their weights; L (`logit_limit`) bounds the
// score (1-99 for the committed heads), so it never saturates on what it has not seen.
class LivenessModel {
 public:
  // `path` is the print head; the screen head is liveness_screen.json beside it. Throws
  // std::runtime_error when a file is missing or malformed, does not match the features (the
  // screen head records the hm_faceres pipeline it was trained on), or a model is missing
  // from `model_dir`.
  explicit LivenessModel(const std::filesystem::path& path,
                         const std::filesystem::path& model_dir = default_model_dir(),
                         const std::string& landmark_model = "faceapi_landmark68");
  ~LivenessModel();
  double print_logit(const std::vector<float>& features) const { return print_.logit(features); }
  double screen_logit(const AttributeFeatures& features) const;
  double fuse(double print_logit, double screen_logit) const;  // the bounded 0-100 score
  double score(const std::vector<float>& features, const AttributeFeatures& screen) const;
  double score_chip(const cv::Mat& chip, const AttributeFeatures& screen) const;  // features and score
  // The screen head's features of the face when the attribute pass did not compute them (one
  // hm_faceres pass, its net loaded on first use; serialised). `landmarks` are pixels of `bgr`.
  AttributeFeatures screen_features(const cv::Mat& bgr, const Landmarks68& landmarks) const;
  const LivenessNet& net() const { return net_; }
  const std::string& version() const { return version_; }  // "PRINT+SCREEN"
  double default_threshold() const { return default_threshold_; }

 private:
  std::string version_;
  double default_threshold_ = 50;
  double logit_limit_ = 30;
  LinearLogit print_, screen_;
  std::vector<std::string> screen_inputs_;
  LivenessNet net_;
  std::filesystem::path model_dir_;
  std::string landmark_model_;
  // hm_faceres for screen_features(), loaded on first use: a server whose requests always carry
  // the attribute pass's features (or never ask for liveness) does not hold a second copy.
  mutable std::unique_ptr<AttributeModel> backbone_;
  mutable std::mutex backbone_mutex_;
};

}  // namespace faceauth
