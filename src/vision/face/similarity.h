#pragma once
// Raw similarity of two descriptors and its calibrated 0-100 score.

#include <span>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace faceauth {

// Cosine similarity of two L2-normalised descriptors, in [-1, 1]. 0 when sizes differ.
double cosine_similarity(std::span<const float> a, std::span<const float> b);

// A monotone map from raw similarity to a 0-100 score with one decimal: piecewise linear
// through (raw, score) knots fitted so that score values stand for the same false-accept
// rates whatever the pipeline (docs/accuracy.md; tools/eval/calibrate.py makes the knots).
class ScoreCalibration {
 public:
  ScoreCalibration() = default;
  // Knots as [[raw, score], ...]: raw strictly increasing from -1 to 1, score non-decreasing
  // from 0 to 100; throws std::invalid_argument otherwise.
  explicit ScoreCalibration(const nlohmann::json& knots);
  double score(double similarity) const;  // 0 when empty
  bool empty() const { return knots_.empty(); }

 private:
  std::vector<std::pair<double, double>> knots_;
};

}  // namespace faceauth
