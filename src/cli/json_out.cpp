#include "cli/json_out.h"

#include <cmath>

namespace faceauth {

double round_to(double value, int decimals) {
  double factor = std::pow(10.0, decimals);
  return std::round(value * factor) / factor;
}

nlohmann::json box_json(const FaceBox& face) {
  return {{"x", round_to(face.box.x, 1)},
          {"y", round_to(face.box.y, 1)},
          {"width", round_to(face.box.width, 1)},
          {"height", round_to(face.box.height, 1)},
          {"score", round_to(face.score, 4)}};
}

nlohmann::json landmarks_json(const Landmarks68& landmarks) {
  nlohmann::json points = nlohmann::json::array();
  for (const cv::Point2f& p : landmarks) points.push_back({round_to(p.x, 1), round_to(p.y, 1)});
  return points;
}

nlohmann::json times_json(const StageTimes& ms) {
  return {{"decode", round_to(ms.decode, 2)},       {"detect", round_to(ms.detect, 2)},
          {"landmarks", round_to(ms.landmarks, 2)}, {"align", round_to(ms.align, 2)},
          {"embed", round_to(ms.embed, 2)},         {"attributes", round_to(ms.attributes, 2)},
          {"total", round_to(ms.total(), 2)}};
}

nlohmann::json analysis_json(const FaceAnalysis& analysis) {
  nlohmann::json faces = nlohmann::json::array();
  for (const FaceBox& face : analysis.faces) faces.push_back(box_json(face));
  if (!analysis.embedding.empty()) faces[0]["landmarks"] = landmarks_json(analysis.landmarks);
  return {{"width", analysis.image_width},
          {"height", analysis.image_height},
          {"format", image_format_name(analysis.format)},
          {"orientation", analysis.orientation},
          {"face_count", analysis.faces.size()},
          {"faces", faces},
          {"model_version", analysis.model_version},
          {"ms", times_json(analysis.ms)}};
}

nlohmann::json error_json(const Error& error) {
  return {{"error", error_code_name(error.code)}, {"message", error.message}};
}

}  // namespace faceauth
