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

// embed-parallel: auto by default, off and on taken and printed, anything else refused at start.
TEST(Config, EmbedParallelTakesAutoOnOrOff) {
  EXPECT_TRUE(describes(load({}), "embed-parallel = auto"));
  EXPECT_TRUE(describes(load({"--embed-parallel", "off"}), "embed-parallel = off"));
  EXPECT_EQ(load({"--embed-parallel", "on"}).embed_parallel, "on");
  EXPECT_THROW(load({"--embed-parallel", "sometimes"}), std::invalid_argument);
}

// The start-up log and --help list every setting the flags, environment and file take, once.
TEST(Config, EverySettingIsDescribedOnceAndInTheHelp) {
  std::vector<std::string> names = setting_names();
  std::vector<std::string> lines = describe(DaemonConfig{});
  EXPECT_EQ(lines.size(), names.size());
  std::string help = usage_text();
  for (const std::string& name : names) {
    auto named = [&](const std::string& line) { return line.rfind(name + " = ", 0) == 0; };
    EXPECT_EQ(std::count_if(lines.begin(), lines.end(), named), 1) << name;
    EXPECT_NE(help.find("\n  --" + name + " = "), std::string::npos) << name;
  }
}

}  // namespace
}  // namespace faceauth
