#pragma once
// JSON views of engine results for the command-line tool.

#include <nlohmann/json.hpp>

#include "vision/face/face_engine.h"

namespace faceauth {

nlohmann::json box_json(const FaceBox& face);
nlohmann::json landmarks_json(const Landmarks68& landmarks);
nlohmann::json times_json(const StageTimes& ms);
// Faces, the subject's landmarks and stage times; no embedding.
nlohmann::json analysis_json(const FaceAnalysis& analysis);
nlohmann::json error_json(const Error& error);
double round_to(double value, int decimals);

}  // namespace faceauth
