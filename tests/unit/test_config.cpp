#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "server/config.h"

namespace faceauth {
namespace {

DaemonConfig load(std::vector<std::string> args) {
  args.insert(args.begin(), "faceauthd");
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  return load_config(static_cast<int>(argv.size()), argv.data());
}

bool describes(const DaemonConfig& config, const std::string& line) {
  std::vector<std::string> lines = describe(config);
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

// embed-parallel: off by default, auto and on taken and printed, anything else refused at start.
TEST(Config, EmbedParallelTakesAutoOnOrOff) {
  EXPECT_TRUE(describes(load({}), "embed-parallel = off"));
  EXPECT_TRUE(describes(load({"--embed-parallel", "auto"}), "embed-parallel = auto"));
  EXPECT_EQ(load({"--embed-parallel", "on"}).embed_parallel, "on");
  EXPECT_THROW(load({"--embed-parallel", "sometimes"}), std::invalid_argument);
}

}  // namespace
}  // namespace faceauth
