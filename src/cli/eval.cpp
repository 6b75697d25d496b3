// `faceauth eval`: accuracy, ROC, EER and TAR at FAR of the engine on a labelled pairs list.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cli/batch.h"
#include "cli/commands.h"
#include "cli/eval_metrics.h"
#include "cli/json_out.h"
#include "vision/face/similarity.h"

namespace faceauth {
namespace {

using Json = nlohmann::ordered_json;

constexpr const char* kEvalUsage =
    "usage: faceauth eval --pairs FILE --images DIR [--train FILE] [--folds N] [--roc OUT.png] [--threads N]\n"
    "                     [--impostors N] [--seed S]";
constexpr double kFars[] = {1e-2, 1e-3, 1e-4};

struct LabelledPair {
  std::string a, b;
  bool same = false;
};

std::vector<LabelledPair> read_labelled_pairs(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header = split_tabs(line);
  size_t is = column(header, "same"), ia = column(header, "image_a"), ib = column(header, "image_b");
  std::vector<LabelledPair> pairs;
  while (std::getline(in, line)) {
    std::vector<std::string> cells = split_tabs(line);
    if (cells.size() <= std::max({is, ia, ib})) continue;
    const std::string& same = cells[is];
    if (same != "0" && same != "1") throw std::invalid_argument(path + ": 'same' must be 1 or 0, not '" + same + "'");
    pairs.push_back({cells[ia], cells[ib], same == "1"});
  }
  if (pairs.empty()) throw std::invalid_argument(path + " has no pairs");
  return pairs;
}

eval::ScoredPair score(const Embedding& a, const Embedding& b, bool same) {
  eval::ScoredPair out;
  out.same = same;
  out.error = a.error.has_value() || b.error.has_value();
  if (!out.error) out.similarity = cosine_similarity(a.values, b.values);
  return out;
}

std::vector<eval::ScoredPair> score_all(const std::vector<LabelledPair>& pairs,
                                        const std::map<std::string, Embedding>& embeddings) {
  std::vector<eval::ScoredPair> out;
  for (const LabelledPair& pair : pairs) out.push_back(score(embeddings.at(pair.a), embeddings.at(pair.b), pair.same));
  return out;
}

size_t error_pairs(const std::vector<eval::ScoredPair>& pairs) {
  return static_cast<size_t>(
      std::count_if(pairs.begin(), pairs.end(), [](const eval::ScoredPair& pair) { return pair.error; }));
}

Json number_or_null(double value, int decimals) {
  if (std::isnan(value)) return nullptr;
  return round_to(value, decimals);
}

// TAR against FAR, FAR on a log axis from 1e-4 to 1, into a 640x480 PNG.
void draw_roc(const std::vector<eval::RocPoint>& roc, const std::string& title, const std::string& subtitle,
              std::optional<eval::RocPoint> marker, const std::string& path) {
  const int width = 640, height = 480, left = 70, right = 620, top = 50, bottom = 410;
  cv::Mat image(height, width, CV_8UC3, cv::Scalar(255, 255, 255));
  auto x_of = [&](double far) {
    double decades = (std::log10(std::max(far, 1e-4)) + 4) / 4;
    return static_cast<int>(std::lround(left + decades * (right - left)));
  };
  auto y_of = [&](double tar) { return static_cast<int>(std::lround(bottom - tar * (bottom - top))); };
  const cv::Scalar grid(225, 225, 225), minor(242, 242, 242), ink(40, 40, 40), curve(180, 90, 20);
  const int font = cv::FONT_HERSHEY_SIMPLEX;
  for (int decade = -4; decade < 0; ++decade) {
    for (int step = 2; step < 10; ++step) {
      int x = x_of(step * std::pow(10.0, decade));
      cv::line(image, {x, top}, {x, bottom}, minor, 1);
    }
  }
  const char* far_labels[] = {"1e-4", "1e-3", "1e-2", "1e-1", "1"};
  for (int decade = -4; decade <= 0; ++decade) {
    int x = x_of(std::pow(10.0, decade));
    cv::line(image, {x, top}, {x, bottom}, grid, 1);
    const char* label = far_labels[decade + 4];
    int base = 0;
    cv::Size size = cv::getTextSize(label, font, 0.45, 1, &base);
    cv::putText(image, label, {x - size.width / 2, bottom + 20}, font, 0.45, ink, 1, cv::LINE_AA);
  }
  for (int tenth = 0; tenth <= 10; ++tenth) {
    int y = y_of(tenth / 10.0);
    cv::line(image, {left, y}, {right, y}, grid, 1);
    std::string label = tenth == 10 ? "1.0" : "0." + std::to_string(tenth);
    cv::putText(image, label, {left - 32, y + 5}, font, 0.45, ink, 1, cv::LINE_AA);
  }
  cv::rectangle(image, {left, top}, {right, bottom}, ink, 1);
  std::vector<cv::Point> points;
  for (const eval::RocPoint& point : roc) points.emplace_back(x_of(point.far), y_of(point.tar));
  if (points.size() > 1) cv::polylines(image, points, false, curve, 2, cv::LINE_AA);
  if (marker) cv::circle(image, {x_of(marker->far), y_of(marker->tar)}, 5, cv::Scalar(40, 40, 200), -1, cv::LINE_AA);
  cv::putText(image, "FAR (false accept rate, log scale)", {left + 150, bottom + 48}, font, 0.5, ink, 1, cv::LINE_AA);
  cv::putText(image, "TAR", {left - 45, top - 12}, font, 0.5, ink, 1, cv::LINE_AA);
  cv::putText(image, title, {left, 22}, font, 0.55, ink, 1, cv::LINE_AA);
  cv::putText(image, subtitle, {left + 10, bottom - 12}, font, 0.42, ink, 1, cv::LINE_AA);
  if (!cv::imwrite(path, image)) throw std::runtime_error("cannot write " + path);
}

double median(std::vector<double> values) {
  if (values.empty()) return std::nan("");
  std::sort(values.begin(), values.end());
  size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

}  // namespace

namespace {

// The evaluated list's images, sorted and unique (also the pool of generated impostors).
std::vector<std::string> images_of(const std::vector<LabelledPair>& pairs) {
  std::vector<std::string> names;
  for (const LabelledPair& pair : pairs) {
    names.push_back(pair.a);
    names.push_back(pair.b);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

// Images that gave no descriptor, by error code, and the times of those that did.
Json failures_of(const std::map<std::string, Embedding>& embeddings, std::vector<double>& ms) {
  Json failed = Json::object();
  size_t failed_total = 0, no_face = 0;
  for (const auto& [name, embedding] : embeddings) {
    if (embedding.error) {
      std::string code = error_code_name(embedding.error->code);
      failed[code] = failed.value(code, 0) + 1;
      ++failed_total;
      if (embedding.error->code == ErrorCode::no_face) ++no_face;
    } else {
      ms.push_back(embedding.ms);
    }
  }
  return {{"failed_images", failed}, {"failed_images_total", failed_total}, {"no_face_images", no_face}};
}

// The threshold: best on --train if given, else the folds' mean, else best on the list itself.
double choose_threshold(const std::vector<LabelledPair>& train, const std::vector<eval::ScoredPair>& scored,
                        const std::map<std::string, Embedding>& embeddings, const std::optional<eval::KFold>& k_fold,
                        Json& out) {
  double threshold = 0, accuracy = 0;
  if (!train.empty()) {
    std::vector<eval::ScoredPair> train_scored = score_all(train, embeddings);
    eval::ThresholdChoice choice = eval::best_threshold(train_scored);
    threshold = choice.threshold;
    out["threshold_source"] = "train";
    out["train"] = {{"pairs", train.size()},
                    {"error_pairs", error_pairs(train_scored)},
                    {"accuracy", round_to(choice.accuracy, 4)}};
    accuracy = eval::accuracy(scored, threshold);
  } else if (k_fold) {
    threshold = k_fold->threshold_mean;
    out["threshold_source"] = "folds";
    accuracy = k_fold->accuracy_mean;
  } else {
    eval::ThresholdChoice choice = eval::best_threshold(scored);
    threshold = choice.threshold;
    out["threshold_source"] = "pairs (best on the evaluated list itself: optimistic)";
    accuracy = choice.accuracy;
  }
  out["threshold"] = round_to(threshold, 6);
  out["accuracy"] = round_to(accuracy, 4);
  return threshold;
}

Json folds_json(const eval::KFold& k_fold, int folds) {
  Json per_fold = Json::array();
  for (const eval::FoldResult& fold : k_fold.folds) {
    per_fold.push_back(
        {{"pairs", fold.pairs}, {"threshold", round_to(fold.threshold, 6)}, {"accuracy", round_to(fold.accuracy, 4)}});
  }
  return {{"n", folds},
          {"accuracy_mean", round_to(k_fold.accuracy_mean, 4)},
          {"accuracy_std", round_to(k_fold.accuracy_std, 4)},
          {"threshold_mean", round_to(k_fold.threshold_mean, 6)},
          {"per_fold", per_fold}};
}

// Impostor pairs of the list's images not already listed, scored, added to `extended`.
size_t add_impostors(const std::vector<LabelledPair>& pairs, const std::vector<std::string>& test_names,
                     const std::map<std::string, Embedding>& embeddings, size_t cap, uint64_t seed,
                     std::vector<eval::ScoredPair>& extended) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < test_names.size(); ++i) index[test_names[i]] = i;
  std::vector<std::pair<size_t, size_t>> listed;
  for (const LabelledPair& pair : pairs) listed.push_back(std::minmax(index.at(pair.a), index.at(pair.b)));
  auto extra = eval::random_impostors(test_names, cap, seed, listed);
  for (const auto& [i, j] : extra) {
    extended.push_back(score(embeddings.at(test_names[i]), embeddings.at(test_names[j]), false));
  }
  return extra.size();
}

Json tar_rows(const std::vector<eval::ScoredPair>& scored, const std::vector<eval::ScoredPair>& extended,
              size_t different, size_t generated) {
  Json tars = Json::array();
  for (double far : kFars) {
    bool list_enough = static_cast<double>(different) * far >= 1 - 1e-9;
    eval::TarAtFar result = eval::tar_at_far(list_enough ? scored : extended, far);
    Json row = {{"far", far},
                {"impostors", result.impostors},
                {"impostor_source", list_enough || generated == 0 ? "list" : "list+generated"}};
    if (result.measurable) {
      row["tar"] = round_to(result.tar, 4);
      row["threshold"] = std::isinf(result.threshold) ? Json(nullptr) : Json(round_to(result.threshold, 6));
      row["achieved_far"] = round_to(result.achieved_far, 6);
    } else {
      row["tar"] = "not measurable";
      row["reason"] = "fewer than 1/FAR impostor pairs";
    }
    tars.push_back(row);
  }
  return tars;
}

struct RocInput {
  std::vector<eval::RocPoint> roc;  // of the list
  const std::vector<eval::ScoredPair>& extended;
  size_t same = 0, different = 0, generated = 0;
  double threshold = 0, accuracy = 0;
};

// The ROC picture: the list's curve (with the generated impostors when there are any) and a
// dot at the chosen threshold.
void write_roc(const RocInput& in, const std::string& path) {
  std::vector<eval::RocPoint> curve = in.generated ? eval::roc_curve(in.extended) : in.roc;
  size_t impostors = in.different + in.generated;
  std::optional<eval::RocPoint> marker;
  if (!curve.empty()) {
    double accepted_genuine = 0, accepted_impostors = 0;
    for (const eval::ScoredPair& pair : in.extended) {
      if (pair.error || pair.similarity < in.threshold) continue;
      (pair.same ? accepted_genuine : accepted_impostors) += 1;
    }
    marker = eval::RocPoint{accepted_impostors / static_cast<double>(impostors),
                            accepted_genuine / static_cast<double>(in.same)};
  }
  char title[160];
  std::snprintf(title, sizeof title, "ROC  AUC %.4f  EER %.2f%%  accuracy %.2f%% at %.4f", eval::roc_auc(in.roc),
                100 * eval::equal_error_rate(in.roc), 100 * in.accuracy, in.threshold);
  std::string subtitle = std::to_string(in.same) + " genuine, " + std::to_string(impostors) + " impostor pairs" +
                         (in.generated ? " (" + std::to_string(in.generated) + " generated)" : "") +
                         "; dot: the threshold";
  draw_roc(curve, title, subtitle, marker, path);
}

}  // namespace

int cmd_eval(const Args& args) {
  if (args.get("pairs").empty() || args.get("images").empty()) throw std::invalid_argument(kEvalUsage);
  int folds = args.get_int("folds", 0);
  int impostor_cap = args.get_int("impostors", 100000);
  int seed = args.get_int("seed", 1);
  if (impostor_cap < 0) throw std::invalid_argument("--impostors must be 0 or more");
  std::vector<LabelledPair> pairs = read_labelled_pairs(args.get("pairs"));
  std::vector<LabelledPair> train;
  if (!args.get("train").empty()) train = read_labelled_pairs(args.get("train"));

  std::vector<std::string> test_names = images_of(pairs);
  std::set<std::string> all_names(test_names.begin(), test_names.end());
  for (const LabelledPair& pair : train) all_names.insert({pair.a, pair.b});
  std::vector<std::string> names(all_names.begin(), all_names.end());
  auto embeddings = embed_all(names, args.get("images"), engine_config(args), thread_count(args));
  std::vector<double> ms;
  Json failures = failures_of(embeddings, ms);

  std::vector<eval::ScoredPair> scored = score_all(pairs, embeddings);
  size_t same = static_cast<size_t>(
      std::count_if(pairs.begin(), pairs.end(), [](const LabelledPair& pair) { return pair.same; }));
  size_t different = pairs.size() - same;
  Json out = {{"pairs", pairs.size()},
              {"same", same},
              {"different", different},
              {"images", names.size()},
              {"failed_images", failures["failed_images"]},  // by error code
              {"failed_images_total", failures["failed_images_total"]},
              {"no_face_images", failures["no_face_images"]},
              {"error_pairs", error_pairs(scored)}};

  std::optional<eval::KFold> k_fold;
  if (folds != 0) k_fold = eval::k_fold(scored, folds);
  double threshold = choose_threshold(train, scored, embeddings, k_fold, out);
  if (k_fold) out["folds"] = folds_json(*k_fold, folds);

  std::vector<eval::RocPoint> roc = eval::roc_curve(scored);
  out["roc_auc"] = number_or_null(eval::roc_auc(roc), 6);
  out["eer"] = number_or_null(eval::equal_error_rate(roc), 4);

  // Extra impostors when the list has too few different pairs for the smallest FAR.
  double smallest_far = *std::min_element(std::begin(kFars), std::end(kFars));
  std::vector<eval::ScoredPair> extended = scored;
  size_t generated = 0;
  if (static_cast<double>(different) * smallest_far < 1 - 1e-9 && impostor_cap > 0) {
    generated = add_impostors(pairs, test_names, embeddings, static_cast<size_t>(impostor_cap),
                              static_cast<uint64_t>(seed), extended);
  }
  out["impostors"] = {{"listed", different},
                      {"generated", generated},
                      {"seed", seed},
                      {"generated_rule", "pairs of the list's images whose folders differ, not already listed"}};
  out["tar_at_far"] = tar_rows(scored, extended, different, generated);
  out["ms_per_image_median"] = number_or_null(median(ms), 2);
  out["ms_images"] = ms.size();

  if (!args.get("roc").empty()) {
    write_roc({roc, extended, same, different, generated, threshold, out["accuracy"].get<double>()}, args.get("roc"));
    out["roc_png"] = args.get("roc");
  }
  std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace faceauth
