#pragma once
// Verification metrics of `faceauth eval` on scored pairs: accuracy at a threshold, the best
// threshold, ROC and its area, EER, TAR at a FAR, k-fold accuracy (the LFW protocol) and
// random impostor pairs. Pure functions, no engine.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace faceauth::eval {

// One labelled pair. A pair with `error` (an image failed) is always wrong: never accepted
// when genuine, always accepted when an impostor.
struct ScoredPair {
  double similarity = 0;
  bool same = false;
  bool error = false;
};

// The similarity a ranking metric uses: the worst possible one for a pair with an error
// (-inf for a genuine pair, +inf for an impostor).
double ranking_score(const ScoredPair& pair);

// Share of pairs right when pairs with similarity >= threshold are accepted. 0 for no pairs.
double accuracy(const std::vector<ScoredPair>& pairs, double threshold);

struct ThresholdChoice {
  double threshold = 0;
  double accuracy = 0;
};
// The threshold among the similarities of the pairs without error with the best accuracy;
// the lowest one on ties (as tools/eval/pairs_accuracy.py). Threshold 0 when no pair has a score.
ThresholdChoice best_threshold(const std::vector<ScoredPair>& pairs);

struct RocPoint {
  double far = 0, tar = 0;
};
// The ROC over all thresholds on ranking_score, from (0, 0) to (1, 1), one point per distinct
// score. Empty when there is no genuine or no impostor pair.
std::vector<RocPoint> roc_curve(const std::vector<ScoredPair>& pairs);
// Trapezoid area under roc_curve; NaN when it is empty.
double roc_auc(const std::vector<RocPoint>& roc);
// The rate where FAR = FRR (1 - TAR), linearly interpolated on roc_curve; NaN when empty.
double equal_error_rate(const std::vector<RocPoint>& roc);

struct TarAtFar {
  double far = 0;           // the target
  bool measurable = false;  // at least 1/far impostors
  double tar = 0;           // share of genuine pairs accepted
  double threshold = 0;     // accept when ranking_score > threshold
  double achieved_far = 0;  // <= far; lower when impostor scores tie at the threshold
  size_t impostors = 0, genuine = 0;
};
// The highest TAR whose FAR is at most `far`. Accepting is "score > threshold" where the
// threshold is the (floor(far * impostors) + 1)-th highest impostor score, so impostors tied
// with it are all rejected and the FAR never exceeds the target.
TarAtFar tar_at_far(const std::vector<ScoredPair>& pairs, double far);

struct FoldResult {
  double threshold = 0, accuracy = 0;
  size_t pairs = 0;
};
struct KFold {
  std::vector<FoldResult> folds;
  double accuracy_mean = 0, accuracy_std = 0;  // std over folds (population, as numpy)
  double threshold_mean = 0;
};
// The LFW protocol: pair i is in fold i % k (round robin keeps same/different balanced in a
// list sorted by label); each fold's threshold is best_threshold of the other folds and its
// accuracy is measured on the fold. Throws std::invalid_argument when k < 2 or k > pairs.
KFold k_fold(const std::vector<ScoredPair>& pairs, int k);

// The first path component ("Name/Name_0001.jpg" -> "Name"); the whole name without '/'.
std::string folder_of(const std::string& image);
// Up to `count` distinct unordered pairs (i, j) of names whose folders differ and that are not
// in `exclude` (pairs given as (min, max) indices), drawn with a std::mt19937_64 seeded with
// `seed`; fewer when that many do not exist or are not found in 50 * count draws.
std::vector<std::pair<size_t, size_t>> random_impostors(const std::vector<std::string>& names, size_t count,
                                                        uint64_t seed,
                                                        const std::vector<std::pair<size_t, size_t>>& exclude = {});

}  // namespace faceauth::eval
