#include "vision/embedder.h"

#include <cmath>

namespace faceauth {

Embedder::Embedder(const std::filesystem::path& model_dir, const std::string& model_name)
    : manifest_(load_manifest(model_dir, model_name)), net_(load_net(model_dir, manifest_)) {
  chip_.size = manifest_.input.width;
  chip_.padding = manifest_.raw.value("chip_padding", 0.25);
}

std::vector<float> Embedder::embed(const cv::Mat& chip) {
  net_.setInput(make_blob(chip, manifest_), manifest_.input.name);
  cv::Mat out = net_.forward(manifest_.outputs.at(0));
  std::vector<float> descriptor(out.ptr<float>(), out.ptr<float>() + out.total());
  double norm = 0;
  for (float v : descriptor) norm += double{v} * v;
  norm = std::sqrt(norm);
  if (norm > 0) {
    for (float& v : descriptor) v = static_cast<float>(v / norm);
  }
  return descriptor;
}

}  // namespace faceauth
