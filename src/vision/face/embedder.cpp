#include "vision/face/embedder.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <future>
#include <sstream>
#include <stdexcept>

namespace faceauth {
namespace {

void normalise(std::vector<float>& values) {
  double norm = 0;
  for (float v : values) norm += double{v} * v;
  norm = std::sqrt(norm);
  if (norm > 0) {
    for (float& v : values) v = static_cast<float>(v / norm);
  }
}

// The alignments a single model's chip may be cut with, its default first.
std::vector<std::string> allowed_alignments(const ModelManifest& manifest) {
  return manifest.raw.value("alignments", std::vector<std::string>{"dlib68", "dlib5"});
}

Alignment pick_alignment(const ModelManifest& manifest, std::optional<Alignment> asked) {
  std::vector<std::string> allowed = allowed_alignments(manifest);
  if (!asked) return parse_alignment(allowed.at(0));
  for (const std::string& name : allowed) {
    if (name == alignment_name(*asked)) return *asked;
  }
  throw std::invalid_argument(manifest.name + " does not take alignment " + alignment_name(*asked));
}

// "dlib68", "dlib68+flip", "arcface5": a single model's key of its calibration table and
// the suffix of its version.
std::string pipeline_key(const ChipTemplate& chip, bool flip) {
  return std::string(alignment_name(chip.alignment)) + (flip ? "+flip" : "");
}

ScoreCalibration load_calibration(const nlohmann::json& manifest, const std::string& key) {
  const nlohmann::json& table = manifest.value("calibration", nlohmann::json::object());
  if (!table.contains(key) || !table.at(key).contains("knots")) return {};
  return ScoreCalibration(table.at(key).at("knots"));
}

std::string weight_text(double weight) {
  std::ostringstream out;
  out << weight;
  return out.str();
}

}  // namespace

Embedder::Part Embedder::load_part(const std::filesystem::path& model_dir, const std::string& name,
                                   std::optional<Alignment> alignment, double weight) {
  Part part;
  part.manifest = load_manifest(model_dir, name);
  part.net = InferenceNet(model_dir, part.manifest);
  part.chip.size = part.manifest.input.width;
  part.chip.padding = part.manifest.raw.value("chip_padding", 0.25);
  part.chip.alignment = pick_alignment(part.manifest, alignment);
  part.weight = weight;
  return part;
}

ParallelParts parse_parallel_parts(const std::string& text) {
  if (text == "off" || text == "0") return ParallelParts::off;
  if (text == "on" || text == "1") return ParallelParts::on;
  if (text == "auto") return ParallelParts::when_idle;
  throw std::invalid_argument("embed-parallel must be auto, on or off");
}

bool run_parts_at_once(ParallelParts mode, size_t parts, int busy, int usable_cpus) {
  if (parts < 2 || mode == ParallelParts::off) return false;
  if (mode == ParallelParts::on) return true;
  return static_cast<size_t>(std::max(busy, 1)) + parts - 1 <= static_cast<size_t>(usable_cpus);
}

ParallelParts EmbedderOptions::parallel_parts_default() {
  const char* value = std::getenv("FACEAUTH_PARALLEL_EMBED");
  if (value == nullptr) return ParallelParts::off;
  try {
    return parse_parallel_parts(value);
  } catch (const std::invalid_argument&) {
    return ParallelParts::off;
  }
}

namespace {
std::atomic<int> engines_at_work{0};
}

EngineLoad::Hold::Hold() { engines_at_work.fetch_add(1); }
EngineLoad::Hold::~Hold() { engines_at_work.fetch_sub(1); }
int EngineLoad::busy() { return engines_at_work.load(); }

int EngineLoad::usable_cpus() {
  static const int count = [] {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return 1;
    return std::max(CPU_COUNT(&set), 1);
  }();
  return count;
}

Embedder::Embedder(const std::filesystem::path& model_dir, const std::string& model_name, EmbedderOptions options)
    : flip_(options.flip), parallel_(options.parallel_parts) {
  nlohmann::json document = read_manifest(model_dir, model_name);
  if (!document.contains("parts")) {
    parts_.push_back(load_part(model_dir, model_name, options.alignment, 1.0));
    std::string key = pipeline_key(parts_[0].chip, flip_);
    version_ = parts_[0].manifest.version + "+" + key;
    calibration_ = load_calibration(document, key);
    return;
  }
  if (options.alignment) {
    throw std::invalid_argument(model_name + " fuses several models; each cuts its own chip, so no alignment is set");
  }
  std::string versions;
  for (const nlohmann::json& entry : document.at("parts")) {
    parts_.push_back(load_part(model_dir, entry.at("model"), std::nullopt, entry.at("weight").get<double>()));
    const Part& part = parts_.back();
    versions += (versions.empty() ? "" : ",") + part.manifest.version + "+" + pipeline_key(part.chip, flip_) + "*" +
                weight_text(part.weight);
  }
  version_ = document.value("version", model_name) + "[" + versions + "]";
  calibration_ = load_calibration(document, flip_ ? "fused+flip" : "fused");
}

std::vector<float> Embedder::run(Part& part, const cv::Mat& chip) {
  cv::Mat out = part.net.forward_first(make_blob(chip, part.manifest));
  std::vector<float> descriptor(out.ptr<float>(), out.ptr<float>() + out.total());
  normalise(descriptor);
  return descriptor;
}

std::vector<float> Embedder::embed_part(Part& part, const cv::Mat& chip) {
  std::vector<float> descriptor = run(part, chip);
  if (flip_) {
    cv::Mat mirrored;
    cv::flip(chip, mirrored, 1);
    std::vector<float> other = run(part, mirrored);
    for (size_t i = 0; i < descriptor.size() && i < other.size(); ++i) descriptor[i] += other[i];
    normalise(descriptor);
  }
  return descriptor;
}

std::vector<cv::Mat> Embedder::cut_chips(const cv::Mat& image, const Landmarks68& landmarks) const {
  std::vector<cv::Mat> chips;
  for (const Part& part : parts_) chips.push_back(extract_chip(image, landmarks, part.chip));
  return chips;
}

std::vector<float> Embedder::embed(const std::vector<cv::Mat>& chips) {
  CV_Assert(chips.size() == parts_.size());
  std::vector<std::vector<float>> pieces(parts_.size());
  std::vector<std::future<void>> others;
  const bool at_once = run_parts_at_once(parallel_, parts_.size(), EngineLoad::busy(), EngineLoad::usable_cpus());
  for (size_t i = at_once ? 1 : parts_.size(); i < parts_.size(); ++i) {
    others.push_back(std::async(std::launch::async, [&, i] { pieces[i] = embed_part(parts_[i], chips[i]); }));
  }
  for (size_t i = 0; i < (at_once ? 1 : parts_.size()); ++i) pieces[i] = embed_part(parts_[i], chips[i]);
  for (auto& other : others) other.get();
  std::vector<float> descriptor;
  for (size_t i = 0; i < parts_.size(); ++i) {
    const float factor = static_cast<float>(std::sqrt(parts_[i].weight));
    for (float v : pieces[i]) descriptor.push_back(v * factor);
  }
  normalise(descriptor);
  return descriptor;
}

}  // namespace faceauth
