#pragma once
// The `faceauth` subcommands. Each returns the process exit code.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vision/face/face_engine.h"
#include "vision/checks/liveness.h"

namespace faceauth {

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;  // --name value, or --flag -> "1"
  std::string get(const std::string& name, const std::string& fallback = "") const;
  int get_int(const std::string& name, int fallback) const;
};

Args parse_args(int argc, char** argv, int first);
EngineConfig engine_config(const Args& args);              // --models, --detector, --embedder
std::vector<uint8_t> read_bytes(const std::string& path);  // throws std::runtime_error
// The file's analysis; an unreadable file is an image_converting_error.
Result<FaceAnalysis> analyze_path(FaceEngine& engine, const std::string& path, Stages stages = Stages::all,
                                  const AttributeNeeds& needs = {});
// Adds the subject's attribute scores that were computed (occluded_score, face_cover_score,
// head_cover_score), liveness_score and the quality measurements to a per-image JSON line.
void add_attribute_fields(nlohmann::json& out, const FaceAnalysis& analysis, const LivenessModel& liveness);

int cmd_verify(const Args& args);
int cmd_embed(const Args& args);
int cmd_compare(const Args& args);
int cmd_detect(const Args& args);
int cmd_bench(const Args& args);
// Accuracy, ROC, EER and TAR at FAR on a labelled pairs list (src/cli/eval.cpp).
int cmd_eval(const Args& args);
// Liveness training features and the liveness evaluation (src/cli/eval_liveness.cpp).
int cmd_liveness_features(const Args& args);
int cmd_eval_liveness(const Args& args);
// Attribute scores per image, the heads' training features, their accuracy (attributes_cmd.cpp).
int cmd_analyze(const Args& args);
int cmd_features(const Args& args);
int cmd_eval_attributes(const Args& args);
// The management API of a running faceauthd (src/cli/admin.cpp).
int cmd_admin(const Args& args);

}  // namespace faceauth
