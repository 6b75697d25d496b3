#pragma once
// Face recognition: a face's landmarks in, an L2-normalised descriptor out. The model is one
// net (its manifest names the chip it was trained on) or a fusion of several: the manifest
// lists "parts" (other manifests) with weights, and the descriptor is the concatenation of
// sqrt(weight) * each part's descriptor, so the cosine of two fused descriptors is the
// weighted sum of the parts' cosines.
// Not thread-safe (the nets keep state): one instance per worker.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/dnn.hpp>

#include "vision/face/aligner.h"
#include "vision/face/face_types.h"
#include "vision/face/similarity.h"
#include "vision/nets/inference.h"
#include "vision/nets/model_manifest.h"

namespace faceauth {

// Whether a fusion's parts run on threads of their own at once: lower latency when a core is
// idle, no gain in throughput. `when_idle` does so only while this process has a free core for
// each extra part (engines at work counted by EngineLoad, cores by the process's CPU affinity).
enum class ParallelParts { off, on, when_idle };

// "off", "on" or "auto" (when_idle); std::invalid_argument otherwise.
ParallelParts parse_parallel_parts(const std::string& text);
// The decision of one embed: `busy` engines at work in the process (this one included).
bool run_parts_at_once(ParallelParts mode, size_t parts, int busy, int usable_cpus);

struct EmbedderOptions {
  std::optional<Alignment> alignment;  // empty: the model's own (its manifest's first "alignments")
  bool flip = false;                   // also embed the mirrored chip and average (about twice the time)
  // Default: $FACEAUTH_PARALLEL_EMBED (0/off, 1/on, auto), else off.
  ParallelParts parallel_parts = parallel_parts_default();

  static ParallelParts parallel_parts_default();
};

// Engines analysing an image in this process right now (FaceEngine holds one for each
// analysis, from the decode on) and callers waiting for an engine (EnginePool), and the cores
// the process may run on.
class EngineLoad {
 public:
  class Hold {
   public:
    Hold();
    ~Hold();
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;
  };
  static int busy();
  static int usable_cpus();  // the CPU affinity's count (taskset), at least 1
};

class Embedder {
 public:
  // Throws std::runtime_error on a bad manifest or model file, std::invalid_argument on an
  // alignment the model does not take.
  Embedder(const std::filesystem::path& model_dir, const std::string& model_name, EmbedderOptions options = {});

  // The chips of a face, one per part, cut from `image` (BGR 8-bit) by its landmarks.
  std::vector<cv::Mat> cut_chips(const cv::Mat& image, const Landmarks68& landmarks) const;
  // The descriptor of the chips cut_chips() made.
  std::vector<float> embed(const std::vector<cv::Mat>& chips);
  // The pipeline that makes comparable descriptors: model version(s), alignment, flip. Two
  // descriptors are comparable only when their versions are equal.
  const std::string& model_version() const { return version_; }
  // Raw similarity -> 0-100 for this pipeline, from the manifest's "calibration"; empty
  // when it has none (a new model before tools/eval/calibrate.py ran).
  const ScoreCalibration& calibration() const { return calibration_; }

 private:
  struct Part {
    ModelManifest manifest;
    InferenceNet net;
    ChipTemplate chip;
    double weight = 1.0;
  };

  static Part load_part(const std::filesystem::path& model_dir, const std::string& name,
                        std::optional<Alignment> alignment, double weight);
  std::vector<float> run(Part& part, const cv::Mat& chip);
  std::vector<float> embed_part(Part& part, const cv::Mat& chip);

  std::vector<Part> parts_;
  bool flip_ = false;
  ParallelParts parallel_ = ParallelParts::off;
  std::string version_;
  ScoreCalibration calibration_;
};

}  // namespace faceauth
