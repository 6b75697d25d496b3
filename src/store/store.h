#pragma once
// Storage behind one interface: SQLite (embedded, default) now, PostgreSQL later, the same
// tests for both. Records are plain structs; secrets arrive already hashed and biometric
// data already encrypted (see crypto/), so a store never sees a key or a raw template.
// Every method is one transaction; a failure throws StoreError and leaves nothing
// half-written. Implementations are thread-safe.

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "policy/policy.h"

namespace faceauth {

class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using Bytes = std::vector<uint8_t>;

struct KycProject {
  std::string id;
  std::string name;
  std::string webhook_url;  // "" when none
  int64_t created_ms = 0;
  // A new submission with both a selfie and an ID photo whose faces score at least this
  // (0-100 similarity score) is approved at once; 0 = off, submissions start pending.
  double auto_approve_threshold = 0;
};

struct FaceAuthProject {
  std::string id;
  std::string kyc_project_id;
  std::string name;
  Policy policy;
  int image_retention_days = 30;  // 0: face images are never stored; -1: kept until deleted
  int64_t created_ms = 0;
};

enum class KeyKind { kyc, addon };

struct ApiKey {
  std::string id;
  KeyKind kind = KeyKind::addon;
  std::string project_id;  // a KYC project for kyc keys, a FaceAuth project for add-on keys
  std::string prefix;      // the first characters of the key, for people to tell keys apart
  Bytes hash;              // SHA-256 of the whole key
  int64_t created_ms = 0;
};

enum class SubmissionStatus { pending, approved, rejected };
const char* submission_status_name(SubmissionStatus status);
std::optional<SubmissionStatus> parse_submission_status(const std::string& text);

struct Submission {
  std::string id;
  std::string kyc_project_id;
  SubmissionStatus status = SubmissionStatus::pending;
  std::string user_id, email, cf1, cf2, cf3;
  Bytes template_sealed;        // encrypted reference descriptor; empty when no face was found
  std::string template_model;   // model version that made it
  std::string template_source;  // "selfie" | "id" | ""
  Bytes selfie_sealed;          // encrypted image bytes, empty when none
  Bytes id_image_sealed;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

struct SubmissionFilter {
  std::optional<SubmissionStatus> status;
  std::string user_id;   // "" = any
  std::string after_id;  // keyset pagination: ids sorted ascending, "" = from the start
  int limit = 100;
};

struct Attempt {
  std::string id;  // authentication_id
  std::string faceauth_project_id;
  std::string submission_id;
  bool approved = false;
  std::string scores_json;      // the response's `score` object
  std::string fail_codes_json;  // JSON array of codes
  std::string comments_json;    // JSON array of rejected comments
  std::string policy_json;      // snapshot of the policy it was judged under
  std::string user_id, cf1, cf2, cf3;
  std::string key_id;
  std::string client_address;
  double latency_ms = 0;
  int64_t created_ms = 0;
  Bytes image_sealed;  // encrypted face image, empty when retention keeps none
  bool delete_check = false;
};

class Store {
 public:
  virtual ~Store() = default;

  // Schema migrations to the latest version (a version table records the applied ones).
  virtual void migrate() = 0;
  virtual bool ping() = 0;  // storage reachable

  virtual void create_kyc_project(const KycProject& project, const ApiKey& kyc_key) = 0;
  virtual void create_faceauth_project(const FaceAuthProject& project, const ApiKey& addon_key) = 0;
  virtual std::vector<KycProject> list_kyc_projects() = 0;
  virtual std::vector<FaceAuthProject> list_faceauth_projects(const std::string& kyc_project_id) = 0;  // "" = all
  virtual std::optional<KycProject> get_kyc_project(const std::string& id) = 0;
  virtual std::optional<FaceAuthProject> get_faceauth_project(const std::string& id) = 0;
  // False when no such project.
  virtual bool update_faceauth_project(const FaceAuthProject& project) = 0;
  virtual bool update_kyc_project(const KycProject& project) = 0;

  // The live key with this hash (of a live project), or nothing. Callers compare the hash
  // they computed with the returned one in constant time.
  virtual std::optional<ApiKey> find_key(const Bytes& hash) = 0;
  // Revokes the project's live keys of that kind and adds `new_key`; false when no project.
  virtual bool rotate_key(const ApiKey& new_key) = 0;

  virtual void create_submission(const Submission& submission) = 0;
  // Scoped by KYC project: another project's id answers nothing, exactly as an absent one.
  virtual std::optional<Submission> get_submission(const std::string& kyc_project_id, const std::string& id) = 0;
  virtual std::vector<Submission> list_submissions(const std::string& kyc_project_id,
                                                   const SubmissionFilter& filter) = 0;
  virtual bool set_submission_status(const std::string& kyc_project_id, const std::string& id, SubmissionStatus status,
                                     int64_t updated_ms) = 0;
  // Replaces the reference template made by `old_model` (re-embedding after a model change);
  // false when the submission is absent or its template is no longer from `old_model`.
  virtual bool replace_submission_template(const std::string& kyc_project_id, const std::string& id,
                                           const std::string& old_model, const Submission& updated) = 0;
  // Deletes the submission with its images and template; false when absent.
  virtual bool delete_submission(const std::string& kyc_project_id, const std::string& id) = 0;

  virtual void insert_attempt(const Attempt& attempt) = 0;
  virtual std::optional<Attempt> get_attempt(const std::string& faceauth_project_id, const std::string& id) = 0;
  virtual int64_t count_attempts(const std::string& faceauth_project_id) = 0;
};

// Opens (creating when needed) an SQLite database file in WAL mode and migrates it.
std::unique_ptr<Store> open_sqlite_store(const std::string& path);

}  // namespace faceauth
