#include "vision/nets/model_manifest.h"

#include <sodium.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace faceauth {
namespace fs = std::filesystem;

namespace {

ModelInput parse_input(const nlohmann::json& doc) {
  ModelInput input;
  input.name = doc.value("name", "input");
  input.width = doc.at("width").get<int>();
  input.height = doc.at("height").get<int>();
  input.rgb = doc.value("color", "RGB") == "RGB";
  if (doc.contains("mean")) input.mean = doc.at("mean").get<std::array<double, 3>>();
  input.scale = doc.value("scale", 1.0);
  return input;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::string data(static_cast<size_t>(in.tellg()), '\0');
  in.seekg(0);
  if (!in.read(data.data(), static_cast<std::streamsize>(data.size()))) {
    throw std::runtime_error("cannot read " + path.string());
  }
  return data;
}

}  // namespace

nlohmann::json read_manifest(const fs::path& dir, const std::string& name) {
  fs::path path = dir / (name + ".json");
  try {
    return nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error("bad model manifest " + path.string() + ": " + e.what());
  }
}

ModelManifest load_manifest(const fs::path& dir, const std::string& name) {
  fs::path path = dir / (name + ".json");
  ModelManifest manifest;
  manifest.raw = read_manifest(dir, name);
  try {
    manifest.name = manifest.raw.at("name").get<std::string>();
    manifest.version = manifest.raw.value("version", manifest.name);
    manifest.file = manifest.raw.at("file").get<std::string>();
    manifest.sha256 = manifest.raw.at("sha256").get<std::string>();
    manifest.input = parse_input(manifest.raw.at("input"));
    for (const auto& output : manifest.raw.at("outputs")) manifest.outputs.push_back(output.at("name"));
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error("bad model manifest " + path.string() + ": " + e.what());
  }
  return manifest;
}

std::string sha256_file(const fs::path& path) {
  std::string data = read_file(path);
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  for (unsigned char byte : digest) {
    hex += kHex[byte >> 4];
    hex += kHex[byte & 15];
  }
  return hex;
}

cv::dnn::Net load_net(const fs::path& dir, const ModelManifest& manifest) {
  fs::path path = dir / manifest.file;
  if (sha256_file(path) != manifest.sha256) {
    throw std::runtime_error(path.string() + " does not match the sha256 of its manifest; run scripts/setup.sh");
  }
  cv::dnn::Net net = cv::dnn::readNetFromONNX(path.string());
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  return net;
}

cv::Mat make_blob(const cv::Mat& bgr, const ModelManifest& manifest) {
  const ModelInput& in = manifest.input;
  // blobFromImage subtracts the mean after the optional channel swap, so the mean is given
  // in the network's colour order.
  cv::Scalar mean(in.mean[0], in.mean[1], in.mean[2]);
  return cv::dnn::blobFromImage(bgr, in.scale, cv::Size(in.width, in.height), mean, in.rgb, false, CV_32F);
}

fs::path default_model_dir() {
  if (const char* models = std::getenv("FACEAUTH_MODELS"); models && *models) return models;
  if (const char* cache = std::getenv("FACEAUTH_CACHE"); cache && *cache) return fs::path(cache) / "models";
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return fs::path(xdg) / "faceauth" / "models";
  const char* home = std::getenv("HOME");
  return fs::path(home && *home ? home : "/tmp") / ".cache" / "faceauth" / "models";
}

}  // namespace faceauth
