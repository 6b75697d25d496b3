#pragma once
// Occlusion, face cover and head cover: small trained heads (models/heads/*.json, made by
// tools/train/train_attributes.py) on features of shipped networks. Not thread-safe: one
// instance per engine (it owns cv::dnn nets).
//
// Features (see docs/attributes.md):
//   descriptor: the faceapi_recognition 128-d descriptor of the face chip (the engine's own
//               embedding when the engine runs that model, else computed here);
//   upper:      hm_antispoof's last conv block (16x6x6) on a 64x64 crop of the eyes and brows;
//   lower:      the same on a 64x64 crop of the nose, mouth and chin;
//   head:       the same on a 64x64 crop of the whole head, top of the head included.

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include "vision/embedder.h"
#include "vision/face_types.h"
#include "vision/liveness.h"  // default_heads_dir()

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
  bool any() const { return occluded || face_cover || head_cover; }
  static AttributeNeeds all() { return {true, true, true, false}; }
};

// The feature vectors of one face, by name ("descriptor", "upper", "lower", "head").
struct AttributeFeatures {
  std::vector<float> descriptor, upper, lower, head;
  const std::vector<float>& get(const std::string& name) const;
};

// A logistic head: p = sigmoid(w . ((x - mean) * scale) + b), x = its features concatenated.
class LinearHead {
 public:
  explicit LinearHead(const nlohmann::json& doc);  // throws std::runtime_error when malformed
  double probability(const AttributeFeatures& features) const;
  const std::vector<std::string>& inputs() const { return inputs_; }
  const std::string& version() const { return version_; }

 private:
  std::string version_;
  std::vector<std::string> inputs_;
  std::vector<float> mean_, scale_, weights_;
  double bias_ = 0;
};

// Crops (BGR, 64x64) the features are taken from; exposed for tests and the trainer.
cv::Mat upper_face_crop(const cv::Mat& bgr, const Landmarks68& landmarks);
cv::Mat lower_face_crop(const cv::Mat& bgr, const Landmarks68& landmarks);
cv::Mat head_crop(const cv::Mat& bgr, const Landmarks68& landmarks);

class AttributeModel {
 public:
  // Loads the backbone and the heads occluded, occluded_upper, face_cover and head_cover from
  // `heads_dir` (none when it is empty: features() only, for the trainer). Throws
  // std::runtime_error on a missing or malformed file.
  AttributeModel(const std::filesystem::path& model_dir, const std::filesystem::path& heads_dir);

  // The features the heads of `needs` read; every feature when `needs` is nullptr.
  // `descriptor` is the engine's faceapi_recognition embedding of this face, or empty.
  AttributeFeatures features(const cv::Mat& bgr, const Landmarks68& landmarks, const std::vector<float>& descriptor,
                             const AttributeNeeds* needs);
  AttributeScores score(const AttributeFeatures& features, const AttributeNeeds& needs) const;
  // features() then score().
  AttributeScores analyze(const cv::Mat& bgr, const Landmarks68& landmarks, const std::vector<float>& descriptor,
                          const AttributeNeeds& needs);
  // The model whose descriptor the heads read (the engine passes its own when it matches).
  static constexpr const char* kDescriptorModel = "faceapi_recognition";
  std::string version() const;

 private:
  std::vector<float> conv_features(const cv::Mat& crop);
  const LinearHead& head(const std::string& name) const;
  std::vector<std::string> inputs(const AttributeNeeds& needs) const;

  std::filesystem::path model_dir_;
  cv::dnn::Net backbone_;
  std::unique_ptr<Embedder> embedder_;  // only when the engine's descriptor is another model
  std::map<std::string, LinearHead> heads_;
};

}  // namespace faceauth
