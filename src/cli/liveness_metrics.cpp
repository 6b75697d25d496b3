#include "cli/liveness_metrics.h"

#include <algorithm>
#include <cmath>

namespace faceauth::eval {

AttackRates attack_rates(const std::vector<ScoredSample>& samples, double threshold) {
  AttackRates rates;
  size_t accepted_attacks = 0, rejected_live = 0;
  for (const ScoredSample& sample : samples) {
    bool accepted = sample.score >= threshold;
    if (sample.live) {
      ++rates.live;
      rejected_live += !accepted;
    } else {
      ++rates.attacks;
      accepted_attacks += accepted;
    }
  }
  const double nan = std::nan("");
  rates.apcer = rates.attacks ? static_cast<double>(accepted_attacks) / static_cast<double>(rates.attacks) : nan;
  rates.bpcer = rates.live ? static_cast<double>(rejected_live) / static_cast<double>(rates.live) : nan;
  rates.acer = (rates.apcer + rates.bpcer) / 2;
  return rates;
}

double liveness_auc(const std::vector<ScoredSample>& samples) {
  std::vector<double> live, attacks;
  for (const ScoredSample& sample : samples) (sample.live ? live : attacks).push_back(sample.score);
  if (live.empty() || attacks.empty()) return std::nan("");
  std::sort(attacks.begin(), attacks.end());
  double wins = 0;
  for (double score : live) {
    auto lower = std::lower_bound(attacks.begin(), attacks.end(), score);
    auto upper = std::upper_bound(attacks.begin(), attacks.end(), score);
    wins += static_cast<double>(lower - attacks.begin()) + 0.5 * static_cast<double>(upper - lower);
  }
  return wins / (static_cast<double>(live.size()) * static_cast<double>(attacks.size()));
}

}  // namespace faceauth::eval
