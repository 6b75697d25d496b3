#pragma once
// Face detectors. Each takes a BGR working image and returns boxes in its pixels, sorted by
// score, after non-maximum suppression. Not thread-safe: one instance per worker.

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vision/face/face_types.h"

namespace faceauth {

struct DetectorConfig {
  // Manifest name(s); "a+b" runs b only when a finds no face. The manifest's "detector" (or
  // "converter") field picks the decoder. Default chosen by measurement: docs/detectors.md.
  std::string model = "hm_blazeface_front+hm_blazeface";
  std::optional<float> score_threshold;  // unset: the manifest's value
  std::optional<float> nms_iou;          // unset: the manifest's value
  float min_face_size = 20.0f;           // boxes with a smaller side (working pixels) are dropped
};

class FaceDetector {
 public:
  virtual ~FaceDetector() = default;
  virtual std::vector<FaceBox> detect(const cv::Mat& bgr) = 0;
};

std::unique_ptr<FaceDetector> make_face_detector(const std::filesystem::path& model_dir, const DetectorConfig& config);

// Greedy non-maximum suppression; keeps the higher score. Input in any order.
std::vector<FaceBox> non_max_suppression(std::vector<FaceBox> boxes, float iou_threshold);
float intersection_over_union(const cv::Rect2f& a, const cv::Rect2f& b);

}  // namespace faceauth
