#pragma once
// Cuts the face chip a recognition model was trained on: a similarity transform (rotation,
// uniform scale, translation) from landmarks to the model's template, as dlib's
// get_face_chip_details + extract_image_chip do. Stateless and thread-safe.

#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "vision/face/face_types.h"

namespace faceauth {

// Which landmarks the similarity transform is fitted to.
enum class Alignment {
  dlib68,    // dlib's mean face for points 27-54 and 60-64 (nose, eyes, mouth but the lower lip)
  dlib5,     // dlib's 5-point template (eye corners, base of the nose)
  arcface5,  // the ArcFace 112x112 template: eye centres, nose tip, mouth corners
};

struct ChipTemplate {
  int size = 150;         // chip side in pixels
  double padding = 0.25;  // dlib padding: fraction of the face added on each side
  Alignment alignment = Alignment::dlib68;
};

// "dlib68" / "dlib5" / "arcface5"; parse throws std::invalid_argument on another name.
const char* alignment_name(Alignment alignment);
Alignment parse_alignment(const std::string& name);

// Least-squares similarity transform mapping `from` onto `to` (Umeyama); 2x3, CV_64F.
cv::Mat similarity_transform(const std::vector<cv::Point2d>& from, const std::vector<cv::Point2d>& to);

// The dlib 5-point template (eye corners and the base of the nose) placed in a chip,
// taken from the matching points of the 68-point markup: 45, 42, 36, 39, 33.
std::vector<cv::Point2d> dlib5_chip_points(const ChipTemplate& chip);
std::vector<cv::Point2d> dlib5_from_landmarks(const Landmarks68& landmarks);

// The five points of the ArcFace template (insightface's 112x112 reference: eye centres, nose
// tip, mouth corners) scaled to the chip, and the same points from the 68-point markup (eye
// centres as the mean of each eye's six points, nose tip 30, mouth corners as the mean of
// the outer and inner corner points 48/60 and 54/64).
std::vector<cv::Point2d> arcface5_chip_points(const ChipTemplate& chip);
std::vector<cv::Point2d> arcface5_from_landmarks(const Landmarks68& landmarks);

// dlib's get_face_chip_details for a 68-point shape: the mean face of the 33 points it fits
// (27-54, 60-64), placed in a chip, and those points of the markup.
std::vector<cv::Point2d> dlib68_chip_points(const ChipTemplate& chip);
std::vector<cv::Point2d> dlib68_from_landmarks(const Landmarks68& landmarks);

// Image -> chip transform for a face (2x3, CV_64F).
cv::Mat chip_transform(const Landmarks68& landmarks, const ChipTemplate& chip);

// Warps `image` by the 2x3 image -> output transform into a size x size output (zeros
// outside the image). Large shrinks go through pyrDown first so bilinear sampling does not
// alias.
cv::Mat warp_crop(const cv::Mat& image, const cv::Mat& image_to_output, int size);

// Extracts the chip (same type as `image`). Large faces are first reduced with pyrDown so
// bilinear sampling does not alias, as dlib does.
cv::Mat extract_chip(const cv::Mat& image, const Landmarks68& landmarks, const ChipTemplate& chip);

}  // namespace faceauth
