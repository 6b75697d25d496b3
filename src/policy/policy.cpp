#include "policy/policy.h"

#include <cmath>
#include <stdexcept>

namespace faceauth {
namespace {

// The vendor's failure table, in its order; Liveness_fail is ours and comes last.
const FailCode kSimilarityFail{"face_compare_underscore", "Face compare similarity score is lower than the threshold"};
const FailCode kOccludedFail{"Face_Occluded_fail", "Face is occluded"};
const FailCode kFaceCoverFail{"Face_cover_fail", "Protection equipment is not found on Face"};
const FailCode kHeadCoverFail{"Head_cover_fail", "Protection equipment is not found on Head"};
const FailCode kLivenessFail{"Liveness_fail", "Face liveness score is lower than the threshold"};

bool passes(const std::optional<double>& score, double threshold) { return score && *score >= threshold; }

}  // namespace

double threshold_field(const nlohmann::json& doc, const char* name, double fallback) {
  if (!doc.contains(name)) return fallback;
  const nlohmann::json& value = doc.at(name);
  if (!value.is_number()) throw std::invalid_argument(std::string(name) + " must be a number");
  double number = value.get<double>();
  if (!std::isfinite(number) || number < 0 || number > 100) {
    throw std::invalid_argument(std::string(name) + " must be between 0 and 100");
  }
  return number;
}

RequiredScores required_scores(const Policy& policy) {
  return {policy.occlusion_check, policy.face_cover_threshold > 0, policy.head_cover_threshold > 0,
          policy.liveness_threshold > 0};
}

Decision decide(const Scores& scores, const Policy& policy) {
  RequiredScores on = required_scores(policy);
  Decision decision;
  if (scores.face_similarity < policy.face_similarity_threshold) decision.fails.push_back(kSimilarityFail);
  if (on.occluded && !passes(scores.occluded, policy.occluded_threshold)) decision.fails.push_back(kOccludedFail);
  if (on.face_cover && !passes(scores.face_cover, policy.face_cover_threshold)) {
    decision.fails.push_back(kFaceCoverFail);
  }
  if (on.head_cover && !passes(scores.head_cover, policy.head_cover_threshold)) {
    decision.fails.push_back(kHeadCoverFail);
  }
  if (on.liveness && !passes(scores.liveness, policy.liveness_threshold)) decision.fails.push_back(kLivenessFail);
  decision.approved = decision.fails.empty();
  return decision;
}

nlohmann::json scores_json(const Scores& scores, const Policy& policy) {
  RequiredScores on = required_scores(policy);
  nlohmann::json out = {{"face_similarity_score", scores.face_similarity}};
  if (on.occluded && scores.occluded) out["occluded_score"] = *scores.occluded;
  if (on.face_cover && scores.face_cover) out["face_cover_score"] = *scores.face_cover;
  if (on.head_cover && scores.head_cover) out["head_cover_score"] = *scores.head_cover;
  if (on.liveness && scores.liveness) out["liveness_score"] = *scores.liveness;
  return out;
}

nlohmann::json policy_json(const Policy& policy) {
  return {{"faceSimilarity_threshold", policy.face_similarity_threshold},
          {"occluded_threshold", {{"enabled", policy.occlusion_check}, {"threshold", policy.occluded_threshold}}},
          {"faceCover_threshold", policy.face_cover_threshold},
          {"headCover_threshold", policy.head_cover_threshold},
          {"liveness_threshold", policy.liveness_threshold}};
}

Policy policy_from_json(const nlohmann::json& doc, Policy base) {
  if (!doc.is_object()) throw std::invalid_argument("the policy must be a JSON object");
  base.face_similarity_threshold = threshold_field(doc, "faceSimilarity_threshold", base.face_similarity_threshold);
  if (doc.contains("occluded_threshold")) {
    const nlohmann::json& occluded = doc.at("occluded_threshold");
    if (occluded.is_boolean()) {
      base.occlusion_check = occluded.get<bool>();
    } else if (occluded.is_object()) {
      if (occluded.contains("enabled")) {
        if (!occluded.at("enabled").is_boolean()) {
          throw std::invalid_argument("occluded_threshold.enabled must be true or false");
        }
        base.occlusion_check = occluded.at("enabled").get<bool>();
      }
      base.occluded_threshold = threshold_field(occluded, "threshold", base.occluded_threshold);
    } else {
      throw std::invalid_argument("occluded_threshold must be true, false or {\"enabled\", \"threshold\"}");
    }
  }
  base.face_cover_threshold = threshold_field(doc, "faceCover_threshold", base.face_cover_threshold);
  base.head_cover_threshold = threshold_field(doc, "headCover_threshold", base.head_cover_threshold);
  base.liveness_threshold = threshold_field(doc, "liveness_threshold", base.liveness_threshold);
  return base;
}

}  // namespace faceauth
