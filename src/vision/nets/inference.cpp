#include "vision/nets/inference.h"

#include <cstdlib>
#include <stdexcept>

namespace faceauth {
namespace {

Backend parse_backend(const std::string& name) {
  if (name == "opencv") return Backend::opencv;
  if (name == "xnnpack") return Backend::xnnpack;
  throw std::runtime_error("unknown inference backend '" + name + "' (opencv or xnnpack)");
}

}  // namespace

const char* backend_name(Backend backend) { return backend == Backend::xnnpack ? "xnnpack" : "opencv"; }

Backend wanted_backend(const ModelManifest& manifest) {
  if (const char* env = std::getenv("FACEAUTH_BACKEND"); env && *env) return parse_backend(env);
  return parse_backend(manifest.raw.value("backend", "xnnpack"));
}

InferenceNet::InferenceNet(const std::filesystem::path& dir, const ModelManifest& manifest,
                           std::vector<std::string> outputs)
    : input_name_(manifest.input.name), outputs_(outputs.empty() ? manifest.outputs : std::move(outputs)) {
  if (wanted_backend(manifest) == Backend::xnnpack) {
    std::filesystem::path path = dir / manifest.file;
    if (sha256_file(path) != manifest.sha256) {
      throw std::runtime_error(path.string() + " does not match the sha256 of its manifest; run scripts/setup.sh");
    }
    try {
      OnnxGraph graph = read_onnx(path);
      xnn_ = std::make_shared<XnnNet>(graph, input_name_, 3, manifest.input.height, manifest.input.width, outputs_);
      return;
    } catch (const OnnxError& e) {
      fallback_reason_ = e.what();
    }
  }
  net_ = load_net(dir, manifest);
}

std::vector<cv::Mat> InferenceNet::forward(const cv::Mat& blob) {
  if (xnn_) return xnn_->forward(blob);
  net_.setInput(blob, input_name_);
  std::vector<cv::Mat> outs;
  net_.forward(outs, outputs_);
  return outs;
}

}  // namespace faceauth
