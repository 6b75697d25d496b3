#include "vision/embedder.h"

#include <cmath>

namespace faceauth {
namespace {

void normalise(std::vector<float>& values) {
  double norm = 0;
  for (float v : values) norm += double{v} * v;
  norm = std::sqrt(norm);
  if (norm > 0) {
    for (float& v : values) v = static_cast<float>(v / norm);
  }
}

// "dlib68" or "dlib68+flip": the key of the manifest's calibration table.
std::string pipeline_key(const EmbedderOptions& options) {
  return std::string(alignment_name(options.alignment)) + (options.flip ? "+flip" : "");
}

ScoreCalibration load_calibration(const ModelManifest& manifest, const std::string& key) {
  const nlohmann::json& table = manifest.raw.value("calibration", nlohmann::json::object());
  if (!table.contains(key) || !table.at(key).contains("knots")) return {};
  return ScoreCalibration(table.at(key).at("knots"));
}

}  // namespace

Embedder::Embedder(const std::filesystem::path& model_dir, const std::string& model_name, EmbedderOptions options)
    : manifest_(load_manifest(model_dir, model_name)),
      net_(load_net(model_dir, manifest_)),
      flip_(options.flip),
      version_(manifest_.version + "+" + pipeline_key(options)),
      calibration_(load_calibration(manifest_, pipeline_key(options))) {
  chip_.size = manifest_.input.width;
  chip_.padding = manifest_.raw.value("chip_padding", 0.25);
  chip_.alignment = options.alignment;
}

std::vector<float> Embedder::run(const cv::Mat& chip) {
  net_.setInput(make_blob(chip, manifest_), manifest_.input.name);
  cv::Mat out = net_.forward(manifest_.outputs.at(0));
  std::vector<float> descriptor(out.ptr<float>(), out.ptr<float>() + out.total());
  normalise(descriptor);
  return descriptor;
}

std::vector<float> Embedder::embed(const cv::Mat& chip) {
  std::vector<float> descriptor = run(chip);
  if (flip_) {
    cv::Mat mirrored;
    cv::flip(chip, mirrored, 1);
    std::vector<float> other = run(mirrored);
    for (size_t i = 0; i < descriptor.size() && i < other.size(); ++i) descriptor[i] += other[i];
    normalise(descriptor);
  }
  return descriptor;
}

}  // namespace faceauth
