#pragma once
// Batch helpers shared by `faceauth compare` (batch.cpp) and `faceauth eval` (eval.cpp):
// TSV reading and embedding many images once, on several threads.

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.h"

namespace faceauth {

std::vector<std::string> split_tabs(const std::string& line);
// The index of `name` in a TSV header; throws std::invalid_argument when missing.
size_t column(const std::vector<std::string>& header, const std::string& name);

struct Embedding {
  std::vector<float> values;
  std::optional<Error> error;
  double ms = 0;  // total engine milliseconds (FaceAnalysis.ms.total()); 0 on error
  ScoreCalibration calibration;
};

// Runs `work(engine, i)` for i in [0, count) on `threads` threads, each with its own engine.
// The engines are built on the calling thread, so a model or head that fails to load is an
// exception of the command (its message printed), not a crash of a worker thread.
template <typename Work>
void parallel_for(size_t count, const EngineConfig& config, int threads, Work work) {
  std::vector<std::unique_ptr<FaceEngine>> engines;
  for (int t = 0; t < std::max(1, threads); ++t) engines.push_back(std::make_unique<FaceEngine>(config));
  std::atomic<size_t> next{0};
  std::vector<std::thread> pool;
  for (auto& engine : engines) {
    pool.emplace_back([&, e = engine.get()] {
      for (size_t i = next++; i < count; i = next++) work(*e, i);
    });
  }
  for (std::thread& thread : pool) thread.join();
}

// The non-empty lines of a file; throws std::runtime_error when it cannot be read.
std::vector<std::string> read_list(const std::string& path);
// The images named on the command line, or those of --list FILE; throws `usage` when none.
std::vector<std::string> images_of(const Args& args, const char* usage);

// --threads, default the hardware concurrency.
int thread_count(const Args& args);

// Embeds every image (a path under `dir`) once.
std::map<std::string, Embedding> embed_all(const std::vector<std::string>& names, const std::string& dir,
                                           const EngineConfig& config, int threads);

}  // namespace faceauth
