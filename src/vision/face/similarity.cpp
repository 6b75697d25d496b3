#include "vision/face/similarity.h"

#include <cmath>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace faceauth {

double cosine_similarity(std::span<const float> a, std::span<const float> b) {
  if (a.size() != b.size() || a.empty()) return 0.0;
  double dot = 0;
  for (size_t i = 0; i < a.size(); ++i) dot += double{a[i]} * b[i];
  return dot;
}

ScoreCalibration::ScoreCalibration(const nlohmann::json& knots) {
  if (!knots.is_array() || knots.size() < 2) throw std::invalid_argument("calibration needs two knots or more");
  for (const nlohmann::json& knot : knots) {
    if (!knot.is_array() || knot.size() != 2 || !knot[0].is_number() || !knot[1].is_number()) {
      throw std::invalid_argument("a calibration knot is [raw, score]");
    }
    std::pair<double, double> point{knot[0].get<double>(), knot[1].get<double>()};
    if (!knots_.empty() && (point.first <= knots_.back().first || point.second < knots_.back().second)) {
      throw std::invalid_argument("calibration knots must increase");
    }
    knots_.push_back(point);
  }
  if (knots_.front() != std::pair{-1.0, 0.0} || knots_.back() != std::pair{1.0, 100.0}) {
    throw std::invalid_argument("calibration must run from [-1, 0] to [1, 100]");
  }
}

double ScoreCalibration::score(double similarity) const {
  if (knots_.empty()) return 0.0;
  double score = 0.0;
  if (similarity >= knots_.back().first) {
    score = knots_.back().second;
  } else if (similarity > knots_.front().first) {
    for (size_t i = 1; i < knots_.size(); ++i) {
      if (similarity <= knots_[i].first) {
        auto [x0, y0] = knots_[i - 1];
        auto [x1, y1] = knots_[i];
        score = y0 + (similarity - x0) / (x1 - x0) * (y1 - y0);
        break;
      }
    }
  }
  return std::round(score * 10.0) / 10.0;
}

}  // namespace faceauth
