#include "vision/attributes.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "vision/aligner.h"
#include "vision/model_manifest.h"

namespace faceauth {
namespace {

namespace fs = std::filesystem;

constexpr int kCropSize = 64;
// The last conv block of hm_antispoof (before its spoof classifier): 16 x 6 x 6 at 64x64.
constexpr const char* kBackboneModel = "hm_antispoof";
constexpr const char* kBackboneLayer = "onnx_node!relu_15";

struct Region {  // in dlib face-template units: x 0..1 ear to ear, y 0 brows .. 1 chin
  double x0, y0, x1, y1;
};
// Eyes and brows, the part of the face a mask leaves visible.
constexpr Region kUpperFace{-0.1, -0.25, 1.1, 0.5};
// Nose, mouth and chin, the part a mask covers.
constexpr Region kLowerFace{-0.1, 0.45, 1.1, 1.2};
// The whole head: the template's face, a hard hat above it and some margin.
constexpr Region kHead{-0.5, -0.8, 1.5, 1.2};

cv::Mat region_crop(const cv::Mat& bgr, const Landmarks68& landmarks, const Region& region) {
  constexpr int kUnits = 1000;  // the template at 1000 px per face unit
  cv::Mat to_template = chip_transform(landmarks, ChipTemplate{kUnits, 0.0});
  double sx = kCropSize / ((region.x1 - region.x0) * kUnits);
  double sy = kCropSize / ((region.y1 - region.y0) * kUnits);
  cv::Mat to_crop = to_template.clone();
  to_crop.row(0) *= sx;
  to_crop.row(1) *= sy;
  to_crop.at<double>(0, 2) -= region.x0 * kUnits * sx;
  to_crop.at<double>(1, 2) -= region.y0 * kUnits * sy;
  return warp_crop(bgr, to_crop, kCropSize);
}

std::vector<float> floats(const nlohmann::json& doc, const char* name) {
  return doc.at(name).get<std::vector<float>>();
}

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read attribute head " + path.string());
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error("attribute head " + path.string() + " is not valid JSON: " + e.what());
  }
}

LinearHead load_head(const fs::path& dir, const std::string& name) {
  try {
    return LinearHead(read_json(dir / (name + ".json")));
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error("attribute head " + name + ": " + e.what());
  }
}

double to_score(double probability) { return std::round(probability * 1000.0) / 10.0; }

}  // namespace

const std::vector<float>& AttributeFeatures::get(const std::string& name) const {
  if (name == "descriptor") return descriptor;
  if (name == "upper") return upper;
  if (name == "lower") return lower;
  if (name == "head") return head;
  throw std::runtime_error("unknown attribute feature " + name);
}

LinearHead::LinearHead(const nlohmann::json& doc)
    : version_(doc.at("version").get<std::string>()),
      inputs_(doc.at("inputs").get<std::vector<std::string>>()),
      mean_(floats(doc, "mean")),
      scale_(floats(doc, "scale")),
      weights_(floats(doc, "weights")),
      bias_(doc.at("bias").get<double>()) {
  if (mean_.size() != weights_.size() || scale_.size() != weights_.size() || weights_.empty()) {
    throw std::runtime_error("attribute head " + version_ + ": mean, scale and weights differ in length");
  }
  for (const std::string& input : inputs_) AttributeFeatures{}.get(input);  // throws on an unknown name
}

double LinearHead::probability(const AttributeFeatures& features) const {
  double sum = bias_;
  size_t i = 0;
  for (const std::string& input : inputs_) {
    for (float value : features.get(input)) {
      if (i == weights_.size()) throw std::runtime_error("attribute head " + version_ + ": too many features");
      sum += double{weights_[i]} * (double{value} - mean_[i]) * scale_[i];
      ++i;
    }
  }
  if (i != weights_.size()) throw std::runtime_error("attribute head " + version_ + ": too few features");
  return 1.0 / (1.0 + std::exp(-sum));
}

cv::Mat upper_face_crop(const cv::Mat& bgr, const Landmarks68& landmarks) {
  return region_crop(bgr, landmarks, kUpperFace);
}

cv::Mat lower_face_crop(const cv::Mat& bgr, const Landmarks68& landmarks) {
  return region_crop(bgr, landmarks, kLowerFace);
}

cv::Mat head_crop(const cv::Mat& bgr, const Landmarks68& landmarks) { return region_crop(bgr, landmarks, kHead); }

AttributeModel::AttributeModel(const fs::path& model_dir, const fs::path& heads_dir)
    : model_dir_(model_dir), backbone_(load_net(model_dir, load_manifest(model_dir, kBackboneModel))) {
  if (heads_dir.empty()) return;
  for (const char* name : {"occluded", "occluded_upper", "face_cover", "head_cover"}) {
    heads_.emplace(name, load_head(heads_dir, name));
  }
}

const LinearHead& AttributeModel::head(const std::string& name) const {
  auto it = heads_.find(name);
  if (it == heads_.end()) throw std::runtime_error("attribute head " + name + " is not loaded");
  return it->second;
}

std::vector<std::string> AttributeModel::inputs(const AttributeNeeds& needs) const {
  std::vector<std::string> names;
  auto add = [&](const std::string& head_name) {
    for (const std::string& input : head(head_name).inputs()) names.push_back(input);
  };
  if (needs.occluded) add(needs.lower_face_covered ? "occluded_upper" : "occluded");
  if (needs.face_cover) add("face_cover");
  if (needs.head_cover) add("head_cover");
  return names;
}

std::vector<float> AttributeModel::conv_features(const cv::Mat& crop) {
  // hm_antispoof's input: RGB / 255, no mean (models/manifests/hm_antispoof.json).
  backbone_.setInput(cv::dnn::blobFromImage(crop, 1.0 / 255.0, cv::Size(), cv::Scalar(), true, false, CV_32F));
  cv::Mat out = backbone_.forward(kBackboneLayer);
  return std::vector<float>(out.ptr<float>(), out.ptr<float>() + out.total());
}

AttributeFeatures AttributeModel::features(const cv::Mat& bgr, const Landmarks68& landmarks,
                                           const std::vector<float>& descriptor, const AttributeNeeds* needs) {
  std::vector<std::string> names =
      needs ? inputs(*needs) : std::vector<std::string>{"descriptor", "upper", "lower", "head"};
  auto wanted = [&](const char* name) { return std::find(names.begin(), names.end(), name) != names.end(); };
  AttributeFeatures out;
  if (wanted("descriptor")) {
    if (descriptor.empty()) {
      if (!embedder_) embedder_ = std::make_unique<Embedder>(model_dir_, kDescriptorModel);
      out.descriptor = embedder_->embed(extract_chip(bgr, landmarks, embedder_->chip_template()));
    } else {
      out.descriptor = descriptor;
    }
  }
  if (wanted("upper")) out.upper = conv_features(upper_face_crop(bgr, landmarks));
  if (wanted("lower")) out.lower = conv_features(lower_face_crop(bgr, landmarks));
  if (wanted("head")) out.head = conv_features(head_crop(bgr, landmarks));
  return out;
}

AttributeScores AttributeModel::score(const AttributeFeatures& features, const AttributeNeeds& needs) const {
  AttributeScores scores;
  if (needs.occluded) {
    scores.occluded = to_score(head(needs.lower_face_covered ? "occluded_upper" : "occluded").probability(features));
  }
  if (needs.face_cover) scores.face_cover = to_score(head("face_cover").probability(features));
  if (needs.head_cover) scores.head_cover = to_score(head("head_cover").probability(features));
  return scores;
}

AttributeScores AttributeModel::analyze(const cv::Mat& bgr, const Landmarks68& landmarks,
                                        const std::vector<float>& descriptor, const AttributeNeeds& needs) {
  if (!needs.any()) return {};
  return score(features(bgr, landmarks, descriptor, &needs), needs);
}

std::string AttributeModel::version() const {
  std::string out;
  for (const auto& [name, loaded] : heads_) out += (out.empty() ? "" : ",") + loaded.version();
  return out;
}

}  // namespace faceauth
