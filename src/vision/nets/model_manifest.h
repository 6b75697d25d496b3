#pragma once
// A model's manifest (models/manifests/<name>.json, copied beside the converted .onnx by the
// converter): where the model came from, its input normalisation and its outputs.

#include <array>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/dnn.hpp>

namespace faceauth {

struct ModelInput {
  std::string name = "input";
  int width = 0;
  int height = 0;
  bool rgb = true;                      // colour order the network expects
  std::array<double, 3> mean{0, 0, 0};  // subtracted from 8-bit pixels, in `rgb` order
  double scale = 1.0;                   // multiplies (pixel - mean)
};

struct ModelManifest {
  std::string name;
  std::string version;  // stored with every template the model makes
  std::string file;
  std::string sha256;
  ModelInput input;
  std::vector<std::string> outputs;
  nlohmann::json raw;  // the whole document, for model-specific fields
};

// The parsed `<dir>/<name>.json`; throws std::runtime_error when it cannot be read or parsed.
nlohmann::json read_manifest(const std::filesystem::path& dir, const std::string& name);

// Reads `<dir>/<name>.json`; throws std::runtime_error with a plain message on any problem.
ModelManifest load_manifest(const std::filesystem::path& dir, const std::string& name);

// Loads the ONNX file named by the manifest after checking its sha256. Throws on mismatch.
cv::dnn::Net load_net(const std::filesystem::path& dir, const ModelManifest& manifest);

// Makes the NCHW float blob the manifest describes from a BGR 8-bit image of any size
// (resized to the input size when needed).
cv::Mat make_blob(const cv::Mat& bgr, const ModelManifest& manifest);

std::string sha256_file(const std::filesystem::path& path);

// The default folder of converted models: $FACEAUTH_MODELS, else
// ${FACEAUTH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/faceauth}/models.
std::filesystem::path default_model_dir();

}  // namespace faceauth
