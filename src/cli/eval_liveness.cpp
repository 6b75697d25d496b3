// `faceauth liveness-features` (the training dump of tools/train/train_liveness.py) and
// `faceauth eval-liveness` (APCER, BPCER, ACER, ROC AUC and a per-subject breakdown).
#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cli/batch.h"
#include "cli/commands.h"
#include "cli/json_out.h"
#include "cli/liveness_metrics.h"
#include "vision/checks/quality.h"

namespace faceauth {
namespace {

using Json = nlohmann::ordered_json;

constexpr const char* kFeaturesUsage =
    "usage: faceauth liveness-features --labels FILE --images DIR [--subjects A,B,..] [--threads N]\n"
    "                                  [--chips OUT_DIR] > features.tsv";
constexpr const char* kEvalUsage =
    "usage: faceauth eval-liveness --labels FILE --images DIR [--subjects A,B,..] [--threshold T] [--head FILE]\n"
    "                              [--roc OUT.png] [--threads N]";

struct LabelledImage {
  std::string image, subject;
  bool live = false;
};

std::set<std::string> subject_filter(const Args& args) {
  std::set<std::string> subjects;
  std::stringstream list(args.get("subjects"));
  for (std::string subject; std::getline(list, subject, ',');) {
    if (!subject.empty()) subjects.insert(subject);
  }
  return subjects;
}

// A TSV with label (live | attack), image and subject columns, e.g. NUAA's labels.tsv.
std::vector<LabelledImage> read_labels(const std::string& path, const std::set<std::string>& subjects) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header = split_tabs(line);
  size_t il = column(header, "label"), ii = column(header, "image"), is = column(header, "subject");
  std::vector<LabelledImage> images;
  while (std::getline(in, line)) {
    std::vector<std::string> cells = split_tabs(line);
    if (cells.size() <= std::max({il, ii, is})) continue;
    if (cells[il] != "live" && cells[il] != "attack") {
      throw std::invalid_argument(path + ": label must be live or attack, not '" + cells[il] + "'");
    }
    if (!subjects.empty() && !subjects.count(cells[is])) continue;
    images.push_back({cells[ii], cells[is], cells[il] == "live"});
  }
  if (images.empty()) throw std::invalid_argument(path + " has no images (for these subjects)");
  return images;
}

struct Checked {
  std::optional<FaceChecks> checks;
  std::vector<float> features;
  cv::Mat chip;
};

// The chip's file name under --chips: the image path with '/' as '_', PNG.
std::string chip_name(const std::string& image) {
  std::string name = image;
  std::replace(name.begin(), name.end(), '/', '_');
  return name + ".png";
}

// Runs the engine and the checks on every image, on `threads` threads.
std::vector<Checked> check_all(const std::vector<LabelledImage>& images, const std::string& dir,
                               const EngineConfig& config, int threads, const LivenessModel* model,
                               const LivenessNet* features) {
  std::vector<Checked> results(images.size());
  parallel_for(images.size(), config, threads, [&](FaceEngine& engine, size_t i) {
    auto analysis = analyze_path(engine, dir + "/" + images[i].image, Stages::all);
    if (!analysis) return;
    results[i].checks = check_face(*analysis, model);
    if (features) {
      Landmarks68 working = analysis->landmarks;
      for (cv::Point2f& point : working) point *= static_cast<float>(analysis->working_scale);
      results[i].chip = liveness_chip(analysis->working, working);
      results[i].features = liveness_features(results[i].chip, *features);
    }
  });
  return results;
}

Json rate(double value) { return std::isnan(value) ? Json(nullptr) : Json(round_to(100 * value, 2)); }

Json rates_json(const std::vector<eval::ScoredSample>& samples, double threshold) {
  eval::AttackRates rates = eval::attack_rates(samples, threshold);
  return {{"live", rates.live},
          {"attacks", rates.attacks},
          {"apcer_percent", rate(rates.apcer)},
          {"bpcer_percent", rate(rates.bpcer)},
          {"acer_percent", rate(rates.acer)}};
}

// Share of live images accepted against share of attacks accepted, linear axes, 640x480 PNG.
void draw_roc(const std::vector<eval::ScoredSample>& samples, double threshold, const std::string& title,
              const std::string& path) {
  const int width = 640, height = 480, left = 70, right = 620, top = 50, bottom = 410;
  cv::Mat image(height, width, CV_8UC3, cv::Scalar(255, 255, 255));
  auto x_of = [&](double rate) { return static_cast<int>(std::lround(left + rate * (right - left))); };
  auto y_of = [&](double rate) { return static_cast<int>(std::lround(bottom - rate * (bottom - top))); };
  const cv::Scalar grid(225, 225, 225), ink(40, 40, 40);
  const int font = cv::FONT_HERSHEY_SIMPLEX;
  for (int tenth = 0; tenth <= 10; ++tenth) {
    cv::line(image, {x_of(tenth / 10.0), top}, {x_of(tenth / 10.0), bottom}, grid, 1);
    cv::line(image, {left, y_of(tenth / 10.0)}, {right, y_of(tenth / 10.0)}, grid, 1);
    std::string label = tenth == 10 ? "1.0" : "0." + std::to_string(tenth);
    cv::putText(image, label, {x_of(tenth / 10.0) - 12, bottom + 20}, font, 0.4, ink, 1, cv::LINE_AA);
    cv::putText(image, label, {left - 32, y_of(tenth / 10.0) + 5}, font, 0.4, ink, 1, cv::LINE_AA);
  }
  std::vector<double> thresholds = {101};
  for (const eval::ScoredSample& sample : samples) thresholds.push_back(sample.score);
  std::sort(thresholds.rbegin(), thresholds.rend());
  std::vector<cv::Point> points;
  for (double t : thresholds) {
    eval::AttackRates rates = eval::attack_rates(samples, t);
    points.emplace_back(x_of(rates.apcer), y_of(1 - rates.bpcer));
  }
  points.emplace_back(x_of(1), y_of(1));
  cv::polylines(image, points, false, cv::Scalar(180, 90, 20), 2, cv::LINE_AA);
  eval::AttackRates at = eval::attack_rates(samples, threshold);
  cv::circle(image, {x_of(at.apcer), y_of(1 - at.bpcer)}, 5, cv::Scalar(40, 40, 200), -1, cv::LINE_AA);
  cv::rectangle(image, {left, top}, {right, bottom}, ink, 1);
  cv::putText(image, "APCER (attacks accepted)", {left + 170, bottom + 48}, font, 0.5, ink, 1, cv::LINE_AA);
  cv::putText(image, "1 - BPCER (live accepted)", {left - 45, top - 12}, font, 0.5, ink, 1, cv::LINE_AA);
  cv::putText(image, title, {left + 230, top - 12}, font, 0.45, ink, 1, cv::LINE_AA);
  if (!cv::imwrite(path, image)) throw std::runtime_error("cannot write " + path);
}

// Median and 90th percentile milliseconds of check_face() (liveness + quality) per face.
Json checks_ms(std::vector<double> ms) {
  if (ms.empty()) return nullptr;
  std::sort(ms.begin(), ms.end());
  return {
      {"median", round_to(ms[ms.size() / 2], 3)}, {"p90", round_to(ms[ms.size() * 9 / 10], 3)}, {"faces", ms.size()}};
}

LivenessModel load_head(const Args& args) {
  const EngineConfig config = engine_config(args);
  return LivenessModel(args.get("head", (default_heads_dir() / "liveness.json").string()), config.model_dir,
                       config.landmark_model);
}

}  // namespace

int cmd_liveness_features(const Args& args) {
  if (args.get("labels").empty() || args.get("images").empty()) throw std::invalid_argument(kFeaturesUsage);
  std::vector<LabelledImage> images = read_labels(args.get("labels"), subject_filter(args));
  const EngineConfig config = engine_config(args);
  const LivenessNet net(config.model_dir);
  std::vector<Checked> results = check_all(images, args.get("images"), config, thread_count(args), nullptr, &net);
  std::cout << "label\timage\tsubject";
  for (const std::string& name : liveness_feature_names()) std::cout << '\t' << name;
  std::cout << '\n';
  size_t skipped = 0;
  const std::string chips = args.get("chips");
  for (size_t i = 0; i < images.size(); ++i) {
    if (results[i].features.empty()) {
      ++skipped;
      continue;
    }
    if (!chips.empty() && !cv::imwrite(chips + "/" + chip_name(images[i].image), results[i].chip)) {
      throw std::runtime_error("cannot write a chip under " + chips);
    }
    std::cout << (images[i].live ? "live" : "attack") << '\t' << images[i].image << '\t' << images[i].subject;
    for (float value : results[i].features) std::cout << '\t' << value;
    std::cout << '\n';
  }
  std::cerr << "liveness-features: " << images.size() - skipped << " images, " << skipped << " without a face\n";
  return 0;
}

int cmd_eval_liveness(const Args& args) {
  if (args.get("labels").empty() || args.get("images").empty()) throw std::invalid_argument(kEvalUsage);
  LivenessModel model = load_head(args);
  double threshold = std::stod(args.get("threshold", std::to_string(model.default_threshold())));
  std::vector<LabelledImage> images = read_labels(args.get("labels"), subject_filter(args));
  std::vector<Checked> results =
      check_all(images, args.get("images"), engine_config(args), thread_count(args), &model, nullptr);
  std::vector<eval::ScoredSample> samples;
  std::map<std::string, std::vector<eval::ScoredSample>> by_subject;
  std::vector<double> ms;
  size_t no_face = 0;
  for (size_t i = 0; i < images.size(); ++i) {
    const std::optional<FaceChecks>& checks = results[i].checks;
    eval::ScoredSample sample{checks ? *checks->liveness : 0.0, images[i].live, images[i].subject};
    if (checks) ms.push_back(checks->ms);
    no_face += !checks;
    samples.push_back(sample);
    by_subject[sample.subject].push_back(sample);
  }
  Json subjects = Json::object();
  for (const auto& [subject, list] : by_subject) {
    Json row = rates_json(list, threshold);
    double auc = eval::liveness_auc(list);
    row["roc_auc"] = std::isnan(auc) ? Json(nullptr) : Json(round_to(auc, 4));
    subjects[subject] = row;
  }
  std::sort(ms.begin(), ms.end());
  Json out = {{"head", model.version()},
              {"threshold", threshold},
              {"images", images.size()},
              {"no_face", no_face},
              {"overall", rates_json(samples, threshold)},
              {"roc_auc", round_to(eval::liveness_auc(samples), 4)},
              {"per_subject", subjects},
              {"checks_ms", checks_ms(ms)}};
  if (!args.get("roc").empty()) {
    std::ostringstream title;
    title << "liveness ROC, AUC " << std::fixed << std::setprecision(4) << eval::liveness_auc(samples);
    draw_roc(samples, threshold, title.str(), args.get("roc"));
    out["roc"] = args.get("roc");
  }
  std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace faceauth
