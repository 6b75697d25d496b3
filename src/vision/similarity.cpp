#include "vision/similarity.h"

#include <array>
#include <cmath>
#include <utility>

namespace faceauth {

double cosine_similarity(std::span<const float> a, std::span<const float> b) {
  if (a.size() != b.size() || a.empty()) return 0.0;
  double dot = 0;
  for (size_t i = 0; i < a.size(); ++i) dot += double{a[i]} * b[i];
  return dot;
}

double similarity_score(double similarity) {
  // (raw cosine, score) knots of the default model. 50 is the best-accuracy threshold on LFW
  // View 1 pairs_train (0.910); provisional until the FAR calibration of docs/accuracy.md.
  static const std::array<std::pair<double, double>, 5> kKnots = {
      {{-1.0, 0.0}, {0.80, 10.0}, {0.91, 50.0}, {0.96, 85.0}, {1.0, 100.0}}};
  double score = 0.0;
  if (similarity >= kKnots.back().first) {
    score = kKnots.back().second;
  } else if (similarity > kKnots.front().first) {
    for (size_t i = 1; i < kKnots.size(); ++i) {
      if (similarity <= kKnots[i].first) {
        auto [x0, y0] = kKnots[i - 1];
        auto [x1, y1] = kKnots[i];
        score = y0 + (similarity - x0) / (x1 - x0) * (y1 - y0);
        break;
      }
    }
  }
  return std::round(score * 10.0) / 10.0;
}

}  // namespace faceauth
