#pragma once
// A FaceAuth project's policy and the decision it makes: a pure function of scores and
// policy, no I/O. Fail codes and comments are the vendor's, in the vendor table's order.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vision/checks/quality.h"

namespace faceauth {

// Image quality limits (ours). 0 turns a check off. Defaults suit 960x720 selfies and pass
// every face-api demo photo; see docs/liveness.md for how they were chosen.
struct QualityPolicy {
  double min_eye_distance_px = 20;   // Face_too_small_fail below (pixels between the eye centres)
  double max_second_face_ratio = 0;  // Multiple_faces_fail above (second face area / subject's); off
  double min_sharpness = 1.5;        // Blur_fail below (QualityMeasures::sharpness)
  double min_brightness = 40;        // Exposure_fail below (mean face luma 0-255)
  double max_brightness = 230;       // Exposure_fail above
  double max_yaw = 45;               // Pose_fail beyond (degrees)
  double max_pitch = 40;             // Pose_fail beyond (degrees)
  double min_landmark_fit = 0;       // Pose_fail below (QualityMeasures::landmark_fit); off

  bool any_on() const;
  bool operator==(const QualityPolicy&) const = default;
};

// Lockout of a submission after repeated failed similarity checks (ours): `failures`
// face_compare_underscore rejections of one submission in one FaceAuth project within
// `window_seconds` lock it for `lock_seconds` (429 too_many_requests, no face engine run).
// failures 0 turns it off. Defaults: 5 failures in 15 minutes lock for 15 minutes.
struct LockoutPolicy {
  int failures = 5;
  int window_seconds = 900;
  int lock_seconds = 900;

  bool on() const { return failures > 0; }
  bool operator==(const LockoutPolicy&) const = default;
};

// Vendor names. Thresholds are 0-100 on the score scale; 0 turns a PPE or liveness check off.
struct Policy {
  double face_similarity_threshold = 70.0;  // faceSimilarity_threshold (70 = FAR 1e-3)
  bool occlusion_check = false;             // occluded_threshold on/off
  double occluded_threshold = 50.0;         // ours: the not-occluded score must reach this
  double face_cover_threshold = 0.0;        // faceCover_threshold (0 = off; on = equipment required)
  double head_cover_threshold = 0.0;        // headCover_threshold
  double liveness_threshold = 0.0;          // liveness_threshold (ours; 0 = off)
  QualityPolicy quality{};                  // quality (ours)
  LockoutPolicy lockout{};                  // lockout (ours)

  bool operator==(const Policy&) const = default;
};

// 0-100 scores, one decimal, higher = more of the good thing. Unset = not measured.
struct Scores {
  double face_similarity = 0.0;
  std::optional<double> occluded;    // not occluded
  std::optional<double> face_cover;  // face protective equipment present
  std::optional<double> head_cover;  // head protective equipment present
  std::optional<double> liveness;    // live person
  // Measurements, not scores: judged when present (the service measures whenever a quality
  // check is on) and shown in `score.quality`.
  std::optional<QualityMeasures> quality{};
};

struct FailCode {
  std::string code;
  std::string comment;
};

struct Decision {
  bool approved = false;
  std::vector<FailCode> fails;  // empty when approved
};

// What a PPE check (face cover or head cover required) needs to be trusted: the attribute heads
// read a 96 px crop of two face widths, so a face with the eyes under 30 px apart is upscaled
// into it, and they were trained and measured on faces turned up to about 30 degrees (see
// docs/attributes.md, "At the gate"). With a PPE check on, the quality limits are tightened to
// these (a limit already stricter stays; a limit that is off is turned on).
constexpr double kPpeMinEyeDistancePx = 30;
constexpr double kPpeMaxYaw = 45;  // the only measured subset: docs/attributes.md
constexpr double kPpeMaxPitch = 30;
// Landmarks that do not fit the face found (the jaw's ends closer than this share of the
// detector box's width: landmarks slid onto a chin, a neck or a hat) place the heads' crop off
// the head, so with a PPE check on such a face is Pose_fail, as a face turned away is. 0.55
// refuses none of 5,895 unmasked and 4 of 537 masked real faces within the other PPE limits (a dog,
// a face drawn on a hat, two clusters; docs/attributes.md, "Round 6").
constexpr double kPpeMinLandmarkFit = 0.55;
// What liveness needs: under 20 px between the eyes a third of live faces score as
// reproductions (docs/liveness.md, "Live faces at construction sites"), so with liveness on the
// face must be at least this large (a larger limit stays; a limit that is off is turned on).
constexpr double kLivenessMinEyeDistancePx = 20;
// The quality limits decide() applies: the policy's, tightened as above when a PPE check or
// liveness is on.
QualityPolicy effective_quality(const Policy& policy);

// The checks a policy turns on, so the engine computes only what is needed.
struct RequiredScores {
  bool occluded = false, face_cover = false, head_cover = false, liveness = false, quality = false;
};
RequiredScores required_scores(const Policy& policy);

// Approved when every check that is on passes. A check that is on but has no score fails.
Decision decide(const Scores& scores, const Policy& policy);

// The `score` object of the response, numbers only as the vendor's: face_similarity_score
// always, the others when on.
nlohmann::json scores_json(const Scores& scores, const Policy& policy);
// The top-level `quality` object (the measurements) when a quality check is on and they were
// measured, else null.
nlohmann::json quality_measures_json(const Scores& scores, const Policy& policy);

// True when the decision has the similarity failure (face_compare_underscore): such attempts
// count towards the lockout.
bool similarity_failed(const Decision& decision);

// What a policy turns on that is known to judge some people wrongly (ours, not the vendor's):
// the policy is still accepted and applied; these go with it so that whoever sets it sees them.
struct PolicyWarning {
  std::string code;
  std::string message;
};
std::vector<PolicyWarning> policy_warnings(const Policy& policy);
// [{"code": ..., "message": ...}], empty when there is nothing to say.
nlohmann::json policy_warnings_json(const Policy& policy);

// A 0-100 threshold field of a JSON object, or `fallback` when absent; throws
// std::invalid_argument naming the field when it is not a number in range.
double threshold_field(const nlohmann::json& doc, const char* name, double fallback);

// Policy <-> JSON with the vendor's field names:
// {"faceSimilarity_threshold": 50, "occluded_threshold": {"enabled": false, "threshold": 50},
//  "faceCover_threshold": 0, "headCover_threshold": 0, "liveness_threshold": 0,
//  "quality": {"min_eye_distance_px": 20, "max_second_face_ratio": 0, "min_sharpness": 1.5,
//              "min_brightness": 40, "max_brightness": 230, "max_yaw": 45, "max_pitch": 40,
//              "min_landmark_fit": 0},
//  "quality_applied": {...},
//  "lockout": {"failures": 5, "window_seconds": 900, "lock_seconds": 900}}
// "quality_applied" (ours, read only: policy_from_json ignores it) is effective_quality() in the
// same fields: the limits a face is judged by, so an attempt's snapshot records them too.
nlohmann::json policy_json(const Policy& policy);
// Fills from the fields present over `base`; throws std::invalid_argument naming the bad
// field when a value is out of range or of the wrong type.
Policy policy_from_json(const nlohmann::json& doc, Policy base = {});

}  // namespace faceauth
