#include "vision/face_detector.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

#include "vision/model_manifest.h"

namespace faceauth {
namespace {

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// The image placed at the top-left of a black square (face-api's padToSquare for detectors)
// and resized to size x size. Returns the square's side in image pixels.
double letterbox(const cv::Mat& bgr, int size, cv::Mat& out) {
  int side = std::max(bgr.cols, bgr.rows);
  double scale = static_cast<double>(size) / side;
  cv::Mat resized;
  cv::resize(bgr, resized, cv::Size(std::max(1, cvRound(bgr.cols * scale)), std::max(1, cvRound(bgr.rows * scale))), 0,
             0, scale < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
  out = cv::Mat::zeros(size, size, bgr.type());
  resized.copyTo(out(cv::Rect(0, 0, std::min(size, resized.cols), std::min(size, resized.rows))));
  return side;
}

// face-api's Tiny Face Detector (Tiny-YOLOv2 style): a grid of cells, each with 5 anchor
// boxes of (tx, ty, tw, th, score). The ONNX output is NCHW: channel = anchor * 6 + field.
class TinyFaceDetector : public FaceDetector {
 public:
  TinyFaceDetector(const std::filesystem::path& dir, const DetectorConfig& config)
      : manifest_(load_manifest(dir, config.model)), net_(load_net(dir, manifest_)) {
    for (const auto& anchor : manifest_.raw.at("anchors")) anchors_.emplace_back(anchor[0], anchor[1]);
    score_threshold_ = config.score_threshold.value_or(manifest_.raw.value("score_threshold", 0.5f));
    nms_iou_ = config.nms_iou.value_or(manifest_.raw.value("nms_iou_threshold", 0.4f));
    min_face_size_ = config.min_face_size;
  }

  std::vector<FaceBox> detect(const cv::Mat& bgr) override {
    cv::Mat input;
    double side = letterbox(bgr, manifest_.input.width, input);
    net_.setInput(make_blob(input, manifest_), manifest_.input.name);
    cv::Mat out = net_.forward(manifest_.outputs.at(0));
    std::vector<FaceBox> boxes = decode(out, side);
    boxes = non_max_suppression(std::move(boxes), nms_iou_);
    std::erase_if(boxes, [&](const FaceBox& f) { return std::min(f.box.width, f.box.height) < min_face_size_; });
    clip(boxes, bgr.size());
    return boxes;
  }

 private:
  std::vector<FaceBox> decode(const cv::Mat& out, double side) const {
    const int cells = out.size[2];
    const size_t plane = static_cast<size_t>(cells) * cells;
    const float* data = out.ptr<float>();
    std::vector<FaceBox> boxes;
    for (size_t a = 0; a < anchors_.size(); ++a) {
      const float* fields = data + a * 5 * plane;
      for (int row = 0; row < cells; ++row) {
        for (int col = 0; col < cells; ++col) {
          size_t at = static_cast<size_t>(row) * cells + col;
          float score = sigmoid(fields[4 * plane + at]);
          if (score <= score_threshold_) continue;
          double cx = (col + double{sigmoid(fields[at])}) / cells;
          double cy = (row + double{sigmoid(fields[plane + at])}) / cells;
          double w = std::exp(fields[2 * plane + at]) * anchors_[a].x / cells;
          double h = std::exp(fields[3 * plane + at]) * anchors_[a].y / cells;
          cv::Rect2f box(static_cast<float>((cx - w / 2) * side), static_cast<float>((cy - h / 2) * side),
                         static_cast<float>(w * side), static_cast<float>(h * side));
          boxes.push_back({box, score});
        }
      }
    }
    return boxes;
  }

  static void clip(std::vector<FaceBox>& boxes, cv::Size size) {
    cv::Rect2f frame(0, 0, static_cast<float>(size.width), static_cast<float>(size.height));
    for (FaceBox& face : boxes) face.box &= frame;
    std::erase_if(boxes, [](const FaceBox& f) { return f.box.width <= 1 || f.box.height <= 1; });
  }

  ModelManifest manifest_;
  cv::dnn::Net net_;
  std::vector<cv::Point2d> anchors_;
  float score_threshold_ = 0.5f, nms_iou_ = 0.4f, min_face_size_ = 20.0f;
};

}  // namespace

float intersection_over_union(const cv::Rect2f& a, const cv::Rect2f& b) {
  float inter = (a & b).area();
  float uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0.0f;
}

std::vector<FaceBox> non_max_suppression(std::vector<FaceBox> boxes, float iou_threshold) {
  std::stable_sort(boxes.begin(), boxes.end(), [](const FaceBox& a, const FaceBox& b) { return a.score > b.score; });
  std::vector<FaceBox> kept;
  for (const FaceBox& candidate : boxes) {
    bool overlaps = std::any_of(kept.begin(), kept.end(), [&](const FaceBox& k) {
      return intersection_over_union(k.box, candidate.box) > iou_threshold;
    });
    if (!overlaps) kept.push_back(candidate);
  }
  return kept;
}

std::unique_ptr<FaceDetector> make_face_detector(const std::filesystem::path& model_dir, const DetectorConfig& config) {
  ModelManifest manifest = load_manifest(model_dir, config.model);
  // The decoder follows the converter that made the model ("faceapi:tinyface", ...).
  std::string kind = manifest.raw.value("converter", "");
  kind = manifest.raw.value("detector", kind.substr(kind.find(':') + 1));
  if (kind == "tinyface") return std::make_unique<TinyFaceDetector>(model_dir, config);
  throw std::runtime_error("model " + config.model + " is not a known face detector");
}

}  // namespace faceauth
