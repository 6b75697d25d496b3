// Test tool: writes N attempts for one FaceAuth project straight through the Store (the same
// insert_attempt the service uses), so that the history tests can page through thousands of
// records without running the face engine thousands of times. Not installed, not a route.
//
//   seed_attempts DB_PATH|POSTGRES_URL FACEAUTH_PROJECT_ID COUNT FIRST_MS STEP_MS
//
// Attempt i is created at FIRST_MS + (i / 3) * STEP_MS: three attempts share each
// millisecond, so pagination must break ties by id. Prints each new authentication id.
#include <cstdlib>
#include <iostream>
#include <string>

#include "crypto/secrets.h"
#include "store/store.h"

int main(int argc, char** argv) {
  using namespace faceauth;
  if (argc != 6) {
    std::cerr << "usage: seed_attempts DB_PATH FACEAUTH_PROJECT_ID COUNT FIRST_MS STEP_MS\n";
    return 64;
  }
  try {
    init_crypto();
    std::unique_ptr<Store> store =
        is_postgres_url(argv[1]) ? open_postgres_store(argv[1], 2) : open_sqlite_store(argv[1]);
    const long count = std::stol(argv[3]);
    const int64_t first = std::stoll(argv[4]), step = std::stoll(argv[5]);
    for (long i = 0; i < count; ++i) {
      Attempt a;
      a.id = random_uuid();
      a.faceauth_project_id = argv[2];
      a.submission_id = "seeded-submission";
      a.approved = i % 2 == 0;
      a.scores_json = R"({"face_similarity_score":90.0})";
      a.fail_codes_json = a.approved ? "[]" : R"(["face_compare_underscore"])";
      a.comments_json = a.approved ? "[]" : R"(["Face compare similarity score is lower than the threshold"])";
      a.policy_json = R"({"faceSimilarity_threshold":80})";
      a.user_id = "seeded-" + std::to_string(i);
      a.created_ms = first + (i / 3) * step;
      store->insert_attempt(a);
      std::cout << a.id << "\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "seed_attempts: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
