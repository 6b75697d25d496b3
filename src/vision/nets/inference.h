#pragma once
// One converted model ready to run: XNNPACK (src/vision/nets/xnn_net.h) when its builder knows
// every operator of the graph, else OpenCV's dnn. The backend is picked per model by the
// manifest's "backend" ("xnnpack", the default, or "opencv"); $FACEAUTH_BACKEND (same
// values) overrides every manifest. Not thread-safe: one per worker.

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/dnn.hpp>

#include "vision/nets/model_manifest.h"
#include "vision/nets/xnn_net.h"

namespace faceauth {

enum class Backend { opencv, xnnpack };

// The backend asked for `manifest`: $FACEAUTH_BACKEND, else the manifest's "backend", else
// xnnpack. Throws std::runtime_error on an unknown name.
Backend wanted_backend(const ModelManifest& manifest);

class InferenceNet {
 public:
  InferenceNet() = default;
  // Checks the file's sha256 (load_net). `outputs`: what forward() returns (default: the
  // manifest's outputs).
  InferenceNet(const std::filesystem::path& dir, const ModelManifest& manifest, std::vector<std::string> outputs = {});

  // `blob`: the NCHW float blob make_blob() makes. Returns the outputs in order.
  std::vector<cv::Mat> forward(const cv::Mat& blob);
  cv::Mat forward_first(const cv::Mat& blob) { return forward(blob).at(0); }

  Backend backend() const { return xnn_ ? Backend::xnnpack : Backend::opencv; }
  // Why the XNNPACK path was not taken when it was asked for (empty otherwise).
  const std::string& fallback_reason() const { return fallback_reason_; }

 private:
  std::string input_name_;
  std::vector<std::string> outputs_;
  cv::dnn::Net net_;
  std::shared_ptr<XnnNet> xnn_;
  std::string fallback_reason_;
};

const char* backend_name(Backend backend);

}  // namespace faceauth
