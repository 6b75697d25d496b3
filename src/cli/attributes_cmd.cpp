// faceauth analyze, features and eval-attributes: the attribute scores of faces
// (src/vision/checks/attributes.h), the features the heads are trained on, and their accuracy.
#include <cmath>
#include <fstream>
#include <iostream>
#include <stdexcept>

#include "cli/batch.h"
#include "cli/commands.h"
#include "cli/eval_metrics.h"
#include "cli/json_out.h"
#include "vision/checks/quality.h"

namespace faceauth {
namespace {

void print_lines(const std::vector<nlohmann::json>& lines) {
  for (const nlohmann::json& line : lines) std::cout << line.dump() << "\n";
}

AttributeNeeds needs_for(const std::string& attribute, bool lower_face_covered) {
  AttributeNeeds needs;
  needs.lower_face_covered = lower_face_covered;
  if (attribute == "occluded") {
    needs.occluded = true;
  } else if (attribute == "face_cover") {
    needs.face_cover = true;
  } else if (attribute == "head_cover") {
    needs.head_cover = true;
  } else {
    throw std::invalid_argument("--attribute must be occluded, face_cover or head_cover");
  }
  return needs;
}

std::optional<double> score_of(const AttributeScores& scores, const std::string& attribute) {
  if (attribute == "occluded") return scores.occluded;
  if (attribute == "face_cover") return scores.face_cover;
  return scores.head_cover;
}

std::vector<float> rounded(const std::vector<float>& values) {
  std::vector<float> out;
  for (float v : values) out.push_back(static_cast<float>(std::round(v * 1e5f) / 1e5f));
  return out;
}

// The trainer's input, on the service's path (FaceEngine::analyze, with its pad retry when
// asked for): landmarks in upright full-resolution pixels, every feature, `padded` for a face
// found only on a canvas (its features read there, as the service scores them).
nlohmann::json features_line(FaceEngine& engine, const std::string& path) {
  nlohmann::json out = {{"image", path}, {"faces", 0}};
  AttributeNeeds needs;
  needs.features = true;
  auto analysis = analyze_path(engine, path, Stages::all, needs);
  if (!analysis) return out.update(error_json(analysis.error())), out;
  out["faces"] = analysis->faces.size();
  out["landmarks"] = landmarks_json(analysis->landmarks);
  out["pipeline"] = engine.attributes().pipeline();
  if (analysis->padded) out["padded"] = true;
  for (const auto& [name, values] : analysis->attribute_features.regions) out[name] = rounded(values);
  return out;
}

}  // namespace

// The largest face's scores: the attribute heads', then liveness_score and the quality
// measurements (src/vision/checks/quality.h).
void add_attribute_fields(nlohmann::json& out, const FaceAnalysis& analysis, const LivenessModel& liveness) {
  const AttributeScores& scores = analysis.attributes;
  if (scores.occluded) out["occluded_score"] = *scores.occluded;
  if (scores.face_cover) out["face_cover_score"] = *scores.face_cover;
  if (scores.head_cover) out["head_cover_score"] = *scores.head_cover;
  out.update(liveness_quality_json(check_face(analysis, &liveness)));
}

int cmd_analyze(const Args& args) {
  std::vector<std::string> images = images_of(
      args, "usage: faceauth analyze IMAGE... | --list FILE [--threads N] [--lower-face-covered] [--pad-retry]");
  AttributeNeeds needs = AttributeNeeds::all();
  needs.lower_face_covered = !args.get("lower-face-covered").empty();
  const EngineConfig config = engine_config(args);
  const LivenessModel liveness(default_heads_dir() / "liveness.json", config.model_dir, config.landmark_model);
  std::vector<nlohmann::json> lines(images.size());
  parallel_for(images.size(), config, thread_count(args), [&](FaceEngine& engine, size_t i) {
    auto result = analyze_path(engine, images[i], Stages::all, needs);
    nlohmann::json out = {{"image", images[i]}};
    if (result) {
      if (result->padded) out["padded"] = true;
      out["faces"] = result->faces.size();
      out["box"] = box_json(result->faces.front());
      add_attribute_fields(out, *result, liveness);
    } else {
      out["faces"] = 0;
      out.update(error_json(result.error()));
    }
    lines[i] = std::move(out);
  });
  print_lines(lines);
  return 0;
}

int cmd_features(const Args& args) {
  std::vector<std::string> images =
      images_of(args, "usage: faceauth features IMAGE... | --list FILE [--threads N] [--pad-retry]");
  EngineConfig config = engine_config(args);
  config.heads_dir.clear();  // features only: the heads may not be trained yet
  std::vector<nlohmann::json> lines(images.size());
  parallel_for(images.size(), config, thread_count(args),
               [&](FaceEngine& engine, size_t i) { lines[i] = features_line(engine, images[i]); });
  print_lines(lines);
  return 0;
}

int cmd_eval_attributes(const Args& args) {
  const char* usage =
      "usage: faceauth eval-attributes --labels FILE --attribute occluded|face_cover|head_cover "
      "[--images DIR] [--lower-face-covered] [--pad-retry] [--threads N]";
  if (args.get("labels").empty()) throw std::invalid_argument(usage);
  std::string attribute = args.get("attribute");
  AttributeNeeds needs = needs_for(attribute, !args.get("lower-face-covered").empty());
  std::ifstream in(args.get("labels"));
  if (!in) throw std::runtime_error("cannot read " + args.get("labels"));
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header = split_tabs(line);
  size_t image_col = column(header, "image"), label_col = column(header, "label");
  std::vector<std::pair<std::string, bool>> rows;
  std::string dir = args.get("images");
  while (std::getline(in, line)) {
    std::vector<std::string> cells = split_tabs(line);
    if (cells.size() <= std::max(image_col, label_col)) continue;
    rows.emplace_back(dir.empty() ? cells[image_col] : dir + "/" + cells[image_col], cells[label_col] == "1");
  }
  std::vector<std::optional<double>> scores(rows.size());
  parallel_for(rows.size(), engine_config(args), thread_count(args), [&](FaceEngine& engine, size_t i) {
    auto result = analyze_path(engine, rows[i].first, Stages::all, needs);
    if (result) scores[i] = score_of(result->attributes, attribute);
  });
  std::vector<eval::ScoredPair> scored;
  size_t tp = 0, fn = 0, fp = 0, tn = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (!scores[i]) continue;
    bool positive = rows[i].second, predicted = *scores[i] >= 50.0;
    scored.push_back({*scores[i], positive, false});
    tp += positive && predicted;
    fn += positive && !predicted;
    fp += !positive && predicted;
    tn += !positive && !predicted;
  }
  auto rate = [](size_t part, size_t whole) {
    return whole ? static_cast<double>(part) / static_cast<double>(whole) : 0.0;
  };
  double tpr = rate(tp, tp + fn), tnr = rate(tn, tn + fp);
  nlohmann::json out = {{"attribute", attribute},
                        {"lower_face_covered", needs.lower_face_covered},
                        {"images", rows.size()},
                        {"faces_found", scored.size()},
                        {"found_rate", round_to(rate(scored.size(), rows.size()), 4)},
                        {"threshold", 50.0},
                        {"accuracy", round_to(rate(tp + tn, scored.size()), 4)},
                        {"balanced_accuracy", round_to((tpr + tnr) / 2, 4)},
                        {"roc_auc", round_to(eval::roc_auc(eval::roc_curve(scored)), 4)},
                        {"confusion", {{"tp", tp}, {"fn", fn}, {"fp", fp}, {"tn", tn}}}};
  std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace faceauth
