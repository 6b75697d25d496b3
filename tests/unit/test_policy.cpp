// The decision is a pure function of scores and policy: table-tested.
#include <gtest/gtest.h>

#include "policy/policy.h"

namespace faceauth {
namespace {

std::vector<std::string> codes(const Decision& decision) {
  std::vector<std::string> out;
  for (const FailCode& fail : decision.fails) out.push_back(fail.code);
  return out;
}

struct Row {
  const char* name;
  Scores scores;
  Policy policy;
  std::vector<std::string> expected;  // empty: approved
};

Policy all_on() {
  Policy policy;
  policy.face_similarity_threshold = 70;
  policy.occlusion_check = true;
  policy.occluded_threshold = 60;
  policy.face_cover_threshold = 50;
  policy.head_cover_threshold = 50;
  policy.liveness_threshold = 40;
  return policy;
}

TEST(Policy, DecisionTable) {
  const std::vector<Row> rows = {
      {"similarity at threshold passes", {70.0, {}, {}, {}, {}}, {70}, {}},
      {"similarity below fails", {69.9, {}, {}, {}, {}}, {70}, {"face_compare_underscore"}},
      {"checks off ignore bad scores", {90.0, 1.0, 1.0, 1.0, 1.0}, {70}, {}},
      {"everything passes", {90.0, 60.0, 50.0, 50.0, 40.0}, all_on(), {}},
      {"everything fails, in the vendor's order",
       {10.0, 10.0, 10.0, 10.0, 10.0},
       all_on(),
       {"face_compare_underscore", "Face_Occluded_fail", "Face_cover_fail", "Head_cover_fail", "Liveness_fail"}},
      {"only occlusion fails", {90.0, 59.9, 90.0, 90.0, 90.0}, all_on(), {"Face_Occluded_fail"}},
      {"only head cover fails", {90.0, 90.0, 90.0, 49.0, 90.0}, all_on(), {"Head_cover_fail"}},
      {"a check that is on but unmeasured fails",
       {90.0, {}, {}, {}, {}},
       all_on(),
       {"Face_Occluded_fail", "Face_cover_fail", "Head_cover_fail", "Liveness_fail"}},
  };
  for (const Row& row : rows) {
    Decision decision = decide(row.scores, row.policy);
    EXPECT_EQ(codes(decision), row.expected) << row.name;
    EXPECT_EQ(decision.approved, row.expected.empty()) << row.name;
  }
}

TEST(Policy, CommentsAreTheVendorTable) {
  Decision decision = decide({10.0, 10.0, 10.0, 10.0, {}}, all_on());
  ASSERT_EQ(decision.fails.size(), 5u);
  EXPECT_EQ(decision.fails[0].comment, "Face compare similarity score is lower than the threshold");
  EXPECT_EQ(decision.fails[1].comment, "Face is occluded");
  EXPECT_EQ(decision.fails[2].comment, "Protection equipment is not found on Face");
  EXPECT_EQ(decision.fails[3].comment, "Protection equipment is not found on Head");
}

TEST(Policy, ScoresShowOnlyTheChecksThatAreOn) {
  Scores scores{88.5, 90.0, 80.0, 70.0, 60.0};
  Policy policy;
  EXPECT_EQ(scores_json(scores, policy), (nlohmann::json{{"face_similarity_score", 88.5}}));
  policy.head_cover_threshold = 30;
  EXPECT_EQ(scores_json(scores, policy), (nlohmann::json{{"face_similarity_score", 88.5}, {"head_cover_score", 70.0}}));
}

TEST(Policy, JsonRoundTripAndValidation) {
  Policy policy = all_on();
  EXPECT_EQ(policy_from_json(policy_json(policy)), policy);
  Policy changed = policy_from_json({{"faceSimilarity_threshold", 80}, {"occluded_threshold", false}}, policy);
  EXPECT_EQ(changed.face_similarity_threshold, 80);
  EXPECT_FALSE(changed.occlusion_check);
  EXPECT_EQ(changed.head_cover_threshold, 50);
  EXPECT_THROW(policy_from_json({{"faceSimilarity_threshold", 101}}), std::invalid_argument);
  EXPECT_THROW(policy_from_json({{"faceCover_threshold", "high"}}), std::invalid_argument);
  EXPECT_THROW(policy_from_json({{"occluded_threshold", 3}}), std::invalid_argument);
  EXPECT_THROW(policy_from_json(nlohmann::json::array()), std::invalid_argument);
}

TEST(Policy, LockoutIsOnByDefaultAndRoundTrips) {
  Policy policy;
  EXPECT_TRUE(policy.lockout.on());
  EXPECT_EQ(policy.lockout, (LockoutPolicy{5, 900, 900}));
  nlohmann::json doc = policy_json(policy);
  EXPECT_EQ(doc["lockout"], (nlohmann::json{{"failures", 5}, {"window_seconds", 900}, {"lock_seconds", 900}}));
  Policy changed = policy_from_json({{"lockout", {{"failures", 0}}}}, policy);
  EXPECT_FALSE(changed.lockout.on());
  EXPECT_EQ(changed.lockout.window_seconds, 900);  // fields absent keep their value
  EXPECT_EQ(policy_from_json(policy_json(changed)), changed);
  // A stored policy from before the lockout existed reads with the defaults.
  EXPECT_EQ(policy_from_json({{"faceSimilarity_threshold", 60}}).lockout, LockoutPolicy{});
}

TEST(Policy, LockoutValuesAreValidated) {
  EXPECT_THROW(policy_from_json({{"lockout", {{"failures", -1}}}}), std::invalid_argument);
  EXPECT_THROW(policy_from_json({{"lockout", {{"failures", 1001}}}}), std::invalid_argument);
  EXPECT_THROW(policy_from_json({{"lockout", {{"failures", "5"}}}}), std::invalid_argument);
  EXPECT_THROW(policy_from_json({{"lockout", {{"failures", 2.5}}}}), std::invalid_argument);
  EXPECT_THROW(policy_from_json({{"lockout", {{"window_seconds", 0}}}}), std::invalid_argument);
  EXPECT_THROW(policy_from_json({{"lockout", {{"lock_seconds", 30 * 86400 + 1}}}}), std::invalid_argument);
  EXPECT_THROW(policy_from_json({{"lockout", 5}}), std::invalid_argument);
  try {
    policy_from_json({{"lockout", {{"lock_seconds", -3}}}});
    FAIL() << "accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("lockout.lock_seconds"), std::string::npos) << e.what();
  }
}

TEST(Policy, OnlyTheSimilarityFailureCountsTowardsTheLockout) {
  EXPECT_TRUE(similarity_failed(decide({10.0, {}, {}, {}, {}}, Policy{})));
  EXPECT_FALSE(similarity_failed(decide({90.0, {}, {}, {}, {}}, Policy{})));
  EXPECT_FALSE(similarity_failed(decide({90.0, {}, {}, {}, 10.0}, all_on())));  // another check failed
  EXPECT_TRUE(similarity_failed(decide({10.0, 10.0, 10.0, 10.0, 10.0}, all_on())));
}

TEST(Policy, ScoreHoldsNumbersOnlyAndQualityIsApart) {
  Scores scores{88.5, {}, {}, {}, {}};
  scores.quality = QualityMeasures{};
  Policy policy;  // quality checks are on by default
  nlohmann::json score = scores_json(scores, policy);
  EXPECT_EQ(score, (nlohmann::json{{"face_similarity_score", 88.5}}));
  for (const auto& item : score.items()) EXPECT_TRUE(item.value().is_number()) << item.key();
  EXPECT_TRUE(quality_measures_json(scores, policy).is_object());
  policy.quality = QualityPolicy{0, 0, 0, 0, 0, 0, 0};
  EXPECT_TRUE(quality_measures_json(scores, policy).is_null());
  scores.quality.reset();
  EXPECT_TRUE(quality_measures_json(scores, Policy{}).is_null());
}

TEST(Policy, ARequiredFaceCoverIsAcceptedWithWarnings) {
  Policy policy;
  EXPECT_TRUE(policy_warnings(policy).empty());
  EXPECT_EQ(policy_warnings_json(policy), nlohmann::json::array());
  policy.face_cover_threshold = 50;
  ASSERT_EQ(policy_warnings(policy).size(), 1u);  // a mask lowers similarity
  EXPECT_EQ(policy_warnings(policy)[0].code, "face_cover_lowers_similarity");
  policy.face_cover_threshold = 0;
  policy.liveness_threshold = 50;
  EXPECT_TRUE(policy_warnings(policy).empty());  // liveness alone is fine
  policy.face_cover_threshold = 50;
  nlohmann::json warnings = policy_warnings_json(policy);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_EQ(warnings[1]["code"], "face_cover_with_liveness");
  EXPECT_NE(warnings[1]["message"].get<std::string>().find("mask"), std::string::npos);
  EXPECT_EQ(policy_from_json(policy_json(policy)).liveness_threshold, 50);  // still accepted as set
}

TEST(Policy, TheJsonShowsTheQualityLimitsApplied) {
  Policy policy;
  policy.head_cover_threshold = 50;
  nlohmann::json doc = policy_json(policy);
  EXPECT_EQ(doc["quality"]["min_eye_distance_px"], 20);  // the project's own
  EXPECT_EQ(doc["quality"]["min_landmark_fit"], 0);
  EXPECT_EQ(doc["quality_applied"]["min_eye_distance_px"], kPpeMinEyeDistancePx);  // tightened by the PPE rule
  EXPECT_EQ(doc["quality_applied"]["min_landmark_fit"], kPpeMinLandmarkFit);
  EXPECT_EQ(doc["quality_applied"]["max_pitch"], kPpeMaxPitch);
  EXPECT_EQ(doc["quality_applied"].size(), doc["quality"].size());
  EXPECT_EQ(policy_from_json(doc), policy);  // read only: a GET put back changes nothing
  doc["quality_applied"]["min_eye_distance_px"] = 99;
  EXPECT_EQ(policy_from_json(doc), policy);
  EXPECT_EQ(policy_json(Policy{})["quality_applied"], policy_json(Policy{})["quality"]);  // nothing to tighten
}

}  // namespace
}  // namespace faceauth
