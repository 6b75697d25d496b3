#include "vision/face/face_engine.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <opencv2/imgproc.hpp>

namespace faceauth {
namespace {

class Stopwatch {
 public:
  double lap() {
    auto now = std::chrono::steady_clock::now();
    double ms = std::chrono::duration<double, std::milli>(now - last_).count();
    last_ = now;
    return ms;
  }

 private:
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

float area(const FaceBox& face) { return face.box.width * face.box.height; }

// Working-image coordinates -> the upright image at its full resolution.
void to_source_pixels(FaceAnalysis& analysis, double scale) {
  const float factor = static_cast<float>(1.0 / scale);
  for (FaceBox& face : analysis.faces) {
    face.box = cv::Rect2f(face.box.x * factor, face.box.y * factor, face.box.width * factor, face.box.height * factor);
  }
  for (cv::Point2f& point : analysis.landmarks) point *= factor;
}

double centre_distance(const FaceBox& box, cv::Size image) {
  return std::hypot(box.box.x + box.box.width / 2 - image.width / 2.0,
                    box.box.y + box.box.height / 2 - image.height / 2.0);
}

// Subject first; the rest largest first.
void order_faces(std::vector<FaceBox>& faces, cv::Size image, Subject subject) {
  std::stable_sort(faces.begin(), faces.end(), [](const FaceBox& a, const FaceBox& b) { return area(a) > area(b); });
  if (subject == Subject::largest) return;
  auto nearest = std::min_element(faces.begin(), faces.end(), [&](const FaceBox& a, const FaceBox& b) {
    return centre_distance(a, image) < centre_distance(b, image);
  });
  std::rotate(faces.begin(), nearest, nearest + 1);
}

// The image in the middle of a canvas of its mean colour (PadRetry); `offset` and `scale` map
// image pixels to canvas pixels (canvas = image * scale + offset).
cv::Mat pad_canvas(const cv::Mat& bgr, const PadRetry& pad, cv::Point2f& offset, double& scale) {
  const int side = std::max(bgr.cols, bgr.rows);
  scale = std::max(1.0, pad.min_side / (pad.canvas * side));
  cv::Mat resized;
  cv::resize(bgr, resized, {}, scale, scale, scale > 1 ? cv::INTER_CUBIC : cv::INTER_AREA);
  const int canvas_side = static_cast<int>(std::lround(pad.canvas * side * scale));
  cv::Mat canvas(canvas_side, canvas_side, CV_8UC3, cv::mean(bgr));
  const int x = (canvas_side - resized.cols) / 2, y = (canvas_side - resized.rows) / 2;
  resized.copyTo(canvas(cv::Rect(x, y, resized.cols, resized.rows)));
  offset = cv::Point2f(static_cast<float>(x), static_cast<float>(y));
  return canvas;
}

// Canvas pixels -> pixels of the image the canvas was made from.
void from_canvas(FaceAnalysis& analysis, cv::Point2f offset, double scale, const cv::Mat& bgr) {
  const float factor = static_cast<float>(1.0 / scale);
  for (FaceBox& face : analysis.faces) {
    face.box = cv::Rect2f((face.box.x - offset.x) * factor, (face.box.y - offset.y) * factor, face.box.width * factor,
                          face.box.height * factor);
  }
  for (cv::Point2f& point : analysis.landmarks) point = (point - offset) * factor;
  analysis.image_width = bgr.cols;
  analysis.image_height = bgr.rows;
  analysis.working = bgr;
  analysis.padded = true;
}

}  // namespace

FaceEngine::FaceEngine(const EngineConfig& config)
    : config_(config),
      detector_(make_face_detector(config.model_dir, config.detector)),
      landmarker_(config.model_dir, config.landmark_model),
      embedder_(config.model_dir, config.embedding_model, config.embedding),
      attributes_(config.model_dir, config.landmark_model, config.heads_dir) {}

Result<FaceAnalysis> FaceEngine::analyze(std::span<const uint8_t> bytes, Stages stages, const AttributeNeeds& needs) {
  EngineLoad::Hold at_work;  // from the decode on
  Stopwatch watch;
  Result<DecodedImage> image = decode_image(bytes, config_.limits);
  if (!image) return image.error();
  double decode_ms = watch.lap();
  Result<FaceAnalysis> analysis = analyze_decoded(image->bgr, stages, needs);
  for (const PadRetry& step : config_.pad_steps) {
    if (analysis || analysis.error().code != ErrorCode::no_face) break;
    analysis = analyze_padded(image->bgr, step, stages, needs, analysis);
  }
  if (analysis) {
    // The passes that found no face and the canvases of the retry count as detection.
    analysis->ms.detect += std::max(0.0, watch.lap() - analysis->ms.total());
    analysis->ms.decode = decode_ms;
    analysis->format = image->format;
    analysis->orientation = image->orientation;
    to_source_pixels(*analysis, image->scale);
    analysis->working_scale = image->scale;
    bool turned = image->orientation >= 5;  // orientations 5-8 swap width and height
    analysis->image_width = turned ? image->source_height : image->source_width;
    analysis->image_height = turned ? image->source_width : image->source_height;
  }
  return analysis;
}

Result<FaceAnalysis> FaceEngine::analyze_padded(const cv::Mat& bgr, const PadRetry& step, Stages stages,
                                                const AttributeNeeds& needs, Result<FaceAnalysis> first) {
  cv::Point2f offset;
  double scale = 1.0;
  cv::Mat canvas = pad_canvas(bgr, step, offset, scale);
  Result<FaceAnalysis> second = analyze_decoded(canvas, stages, needs);
  if (!second) return first;
  from_canvas(*second, offset, scale, bgr);
  return second;
}

Result<FaceAnalysis> FaceEngine::analyze_pixels(const cv::Mat& bgr, Stages stages, const AttributeNeeds& needs) {
  EngineLoad::Hold at_work;
  return analyze_decoded(bgr, stages, needs);
}

Result<FaceAnalysis> FaceEngine::analyze_decoded(const cv::Mat& bgr, Stages stages, const AttributeNeeds& needs) {
  FaceAnalysis analysis;
  analysis.image_width = bgr.cols;
  analysis.image_height = bgr.rows;
  analysis.working = bgr;
  analysis.model_version = embedder_.model_version();
  analysis.calibration = embedder_.calibration();
  Stopwatch watch;
  analysis.faces = detector_->detect(bgr);
  analysis.ms.detect = watch.lap();
  if (analysis.faces.empty()) return make_error(ErrorCode::no_face, "no face was found in the image");
  order_faces(analysis.faces, bgr.size(), config_.subject);
  if (stages == Stages::detect) return analysis;
  analysis.landmarks = landmarker_.locate(bgr, analysis.faces.front());
  analysis.ms.landmarks = watch.lap();
  std::vector<cv::Mat> chips = embedder_.cut_chips(bgr, analysis.landmarks);
  analysis.ms.align = watch.lap();
  analysis.embedding = embedder_.embed(chips);
  analysis.ms.embed = watch.lap();
  if (needs.any() || needs.features) {
    analysis.attribute_features = attributes_.features(bgr, analysis.landmarks);
    analysis.attributes = attributes_.score(analysis.attribute_features, needs);
  }
  analysis.ms.attributes = watch.lap();
  return analysis;
}

}  // namespace faceauth
