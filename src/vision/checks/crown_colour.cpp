#include "vision/checks/crown_colour.h"

#include <cmath>

#include <opencv2/imgproc.hpp>

#include "vision/face/aligner.h"

namespace faceauth {
namespace {

constexpr int kSize = 24;
constexpr int kUnits = 1000;  // the template at 1000 px per face unit, as head_crop
constexpr double kX0 = 0.0, kX1 = 1.0, kY0 = -1.1, kY1 = -0.1;

// Image pixels -> crown pixels.
cv::Mat crown_transform(const Landmarks68& landmarks) {
  cv::Mat to_crown = chip_transform(landmarks, ChipTemplate{kUnits, 0.0});
  const double sx = kSize / ((kX1 - kX0) * kUnits), sy = kSize / ((kY1 - kY0) * kUnits);
  to_crown.row(0) *= sx;
  to_crown.row(1) *= sy;
  to_crown.at<double>(0, 2) -= kX0 * kUnits * sx;
  to_crown.at<double>(1, 2) -= kY0 * kUnits * sy;
  return to_crown;
}

// The part of the image the crown covers (so pyrDown runs on it, not on the whole photo),
// with to_crown moved to its origin; empty when the crown lies outside the image.
cv::Rect covered(const cv::Mat& bgr, cv::Mat& to_crown) {
  cv::Mat to_image;
  cv::invertAffineTransform(to_crown, to_image);
  std::vector<cv::Point2d> corners = {{0, 0}, {kSize, 0}, {0, kSize}, {kSize, kSize}}, mapped;
  cv::transform(corners, mapped, to_image);
  cv::Rect roi = cv::boundingRect(std::vector<cv::Point2f>(mapped.begin(), mapped.end()));
  roi = cv::Rect(roi.x - 4, roi.y - 4, roi.width + 8, roi.height + 8) & cv::Rect(0, 0, bgr.cols, bgr.rows);
  to_crown.at<double>(0, 2) += to_crown.at<double>(0, 0) * roi.x + to_crown.at<double>(0, 1) * roi.y;
  to_crown.at<double>(1, 2) += to_crown.at<double>(1, 0) * roi.x + to_crown.at<double>(1, 1) * roi.y;
  return roi;
}

struct Sums {
  double total = 0, count = 0, s = 0, v = 0, v2 = 0, saturated = 0, white = 0, dark = 0, gradient = 0;
};

void add_pixel(Sums& sums, const cv::Vec3b& hsv, double gradient) {
  const double s = hsv[1], v = hsv[2];
  sums.count += 1;
  sums.s += s / 255;
  sums.v += v / 255;
  sums.v2 += (v / 255) * (v / 255);
  sums.saturated += s > 90 && v > 90;
  sums.white += v > 180 && s < 50;
  sums.dark += v < 60;
  sums.gradient += gradient / 255;
}

void append_band(std::vector<float>& out, const Sums& sums) {
  const double n = std::max(1.0, sums.count), mean_v = sums.v / n;
  const double spread = std::sqrt(std::max(0.0, sums.v2 / n - mean_v * mean_v));
  for (double value : {sums.count / std::max(1.0, sums.total), sums.s / n, mean_v, spread, sums.saturated / n,
                       sums.white / n, sums.dark / n, sums.gradient / n}) {
    out.push_back(static_cast<float>(value));
  }
}

}  // namespace

std::vector<float> crown_colour(const cv::Mat& bgr, const Landmarks68& landmarks) {
  cv::Mat to_crown = crown_transform(landmarks);
  const cv::Rect roi = covered(bgr, to_crown);
  cv::Mat crop = cv::Mat::zeros(kSize, kSize, CV_8UC3), inside = cv::Mat::zeros(kSize, kSize, CV_8U);
  if (!roi.empty()) {
    crop = warp_crop(bgr(roi), to_crown, kSize);
    inside = warp_crop(cv::Mat(roi.size(), CV_8U, cv::Scalar(255)), to_crown, kSize);
  }
  cv::Mat hsv, gray;
  cv::cvtColor(crop, hsv, cv::COLOR_BGR2HSV);
  cv::cvtColor(crop, gray, cv::COLOR_BGR2GRAY);
  Sums bands[2];
  for (int y = 0; y + 1 < kSize; ++y) {
    for (int x = 0; x + 1 < kSize; ++x) {
      bands[y < kSize / 2 ? 0 : 1].total += 1;
      if (inside.at<uint8_t>(y, x) < 128 || inside.at<uint8_t>(y, x + 1) < 128 || inside.at<uint8_t>(y + 1, x) < 128) {
        continue;
      }
      const int g = gray.at<uint8_t>(y, x);
      const double gradient = std::abs(gray.at<uint8_t>(y, x + 1) - g) + std::abs(gray.at<uint8_t>(y + 1, x) - g);
      add_pixel(bands[y < kSize / 2 ? 0 : 1], hsv.at<cv::Vec3b>(y, x), gradient);
    }
  }
  std::vector<float> out;
  append_band(out, bands[0]);
  append_band(out, bands[1]);
  return out;
}

}  // namespace faceauth
