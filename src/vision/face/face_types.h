#pragma once
// Plain result structs of the vision stages. Coordinates are pixels of the working image
// (the decoded, upright image), origin top-left, x right, y down.

#include <array>
#include <optional>
#include <vector>

#include <opencv2/core.hpp>

namespace faceauth {

struct FaceBox {
  cv::Rect2f box;   // pixels of the working image
  float score = 0;  // detector confidence 0..1
  // Head roll in radians (the eye line against the x axis, positive clockwise on screen) when
  // the detector gives eye keypoints (BlazeFace); the landmark stage then needs one pass.
  std::optional<double> roll;
};

// The 68-point iBUG/dlib markup: 0-16 jaw, 17-26 brows, 27-35 nose, 36-47 eyes, 48-67 mouth.
using Landmarks68 = std::array<cv::Point2f, 68>;

}  // namespace faceauth
