#pragma once
// Image quality measurements of the subject's face and the passive liveness score, computed
// from a FaceAnalysis (its working pixels, faces and landmarks). Pure functions; thread-safe
// with a shared, read-only LivenessModel.

#include <optional>

#include <nlohmann/json.hpp>

#include "vision/checks/liveness.h"
#include "vision/face/face_engine.h"

namespace faceauth {

// What a client can tell the user to fix. Pixels are of the upright image at full resolution.
struct QualityMeasures {
  double eye_distance_px = 0;    // between the eye centres (landmarks 36-41 and 42-47)
  int face_count = 0;            // faces found
  double second_face_ratio = 0;  // area of the second-largest face / the subject's; 0 when alone
  double sharpness = 0;          // 10 x std. dev. of the Laplacian / std. dev. of the luma, inner face
  double brightness = 0;         // mean luma (0-255) of the inner face
  double yaw = 0, pitch = 0;     // degrees from the landmarks, approximate; 0 = facing the camera
  // How well the landmarks fit the face found: the distance between the jaw's ends (landmarks 0
  // and 16, at the ears) / the detector box's width. About 0.6-1.0 on faces; landmarks that
  // slid onto a chin, neck or hat measure less (docs/attributes.md, "Round 6"). 0 without a box.
  double landmark_fit = 0;
};

struct FaceChecks {
  QualityMeasures quality;
  std::optional<double> liveness;  // 0-100 with one decimal, live = high; set when a model was given
  double ms = 0;                   // time to compute both
};

// Measures quality; scores liveness when `liveness` is not null. `analysis` must come from
// Stages::all (landmarks present) and carry its working pixels.
FaceChecks check_face(const FaceAnalysis& analysis, const LivenessModel* liveness);

// {"liveness_score": 97.3, "quality": {...}} for `faceauth analyze` and the API.
nlohmann::json quality_json(const QualityMeasures& quality);
nlohmann::json liveness_quality_json(const FaceChecks& checks);

}  // namespace faceauth
