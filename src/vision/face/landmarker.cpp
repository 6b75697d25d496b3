#include "vision/face/landmarker.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "vision/face/aligner.h"

namespace faceauth {
namespace {

cv::Point2d mean_point(const Landmarks68& points, size_t first, size_t last) {
  cv::Point2d sum;
  for (size_t i = first; i <= last; ++i) sum += cv::Point2d(points[i]);
  return sum / static_cast<double>(last - first + 1);
}

// Head roll in radians from the eye centres (image-left eye 36-41, image-right eye 42-47).
double roll_of(const Landmarks68& points) {
  cv::Point2d delta = mean_point(points, 42, 47) - mean_point(points, 36, 41);
  return std::atan2(delta.y, delta.x);
}

}  // namespace

Landmarker::Landmarker(const std::filesystem::path& model_dir, const std::string& model_name)
    : manifest_(load_manifest(model_dir, model_name)), net_(model_dir, manifest_) {}

Landmarks68 Landmarker::locate(const cv::Mat& bgr, const FaceBox& face) {
  // face-api feeds the detection box padded to a square around its centre and resized to
  // the input size. The net was trained on upright faces, so tilted heads are turned upright.
  const cv::Rect2f& box = face.box;
  double side = std::max(box.width, box.height) * manifest_.raw.value("box_scale", 1.0);
  cv::Point2d centre(box.x + box.width / 2.0, box.y + box.height / 2.0);
  // Small rolls are left alone: the net handles them, and turning adds resampling.
  const double min_roll = manifest_.raw.value("reroll_radians", 0.17);
  if (face.roll) return run(bgr, centre, side, std::abs(*face.roll) > min_roll ? *face.roll : 0.0);
  Landmarks68 points = run(bgr, centre, side, 0.0);
  double roll = roll_of(points);
  if (std::abs(roll) > min_roll) points = run(bgr, centre, side, roll);
  return points;
}

Landmarks68 Landmarker::run(const cv::Mat& bgr, cv::Point2d centre, double side, double roll) {
  const int size = manifest_.input.width;
  // Square (centre, side, turned by roll) -> [0, size) input pixels.
  cv::Mat to_input = cv::getRotationMatrix2D(centre, roll * 180.0 / CV_PI, size / side);
  to_input.at<double>(0, 2) += size / 2.0 - centre.x;
  to_input.at<double>(1, 2) += size / 2.0 - centre.y;
  cv::Mat crop = warp_crop(bgr, to_input, size);
  cv::Mat out = net_.forward_first(make_blob(crop, manifest_));
  const float* values = out.ptr<float>();
  cv::Mat to_image;
  cv::invertAffineTransform(to_input, to_image);
  Landmarks68 points;
  for (size_t i = 0; i < points.size(); ++i) {
    cv::Point2d p(double{values[2 * i]} * size, double{values[2 * i + 1]} * size);
    double x = to_image.at<double>(0, 0) * p.x + to_image.at<double>(0, 1) * p.y + to_image.at<double>(0, 2);
    double y = to_image.at<double>(1, 0) * p.x + to_image.at<double>(1, 1) * p.y + to_image.at<double>(1, 2);
    points[i] = cv::Point2f(static_cast<float>(x), static_cast<float>(y));
  }
  return points;
}

}  // namespace faceauth
