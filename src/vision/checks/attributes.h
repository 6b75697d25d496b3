#pragma once
// Occlusion, face cover and head cover: small trained heads (models/heads/*.json, made by
// tools/train/attributes.sh) on features of a shipped network. Not thread-safe: one instance
// per engine (it owns a cv::dnn net).
//
// Features (see docs/attributes.md): one pass of hm_faceres (human-models' MobileNet face
// attribute net) cut at an intermediate block, on a 96x96 crop of the whole head placed by
// the landmarks (face template x -0.5..1.5, y -0.8..1.2). The 6x6 map of 512 channels is
// mean-pooled over three regions:
//   top:   the two top rows, all columns: above the brows, where a hard hat sits;
//   upper: the two middle rows, the four middle columns: brows and eyes;
//   lower: the two bottom rows, the four middle columns: nose tip, mouth, chin.
// The recognition descriptor is not used, so a change of the recognition model leaves the
// heads valid; each head records the pipeline it was trained on and is refused at load when
// this engine's pipeline differs.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include "vision/checks/liveness.h"  // default_heads_dir()
#include "vision/face/face_types.h"

namespace faceauth {

// 0-100 with one decimal, higher = more of the good thing. Unset = not asked for.
struct AttributeScores {
  std::optional<double> occluded;    // the face is free of occlusion
  std::optional<double> face_cover;  // face protective equipment is present
  std::optional<double> head_cover;  // head protective equipment is present
};

// Which scores to compute. With `lower_face_covered` (a mask is required), occlusion judges
// only the eyes and brows, which a mask leaves visible.
struct AttributeNeeds {
  bool occluded = false, face_cover = false, head_cover = false;
  bool lower_face_covered = false;
  bool features = false;  // the features even with no score asked for (`faceauth features --pad-retry`)
  bool any() const { return occluded || face_cover || head_cover; }
  static AttributeNeeds all() { return {true, true, true, false, false}; }
};

// Whether `name` is one of the regions features() computes ("top", "upper", "lower").
bool is_feature_region(const std::string& name);

// The feature vectors of one face by region name ("top", "upper", "lower").
struct AttributeFeatures {
  std::map<std::string, std::vector<float>> regions;
  const std::vector<float>& get(const std::string& name) const;
};

// A head on x, its features concatenated, z = (x - mean) * scale: "logistic" (the default kind),
// p = sigmoid(w . z + b); or "mlp", one hidden layer of ReLU units before it,
// p = sigmoid(w . max(0, W z + c) + b), W given as `hidden_weights` (a row per unit) and c as
// `hidden_bias` (tools/train/train_attributes.py fit / fit_hidden).
class AttributeHead {
 public:
  explicit AttributeHead(const nlohmann::json& doc);  // throws std::runtime_error when malformed
  double probability(const AttributeFeatures& features) const;
  const std::vector<std::string>& inputs() const { return inputs_; }
  const std::string& version() const { return version_; }
  const std::string& pipeline() const { return pipeline_; }

 private:
  std::string version_, pipeline_;
  std::vector<std::string> inputs_;
  std::vector<float> mean_, scale_, weights_;
  cv::Mat hidden_weights_;  // CV_32F, a row per unit; empty for a logistic head
  std::vector<float> hidden_bias_;
  double bias_ = 0;

  std::vector<double> standardised(const AttributeFeatures& features) const;
  std::vector<double> hidden_units(const std::vector<double>& z) const;
};

// The crop (BGR, 96x96) the features are taken from; exposed for tests and the trainer.
cv::Mat head_crop(const cv::Mat& bgr, const Landmarks68& landmarks);

class AttributeModel {
 public:
  // Loads the backbone and the heads occluded, occluded_upper, face_cover and head_cover from
  // `heads_dir` (none when it is empty: features() only, for the trainer). `landmark_model`
  // is the engine's landmark net, which places the crop. Throws std::runtime_error on a
  // missing or malformed file, or a head trained on another pipeline than this one.
  AttributeModel(const std::filesystem::path& model_dir, const std::string& landmark_model,
                 const std::filesystem::path& heads_dir);

  // Every region's features (one backbone pass).
  AttributeFeatures features(const cv::Mat& bgr, const Landmarks68& landmarks);
  AttributeScores score(const AttributeFeatures& features, const AttributeNeeds& needs) const;
  // features() then score(); no pass when nothing is needed.
  AttributeScores analyze(const cv::Mat& bgr, const Landmarks68& landmarks, const AttributeNeeds& needs);
  // What the features depend on: backbone version and layer, crop, landmark model. A head is
  // valid only for the pipeline it was trained on.
  const std::string& pipeline() const { return pipeline_; }
  // The same string, read from the manifests alone (no net loaded).
  static std::string pipeline_of(const std::filesystem::path& model_dir, const std::string& landmark_model);
  std::string version() const;

 private:
  const AttributeHead& head(const std::string& name) const;

  cv::dnn::Net backbone_;
  std::string pipeline_;
  std::map<std::string, AttributeHead> heads_;
};

}  // namespace faceauth
