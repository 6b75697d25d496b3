#pragma once
// The whole pipeline for one image: decode -> detect -> landmarks -> align -> embed.
// One FaceEngine per thread: it owns its nets, which are not thread-safe.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "vision/checks/attributes.h"
#include "vision/decode/image_decoder.h"
#include "vision/error.h"
#include "vision/face/aligner.h"
#include "vision/face/embedder.h"
#include "vision/face/face_detector.h"
#include "vision/face/face_types.h"
#include "vision/face/landmarker.h"

namespace faceauth {

// Which face is the subject: the largest (a selfie, the service) or the one nearest the
// image centre (LFW's protocol: its photos are cropped around the named person).
enum class Subject { largest, centre };

// A head crop cut tight around the head (a gate camera's portrait crop) often has no face the
// detector accepts: the face fills the frame or touches its edge. A pad retry places the image
// in the middle of a canvas of its mean colour, `canvas` times its longer side, brought to at
// least `min_side` pixels, and detects again. The steps run in order only while no face is
// found, so a photo with a face costs nothing more; a photo without one costs one detection
// pass per step (and the rest of the pipeline once a face is found). Steps chosen on
// hardhats/: docs/attributes.md, "Finding faces in tight crops".
struct PadRetry {
  double canvas = 1.8;
  int min_side = 320;
};
inline const std::vector<PadRetry> kPadSteps = {{1.8, 320}, {2.5, 480}};

struct EngineConfig {
  std::filesystem::path model_dir = default_model_dir();
  DetectorConfig detector;
  std::string landmark_model = "faceapi_landmark68";
  std::string embedding_model = "fused_recognition";
  EmbedderOptions embedding;                              // alignment and flip averaging
  std::filesystem::path heads_dir = default_heads_dir();  // empty: no attribute heads
  DecodeLimits limits;
  Subject subject = Subject::largest;
  // When analyze() finds no face, retry on the image centred on plain canvases (PadRetry).
  // Empty by default; the service uses kPadSteps (src/server/daemon.cpp).
  std::vector<PadRetry> pad_steps;
};

struct StageTimes {  // milliseconds
  double decode = 0, detect = 0, landmarks = 0, align = 0, embed = 0, attributes = 0;
  double total() const { return decode + detect + landmarks + align + embed + attributes; }
};

// From analyze(bytes), coordinates are pixels of the upright image at its full resolution
// (EXIF orientation applied); from analyze_pixels(), pixels of the image given.
struct FaceAnalysis {
  int image_width = 0, image_height = 0;
  ImageFormat format = ImageFormat::unknown;
  int orientation = 1;
  std::vector<FaceBox> faces;  // every face found, the subject first (EngineConfig::subject)
  Landmarks68 landmarks{};     // of faces[0], the subject
  std::vector<float> embedding;
  AttributeScores attributes;  // of faces[0]: the ones asked for
  AttributeFeatures
      attribute_features;        // their input (empty when none was asked for); the screen liveness head reuses it
  std::string model_version;     // the embedding pipeline (Embedder::model_version)
  ScoreCalibration calibration;  // raw similarity -> 0-100 for that pipeline
  StageTimes ms;
  // The decoded, upright pixels the stages ran on (BGR, shared, not copied) and their scale:
  // working pixels per pixel of the coordinates above (1 from analyze_pixels()).
  cv::Mat working;
  double working_scale = 1.0;
  bool padded = false;  // found by the pad retry (coordinates are still of the image given)
};

// How far analyze() goes: `detect` stops after face detection (no landmarks, no embedding).
enum class Stages { detect, all };

class FaceEngine {
 public:
  explicit FaceEngine(const EngineConfig& config);

  // `needs`: the attribute scores to compute (Stages::all only).
  Result<FaceAnalysis> analyze(std::span<const uint8_t> bytes, Stages stages = Stages::all,
                               const AttributeNeeds& needs = {});
  // For pixels already decoded (BGR, upright).
  Result<FaceAnalysis> analyze_pixels(const cv::Mat& bgr, Stages stages = Stages::all,
                                      const AttributeNeeds& needs = {});

  const EngineConfig& config() const { return config_; }
  const std::string& model_version() const { return embedder_.model_version(); }
  // Empty when the embedding model's manifest has none for this pipeline.
  const ScoreCalibration& calibration() const { return embedder_.calibration(); }
  AttributeModel& attributes() { return attributes_; }

 private:
  // analyze_pixels() without counting itself in EngineLoad (its callers have).
  Result<FaceAnalysis> analyze_decoded(const cv::Mat& bgr, Stages stages, const AttributeNeeds& needs);
  // One pad retry step (PadRetry) on a working image; `first` when it finds no face either.
  Result<FaceAnalysis> analyze_padded(const cv::Mat& bgr, const PadRetry& step, Stages stages,
                                      const AttributeNeeds& needs, Result<FaceAnalysis> first);

  EngineConfig config_;
  std::unique_ptr<FaceDetector> detector_;
  Landmarker landmarker_;
  Embedder embedder_;
  AttributeModel attributes_;
};

}  // namespace faceauth
