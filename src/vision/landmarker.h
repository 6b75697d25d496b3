#pragma once
// 68-point landmarks of one detected face. Not thread-safe: one instance per worker.

#include <filesystem>
#include <string>

#include <opencv2/dnn.hpp>

#include "vision/face_types.h"
#include "vision/model_manifest.h"

namespace faceauth {

class Landmarker {
 public:
  Landmarker(const std::filesystem::path& model_dir, const std::string& model_name);
  // Landmarks in working-image pixels for the face in `box`.
  Landmarks68 locate(const cv::Mat& bgr, const cv::Rect2f& box);

 private:
  ModelManifest manifest_;
  cv::dnn::Net net_;
};

}  // namespace faceauth
