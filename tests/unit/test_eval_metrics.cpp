#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "cli/eval_metrics.h"

namespace faceauth::eval {
namespace {

ScoredPair genuine(double similarity) { return {similarity, true, false}; }
ScoredPair impostor(double similarity) { return {similarity, false, false}; }
ScoredPair failed(bool same) { return {0, same, true}; }

TEST(EvalMetrics, AccuracyAtAThresholdCountsErrorsAsWrong) {
  std::vector<ScoredPair> pairs = {genuine(0.9),  genuine(0.6), impostor(0.7),
                                   impostor(0.2), failed(true), failed(false)};
  // >= 0.65: 0.9 right, 0.6 wrong, 0.7 wrong, 0.2 right, both errors wrong.
  EXPECT_DOUBLE_EQ(accuracy(pairs, 0.65), 2.0 / 6);
  // Accepting at the exact similarity: >= 0.6 accepts the 0.6 genuine pair.
  EXPECT_DOUBLE_EQ(accuracy(pairs, 0.6), 3.0 / 6);
  EXPECT_DOUBLE_EQ(accuracy(pairs, 0.75), 3.0 / 6);
  EXPECT_DOUBLE_EQ(accuracy({}, 0.5), 0);
}

TEST(EvalMetrics, BestThresholdIsTheLowestOfTheBest) {
  std::vector<ScoredPair> pairs = {genuine(0.9), genuine(0.8), impostor(0.3), impostor(0.5), failed(true)};
  ThresholdChoice choice = best_threshold(pairs);
  // 0.8 and anything in (0.5, 0.8] separate perfectly; candidates are similarities, lowest wins.
  EXPECT_DOUBLE_EQ(choice.threshold, 0.8);
  EXPECT_DOUBLE_EQ(choice.accuracy, 4.0 / 5);
  // Against a brute force over every candidate.
  std::vector<ScoredPair> mixed = {genuine(0.7), impostor(0.75), genuine(0.6),  impostor(0.4),
                                   genuine(0.6), impostor(0.6),  impostor(0.1), genuine(0.95)};
  double best = -1, best_t = 0;
  for (const ScoredPair& p : mixed) {
    double a = accuracy(mixed, p.similarity);
    if (a > best || (a == best && p.similarity < best_t)) {
      best = a;
      best_t = p.similarity;
    }
  }
  EXPECT_DOUBLE_EQ(best_threshold(mixed).threshold, best_t);
  EXPECT_DOUBLE_EQ(best_threshold(mixed).accuracy, best);
}

TEST(EvalMetrics, RocAucIsOneWhenSeparatedAndZeroWhenReversed) {
  std::vector<ScoredPair> separated = {genuine(0.9), genuine(0.8), impostor(0.3), impostor(0.1)};
  EXPECT_DOUBLE_EQ(roc_auc(roc_curve(separated)), 1.0);
  std::vector<ScoredPair> reversed = {genuine(0.1), genuine(0.3), impostor(0.8), impostor(0.9)};
  EXPECT_DOUBLE_EQ(roc_auc(roc_curve(reversed)), 0.0);
  // All tied: the diagonal.
  EXPECT_DOUBLE_EQ(roc_auc(roc_curve({genuine(0.5), impostor(0.5)})), 0.5);
  EXPECT_TRUE(std::isnan(roc_auc(roc_curve({genuine(0.5)}))));
}

TEST(EvalMetrics, ErrorsRankAsTheWorstPossible) {
  // A separated list stays separated only if errors do not help: a genuine error ranks last,
  // an impostor error first.
  std::vector<ScoredPair> pairs = {genuine(0.9), impostor(0.1), failed(true)};
  EXPECT_DOUBLE_EQ(roc_auc(roc_curve(pairs)), 0.5);
  pairs = {genuine(0.9), impostor(0.1), failed(false)};
  EXPECT_DOUBLE_EQ(roc_auc(roc_curve(pairs)), 0.5);
}

TEST(EvalMetrics, EqualErrorRateOfASmallExample) {
  // Genuine 0.9 0.8 0.6 0.4, impostors 0.7 0.3 0.2 0.1. At threshold 0.6: FAR 1/4, FRR 1/4.
  std::vector<ScoredPair> pairs = {genuine(0.9),  genuine(0.8),  genuine(0.6),  genuine(0.4),
                                   impostor(0.7), impostor(0.3), impostor(0.2), impostor(0.1)};
  EXPECT_DOUBLE_EQ(equal_error_rate(roc_curve(pairs)), 0.25);
  // Genuine 0.9 0.4, impostors 0.6 0.1: ROC (0,0) (0,.5) (.5,.5) (.5,1) (1,1); FAR = FRR = 0.5 at (.5,.5).
  EXPECT_DOUBLE_EQ(equal_error_rate(roc_curve({genuine(0.9), genuine(0.4), impostor(0.6), impostor(0.1)})), 0.5);
  // Separated: 0; reversed: 1.
  EXPECT_DOUBLE_EQ(equal_error_rate(roc_curve({genuine(0.9), impostor(0.1)})), 0.0);
  EXPECT_DOUBLE_EQ(equal_error_rate(roc_curve({genuine(0.1), impostor(0.9)})), 1.0);
  // Genuine 0.9 0.5 0.4, impostors 0.7 0.2: ROC (0,1/3) (1/2,1/3) (1/2,2/3) (1/2,1) (1,1); far + tar - 1
  // turns positive between (1/2,2/3) and (1/2,1), where FAR = FRR = 1/2.
  EXPECT_DOUBLE_EQ(
      equal_error_rate(roc_curve({genuine(0.9), genuine(0.5), genuine(0.4), impostor(0.7), impostor(0.2)})), 0.5);
}

TEST(EvalMetrics, TarAtFarWithTies) {
  // 10 impostors; FAR 0.1 allows one false accept. The two highest impostors tie at 0.8, so
  // accepting one accepts both: the threshold must reject both (FAR achieved 0).
  std::vector<ScoredPair> pairs = {genuine(0.95), genuine(0.85), genuine(0.8), genuine(0.5)};
  for (double s : {0.8, 0.8, 0.4, 0.3, 0.3, 0.2, 0.2, 0.1, 0.1, 0.0}) pairs.push_back(impostor(s));
  TarAtFar result = tar_at_far(pairs, 0.1);
  EXPECT_TRUE(result.measurable);
  EXPECT_EQ(result.impostors, 10u);
  EXPECT_DOUBLE_EQ(result.threshold, 0.8);
  EXPECT_DOUBLE_EQ(result.achieved_far, 0.0);
  EXPECT_DOUBLE_EQ(result.tar, 0.5);  // 0.95 and 0.85; the genuine 0.8 ties with the impostors
  // FAR 0.2 allows two: the threshold is the third impostor, 0.4.
  result = tar_at_far(pairs, 0.2);
  EXPECT_DOUBLE_EQ(result.threshold, 0.4);
  EXPECT_DOUBLE_EQ(result.achieved_far, 0.2);
  EXPECT_DOUBLE_EQ(result.tar, 1.0);
  // 1e-2 needs 100 impostors.
  EXPECT_FALSE(tar_at_far(pairs, 0.01).measurable);
  // A genuine error is never accepted, even at FAR 1.
  pairs.push_back(failed(true));
  EXPECT_DOUBLE_EQ(tar_at_far(pairs, 1.0).tar, 4.0 / 5);
}

TEST(EvalMetrics, KFoldOnATinyList) {
  // Round robin into 2 folds: fold 0 = pairs 0, 2, 4, 6; fold 1 = pairs 1, 3, 5, 7.
  std::vector<ScoredPair> pairs = {genuine(0.9),  genuine(0.7),  genuine(0.6),   genuine(0.8),
                                   impostor(0.5), impostor(0.2), impostor(0.65), impostor(0.1)};
  KFold k = k_fold(pairs, 2);
  ASSERT_EQ(k.folds.size(), 2u);
  // Fold 0 is tested with fold 1's best threshold: fold 1 = 0.7 0.8 | 0.2 0.1 → 0.7.
  EXPECT_DOUBLE_EQ(k.folds[0].threshold, 0.7);
  // Fold 0 = 0.9 0.6 | 0.5 0.65 at 0.7: 0.9 right, 0.6 wrong, 0.5 right, 0.65 right.
  EXPECT_DOUBLE_EQ(k.folds[0].accuracy, 0.75);
  // Fold 1 is tested with fold 0's best: at 0.6 and at 0.9 three of four are right; lowest wins.
  EXPECT_DOUBLE_EQ(k.folds[1].threshold, 0.6);
  EXPECT_DOUBLE_EQ(k.folds[1].accuracy, 1.0);
  EXPECT_DOUBLE_EQ(k.accuracy_mean, 0.875);
  EXPECT_DOUBLE_EQ(k.accuracy_std, 0.125);
  EXPECT_DOUBLE_EQ(k.threshold_mean, 0.65);
  EXPECT_THROW(k_fold(pairs, 1), std::invalid_argument);
  EXPECT_THROW(k_fold(pairs, 9), std::invalid_argument);
}

TEST(EvalMetrics, RandomImpostorsCrossFoldersAndRepeatWithTheSeed) {
  std::vector<std::string> names = {"A/1.jpg", "A/2.jpg", "B/1.jpg", "B/2.jpg", "C/1.jpg"};
  // 10 pairs in all, 2 within a folder: 8 cross-folder, one of them excluded.
  auto pairs = random_impostors(names, 100, 7, {{0, 2}});
  EXPECT_EQ(pairs.size(), 7u);
  std::set<std::pair<size_t, size_t>> seen;
  for (const auto& [i, j] : pairs) {
    EXPECT_LT(i, j);
    EXPECT_NE(folder_of(names[i]), folder_of(names[j]));
    EXPECT_TRUE(seen.insert({i, j}).second);
  }
  EXPECT_EQ(seen.count({0, 2}), 0u);
  EXPECT_EQ(random_impostors(names, 3, 7), random_impostors(names, 3, 7));
  EXPECT_EQ(folder_of("Name/Name_0001.jpg"), "Name");
  EXPECT_EQ(folder_of("loose.jpg"), "loose.jpg");
}

}  // namespace
}  // namespace faceauth::eval
