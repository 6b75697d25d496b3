// `faceauth compare`, `detect` and `bench`: batch work that loads the models once.
#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "cli/batch.h"
#include "cli/commands.h"
#include "cli/json_out.h"
#include "vision/checks/quality.h"
#include "vision/face/similarity.h"

namespace faceauth {

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream stream(line);
  std::string cell;
  while (std::getline(stream, cell, '\t')) {
    if (!cell.empty() && cell.back() == '\r') cell.pop_back();
    cells.push_back(cell);
  }
  return cells;
}

size_t column(const std::vector<std::string>& header, const std::string& name) {
  auto it = std::find(header.begin(), header.end(), name);
  if (it == header.end()) throw std::invalid_argument("the pairs file has no '" + name + "' column");
  return static_cast<size_t>(it - header.begin());
}

int thread_count(const Args& args) {
  return args.get_int("threads", static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}

// Embeds every image once.
std::map<std::string, Embedding> embed_all(const std::vector<std::string>& names, const std::string& dir,
                                           const EngineConfig& config, int threads) {
  std::vector<Embedding> results(names.size());
  parallel_for(names.size(), config, threads, [&](FaceEngine& engine, size_t i) {
    auto result = analyze_path(engine, dir + "/" + names[i], Stages::all);
    if (result) {
      results[i].values = std::move(result->embedding);
      results[i].ms = result->ms.total();
      results[i].calibration = result->calibration;
    } else {
      results[i].error = result.error();
    }
  });
  std::map<std::string, Embedding> by_name;
  for (size_t i = 0; i < names.size(); ++i) by_name[names[i]] = std::move(results[i]);
  return by_name;
}

namespace {

struct Pair {
  std::string a, b;
};

std::vector<Pair> read_pairs(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header = split_tabs(line);
  size_t ia = column(header, "image_a"), ib = column(header, "image_b");
  std::vector<Pair> pairs;
  while (std::getline(in, line)) {
    std::vector<std::string> cells = split_tabs(line);
    if (cells.size() <= std::max(ia, ib)) continue;
    pairs.push_back({cells[ia], cells[ib]});
  }
  return pairs;
}

nlohmann::json pair_json(const Pair& pair, const Embedding& a, const Embedding& b) {
  nlohmann::json out = {
      {"image_a", pair.a}, {"image_b", pair.b}, {"similarity", nullptr}, {"score", nullptr}, {"error", nullptr}};
  const std::optional<Error>& error = a.error ? a.error : b.error;
  if (error) {
    out["error"] = error_code_name(error->code);
    return out;
  }
  double similarity = cosine_similarity(a.values, b.values);
  out["similarity"] = round_to(similarity, 6);
  out["score"] = a.calibration.score(similarity);
  return out;
}

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  size_t index = static_cast<size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[index];
}

}  // namespace

std::vector<std::string> read_list(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::vector<std::string> images_of(const Args& args, const char* usage) {
  std::vector<std::string> images = args.positional;
  if (!args.get("list").empty()) images = read_list(args.get("list"));
  if (images.empty()) throw std::invalid_argument(usage);
  return images;
}

int cmd_compare(const Args& args) {
  if (args.get("pairs").empty() || args.get("images").empty()) {
    throw std::invalid_argument("usage: faceauth compare --pairs FILE --images DIR [--threads N]");
  }
  std::vector<Pair> pairs = read_pairs(args.get("pairs"));
  std::vector<std::string> names;
  for (const Pair& pair : pairs) {
    names.push_back(pair.a);
    names.push_back(pair.b);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  auto embeddings = embed_all(names, args.get("images"), engine_config(args), thread_count(args));
  for (const Pair& pair : pairs) {
    std::cout << pair_json(pair, embeddings.at(pair.a), embeddings.at(pair.b)).dump() << "\n";
  }
  return 0;
}

int cmd_embed(const Args& args) {
  std::vector<std::string> images = images_of(args, "usage: faceauth embed IMAGE... | --list FILE [--threads N]");
  std::vector<nlohmann::json> lines(images.size());
  parallel_for(images.size(), engine_config(args), thread_count(args), [&](FaceEngine& engine, size_t i) {
    auto result = analyze_path(engine, images[i]);
    nlohmann::json out = {{"image", images[i]}};
    if (result) {
      out["faces"] = result->faces.size();
      out["box"] = box_json(result->faces.front());
      out["landmarks"] = landmarks_json(result->landmarks);
      out["model_version"] = result->model_version;
      out["embedding"] = result->embedding;
    } else {
      out.update(error_json(result.error()));
    }
    lines[i] = std::move(out);
  });
  for (const nlohmann::json& line : lines) std::cout << line.dump() << "\n";
  return 0;
}

int cmd_detect(const Args& args) {
  std::vector<std::string> images = images_of(args, "usage: faceauth detect IMAGE... | --list FILE [--threads N]");
  std::vector<nlohmann::json> lines(images.size());
  parallel_for(images.size(), engine_config(args), thread_count(args), [&](FaceEngine& engine, size_t i) {
    auto result = analyze_path(engine, images[i], Stages::detect);
    nlohmann::json out = {{"image", images[i]}};
    if (result) {
      out["faces"] = result->faces.size();
      out["boxes"] = nlohmann::json::array();
      for (const FaceBox& face : result->faces) out["boxes"].push_back(box_json(face));
      out["ms"] = {{"decode", round_to(result->ms.decode, 2)}, {"detect", round_to(result->ms.detect, 2)}};
    } else {
      out.update(error_json(result.error()));
      out["faces"] = 0;
    }
    lines[i] = std::move(out);
  });
  for (const nlohmann::json& line : lines) std::cout << line.dump() << "\n";
  return 0;
}

int cmd_bench(const Args& args) {
  if (args.positional.size() != 1) {
    throw std::invalid_argument("usage: faceauth bench IMAGE [--repeat N] [--warmup N] [--attributes]");
  }
  // With --attributes, the three attribute scores are computed too (their stage: "attributes"),
  // and the liveness score with the quality measurements (check_face(): "liveness_quality").
  const AttributeNeeds needs = args.get("attributes").empty() ? AttributeNeeds{} : AttributeNeeds::all();
  std::vector<uint8_t> bytes = read_bytes(args.positional[0]);
  const EngineConfig config = engine_config(args);
  FaceEngine engine(config);
  std::unique_ptr<LivenessModel> liveness;
  if (needs.any())
    liveness =
        std::make_unique<LivenessModel>(default_heads_dir() / "liveness.json", config.model_dir, config.landmark_model);
  int warmup = args.get_int("warmup", 5), repeat = args.get_int("repeat", 50);
  std::map<std::string, std::vector<double>> samples;
  for (int i = 0; i < warmup + repeat; ++i) {
    auto result = engine.analyze(bytes, Stages::all, needs);
    if (!result) throw std::runtime_error(std::string("bench image failed: ") + error_code_name(result.error().code));
    if (i < warmup) continue;
    nlohmann::json ms = times_json(result->ms);
    for (auto& [stage, value] : ms.items()) samples[stage].push_back(value.get<double>());
    if (liveness) {
      const double checks = check_face(*result, liveness.get()).ms;
      samples["liveness_quality"].push_back(checks);
      samples["attributes_and_liveness"].push_back(result->ms.attributes + checks);
    }
  }
  nlohmann::json out = {{"image", args.positional[0]}, {"repeat", repeat}, {"warmup", warmup}, {"threads", 1}};
  for (auto& [stage, values] : samples) {
    out["ms"][stage] = {{"median", round_to(percentile(values, 0.5), 2)},
                        {"p90", round_to(percentile(values, 0.9), 2)},
                        {"min", round_to(percentile(values, 0.0), 2)}};
  }
  std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace faceauth
