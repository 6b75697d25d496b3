#include "vision/face/aligner.h"

#include <cmath>
#include <stdexcept>

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

namespace {

// dlib's mean face shape (interpolation.h, get_face_chip_details) for the 68-point markup,
// points 17-67 in [0,1] face units; the fit uses 27-54 and 60-64 as dlib does.
constexpr double kMeanFaceX[51] = {
    0.000213256, 0.0752622, 0.18113,  0.29077,  0.393397, 0.586856, 0.689483, 0.799124, 0.904991, 0.98004,  0.490127,
    0.490127,    0.490127,  0.490127, 0.36688,  0.426036, 0.490127, 0.554217, 0.613373, 0.121737, 0.187122, 0.265825,
    0.334606,    0.260918,  0.182743, 0.645647, 0.714428, 0.793132, 0.858516, 0.79751,  0.719335, 0.254149, 0.340985,
    0.428858,    0.490127,  0.551395, 0.639268, 0.726104, 0.642159, 0.556721, 0.490127, 0.423532, 0.338094, 0.290379,
    0.428096,    0.490127,  0.552157, 0.689874, 0.553364, 0.490127, 0.42689};
constexpr double kMeanFaceY[51] = {
    0.106454, 0.038915, 0.0187482, 0.0344891, 0.0773906, 0.0773906, 0.0344891, 0.0187482, 0.038915, 0.106454, 0.203352,
    0.307009, 0.409805, 0.515625,  0.587326,  0.609345,  0.628106,  0.609345,  0.587326,  0.216423, 0.178758, 0.179852,
    0.231733, 0.245099, 0.244077,  0.231733,  0.179852,  0.178758,  0.216423,  0.244077,  0.245099, 0.780233, 0.745405,
    0.727388, 0.742578, 0.727388,  0.745405,  0.780233,  0.864805,  0.902192,  0.909281,  0.902192, 0.864805, 0.784792,
    0.778746, 0.785343, 0.778746,  0.784792,  0.824182,  0.831803,  0.824182};

bool dlib68_uses(size_t index) { return (index >= 27 && index <= 54) || (index >= 60 && index <= 64); }

cv::Point2d in_chip(cv::Point2d unit, const ChipTemplate& chip) {
  return (unit + cv::Point2d(chip.padding, chip.padding)) / (2 * chip.padding + 1) * chip.size;
}

}  // namespace

const char* alignment_name(Alignment alignment) {
  switch (alignment) {
    case Alignment::dlib5:
      return "dlib5";
    case Alignment::arcface5:
      return "arcface5";
    case Alignment::dlib68:
      break;
  }
  return "dlib68";
}

Alignment parse_alignment(const std::string& name) {
  if (name == "dlib68") return Alignment::dlib68;
  if (name == "dlib5") return Alignment::dlib5;
  if (name == "arcface5") return Alignment::arcface5;
  throw std::invalid_argument("unknown alignment '" + name + "' (dlib68, dlib5 or arcface5)");
}

std::vector<cv::Point2d> dlib68_chip_points(const ChipTemplate& chip) {
  std::vector<cv::Point2d> points;
  for (size_t i = 17; i < 68; ++i) {
    if (dlib68_uses(i)) points.push_back(in_chip({kMeanFaceX[i - 17], kMeanFaceY[i - 17]}, chip));
  }
  return points;
}

std::vector<cv::Point2d> dlib68_from_landmarks(const Landmarks68& landmarks) {
  std::vector<cv::Point2d> points;
  for (size_t i = 17; i < 68; ++i) {
    if (dlib68_uses(i)) points.emplace_back(landmarks[i]);
  }
  return points;
}

std::vector<cv::Point2d> dlib5_chip_points(const ChipTemplate& chip) {
  // dlib's get_face_chip_details template for its 5-point model, in [0,1] face units.
  static const cv::Point2d kTemplate[5] = {{0.8595674595992, 0.2134981538014},
                                           {0.6460604764104, 0.2289674387677},
                                           {0.1205750620789, 0.2137274526848},
                                           {0.3340850613712, 0.2290642403242},
                                           {0.4901123135679, 0.6277975316475}};
  std::vector<cv::Point2d> points;
  for (const cv::Point2d& p : kTemplate) points.push_back(in_chip(p, chip));
  return points;
}

std::vector<cv::Point2d> dlib5_from_landmarks(const Landmarks68& landmarks) {
  std::vector<cv::Point2d> points;
  for (int index : {45, 42, 36, 39, 33}) points.emplace_back(landmarks[static_cast<size_t>(index)]);
  return points;
}

std::vector<cv::Point2d> arcface5_chip_points(const ChipTemplate& chip) {
  static const cv::Point2d kTemplate[5] = {
      {38.2946, 51.6963}, {73.5318, 51.5014}, {56.0252, 71.7366}, {41.5493, 92.3655}, {70.7299, 92.2041}};
  std::vector<cv::Point2d> points;
  for (const cv::Point2d& p : kTemplate) points.push_back(p * (chip.size / 112.0));
  return points;
}

std::vector<cv::Point2d> arcface5_from_landmarks(const Landmarks68& landmarks) {
  auto mean = [&](std::initializer_list<size_t> indices) {
    cv::Point2d sum;
    for (size_t i : indices) sum += cv::Point2d(landmarks[i]);
    return sum * (1.0 / static_cast<double>(indices.size()));
  };
  return {mean({36, 37, 38, 39, 40, 41}), mean({42, 43, 44, 45, 46, 47}), cv::Point2d(landmarks[30]), mean({48, 60}),
          mean({54, 64})};
}

cv::Mat chip_transform(const Landmarks68& landmarks, const ChipTemplate& chip) {
  if (chip.alignment == Alignment::arcface5) {
    return similarity_transform(arcface5_from_landmarks(landmarks), arcface5_chip_points(chip));
  }
  if (chip.alignment == Alignment::dlib5) {
    return similarity_transform(dlib5_from_landmarks(landmarks), dlib5_chip_points(chip));
  }
  return similarity_transform(dlib68_from_landmarks(landmarks), dlib68_chip_points(chip));
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
