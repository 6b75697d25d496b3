#include "vision/aligner.h"

#include <cmath>

#include <opencv2/imgproc.hpp>

namespace faceauth {

cv::Mat similarity_transform(const std::vector<cv::Point2d>& from, const std::vector<cv::Point2d>& to) {
  CV_Assert(from.size() == to.size() && from.size() >= 2);
  const double n = static_cast<double>(from.size());
  cv::Point2d mean_from, mean_to;
  for (size_t i = 0; i < from.size(); ++i) {
    mean_from += from[i];
    mean_to += to[i];
  }
  mean_from *= 1.0 / n;
  mean_to *= 1.0 / n;
  // For 2-D similarity the least-squares solution has a closed form:
  // a = sum(dx*ux + dy*uy) / sum(|d|^2), b = sum(dx*uy - dy*ux) / sum(|d|^2).
  double dot = 0, cross = 0, norm = 0;
  for (size_t i = 0; i < from.size(); ++i) {
    cv::Point2d d = from[i] - mean_from, u = to[i] - mean_to;
    dot += d.x * u.x + d.y * u.y;
    cross += d.x * u.y - d.y * u.x;
    norm += d.x * d.x + d.y * d.y;
  }
  double a = norm > 0 ? dot / norm : 1.0, b = norm > 0 ? cross / norm : 0.0;
  cv::Mat m = (cv::Mat_<double>(2, 3) << a, -b, 0, b, a, 0);
  m.at<double>(0, 2) = mean_to.x - (a * mean_from.x - b * mean_from.y);
  m.at<double>(1, 2) = mean_to.y - (b * mean_from.x + a * mean_from.y);
  return m;
}

std::vector<cv::Point2d> dlib5_chip_points(const ChipTemplate& chip) {
  // dlib's get_face_chip_details template for its 5-point model, in [0,1] face units.
  static const cv::Point2d kTemplate[5] = {{0.8595674595992, 0.2134981538014},
                                           {0.6460604764104, 0.2289674387677},
                                           {0.1205750620789, 0.2137274526848},
                                           {0.3340850613712, 0.2290642403242},
                                           {0.4901123135679, 0.6277975316475}};
  std::vector<cv::Point2d> points;
  for (const cv::Point2d& p : kTemplate) {
    points.push_back((p + cv::Point2d(chip.padding, chip.padding)) / (2 * chip.padding + 1) * chip.size);
  }
  return points;
}

std::vector<cv::Point2d> dlib5_from_landmarks(const Landmarks68& landmarks) {
  std::vector<cv::Point2d> points;
  for (int index : {45, 42, 36, 39, 33}) points.emplace_back(landmarks[static_cast<size_t>(index)]);
  return points;
}

cv::Mat chip_transform(const Landmarks68& landmarks, const ChipTemplate& chip) {
  return similarity_transform(dlib5_from_landmarks(landmarks), dlib5_chip_points(chip));
}

cv::Mat warp_crop(const cv::Mat& image, const cv::Mat& image_to_output, int size) {
  cv::Mat transform = image_to_output.clone();  // adjusted below; the caller's stays as it is
  double scale = std::sqrt(std::abs(cv::determinant(transform.colRange(0, 2))));
  cv::Mat source = image;
  while (scale < 0.5 && source.cols > 1 && source.rows > 1) {
    cv::pyrDown(source, source);
    scale *= 2;
    transform.colRange(0, 2) *= 2.0;  // pyrDown halves coordinates
  }
  cv::Mat out;
  cv::warpAffine(source, out, transform, cv::Size(size, size), cv::INTER_LINEAR, cv::BORDER_CONSTANT);
  return out;
}

cv::Mat extract_chip(const cv::Mat& image, const Landmarks68& landmarks, const ChipTemplate& chip) {
  return warp_crop(image, chip_transform(landmarks, chip), chip.size);
}

}  // namespace faceauth
