#pragma once
// The colour and texture of the region above the brows (docs/attributes.md, "At the gate"):
// the feature region "crown" that head cover can read besides the backbone's "top". It
// reaches higher than the head crop (template y -1.1..-0.1, x 0..1 ear to ear; the crop
// stops at -0.8), where a hard hat's dome is; no network: 24x24 pixels placed by the
// landmarks, two bands (y -1.1..-0.6 and -0.6..-0.1) of eight numbers each (kCrownStats).

#include <vector>

#include <opencv2/core.hpp>

#include "vision/face/face_types.h"

namespace faceauth {

inline constexpr const char* kCrownRegion = "crown";
// Per band, over its pixels inside the image: the share inside, mean saturation, mean value,
// value's spread, saturated share (S and V > 90), white share (V > 180, S < 50), dark share
// (V < 60), mean gradient (smoothness: a dome is smooth, hair is not); all 0..1.
inline constexpr int kCrownStats = 8;

std::vector<float> crown_colour(const cv::Mat& bgr, const Landmarks68& landmarks);

}  // namespace faceauth
