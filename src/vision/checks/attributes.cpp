#include "vision/checks/attributes.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <stdexcept>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "vision/face/aligner.h"
#include "vision/nets/model_manifest.h"

namespace faceauth {
namespace {

namespace fs = std::filesystem;

constexpr int kCropSize = 96;
// hm_faceres (MobileNet v1) after its 7th depthwise-separable block: 512 x 6 x 6 at 96x96.
// Deeper blocks cost 2-3x more; the 64 px antispoof block of the first round was near chance
// for head cover, and a finer block (clip_76, 12x12) over the crown added nothing.
constexpr const char* kBackboneModel = "hm_faceres";
constexpr const char* kBackboneLayer = "onnx_node!clip_110";
constexpr const char* kCropName = "head96-dlib68template-x-0.5..1.5-y-0.8..1.2";
constexpr const char* kRetrain = "retrain the heads with tools/train/attributes.sh DATASETS_DIR WORK_DIR";

struct Region {  // in dlib face-template units: x 0..1 ear to ear, y 0 brows .. 1 chin
  double x0, y0, x1, y1;
};
// The whole head: the template's face, a hard hat above it and some margin.
constexpr Region kHead{-0.5, -0.8, 1.5, 1.2};

struct Cells {  // rows and columns [from, to) of the backbone's 6x6 map
  int row0, row1, col0, col1;
};
const std::map<std::string, Cells>& regions() {
  static const std::map<std::string, Cells> table = {
      {"top", {0, 2, 0, 6}},    // template y -0.8..-0.13: above the brows
      {"upper", {2, 4, 1, 5}},  // y -0.13..0.53, x -0.17..1.17: brows, eyes, nose bridge
      {"lower", {4, 6, 1, 5}},  // y 0.53..1.2: nose tip, mouth, chin
  };
  return table;
}

std::vector<float> mean_pool(const cv::Mat& map, const Cells& cells) {
  const int channels = map.size[1], height = map.size[2], width = map.size[3];
  if (height != 6 || width != 6) throw std::runtime_error("attribute backbone: unexpected feature map size");
  std::vector<float> out(static_cast<size_t>(channels), 0.0f);
  const float* data = map.ptr<float>();
  const float count = static_cast<float>((cells.row1 - cells.row0) * (cells.col1 - cells.col0));
  for (int c = 0; c < channels; ++c) {
    const float* plane = data + static_cast<ptrdiff_t>(c) * height * width;
    float sum = 0;
    for (int y = cells.row0; y < cells.row1; ++y) {
      for (int x = cells.col0; x < cells.col1; ++x) sum += plane[y * width + x];
    }
    out[static_cast<size_t>(c)] = sum / count;
  }
  return out;
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

AttributeHead load_head(const fs::path& dir, const std::string& name) {
  try {
    return AttributeHead(read_json(dir / (name + ".json")));
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error("attribute head " + name + ": " + e.what());
  }
}

double to_score(double probability) { return std::round(probability * 1000.0) / 10.0; }

}  // namespace

bool is_feature_region(const std::string& name) { return regions().count(name) > 0; }

const std::vector<float>& AttributeFeatures::get(const std::string& name) const {
  auto it = regions.find(name);
  if (it == regions.end()) throw std::runtime_error("attribute feature " + name + " was not computed");
  return it->second;
}

AttributeHead::AttributeHead(const nlohmann::json& doc)
    : version_(doc.at("version").get<std::string>()),
      pipeline_(doc.value("pipeline", std::string("(not recorded)"))),
      inputs_(doc.at("inputs").get<std::vector<std::string>>()),
      mean_(floats(doc, "mean")),
      scale_(floats(doc, "scale")),
      weights_(floats(doc, "weights")),
      bias_(doc.at("bias").get<double>()) {
  const std::string kind = doc.value("kind", std::string("logistic"));
  std::vector<std::vector<float>> rows;
  if (kind == "mlp") {
    rows = doc.at("hidden_weights").get<std::vector<std::vector<float>>>();
    hidden_bias_ = floats(doc, "hidden_bias");
  } else if (kind != "logistic") {
    throw std::runtime_error("attribute head " + version_ + ": unknown kind " + kind);
  }
  const size_t units = rows.empty() ? mean_.size() : rows.size();
  bool rows_fit = hidden_bias_.size() == rows.size();
  for (const auto& row : rows) rows_fit = rows_fit && row.size() == mean_.size();
  if (scale_.size() != mean_.size() || weights_.size() != units || mean_.empty() || !rows_fit) {
    throw std::runtime_error("attribute head " + version_ + ": mean, scale and weights differ in length");
  }
  for (const auto& row : rows)
    hidden_weights_.push_back(cv::Mat(1, static_cast<int>(row.size()), CV_32F, const_cast<float*>(row.data())));
  for (const std::string& input : inputs_) {
    if (!is_feature_region(input)) throw std::runtime_error("attribute head " + version_ + ": unknown input " + input);
  }
}

std::vector<double> AttributeHead::standardised(const AttributeFeatures& features) const {
  std::vector<double> z;
  z.reserve(mean_.size());
  for (const std::string& input : inputs_) {
    for (float value : features.get(input)) {
      if (z.size() == mean_.size()) throw std::runtime_error("attribute head " + version_ + ": too many features");
      z.push_back((double{value} - mean_[z.size()]) * scale_[z.size()]);
    }
  }
  if (z.size() != mean_.size()) throw std::runtime_error("attribute head " + version_ + ": too few features");
  return z;
}

std::vector<double> AttributeHead::hidden_units(const std::vector<double>& z) const {
  cv::Mat input;  // float, as the trainer computes: W z by OpenCV's gemm, not a scalar loop
  cv::Mat(z, false).convertTo(input, CV_32F);  // a column
  const cv::Mat sums = hidden_weights_ * input;
  std::vector<double> out(hidden_bias_.size());
  for (size_t j = 0; j < out.size(); ++j)
    out[j] = std::max(double{sums.at<float>(static_cast<int>(j))} + hidden_bias_[j], 0.0);
  return out;
}

double AttributeHead::probability(const AttributeFeatures& features) const {
  std::vector<double> z = standardised(features);
  if (!hidden_weights_.empty()) z = hidden_units(z);
  double sum = bias_;
  for (size_t i = 0; i < z.size(); ++i) sum += double{weights_[i]} * z[i];
  return 1.0 / (1.0 + std::exp(-sum));
}

cv::Mat head_crop(const cv::Mat& bgr, const Landmarks68& landmarks) {
  constexpr int kUnits = 1000;  // the template at 1000 px per face unit
  cv::Mat to_crop = chip_transform(landmarks, ChipTemplate{kUnits, 0.0});
  const double sx = kCropSize / ((kHead.x1 - kHead.x0) * kUnits);
  const double sy = kCropSize / ((kHead.y1 - kHead.y0) * kUnits);
  to_crop.row(0) *= sx;
  to_crop.row(1) *= sy;
  to_crop.at<double>(0, 2) -= kHead.x0 * kUnits * sx;
  to_crop.at<double>(1, 2) -= kHead.y0 * kUnits * sy;
  // Only the part of the image the crop covers goes through warp_crop's pyrDown (a large
  // face does not alias), not the whole photo.
  cv::Mat to_image;
  cv::invertAffineTransform(to_crop, to_image);
  std::vector<cv::Point2d> corners = {{0, 0}, {kCropSize, 0}, {0, kCropSize}, {kCropSize, kCropSize}}, mapped;
  cv::transform(corners, mapped, to_image);
  cv::Rect roi = cv::boundingRect(std::vector<cv::Point2f>(mapped.begin(), mapped.end()));
  roi = cv::Rect(roi.x - 4, roi.y - 4, roi.width + 8, roi.height + 8) & cv::Rect(0, 0, bgr.cols, bgr.rows);
  if (roi.empty()) return cv::Mat::zeros(kCropSize, kCropSize, bgr.type());
  to_crop.at<double>(0, 2) += to_crop.at<double>(0, 0) * roi.x + to_crop.at<double>(0, 1) * roi.y;
  to_crop.at<double>(1, 2) += to_crop.at<double>(1, 0) * roi.x + to_crop.at<double>(1, 1) * roi.y;
  return warp_crop(bgr(roi), to_crop, kCropSize);
}

AttributeModel::AttributeModel(const fs::path& model_dir, const std::string& landmark_model,
                               const fs::path& heads_dir) {
  backbone_ = load_net(model_dir, load_manifest(model_dir, kBackboneModel));
  pipeline_ = pipeline_of(model_dir, landmark_model);
  if (heads_dir.empty()) return;
  for (const char* name : {"occluded", "occluded_upper", "face_cover", "head_cover"}) {
    AttributeHead loaded = load_head(heads_dir, name);
    if (loaded.pipeline() != pipeline_) {
      throw std::runtime_error("attribute head " + (heads_dir / name).string() + ".json was trained on features '" +
                               loaded.pipeline() + "' but this engine computes '" + pipeline_ + "': " + kRetrain);
    }
    heads_.emplace(name, std::move(loaded));
  }
}

std::string AttributeModel::pipeline_of(const fs::path& model_dir, const std::string& landmark_model) {
  return load_manifest(model_dir, kBackboneModel).version + "/" + kBackboneLayer + "; crop " + kCropName +
         "; landmarks " + load_manifest(model_dir, landmark_model).version;
}

const AttributeHead& AttributeModel::head(const std::string& name) const {
  auto it = heads_.find(name);
  if (it == heads_.end()) throw std::runtime_error("attribute head " + name + " is not loaded");
  return it->second;
}

AttributeFeatures AttributeModel::features(const cv::Mat& bgr, const Landmarks68& landmarks) {
  // hm_faceres' input: 8-bit RGB values 0..255, no mean (models/manifests/hm_faceres.json).
  backbone_.setInput(
      cv::dnn::blobFromImage(head_crop(bgr, landmarks), 1.0, cv::Size(), cv::Scalar(), true, false, CV_32F));
  cv::Mat map = backbone_.forward(kBackboneLayer);
  AttributeFeatures out;
  for (const auto& [name, cells] : regions()) out.regions[name] = mean_pool(map, cells);
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

AttributeScores AttributeModel::analyze(const cv::Mat& bgr, const Landmarks68& landmarks, const AttributeNeeds& needs) {
  if (!needs.any()) return {};
  return score(features(bgr, landmarks), needs);
}

std::string AttributeModel::version() const {
  std::string out;
  for (const auto& [name, loaded] : heads_) out += (out.empty() ? "" : ",") + loaded.version();
  return out;
}

}  // namespace faceauth
