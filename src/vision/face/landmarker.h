#pragma once
// 68-point landmarks of one detected face. Not thread-safe: one instance per worker.

#include <filesystem>
#include <string>

#include <opencv2/dnn.hpp>

#include "vision/face/face_types.h"
#include "vision/nets/inference.h"
#include "vision/nets/model_manifest.h"

namespace faceauth {

class Landmarker {
 public:
  Landmarker(const std::filesystem::path& model_dir, const std::string& model_name);
  // Landmarks in working-image pixels for a detected face. With the detector's roll the net
  // runs once on a square turned upright; without it, a second pass turns by the roll the
  // first pass found when that is over `reroll_radians`.
  Landmarks68 locate(const cv::Mat& bgr, const FaceBox& face);

 private:
  // One pass of the net on the square of `side` around `centre`, turned by `roll` radians.
  Landmarks68 run(const cv::Mat& bgr, cv::Point2d centre, double side, double roll);

  ModelManifest manifest_;
  InferenceNet net_;
};

}  // namespace faceauth
