#pragma once
// Raw similarity of two descriptors and its 0-100 score.

#include <span>

namespace faceauth {

// Cosine similarity of two L2-normalised descriptors, in [-1, 1]. 0 when sizes differ.
double cosine_similarity(std::span<const float> a, std::span<const float> b);

// A monotone map from raw similarity to a 0-100 score with one decimal; piecewise linear
// through calibration points (raw, score). See docs/accuracy.md for where they come from.
double similarity_score(double similarity);

}  // namespace faceauth
