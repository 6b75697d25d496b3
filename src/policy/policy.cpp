#include "policy/policy.h"

#include <algorithm>
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
// Ours, after Liveness_fail.
const FailCode kTooSmallFail{"Face_too_small_fail", "Face is too small"};
const FailCode kMultipleFacesFail{"Multiple_faces_fail", "More than one face is found"};
const FailCode kBlurFail{"Blur_fail", "Face is blurred"};
const FailCode kExposureFail{"Exposure_fail", "Face is too dark or too bright"};
const FailCode kPoseFail{"Pose_fail", "Face is not turned to the camera"};

bool passes(const std::optional<double>& score, double threshold) { return score && *score >= threshold; }

bool beyond(double value, double limit) { return limit > 0 && std::abs(value) > limit; }

void judge_quality(const QualityMeasures& measured, const QualityPolicy& limits, std::vector<FailCode>& fails) {
  if (limits.min_eye_distance_px > 0 && measured.eye_distance_px < limits.min_eye_distance_px) {
    fails.push_back(kTooSmallFail);
  }
  if (beyond(measured.second_face_ratio, limits.max_second_face_ratio)) fails.push_back(kMultipleFacesFail);
  if (limits.min_sharpness > 0 && measured.sharpness < limits.min_sharpness) fails.push_back(kBlurFail);
  if ((limits.min_brightness > 0 && measured.brightness < limits.min_brightness) ||
      beyond(measured.brightness, limits.max_brightness)) {
    fails.push_back(kExposureFail);
  }
  if (beyond(measured.yaw, limits.max_yaw) || beyond(measured.pitch, limits.max_pitch) ||
      (limits.min_landmark_fit > 0 && measured.landmark_fit < limits.min_landmark_fit)) {
    fails.push_back(kPoseFail);
  }
}

// A number of a JSON object within [0, max], or `fallback` when absent.
double limit_field(const nlohmann::json& doc, const char* name, double max, double fallback) {
  if (!doc.contains(name)) return fallback;
  const nlohmann::json& value = doc.at(name);
  if (!value.is_number() || !std::isfinite(value.get<double>()) || value.get<double>() < 0 ||
      value.get<double>() > max) {
    throw std::invalid_argument("quality." + std::string(name) + " must be a number from 0 to " +
                                nlohmann::json(max).dump());
  }
  return value.get<double>();
}

QualityPolicy quality_from_json(const nlohmann::json& doc, QualityPolicy base) {
  if (!doc.is_object()) throw std::invalid_argument("quality must be a JSON object");
  base.min_eye_distance_px = limit_field(doc, "min_eye_distance_px", 1000, base.min_eye_distance_px);
  base.max_second_face_ratio = limit_field(doc, "max_second_face_ratio", 1, base.max_second_face_ratio);
  base.min_sharpness = limit_field(doc, "min_sharpness", 1000, base.min_sharpness);
  base.min_brightness = limit_field(doc, "min_brightness", 255, base.min_brightness);
  base.max_brightness = limit_field(doc, "max_brightness", 255, base.max_brightness);
  base.max_yaw = limit_field(doc, "max_yaw", 90, base.max_yaw);
  base.max_pitch = limit_field(doc, "max_pitch", 90, base.max_pitch);
  base.min_landmark_fit = limit_field(doc, "min_landmark_fit", 2, base.min_landmark_fit);
  return base;
}

// A whole number of a JSON object within [low, high], or `fallback` when absent.
int whole_field(const nlohmann::json& doc, const char* name, int low, int high, int fallback) {
  if (!doc.contains(name)) return fallback;
  const nlohmann::json& value = doc.at(name);
  if (!value.is_number_integer() || value.get<int64_t>() < low || value.get<int64_t>() > high) {
    throw std::invalid_argument("lockout." + std::string(name) + " must be a whole number from " + std::to_string(low) +
                                " to " + std::to_string(high));
  }
  return value.get<int>();
}

LockoutPolicy lockout_from_json(const nlohmann::json& doc, LockoutPolicy base) {
  if (!doc.is_object()) throw std::invalid_argument("lockout must be a JSON object");
  constexpr int kThirtyDays = 30 * 86400;
  base.failures = whole_field(doc, "failures", 0, 1000, base.failures);
  base.window_seconds = whole_field(doc, "window_seconds", 1, kThirtyDays, base.window_seconds);
  base.lock_seconds = whole_field(doc, "lock_seconds", 1, kThirtyDays, base.lock_seconds);
  return base;
}

}  // namespace

bool QualityPolicy::any_on() const {
  return min_eye_distance_px > 0 || max_second_face_ratio > 0 || min_sharpness > 0 || min_brightness > 0 ||
         max_brightness > 0 || max_yaw > 0 || max_pitch > 0 || min_landmark_fit > 0;
}

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

QualityPolicy effective_quality(const Policy& policy) {
  QualityPolicy limits = policy.quality;
  if (policy.liveness_threshold > 0) {
    limits.min_eye_distance_px = std::max(limits.min_eye_distance_px, kLivenessMinEyeDistancePx);
  }
  if (policy.face_cover_threshold <= 0 && policy.head_cover_threshold <= 0) return limits;
  limits.min_eye_distance_px = std::max(limits.min_eye_distance_px, kPpeMinEyeDistancePx);
  limits.max_yaw = limits.max_yaw > 0 ? std::min(limits.max_yaw, kPpeMaxYaw) : kPpeMaxYaw;
  limits.max_pitch = limits.max_pitch > 0 ? std::min(limits.max_pitch, kPpeMaxPitch) : kPpeMaxPitch;
  limits.min_landmark_fit = std::max(limits.min_landmark_fit, kPpeMinLandmarkFit);
  return limits;
}

RequiredScores required_scores(const Policy& policy) {
  return {policy.occlusion_check, policy.face_cover_threshold > 0, policy.head_cover_threshold > 0,
          policy.liveness_threshold > 0, effective_quality(policy).any_on()};
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
  if (on.quality && scores.quality) judge_quality(*scores.quality, effective_quality(policy), decision.fails);
  decision.approved = decision.fails.empty();
  return decision;
}

nlohmann::json scores_json(const Scores& scores, const Policy& policy) {
  RequiredScores on = required_scores(policy);
  nlohmann::json out = {{"face_similarity_score", scores.face_similarity}};
  if (on.occluded && scores.occluded) out["occluded_score"] = *scores.occluded;
  if (on.face_cover && scores.face_cover) out["face_cover_score"] = *scores.face_cover;
  if (on.head_cover && scores.head_cover) out["head_cover_score"] = *scores.head_cover;
  if (on.liveness && scores.liveness) out["liveness_score"] = std::round(*scores.liveness * 10) / 10;
  return out;
}

nlohmann::json quality_measures_json(const Scores& scores, const Policy& policy) {
  if (!required_scores(policy).quality || !scores.quality) return nullptr;
  return quality_json(*scores.quality);
}

bool similarity_failed(const Decision& decision) {
  for (const FailCode& fail : decision.fails) {
    if (fail.code == kSimilarityFail.code) return true;
  }
  return false;
}

std::vector<PolicyWarning> policy_warnings(const Policy& policy) {
  std::vector<PolicyWarning> warnings;
  if (policy.face_cover_threshold > 0) {
    warnings.push_back({"face_cover_lowers_similarity",
                        "A mask hides the lower face: at similarity threshold 70 about three in five masked people "
                        "are rejected (docs/accuracy.md, \"Masked selfies\"); verify identity on a photo without "
                        "the mask"});
  }
  if (policy.face_cover_threshold > 0 && policy.liveness_threshold > 0) {
    warnings.push_back({"face_cover_with_liveness",
                        "Liveness rejects about two in five live people who wear a mask (docs/liveness.md): "
                        "with a face cover required, turn liveness off or expect masked people to be refused"});
  }
  return warnings;
}

nlohmann::json policy_warnings_json(const Policy& policy) {
  nlohmann::json out = nlohmann::json::array();
  for (const PolicyWarning& warning : policy_warnings(policy)) {
    out.push_back({{"code", warning.code}, {"message", warning.message}});
  }
  return out;
}

namespace {

nlohmann::json quality_limits_json(const QualityPolicy& quality) {
  return {{"min_eye_distance_px", quality.min_eye_distance_px},
          {"max_second_face_ratio", quality.max_second_face_ratio},
          {"min_sharpness", quality.min_sharpness},
          {"min_brightness", quality.min_brightness},
          {"max_brightness", quality.max_brightness},
          {"max_yaw", quality.max_yaw},
          {"max_pitch", quality.max_pitch},
          {"min_landmark_fit", quality.min_landmark_fit}};
}

}  // namespace

nlohmann::json policy_json(const Policy& policy) {
  return {{"faceSimilarity_threshold", policy.face_similarity_threshold},
          {"occluded_threshold", {{"enabled", policy.occlusion_check}, {"threshold", policy.occluded_threshold}}},
          {"faceCover_threshold", policy.face_cover_threshold},
          {"headCover_threshold", policy.head_cover_threshold},
          {"liveness_threshold", policy.liveness_threshold},
          {"quality", quality_limits_json(policy.quality)},
          {"quality_applied", quality_limits_json(effective_quality(policy))},
          {"lockout",
           {{"failures", policy.lockout.failures},
            {"window_seconds", policy.lockout.window_seconds},
            {"lock_seconds", policy.lockout.lock_seconds}}}};
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
  if (doc.contains("quality")) base.quality = quality_from_json(doc.at("quality"), base.quality);
  if (doc.contains("lockout")) base.lockout = lockout_from_json(doc.at("lockout"), base.lockout);
  return base;
}

}  // namespace faceauth
