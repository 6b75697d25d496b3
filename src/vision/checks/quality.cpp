#include "vision/checks/quality.h"

#include <chrono>
#include <cmath>
#include <numbers>

#include <opencv2/imgproc.hpp>

namespace faceauth {
namespace {

// Where the tip of the nose sits between the eye line (0) and the mouth line (1) on a face
// that looks straight at the camera (set so the subjects of the six face-api demo photos have
// a median pitch near 0).
constexpr double kLevelNose = 0.64;

cv::Point2d mean_of(const Landmarks68& landmarks, int first, int last) {
  cv::Point2d sum;
  for (int i = first; i <= last; ++i) sum += cv::Point2d(landmarks[static_cast<size_t>(i)]);
  return sum / (last - first + 1);
}

double degrees(double radians) { return radians * 180.0 / std::numbers::pi; }
double asin_clamped(double value) { return std::asin(std::clamp(value, -1.0, 1.0)); }

// Yaw and pitch from where the nose tip sits between the jaw sides and between the eye and
// mouth lines, in a frame turned so the eyes are level. Positive yaw: the nose points to the
// image's right; positive pitch: the face looks down.
void measure_pose(const Landmarks68& landmarks, QualityMeasures& out) {
  cv::Point2d left_eye = mean_of(landmarks, 36, 41), right_eye = mean_of(landmarks, 42, 47);
  cv::Point2d origin = (left_eye + right_eye) / 2, axis = right_eye - left_eye;
  double length = std::hypot(axis.x, axis.y);
  if (length <= 0) return;
  cv::Point2d ux = axis / length, uy(-ux.y, ux.x);
  auto level = [&](cv::Point2d p) { return cv::Point2d((p - origin).dot(ux), (p - origin).dot(uy)); };
  cv::Point2d jaw_left = level(landmarks[0]), jaw_right = level(landmarks[16]), nose = level(landmarks[30]);
  cv::Point2d mouth = level((cv::Point2d(landmarks[48]) + cv::Point2d(landmarks[54])) / 2);
  double width = jaw_right.x - jaw_left.x;
  if (width > 0) out.yaw = degrees(asin_clamped(((nose.x - jaw_left.x) - (jaw_right.x - nose.x)) / width));
  if (mouth.y > 0) out.pitch = degrees(asin_clamped(2 * (nose.y / mouth.y - kLevelNose)));
}

double eye_distance(const Landmarks68& landmarks) {
  cv::Point2d d = mean_of(landmarks, 42, 47) - mean_of(landmarks, 36, 41);
  return std::hypot(d.x, d.y);
}

double landmark_fit(const Landmarks68& landmarks, const std::vector<FaceBox>& faces) {
  if (faces.empty() || faces[0].box.width <= 0) return 0;
  cv::Point2d jaw = cv::Point2d(landmarks[16]) - cv::Point2d(landmarks[0]);
  return std::hypot(jaw.x, jaw.y) / faces[0].box.width;
}

double second_face_ratio(const std::vector<FaceBox>& faces) {
  if (faces.size() < 2) return 0;
  double first = faces[0].box.area();
  return first > 0 ? faces[1].box.area() / first : 0;
}

// Sharpness and brightness of the inner face of a liveness chip.
void measure_chip(const cv::Mat& chip, QualityMeasures& out) {
  cv::Mat gray, laplacian;
  cv::cvtColor(chip, gray, cv::COLOR_BGR2GRAY);
  const int side = chip.cols;
  cv::Rect inner(side / 4, side / 4, side / 2, side * 11 / 20);
  cv::Laplacian(gray(inner), laplacian, CV_32F);
  cv::Scalar mean, stddev, luma_mean, luma_stddev;
  cv::meanStdDev(laplacian, mean, stddev);
  cv::meanStdDev(gray(inner), luma_mean, luma_stddev);
  // Relative to the face's contrast, so that a dark but sharp face is not called blurred.
  out.sharpness = 10 * stddev[0] / std::max(luma_stddev[0], 1.0);
  out.brightness = luma_mean[0];
}

double round_to(double value, int decimals) {
  double factor = std::pow(10.0, decimals);
  return std::round(value * factor) / factor;
}

// The fused liveness score; the screen head reuses the attribute pass's features when it ran.
double liveness_score(const LivenessModel& liveness, const FaceAnalysis& analysis, const cv::Mat& chip,
                      const Landmarks68& working) {
  if (!analysis.attribute_features.regions.empty()) return liveness.score_chip(chip, analysis.attribute_features);
  return liveness.score_chip(chip, liveness.screen_features(analysis.working, working));
}

}  // namespace

FaceChecks check_face(const FaceAnalysis& analysis, const LivenessModel* liveness) {
  auto started = std::chrono::steady_clock::now();
  FaceChecks checks;
  QualityMeasures& quality = checks.quality;
  quality.face_count = static_cast<int>(analysis.faces.size());
  quality.second_face_ratio = second_face_ratio(analysis.faces);
  quality.eye_distance_px = eye_distance(analysis.landmarks);
  quality.landmark_fit = round_to(landmark_fit(analysis.landmarks, analysis.faces), 2);  // as shown
  measure_pose(analysis.landmarks, quality);
  Landmarks68 working = analysis.landmarks;
  for (cv::Point2f& point : working) point *= static_cast<float>(analysis.working_scale);
  cv::Mat chip = liveness_chip(analysis.working, working);
  measure_chip(chip, quality);
  // One decimal, as shown: the decision compares the same number the client sees.
  if (liveness) checks.liveness = round_to(liveness_score(*liveness, analysis, chip, working), 1);
  checks.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  return checks;
}

nlohmann::json quality_json(const QualityMeasures& quality) {
  return {{"eye_distance_px", round_to(quality.eye_distance_px, 1)},
          {"face_count", quality.face_count},
          {"second_face_ratio", round_to(quality.second_face_ratio, 2)},
          {"sharpness", round_to(quality.sharpness, 1)},
          {"brightness", round_to(quality.brightness, 1)},
          {"yaw", round_to(quality.yaw, 1)},
          {"pitch", round_to(quality.pitch, 1)},
          {"landmark_fit", round_to(quality.landmark_fit, 2)}};
}

nlohmann::json liveness_quality_json(const FaceChecks& checks) {
  nlohmann::json out = {{"quality", quality_json(checks.quality)}};
  if (checks.liveness) out["liveness_score"] = round_to(*checks.liveness, 1);
  return out;
}

}  // namespace faceauth
