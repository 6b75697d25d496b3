#include "cli/commands.h"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <opencv2/core.hpp>

#include "cli/json_out.h"
#include "vision/face/similarity.h"

namespace faceauth {
namespace {

nlohmann::json image_json(const std::string& path, const Result<FaceAnalysis>& result) {
  nlohmann::json out = result ? analysis_json(*result) : error_json(result.error());
  out["image"] = path;
  return out;
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

}  // namespace

Result<FaceAnalysis> analyze_path(FaceEngine& engine, const std::string& path, Stages stages,
                                  const AttributeNeeds& needs) {
  try {
    return engine.analyze(read_bytes(path), stages, needs);
  } catch (const std::runtime_error& e) {
    return make_error(ErrorCode::image_converting_error, e.what());
  }
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// "1.8x320,2.5x480": canvas factor x minimum side, per step.
static std::vector<PadRetry> parse_pad_steps(const std::string& text) {
  std::vector<PadRetry> steps;
  std::stringstream list(text);
  std::string item;
  while (std::getline(list, item, ',')) {
    const size_t x = item.find('x');
    if (x == std::string::npos) throw std::invalid_argument("--pad-steps takes CANVASxMIN_SIDE,...");
    steps.push_back({std::stod(item.substr(0, x)), std::stoi(item.substr(x + 1))});
    if (steps.back().canvas < 1.0 || steps.back().min_side < 1) throw std::invalid_argument("--pad-steps out of range");
  }
  return steps;
}

EngineConfig engine_config(const Args& args) {
  EngineConfig config;
  if (!args.get("models").empty()) config.model_dir = args.get("models");
  if (!args.get("detector").empty()) config.detector.model = args.get("detector");
  if (!args.get("embedder").empty()) config.embedding_model = args.get("embedder");
  if (!args.get("align").empty()) config.embedding.alignment = parse_alignment(args.get("align"));
  const std::string flip = args.get("flip", "off");
  if (flip != "on" && flip != "off") throw std::invalid_argument("--flip takes on or off");
  config.embedding.flip = flip == "on";
  const std::string subject = args.get("subject", "largest");
  if (subject != "largest" && subject != "centre") throw std::invalid_argument("--subject takes largest or centre");
  config.subject = subject == "centre" ? Subject::centre : Subject::largest;
  if (!args.get("min-score").empty()) config.detector.score_threshold = std::stof(args.get("min-score"));
  // The service's retry of a photo without a face (PadRetry, docs/attributes.md); off here by
  // default. `--pad-retry` takes the service's steps, `--pad-steps 1.8x320,2.5x480` others.
  if (!args.get("pad-retry").empty()) config.pad_steps = kPadSteps;
  if (!args.get("pad-steps").empty()) config.pad_steps = parse_pad_steps(args.get("pad-steps"));
  return config;
}

std::string Args::get(const std::string& name, const std::string& fallback) const {
  auto it = options.find(name);
  return it == options.end() ? fallback : it->second;
}

int Args::get_int(const std::string& name, int fallback) const {
  std::string value = get(name);
  return value.empty() ? fallback : std::stoi(value);
}

Args parse_args(int argc, char** argv, int first) {
  Args args;
  for (int i = first; i < argc; ++i) {
    std::string word = argv[i];
    if (word.rfind("--", 0) != 0) {
      args.positional.push_back(word);
      continue;
    }
    std::string name = word.substr(2);
    bool has_value = i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0;
    args.options[name] = has_value ? argv[++i] : "1";
  }
  return args;
}

int cmd_verify(const Args& args) {
  if (args.positional.size() != 2) throw std::invalid_argument("usage: faceauth verify IMAGE_A IMAGE_B");
  FaceEngine engine(engine_config(args));
  auto a = analyze_path(engine, args.positional[0]);
  auto b = analyze_path(engine, args.positional[1]);
  nlohmann::json out = {{"a", image_json(args.positional[0], a)}, {"b", image_json(args.positional[1], b)}};
  out["similarity"] = nullptr;
  out["score"] = nullptr;
  if (a && b) {
    double similarity = cosine_similarity(a->embedding, b->embedding);
    out["similarity"] = round_to(similarity, 6);
    out["score"] = a->calibration.score(similarity);
  }
  out["peak_rss_mb"] = round_to(peak_rss_mb(), 1);
  std::cout << out.dump(2) << "\n";
  return a && b ? 0 : 2;
}

}  // namespace faceauth
