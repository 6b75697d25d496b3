#pragma once
// Presentation-attack metrics (ISO/IEC 30107-3) of `faceauth eval-liveness`. Pure functions.

#include <string>
#include <vector>

namespace faceauth::eval {

struct ScoredSample {
  double score = 0;  // 0-100, live = high; 0 when the image failed (no face)
  bool live = false;
  std::string subject;
};

struct AttackRates {
  size_t live = 0, attacks = 0;
  double apcer = 0;  // attacks accepted (score >= threshold) / attacks
  double bpcer = 0;  // live samples rejected (score < threshold) / live samples
  double acer = 0;   // (apcer + bpcer) / 2
};
// NaN rates where a class is empty.
AttackRates attack_rates(const std::vector<ScoredSample>& samples, double threshold);

// ROC AUC: the probability that a live sample scores above an attack (ties count half);
// NaN when a class is empty.
double liveness_auc(const std::vector<ScoredSample>& samples);

}  // namespace faceauth::eval
