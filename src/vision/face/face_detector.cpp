#include "vision/face/face_detector.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

#include "vision/nets/inference.h"
#include "vision/nets/model_manifest.h"

namespace faceauth {
namespace {

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// The image placed at the top-left of a black square (face-api's padToSquare for detectors)
// and resized to size x size. Returns the square's side in image pixels.
double letterbox(const cv::Mat& bgr, int size, cv::Mat& out) {
  int side = std::max(bgr.cols, bgr.rows);
  double scale = static_cast<double>(size) / side;
  cv::Mat resized;
  cv::resize(bgr, resized, cv::Size(std::max(1, cvRound(bgr.cols * scale)), std::max(1, cvRound(bgr.rows * scale))), 0,
             0, scale < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
  out = cv::Mat::zeros(size, size, bgr.type());
  resized.copyTo(out(cv::Rect(0, 0, std::min(size, resized.cols), std::min(size, resized.rows))));
  return side;
}

void clip_boxes(std::vector<FaceBox>& boxes, cv::Size size) {
  cv::Rect2f frame(0, 0, static_cast<float>(size.width), static_cast<float>(size.height));
  for (FaceBox& face : boxes) face.box &= frame;
  std::erase_if(boxes, [](const FaceBox& f) { return f.box.width <= 1 || f.box.height <= 1; });
}

// What every network detector shares: the manifest and net, the thresholds (the manifest's
// unless the configuration sets them), and the steps around decoding: letterbox, forward,
// decode, non-maximum suppression, size filter, clipping.
class NetDetector : public FaceDetector {
 public:
  NetDetector(const std::filesystem::path& dir, const DetectorConfig& config, float default_nms_iou)
      : manifest_(load_manifest(dir, config.model)) {
    score_threshold_ = config.score_threshold.value_or(manifest_.raw.value("score_threshold", 0.5f));
    nms_iou_ = config.nms_iou.value_or(manifest_.raw.value("nms_iou_threshold", default_nms_iou));
    min_face_size_ = config.min_face_size;
  }

  std::vector<FaceBox> detect(const cv::Mat& bgr) override {
    cv::Mat input;
    double side = letterbox(bgr, manifest_.input.width, input);
    std::vector<cv::Mat> outs = net_.forward(make_blob(input, manifest_));
    std::vector<FaceBox> boxes = non_max_suppression(decode(outs, side), nms_iou_);
    std::erase_if(boxes, [&](const FaceBox& f) { return std::min(f.box.width, f.box.height) < min_face_size_; });
    clip_boxes(boxes, bgr.size());
    return boxes;
  }

 protected:
  virtual std::vector<std::string> output_names() const { return manifest_.outputs; }
  // Loads the net for output_names(): the last step of each detector's constructor.
  void open_net(const std::filesystem::path& dir) { net_ = InferenceNet(dir, manifest_, output_names()); }
  // Boxes in pixels of the image from the net's outputs; `side` is the letterboxed square's
  // side in image pixels.
  virtual std::vector<FaceBox> decode(const std::vector<cv::Mat>& outs, double side) const = 0;

  ModelManifest manifest_;
  InferenceNet net_;
  float score_threshold_ = 0.5f, nms_iou_ = 0.4f, min_face_size_ = 20.0f;
};

// face-api's Tiny Face Detector (Tiny-YOLOv2 style): a grid of cells, each with 5 anchor
// boxes of (tx, ty, tw, th, score). The ONNX output is NCHW: channel = anchor * 5 + field.
class TinyFaceDetector : public NetDetector {
 public:
  TinyFaceDetector(const std::filesystem::path& dir, const DetectorConfig& config) : NetDetector(dir, config, 0.4f) {
    for (const auto& anchor : manifest_.raw.at("anchors")) anchors_.emplace_back(anchor[0], anchor[1]);
    open_net(dir);
  }

 private:
  std::vector<FaceBox> decode(const std::vector<cv::Mat>& outs, double side) const override {
    const cv::Mat& out = outs.at(0);
    const int cells = out.size[2];
    const size_t plane = static_cast<size_t>(cells) * cells;
    const float* data = out.ptr<float>();
    std::vector<FaceBox> boxes;
    for (size_t a = 0; a < anchors_.size(); ++a) {
      const float* fields = data + a * 5 * plane;
      for (int row = 0; row < cells; ++row) {
        for (int col = 0; col < cells; ++col) {
          size_t at = static_cast<size_t>(row) * cells + col;
          float score = sigmoid(fields[4 * plane + at]);
          if (score <= score_threshold_) continue;
          double cx = (col + double{sigmoid(fields[at])}) / cells;
          double cy = (row + double{sigmoid(fields[plane + at])}) / cells;
          double w = std::exp(fields[2 * plane + at]) * anchors_[a].x / cells;
          double h = std::exp(fields[3 * plane + at]) * anchors_[a].y / cells;
          cv::Rect2f box(static_cast<float>((cx - w / 2) * side), static_cast<float>((cy - h / 2) * side),
                         static_cast<float>(w * side), static_cast<float>(h * side));
          boxes.push_back({box, score, std::nullopt});
        }
      }
    }
    return boxes;
  }

  std::vector<cv::Point2d> anchors_;
};

// MediaPipe BlazeFace as shipped in human-models: front (128 px, strides 8 and 16), back
// (256 px, strides 16 and 32) and the full-range facemesh detector (192 px, stride 4). Per
// anchor: a score logit, then box centre offset, size and 6 keypoints, in input pixels;
// either in two outputs (`classificators` [1,N,1], `regressors` [1,N,16]) or in one
// `decode_output` [1,N,17]. The image is letterboxed to a square.
class BlazeFaceDetector : public NetDetector {
 public:
  BlazeFaceDetector(const std::filesystem::path& dir, const DetectorConfig& config) : NetDetector(dir, config, 0.3f) {
    make_anchors(manifest_.raw.at("anchor_strides").get<std::vector<int>>(),
                 manifest_.raw.at("anchors_per_cell").get<std::vector<int>>());
    std::string single = manifest_.raw.value("decode_output", "");
    outputs_ =
        single.empty() ? std::vector<std::string>{"classificators", "regressors"} : std::vector<std::string>{single};
    open_net(dir);
  }

 private:
  std::vector<std::string> output_names() const override { return outputs_; }

  void make_anchors(const std::vector<int>& strides, const std::vector<int>& per_cell) {
    const int size = manifest_.input.width;
    for (size_t level = 0; level < strides.size(); ++level) {
      int cells = (size + strides[level] - 1) / strides[level];
      float step = static_cast<float>(strides[level]);
      for (int y = 0; y < cells; ++y) {
        for (int x = 0; x < cells; ++x) {
          for (int k = 0; k < per_cell[level]; ++k) {
            anchors_.emplace_back(step * (static_cast<float>(x) + 0.5f), step * (static_cast<float>(y) + 0.5f));
          }
        }
      }
    }
  }

  std::vector<FaceBox> decode(const std::vector<cv::Mat>& outs, double side) const override {
    const double factor = side / manifest_.input.width;
    // Row i: logit at logits[i * logit_step], 16 regressors from reg + i * reg_step.
    const bool split = outs.size() == 2;
    const float* logits = outs[0].ptr<float>();
    const float* reg = split ? outs[1].ptr<float>() : outs[0].ptr<float>() + 1;
    const size_t logit_step = split ? 1 : 17, reg_step = split ? 16 : 17;
    std::vector<FaceBox> boxes;
    for (size_t i = 0; i < anchors_.size(); ++i) {
      float score = sigmoid(logits[i * logit_step]);
      if (score <= score_threshold_) continue;
      const float* r = reg + i * reg_step;
      double cx = anchors_[i].x + double{r[0]}, cy = anchors_[i].y + double{r[1]};
      cv::Rect2f box(static_cast<float>((cx - r[2] / 2.0) * factor), static_cast<float>((cy - r[3] / 2.0) * factor),
                     static_cast<float>(r[2] * factor), static_cast<float>(r[3] * factor));
      // Keypoints 0 and 1 are the eyes, image-left first; offsets are from the anchor.
      double roll = std::atan2(double{r[7]} - r[5], double{r[6]} - r[4]);
      boxes.push_back({box, score, roll});
    }
    return boxes;
  }

  std::vector<cv::Point2f> anchors_;
  std::vector<std::string> outputs_;
};

// face-api's SSD MobileNet v1: box decoding against its anchors is inside the graph, giving
// `boxes` [1,N,4] as (ymin, xmin, ymax, xmax) relative to the letterboxed square and
// `scores` [1,N] (sigmoid already applied).
class SsdDetector : public NetDetector {
 public:
  SsdDetector(const std::filesystem::path& dir, const DetectorConfig& config) : NetDetector(dir, config, 0.5f) {
    open_net(dir);
  }

 private:
  std::vector<std::string> output_names() const override { return {"boxes", "scores"}; }

  std::vector<FaceBox> decode(const std::vector<cv::Mat>& outs, double side) const override {
    const float* box = outs[0].ptr<float>();
    const float* scores = outs[1].ptr<float>();
    std::vector<FaceBox> boxes;
    for (size_t i = 0; i < outs[1].total(); ++i) {
      if (scores[i] <= score_threshold_) continue;
      const float* b = box + 4 * i;
      double x0 = b[1] * side, y0 = b[0] * side, x1 = b[3] * side, y1 = b[2] * side;
      cv::Rect2f rect(static_cast<float>(x0), static_cast<float>(y0), static_cast<float>(x1 - x0),
                      static_cast<float>(y1 - y0));
      boxes.push_back({rect, scores[i], std::nullopt});
    }
    return boxes;
  }
};

// Runs detectors in order and answers with the first that finds a face: a fast short-range
// model for the usual selfie, a slower one for small faces only when the first finds none.
class CascadeDetector : public FaceDetector {
 public:
  explicit CascadeDetector(std::vector<std::unique_ptr<FaceDetector>> stages) : stages_(std::move(stages)) {}

  std::vector<FaceBox> detect(const cv::Mat& bgr) override {
    std::vector<FaceBox> faces;
    for (auto& stage : stages_) {
      faces = stage->detect(bgr);
      if (!faces.empty()) break;
    }
    return faces;
  }

 private:
  std::vector<std::unique_ptr<FaceDetector>> stages_;
};

std::unique_ptr<FaceDetector> make_single_detector(const std::filesystem::path& model_dir,
                                                   const DetectorConfig& config) {
  ModelManifest manifest = load_manifest(model_dir, config.model);
  // The decoder follows the converter that made the model ("faceapi:tinyface", ...).
  std::string kind = manifest.raw.value("converter", "");
  kind = manifest.raw.value("detector", kind.substr(kind.find(':') + 1));
  if (kind == "tinyface") return std::make_unique<TinyFaceDetector>(model_dir, config);
  if (kind == "blazeface") return std::make_unique<BlazeFaceDetector>(model_dir, config);
  if (kind == "ssd") return std::make_unique<SsdDetector>(model_dir, config);
  throw std::runtime_error("model " + config.model + " is not a known face detector");
}

}  // namespace

float intersection_over_union(const cv::Rect2f& a, const cv::Rect2f& b) {
  float inter = (a & b).area();
  float uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0.0f;
}

std::vector<FaceBox> non_max_suppression(std::vector<FaceBox> boxes, float iou_threshold) {
  std::stable_sort(boxes.begin(), boxes.end(), [](const FaceBox& a, const FaceBox& b) { return a.score > b.score; });
  std::vector<FaceBox> kept;
  for (const FaceBox& candidate : boxes) {
    bool overlaps = std::any_of(kept.begin(), kept.end(), [&](const FaceBox& k) {
      return intersection_over_union(k.box, candidate.box) > iou_threshold;
    });
    if (!overlaps) kept.push_back(candidate);
  }
  return kept;
}

std::unique_ptr<FaceDetector> make_face_detector(const std::filesystem::path& model_dir, const DetectorConfig& config) {
  std::vector<std::unique_ptr<FaceDetector>> stages;
  std::stringstream names(config.model);
  DetectorConfig stage = config;
  while (std::getline(names, stage.model, '+')) stages.push_back(make_single_detector(model_dir, stage));
  if (stages.empty()) throw std::runtime_error("no face detector configured");
  if (stages.size() == 1) return std::move(stages.front());
  return std::make_unique<CascadeDetector>(std::move(stages));
}

}  // namespace faceauth
