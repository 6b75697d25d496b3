// Store benchmark, both stores side by side (scripts/bench_store.sh runs it):
//
//   bench_store SQLITE_PATH POSTGRES_URL [ATTEMPTS_PER_WRITER]
//
// For each store: 8 threads insert attempts (a 30 KB sealed image each, as a retained selfie)
// through Store::insert_attempt (5,000 in all by default), then all attempts of the project
// are listed in keyset pages of 2,000 (the API's largest), five times. Prints a markdown table:
// inserts per second with 8 writers, and the median time to list 5,000 attempts.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "crypto/secrets.h"
#include "store/store.h"

namespace {

using namespace faceauth;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

void make_project(Store& store) {
  NewKey k = generate_key("kyc"), a = generate_key("fa");
  store.create_kyc_project({"kyc-bench", "bench", "", 1},
                           {random_hex_id(), KeyKind::kyc, "kyc-bench", k.prefix, k.hash, 1});
  FaceAuthProject fa;
  fa.id = "fa-bench";
  fa.kyc_project_id = "kyc-bench";
  fa.name = "bench";
  store.create_faceauth_project(fa, {random_hex_id(), KeyKind::addon, "fa-bench", a.prefix, a.hash, 1});
}

Attempt attempt(int writer, int i) {
  Attempt a;
  a.id = random_uuid();
  a.faceauth_project_id = "fa-bench";
  a.submission_id = "sub";
  a.approved = true;
  a.scores_json = R"({"face_similarity_score":97.3,"quality":{"brightness":90.0,"face_count":1}})";
  a.fail_codes_json = a.comments_json = "[]";
  a.policy_json = R"({"faceSimilarity_threshold":70})";
  a.user_id = "user-" + std::to_string(writer);
  a.created_ms = 1'700'000'000'000 + writer * 100'000 + i;
  a.image_sealed = Bytes(30'000, static_cast<uint8_t>(i));
  return a;
}

struct StoreBench {
  double inserts_per_second;
  double list_ms;
  int64_t listed;
};

StoreBench run(Store& store, int per_writer) {
  make_project(store);
  constexpr int kWriters = 8;
  auto start = Clock::now();
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&store, w, per_writer] {
      for (int i = 0; i < per_writer; ++i) store.insert_attempt(attempt(w, i));
    });
  }
  for (std::thread& t : writers) t.join();
  const double insert_seconds = seconds_since(start);
  std::vector<double> times;
  int64_t listed = 0;
  for (int round = 0; round < 5; ++round) {
    auto list_start = Clock::now();
    AttemptQuery q{"fa-bench", 0, INT64_MAX, std::nullopt, 2000};
    listed = 0;
    for (;;) {
      std::vector<Attempt> page = store.list_attempts(q);
      listed += static_cast<int64_t>(page.size());
      if (page.size() < 2000) break;
      q.after = std::make_pair(page.back().created_ms, page.back().id);
    }
    times.push_back(seconds_since(list_start) * 1000);
  }
  std::sort(times.begin(), times.end());
  return {kWriters * per_writer / insert_seconds, times[2], listed};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: bench_store SQLITE_PATH POSTGRES_URL [ATTEMPTS_PER_WRITER]\n";
    return 2;
  }
  init_crypto();
  const int per_writer = argc > 3 ? std::stoi(argv[3]) : 625;  // 8 x 625 = 5,000
  try {
    StoreBench sqlite = run(*open_sqlite_store(argv[1]), per_writer);
    StoreBench postgres = run(*open_postgres_store(argv[2], 8), per_writer);
    std::printf("| store | attempt inserts/s, 8 writers | list %lld attempts (pages of 2,000), median of 5 |\n",
                static_cast<long long>(sqlite.listed));
    std::printf("|---|---:|---:|\n");
    std::printf("| SQLite (WAL, synchronous=FULL) | %.0f | %.1f ms |\n", sqlite.inserts_per_second, sqlite.list_ms);
    std::printf("| PostgreSQL 15 (fsync on, pool 8) | %.0f | %.1f ms (%lld listed) |\n", postgres.inserts_per_second,
                postgres.list_ms, static_cast<long long>(postgres.listed));
  } catch (const std::exception& e) {
    std::cerr << "bench_store: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
