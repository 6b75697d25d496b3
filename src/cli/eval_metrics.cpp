// Verification metrics of `faceauth eval`; see eval_metrics.h.
#include "cli/eval_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <stdexcept>

namespace faceauth::eval {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

double ranking_score(const ScoredPair& pair) {
  if (pair.error) return pair.same ? -kInf : kInf;
  return pair.similarity;
}

double accuracy(const std::vector<ScoredPair>& pairs, double threshold) {
  if (pairs.empty()) return 0;
  size_t right = 0;
  for (const ScoredPair& pair : pairs) {
    if (!pair.error && (pair.similarity >= threshold) == pair.same) ++right;
  }
  return static_cast<double>(right) / static_cast<double>(pairs.size());
}

ThresholdChoice best_threshold(const std::vector<ScoredPair>& pairs) {
  std::vector<ScoredPair> scored;
  for (const ScoredPair& pair : pairs) {
    if (!pair.error) scored.push_back(pair);
  }
  if (scored.empty()) return {0, accuracy(pairs, 0)};
  std::sort(scored.begin(), scored.end(),
            [](const ScoredPair& a, const ScoredPair& b) { return a.similarity < b.similarity; });
  size_t genuine = static_cast<size_t>(
      std::count_if(scored.begin(), scored.end(), [](const ScoredPair& pair) { return pair.same; }));
  // At threshold scored[i].similarity (first of its value) the pairs before i are rejected.
  size_t genuine_below = 0, impostors_below = 0, best_right = 0;
  double best = scored[0].similarity;
  for (size_t i = 0; i < scored.size(); ++i) {
    if (i == 0 || scored[i].similarity != scored[i - 1].similarity) {
      size_t right = genuine - genuine_below + impostors_below;
      if (i == 0 || right > best_right) {
        best_right = right;
        best = scored[i].similarity;
      }
    }
    (scored[i].same ? genuine_below : impostors_below) += 1;
  }
  return {best, static_cast<double>(best_right) / static_cast<double>(pairs.size())};
}

std::vector<RocPoint> roc_curve(const std::vector<ScoredPair>& pairs) {
  std::vector<std::pair<double, bool>> ranked;  // (score, same), best first
  size_t genuine = 0;
  for (const ScoredPair& pair : pairs) {
    ranked.emplace_back(ranking_score(pair), pair.same);
    if (pair.same) ++genuine;
  }
  size_t impostors = ranked.size() - genuine;
  if (genuine == 0 || impostors == 0) return {};
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<RocPoint> roc = {{0, 0}};
  size_t tp = 0, fp = 0;
  for (size_t i = 0; i < ranked.size(); ++i) {
    (ranked[i].second ? tp : fp) += 1;
    if (i + 1 == ranked.size() || ranked[i + 1].first != ranked[i].first) {
      roc.push_back({static_cast<double>(fp) / static_cast<double>(impostors),
                     static_cast<double>(tp) / static_cast<double>(genuine)});
    }
  }
  return roc;
}

double roc_auc(const std::vector<RocPoint>& roc) {
  if (roc.empty()) return kNaN;
  double area = 0;
  for (size_t i = 1; i < roc.size(); ++i) {
    area += (roc[i].far - roc[i - 1].far) * (roc[i].tar + roc[i - 1].tar) / 2;
  }
  return area;
}

double equal_error_rate(const std::vector<RocPoint>& roc) {
  if (roc.empty()) return kNaN;
  // far - frr = far + tar - 1 grows along the curve from -1 at (0, 0) to 1 at (1, 1).
  auto gap = [](const RocPoint& p) { return p.far + p.tar - 1; };
  for (size_t i = 1; i < roc.size(); ++i) {
    double g0 = gap(roc[i - 1]), g1 = gap(roc[i]);
    if (g1 < 0) continue;
    double t = g1 == g0 ? 0 : -g0 / (g1 - g0);
    return roc[i - 1].far + t * (roc[i].far - roc[i - 1].far);
  }
  return kNaN;
}

TarAtFar tar_at_far(const std::vector<ScoredPair>& pairs, double far) {
  TarAtFar out;
  out.far = far;
  std::vector<double> genuine, impostors;
  for (const ScoredPair& pair : pairs) (pair.same ? genuine : impostors).push_back(ranking_score(pair));
  out.genuine = genuine.size();
  out.impostors = impostors.size();
  out.measurable = !impostors.empty() && static_cast<double>(impostors.size()) * far >= 1 - 1e-9;
  if (impostors.empty()) return out;
  std::sort(impostors.begin(), impostors.end(), std::greater<>());
  auto allowed = static_cast<size_t>(std::floor(far * static_cast<double>(impostors.size()) + 1e-9));
  out.threshold = allowed >= impostors.size() ? -kInf : impostors[allowed];
  auto above = [&](const std::vector<double>& scores) {
    return static_cast<size_t>(
        std::count_if(scores.begin(), scores.end(), [&](double score) { return score > out.threshold; }));
  };
  out.achieved_far = static_cast<double>(above(impostors)) / static_cast<double>(impostors.size());
  out.tar = genuine.empty() ? 0 : static_cast<double>(above(genuine)) / static_cast<double>(genuine.size());
  return out;
}

KFold k_fold(const std::vector<ScoredPair>& pairs, int k) {
  if (k < 2 || static_cast<size_t>(k) > pairs.size()) {
    throw std::invalid_argument("--folds must be between 2 and the number of pairs");
  }
  auto folds = static_cast<size_t>(k);
  KFold out;
  for (size_t fold = 0; fold < folds; ++fold) {
    std::vector<ScoredPair> train, test;
    for (size_t i = 0; i < pairs.size(); ++i) (i % folds == fold ? test : train).push_back(pairs[i]);
    FoldResult result;
    result.threshold = best_threshold(train).threshold;
    result.accuracy = accuracy(test, result.threshold);
    result.pairs = test.size();
    out.folds.push_back(result);
    out.accuracy_mean += result.accuracy / static_cast<double>(folds);
    out.threshold_mean += result.threshold / static_cast<double>(folds);
  }
  double variance = 0;
  for (const FoldResult& result : out.folds) {
    variance += (result.accuracy - out.accuracy_mean) * (result.accuracy - out.accuracy_mean);
  }
  out.accuracy_std = std::sqrt(variance / static_cast<double>(folds));
  return out;
}

std::string folder_of(const std::string& image) { return image.substr(0, image.find('/')); }

std::vector<std::pair<size_t, size_t>> random_impostors(const std::vector<std::string>& names, size_t count,
                                                        uint64_t seed,
                                                        const std::vector<std::pair<size_t, size_t>>& exclude) {
  std::vector<std::pair<size_t, size_t>> out;
  if (names.size() < 2 || count == 0) return out;
  std::vector<std::string> folders;
  std::map<std::string, size_t> per_folder;
  for (const std::string& name : names) {
    folders.push_back(folder_of(name));
    ++per_folder[folders.back()];
  }
  std::set<std::pair<size_t, size_t>> used(exclude.begin(), exclude.end());
  // How many cross-folder pairs exist at most (excluded ones may be among them).
  double n = static_cast<double>(names.size()), possible = n * (n - 1) / 2;
  for (const auto& [folder, m] : per_folder) {
    possible -= static_cast<double>(m) * static_cast<double>(m - 1) / 2;
  }
  if (possible < static_cast<double>(count)) count = static_cast<size_t>(possible);
  std::mt19937_64 random(seed);
  std::uniform_int_distribution<size_t> pick(0, names.size() - 1);
  for (size_t draw = 0; out.size() < count && draw < 50 * count; ++draw) {
    size_t i = pick(random), j = pick(random);
    if (folders[i] == folders[j]) continue;
    std::pair<size_t, size_t> pair = std::minmax(i, j);
    if (!used.insert(pair).second) continue;
    out.push_back(pair);
  }
  return out;
}

}  // namespace faceauth::eval
