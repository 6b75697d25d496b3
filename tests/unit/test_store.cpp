// The store contract, run against SQLite (a temporary file) and PostgreSQL (a fresh schema of
// the test server): see store_backends.h.
#include "store/store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "crypto/secrets.h"
#include "store_backends.h"

namespace faceauth {
namespace {

namespace fs = std::filesystem;

class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    FACEAUTH_OPEN_BACKEND(backend_, GetParam());
    store_ = backend_->open();
  }
  void TearDown() override { store_.reset(); }

  int64_t rows(const std::string& table) { return backend_->query_int("SELECT COUNT(*) FROM " + table); }
  int64_t query_int(const std::string& sql) { return backend_->query_int(sql); }

  static ApiKey key_for(KeyKind kind, const std::string& project_id, int64_t created_ms = 1000) {
    NewKey fresh = generate_key(kind == KeyKind::kyc ? "kyc" : "fa");
    return {random_hex_id(), kind, project_id, fresh.prefix, fresh.hash, created_ms};
  }

  // A KYC project with one FaceAuth project; their keys.
  struct Tenant {
    KycProject kyc;
    FaceAuthProject faceauth;
    ApiKey kyc_key, addon_key;
  };
  Tenant make_tenant(const std::string& name) {
    Tenant t;
    t.kyc = {random_hex_id(), name, "https://example.test/" + name, 1000};
    t.kyc_key = key_for(KeyKind::kyc, t.kyc.id);
    store_->create_kyc_project(t.kyc, t.kyc_key);
    t.faceauth.id = random_hex_id();
    t.faceauth.kyc_project_id = t.kyc.id;
    t.faceauth.name = name + " gate";
    t.faceauth.created_ms = 2000;
    t.addon_key = key_for(KeyKind::addon, t.faceauth.id);
    store_->create_faceauth_project(t.faceauth, t.addon_key);
    return t;
  }

  static Submission make_submission(const std::string& kyc_project_id, const std::string& id,
                                    const std::string& user = "user-1") {
    Submission s;
    s.id = id;
    s.kyc_project_id = kyc_project_id;
    s.user_id = user;
    s.email = user + "@example.test";
    s.cf1 = "one";
    s.cf2 = "two";
    s.cf3 = "";
    s.template_sealed = {1, 2, 3, 0, 255};
    s.template_model = "model-v1";
    s.template_source = "selfie";
    s.selfie_sealed = Bytes(5000, 7);
    s.id_image_sealed = {};
    s.created_ms = 10;
    s.updated_ms = 10;
    return s;
  }

  static Attempt make_attempt(const std::string& faceauth_project_id, const std::string& submission_id,
                              const std::string& id) {
    Attempt a;
    a.id = id;
    a.faceauth_project_id = faceauth_project_id;
    a.submission_id = submission_id;
    a.approved = true;
    a.scores_json = R"({"face_similarity_score":91.5})";
    a.fail_codes_json = "[]";
    a.comments_json = "[]";
    a.policy_json = R"({"faceSimilarity_threshold":50})";
    a.user_id = "user-1";
    a.cf1 = "a";
    a.cf2 = "b";
    a.cf3 = "c";
    a.key_id = "key-1";
    a.client_address = "192.0.2.1";
    a.latency_ms = 12.25;
    a.created_ms = 123456789;
    a.image_sealed = {9, 8, 7};
    a.delete_check = true;
    return a;
  }

  std::unique_ptr<StoreBackend> backend_;
  std::unique_ptr<Store> store_;
};

INSTANTIATE_TEST_SUITE_P(Stores, StoreTest, ::testing::Values("sqlite", "postgres"), store_backend_name);

void expect_same(const Submission& a, const Submission& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.kyc_project_id, b.kyc_project_id);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.user_id, b.user_id);
  EXPECT_EQ(a.email, b.email);
  EXPECT_EQ(a.cf1, b.cf1);
  EXPECT_EQ(a.cf2, b.cf2);
  EXPECT_EQ(a.cf3, b.cf3);
  EXPECT_EQ(a.template_sealed, b.template_sealed);
  EXPECT_EQ(a.template_model, b.template_model);
  EXPECT_EQ(a.template_source, b.template_source);
  EXPECT_EQ(a.selfie_sealed, b.selfie_sealed);
  EXPECT_EQ(a.id_image_sealed, b.id_image_sealed);
  EXPECT_EQ(a.created_ms, b.created_ms);
  EXPECT_EQ(a.updated_ms, b.updated_ms);
}

void expect_same(const Attempt& a, const Attempt& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.faceauth_project_id, b.faceauth_project_id);
  EXPECT_EQ(a.submission_id, b.submission_id);
  EXPECT_EQ(a.approved, b.approved);
  EXPECT_EQ(a.scores_json, b.scores_json);
  EXPECT_EQ(a.fail_codes_json, b.fail_codes_json);
  EXPECT_EQ(a.comments_json, b.comments_json);
  EXPECT_EQ(a.policy_json, b.policy_json);
  EXPECT_EQ(a.user_id, b.user_id);
  EXPECT_EQ(a.cf1, b.cf1);
  EXPECT_EQ(a.cf2, b.cf2);
  EXPECT_EQ(a.cf3, b.cf3);
  EXPECT_EQ(a.key_id, b.key_id);
  EXPECT_EQ(a.client_address, b.client_address);
  EXPECT_EQ(a.latency_ms, b.latency_ms);
  EXPECT_EQ(a.created_ms, b.created_ms);
  EXPECT_EQ(a.image_sealed, b.image_sealed);
  EXPECT_EQ(a.delete_check, b.delete_check);
}

std::vector<std::string> ids_of(const std::vector<Submission>& page) {
  std::vector<std::string> out;
  for (const Submission& s : page) out.push_back(s.id);
  return out;
}

TEST(SubmissionStatusNames, RoundTrip) {
  for (SubmissionStatus status : {SubmissionStatus::pending, SubmissionStatus::approved, SubmissionStatus::rejected}) {
    EXPECT_EQ(parse_submission_status(submission_status_name(status)), status);
  }
  EXPECT_STREQ(submission_status_name(SubmissionStatus::approved), "approved");
  EXPECT_FALSE(parse_submission_status("Approved").has_value());
  EXPECT_FALSE(parse_submission_status("").has_value());
}

// SQLite only: the file's mode and journal.
TEST(SqliteStore, OpensInWalModeWithAPrivateFile) {
  init_crypto();
  fs::path dir = fs::temp_directory_path() / ("faceauth_store_" + random_hex_id());
  fs::create_directories(dir);
  fs::path path = dir / "faceauth.db";
  std::unique_ptr<Store> store = open_sqlite_store(path.string());
  EXPECT_TRUE(store->ping());
  struct stat info {};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
  sqlite3_finalize(stmt);
  sqlite3_close_v2(db);
  store.reset();
  fs::remove_all(dir);
}

TEST_P(StoreTest, MigrateTwiceIsANoOp) {
  const int64_t versions = rows("schema_version");
  const int64_t objects = backend_->schema_objects();
  EXPECT_GE(versions, 1);
  store_->migrate();
  store_->migrate();
  EXPECT_EQ(rows("schema_version"), versions);
  EXPECT_EQ(backend_->schema_objects(), objects);
}

TEST_P(StoreTest, ReopenKeepsDataAndMigratesNothing) {
  Tenant t = make_tenant("acme");
  store_->create_submission(make_submission(t.kyc.id, "sub-1"));
  store_->insert_attempt(make_attempt(t.faceauth.id, "sub-1", "att-1"));
  const int64_t versions = rows("schema_version");
  store_.reset();  // restart
  store_ = backend_->open();
  EXPECT_EQ(rows("schema_version"), versions);
  ASSERT_TRUE(store_->get_kyc_project(t.kyc.id).has_value());
  ASSERT_TRUE(store_->get_faceauth_project(t.faceauth.id).has_value());
  EXPECT_TRUE(store_->find_key(t.addon_key.hash).has_value());
  EXPECT_TRUE(store_->get_submission(t.kyc.id, "sub-1").has_value());
  EXPECT_TRUE(store_->get_attempt(t.faceauth.id, "att-1").has_value());
  EXPECT_EQ(store_->count_attempts(t.faceauth.id), 1);
}

TEST_P(StoreTest, RefusesANewerSchema) {
  store_.reset();
  backend_->exec("INSERT INTO schema_version(version, applied_ms) VALUES(999, 0)");
  EXPECT_THROW(backend_->open(), StoreError);
}

TEST_P(StoreTest, OpenFailureThrowsStoreError) { EXPECT_THROW(backend_->open_unreachable(), StoreError); }

TEST_P(StoreTest, KycProjects) {
  KycProject project{"kyc-1", "Acme", "", 1000};
  store_->create_kyc_project(project, key_for(KeyKind::kyc, "kyc-1"));
  std::optional<KycProject> got = store_->get_kyc_project("kyc-1");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->name, "Acme");
  EXPECT_EQ(got->webhook_url, "");
  EXPECT_EQ(got->created_ms, 1000);
  EXPECT_FALSE(store_->get_kyc_project("kyc-2").has_value());

  store_->create_kyc_project({"kyc-2", "Beta", "https://b.test/hook", 500}, key_for(KeyKind::kyc, "kyc-2"));
  std::vector<KycProject> all = store_->list_kyc_projects();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, "kyc-2");  // by creation time
  EXPECT_EQ(all[1].id, "kyc-1");

  project.name = "Acme Ltd";
  project.webhook_url = "https://acme.test/hook";
  EXPECT_TRUE(store_->update_kyc_project(project));
  EXPECT_EQ(store_->get_kyc_project("kyc-1")->name, "Acme Ltd");
  EXPECT_EQ(store_->get_kyc_project("kyc-1")->webhook_url, "https://acme.test/hook");
  EXPECT_FALSE(store_->update_kyc_project({"absent", "x", "", 0}));
}

TEST_P(StoreTest, FaceAuthProjects) {
  Tenant t = make_tenant("acme");
  FaceAuthProject second;
  second.id = "fa-2";
  second.kyc_project_id = t.kyc.id;
  second.name = "Door";
  second.policy.face_similarity_threshold = 72.5;
  second.policy.occlusion_check = true;
  second.policy.occluded_threshold = 40;
  second.image_retention_days = -1;
  second.created_ms = 3000;
  store_->create_faceauth_project(second, key_for(KeyKind::addon, "fa-2"));

  std::optional<FaceAuthProject> got = store_->get_faceauth_project("fa-2");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->kyc_project_id, t.kyc.id);
  EXPECT_EQ(got->name, "Door");
  EXPECT_EQ(got->policy, second.policy);
  EXPECT_EQ(got->image_retention_days, -1);
  EXPECT_EQ(got->created_ms, 3000);
  EXPECT_FALSE(store_->get_faceauth_project("fa-absent").has_value());

  Tenant other = make_tenant("other");
  EXPECT_EQ(store_->list_faceauth_projects(t.kyc.id).size(), 2u);
  EXPECT_EQ(store_->list_faceauth_projects(other.kyc.id).size(), 1u);
  EXPECT_EQ(store_->list_faceauth_projects("").size(), 3u);
  EXPECT_TRUE(store_->list_faceauth_projects("absent").empty());

  second.name = "Front door";
  second.policy.face_similarity_threshold = 80;
  second.image_retention_days = 0;
  second.kyc_project_id = other.kyc.id;  // not moved by an update
  second.created_ms = 1;                 // nor re-dated
  EXPECT_TRUE(store_->update_faceauth_project(second));
  got = store_->get_faceauth_project("fa-2");
  EXPECT_EQ(got->name, "Front door");
  EXPECT_EQ(got->policy.face_similarity_threshold, 80);
  EXPECT_EQ(got->image_retention_days, 0);
  EXPECT_EQ(got->kyc_project_id, t.kyc.id);
  EXPECT_EQ(got->created_ms, 3000);
  second.id = "absent";
  EXPECT_FALSE(store_->update_faceauth_project(second));
}

TEST_P(StoreTest, FaceAuthProjectNeedsItsKycProject) {
  FaceAuthProject orphan;
  orphan.id = "fa-orphan";
  orphan.kyc_project_id = "no-such-kyc";
  ApiKey key = key_for(KeyKind::addon, orphan.id);
  EXPECT_THROW(store_->create_faceauth_project(orphan, key), StoreError);
  EXPECT_EQ(rows("faceauth_projects"), 0);
  EXPECT_EQ(rows("api_keys"), 0);
}

TEST_P(StoreTest, KeyMustBelongToTheNewProject) {
  KycProject project{"kyc-1", "Acme", "", 1};
  EXPECT_THROW(store_->create_kyc_project(project, key_for(KeyKind::kyc, "kyc-other")), StoreError);
  EXPECT_THROW(store_->create_kyc_project(project, key_for(KeyKind::addon, "kyc-1")), StoreError);
  EXPECT_EQ(rows("kyc_projects"), 0);
  EXPECT_EQ(rows("api_keys"), 0);
}

TEST_P(StoreTest, FindKey) {
  Tenant t = make_tenant("acme");
  std::optional<ApiKey> kyc = store_->find_key(t.kyc_key.hash);
  ASSERT_TRUE(kyc.has_value());
  EXPECT_EQ(kyc->id, t.kyc_key.id);
  EXPECT_EQ(kyc->kind, KeyKind::kyc);
  EXPECT_EQ(kyc->project_id, t.kyc.id);
  EXPECT_EQ(kyc->prefix, t.kyc_key.prefix);
  EXPECT_EQ(kyc->hash, t.kyc_key.hash);
  EXPECT_EQ(kyc->created_ms, t.kyc_key.created_ms);
  std::optional<ApiKey> addon = store_->find_key(t.addon_key.hash);
  ASSERT_TRUE(addon.has_value());
  EXPECT_EQ(addon->kind, KeyKind::addon);
  EXPECT_EQ(addon->project_id, t.faceauth.id);
  EXPECT_FALSE(store_->find_key(hash_key("kyc_not-a-key")).has_value());
  EXPECT_FALSE(store_->find_key(Bytes{}).has_value());
}

TEST_P(StoreTest, RotateKeyMakesTheOldKeyUnfindable) {
  Tenant t = make_tenant("acme");
  Tenant other = make_tenant("other");
  ApiKey fresh = key_for(KeyKind::addon, t.faceauth.id, 5000);
  EXPECT_TRUE(store_->rotate_key(fresh));
  EXPECT_FALSE(store_->find_key(t.addon_key.hash).has_value());
  std::optional<ApiKey> found = store_->find_key(fresh.hash);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->project_id, t.faceauth.id);
  // Other kinds and other projects keep their keys.
  EXPECT_TRUE(store_->find_key(t.kyc_key.hash).has_value());
  EXPECT_TRUE(store_->find_key(other.addon_key.hash).has_value());
  // The old key row stays, revoked.
  EXPECT_EQ(query_int("SELECT COUNT(*) FROM api_keys WHERE revoked_ms IS NOT NULL"), 1);

  ApiKey fresh_kyc = key_for(KeyKind::kyc, t.kyc.id, 6000);
  EXPECT_TRUE(store_->rotate_key(fresh_kyc));
  EXPECT_FALSE(store_->find_key(t.kyc_key.hash).has_value());
  EXPECT_TRUE(store_->find_key(fresh_kyc.hash).has_value());
  EXPECT_TRUE(store_->find_key(fresh.hash).has_value());

  // Rotating twice leaves exactly one live key.
  ApiKey third = key_for(KeyKind::addon, t.faceauth.id, 7000);
  EXPECT_TRUE(store_->rotate_key(third));
  EXPECT_FALSE(store_->find_key(fresh.hash).has_value());
  EXPECT_EQ(query_int("SELECT COUNT(*) FROM api_keys WHERE revoked_ms IS NULL AND faceauth_project_id = '" +
                      t.faceauth.id + "'"),
            1);
}

TEST_P(StoreTest, RotateKeyForAnAbsentProjectDoesNothing) {
  Tenant t = make_tenant("acme");
  const int64_t keys = rows("api_keys");
  EXPECT_FALSE(store_->rotate_key(key_for(KeyKind::addon, "absent")));
  // A KYC project id is not a FaceAuth project.
  EXPECT_FALSE(store_->rotate_key(key_for(KeyKind::addon, t.kyc.id)));
  EXPECT_FALSE(store_->rotate_key(key_for(KeyKind::kyc, t.faceauth.id)));
  EXPECT_EQ(rows("api_keys"), keys);
  EXPECT_TRUE(store_->find_key(t.addon_key.hash).has_value());
}

TEST_P(StoreTest, RotateKeyWithATakenHashChangesNothing) {
  Tenant t = make_tenant("acme");
  ApiKey clash = key_for(KeyKind::addon, t.faceauth.id);
  clash.hash = t.kyc_key.hash;
  EXPECT_THROW(store_->rotate_key(clash), StoreError);
  EXPECT_TRUE(store_->find_key(t.addon_key.hash).has_value());  // the revocation was rolled back
}

TEST_P(StoreTest, SubmissionRoundTripAndStatus) {
  Tenant t = make_tenant("acme");
  Submission s = make_submission(t.kyc.id, "sub-1");
  store_->create_submission(s);
  std::optional<Submission> got = store_->get_submission(t.kyc.id, "sub-1");
  ASSERT_TRUE(got.has_value());
  expect_same(*got, s);
  EXPECT_TRUE(got->id_image_sealed.empty());

  Submission empty = make_submission(t.kyc.id, "sub-2");
  empty.template_sealed.clear();
  empty.selfie_sealed.clear();
  empty.template_source = "";
  store_->create_submission(empty);
  expect_same(*store_->get_submission(t.kyc.id, "sub-2"), empty);

  EXPECT_TRUE(store_->set_submission_status(t.kyc.id, "sub-1", SubmissionStatus::approved, 99));
  got = store_->get_submission(t.kyc.id, "sub-1");
  EXPECT_EQ(got->status, SubmissionStatus::approved);
  EXPECT_EQ(got->updated_ms, 99);
  EXPECT_EQ(got->created_ms, 10);
  EXPECT_FALSE(store_->set_submission_status(t.kyc.id, "absent", SubmissionStatus::rejected, 1));

  EXPECT_THROW(store_->create_submission(make_submission(t.kyc.id, "sub-1")), StoreError);  // duplicate id
  EXPECT_THROW(store_->create_submission(make_submission("no-such-kyc", "sub-3")), StoreError);
  EXPECT_EQ(rows("submissions"), 2);
}

TEST_P(StoreTest, ListSubmissionsPagesByIdWithFilters) {
  Tenant t = make_tenant("acme");
  for (int i = 0; i < 10; ++i) {
    Submission s = make_submission(t.kyc.id, "sub-" + std::to_string(i), i % 2 == 0 ? "even" : "odd");
    s.status = i < 3 ? SubmissionStatus::approved : SubmissionStatus::pending;
    store_->create_submission(s);
  }
  SubmissionFilter filter;
  filter.limit = 4;
  EXPECT_EQ(ids_of(store_->list_submissions(t.kyc.id, filter)),
            (std::vector<std::string>{"sub-0", "sub-1", "sub-2", "sub-3"}));
  filter.after_id = "sub-3";
  EXPECT_EQ(ids_of(store_->list_submissions(t.kyc.id, filter)),
            (std::vector<std::string>{"sub-4", "sub-5", "sub-6", "sub-7"}));
  filter.after_id = "sub-7";
  EXPECT_EQ(ids_of(store_->list_submissions(t.kyc.id, filter)), (std::vector<std::string>{"sub-8", "sub-9"}));
  filter.after_id = "sub-9";
  EXPECT_TRUE(store_->list_submissions(t.kyc.id, filter).empty());

  SubmissionFilter approved;
  approved.status = SubmissionStatus::approved;
  EXPECT_EQ(ids_of(store_->list_submissions(t.kyc.id, approved)),
            (std::vector<std::string>{"sub-0", "sub-1", "sub-2"}));
  SubmissionFilter odd;
  odd.user_id = "odd";
  odd.status = SubmissionStatus::pending;
  EXPECT_EQ(ids_of(store_->list_submissions(t.kyc.id, odd)),
            (std::vector<std::string>{"sub-3", "sub-5", "sub-7", "sub-9"}));
  SubmissionFilter rejected;
  rejected.status = SubmissionStatus::rejected;
  EXPECT_TRUE(store_->list_submissions(t.kyc.id, rejected).empty());

  // Rows come back whole.
  std::vector<Submission> all = store_->list_submissions(t.kyc.id, {});
  ASSERT_EQ(all.size(), 10u);
  EXPECT_EQ(all[0].selfie_sealed.size(), 5000u);

  SubmissionFilter tiny;
  tiny.limit = 0;
  EXPECT_EQ(store_->list_submissions(t.kyc.id, tiny).size(), 1u);
  tiny.limit = -7;
  EXPECT_EQ(store_->list_submissions(t.kyc.id, tiny).size(), 1u);
}

TEST_P(StoreTest, ListSubmissionsLimitIsAtMostAThousand) {
  Tenant t = make_tenant("acme");
  for (int i = 0; i < 1005; ++i) {
    Submission s = make_submission(t.kyc.id, std::to_string(10000 + i));
    s.selfie_sealed.clear();
    store_->create_submission(s);
  }
  SubmissionFilter filter;
  filter.limit = 5000;
  std::vector<Submission> page = store_->list_submissions(t.kyc.id, filter);
  ASSERT_EQ(page.size(), 1000u);
  filter.after_id = page.back().id;
  EXPECT_EQ(store_->list_submissions(t.kyc.id, filter).size(), 5u);
}

TEST_P(StoreTest, DeleteSubmissionKeepsItsAttempts) {
  Tenant t = make_tenant("acme");
  store_->create_submission(make_submission(t.kyc.id, "sub-1"));
  Attempt attempt = make_attempt(t.faceauth.id, "sub-1", "att-1");
  store_->insert_attempt(attempt);
  EXPECT_TRUE(store_->delete_submission(t.kyc.id, "sub-1"));
  EXPECT_FALSE(store_->get_submission(t.kyc.id, "sub-1").has_value());
  EXPECT_FALSE(store_->delete_submission(t.kyc.id, "sub-1"));
  EXPECT_EQ(rows("submissions"), 0);
  std::optional<Attempt> kept = store_->get_attempt(t.faceauth.id, "att-1");
  ASSERT_TRUE(kept.has_value());
  expect_same(*kept, attempt);
  // The same id can be made again afterwards.
  store_->create_submission(make_submission(t.kyc.id, "sub-1"));
  EXPECT_TRUE(store_->get_submission(t.kyc.id, "sub-1").has_value());
}

TEST_P(StoreTest, Attempts) {
  Tenant t = make_tenant("acme");
  Attempt a = make_attempt(t.faceauth.id, "sub-1", "att-1");
  store_->insert_attempt(a);
  Attempt b = make_attempt(t.faceauth.id, "sub-1", "att-2");
  b.approved = false;
  b.delete_check = false;
  b.fail_codes_json = R"(["face_compare_underscore"])";
  b.image_sealed.clear();
  store_->insert_attempt(b);
  expect_same(*store_->get_attempt(t.faceauth.id, "att-1"), a);
  expect_same(*store_->get_attempt(t.faceauth.id, "att-2"), b);
  EXPECT_FALSE(store_->get_attempt(t.faceauth.id, "att-3").has_value());
  EXPECT_EQ(store_->count_attempts(t.faceauth.id), 2);
  EXPECT_EQ(store_->count_attempts("absent"), 0);
  EXPECT_THROW(store_->insert_attempt(make_attempt("no-such-project", "sub-1", "att-9")), StoreError);
}

TEST_P(StoreTest, TenantIsolation) {
  Tenant a = make_tenant("a");
  Tenant b = make_tenant("b");
  store_->create_submission(make_submission(a.kyc.id, "sub-a"));
  store_->create_submission(make_submission(b.kyc.id, "sub-b"));
  store_->insert_attempt(make_attempt(a.faceauth.id, "sub-a", "att-a"));

  // Keys resolve to their own project only.
  EXPECT_EQ(store_->find_key(a.kyc_key.hash)->project_id, a.kyc.id);
  EXPECT_EQ(store_->find_key(b.addon_key.hash)->project_id, b.faceauth.id);

  // B cannot see, list, change or delete A's submission: exactly as an absent id.
  EXPECT_FALSE(store_->get_submission(b.kyc.id, "sub-a").has_value());
  EXPECT_EQ(ids_of(store_->list_submissions(b.kyc.id, {})), (std::vector<std::string>{"sub-b"}));
  EXPECT_EQ(ids_of(store_->list_submissions(a.kyc.id, {})), (std::vector<std::string>{"sub-a"}));
  SubmissionFilter user_filter;
  user_filter.user_id = "user-1";
  EXPECT_EQ(ids_of(store_->list_submissions(b.kyc.id, user_filter)), (std::vector<std::string>{"sub-b"}));
  EXPECT_FALSE(store_->set_submission_status(b.kyc.id, "sub-a", SubmissionStatus::approved, 5));
  EXPECT_FALSE(store_->delete_submission(b.kyc.id, "sub-a"));
  std::optional<Submission> untouched = store_->get_submission(a.kyc.id, "sub-a");
  ASSERT_TRUE(untouched.has_value());
  EXPECT_EQ(untouched->status, SubmissionStatus::pending);
  EXPECT_EQ(untouched->updated_ms, 10);

  // A FaceAuth project id is not its KYC project's id.
  EXPECT_FALSE(store_->get_submission(a.faceauth.id, "sub-a").has_value());

  // B cannot read A's attempts, and counts only its own.
  EXPECT_FALSE(store_->get_attempt(b.faceauth.id, "att-a").has_value());
  EXPECT_TRUE(store_->get_attempt(a.faceauth.id, "att-a").has_value());
  EXPECT_EQ(store_->count_attempts(b.faceauth.id), 0);
  EXPECT_EQ(store_->count_attempts(a.faceauth.id), 1);
}

TEST_P(StoreTest, FailedAttemptInsertLeavesTheFirstRowUnchanged) {
  Tenant t = make_tenant("acme");
  Attempt first = make_attempt(t.faceauth.id, "sub-1", "att-1");
  store_->insert_attempt(first);
  Attempt duplicate = make_attempt(t.faceauth.id, "sub-2", "att-1");
  duplicate.approved = false;
  duplicate.user_id = "SECRET-MARKER";
  duplicate.image_sealed = {0xde, 0xad};
  try {
    store_->insert_attempt(duplicate);
    FAIL() << "a duplicate id was accepted";
  } catch (const StoreError& error) {
    std::string message = error.what();
    EXPECT_EQ(message.find("SECRET-MARKER"), std::string::npos) << message;
    EXPECT_NE(message.find("insert attempt"), std::string::npos) << message;
  }
  expect_same(*store_->get_attempt(t.faceauth.id, "att-1"), first);
  EXPECT_EQ(store_->count_attempts(t.faceauth.id), 1);
  // The connection is usable afterwards (no transaction left open).
  store_->insert_attempt(make_attempt(t.faceauth.id, "sub-1", "att-2"));
  EXPECT_EQ(store_->count_attempts(t.faceauth.id), 2);
}

TEST_P(StoreTest, DuplicateKeyHashWritesNeitherRow) {
  Tenant t = make_tenant("acme");
  const int64_t projects = rows("faceauth_projects");
  const int64_t keys = rows("api_keys");
  FaceAuthProject project;
  project.id = "fa-new";
  project.kyc_project_id = t.kyc.id;
  project.name = "clash";
  ApiKey clash = key_for(KeyKind::addon, "fa-new");
  clash.hash = t.addon_key.hash;
  EXPECT_THROW(store_->create_faceauth_project(project, clash), StoreError);
  EXPECT_FALSE(store_->get_faceauth_project("fa-new").has_value());
  EXPECT_EQ(rows("faceauth_projects"), projects);
  EXPECT_EQ(rows("api_keys"), keys);

  KycProject kyc{"kyc-new", "clash", "", 1};
  ApiKey kyc_clash = key_for(KeyKind::kyc, "kyc-new");
  kyc_clash.hash = t.kyc_key.hash;
  EXPECT_THROW(store_->create_kyc_project(kyc, kyc_clash), StoreError);
  EXPECT_FALSE(store_->get_kyc_project("kyc-new").has_value());
  EXPECT_EQ(rows("api_keys"), keys);
  // The key that was there still resolves to its own project.
  EXPECT_EQ(store_->find_key(t.addon_key.hash)->project_id, t.faceauth.id);
}

TEST_P(StoreTest, ConcurrentInsertsFromEightThreadsAllLand) {
  Tenant t = make_tenant("acme");
  constexpr int kThreads = 8;
  constexpr int kEach = 40;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int n = 0; n < kThreads; ++n) {
    threads.emplace_back([&, n] {
      for (int i = 0; i < kEach; ++i) {
        try {
          std::string suffix = std::to_string(n) + "-" + std::to_string(i);
          store_->create_submission(make_submission(t.kyc.id, "sub-" + suffix));
          store_->insert_attempt(make_attempt(t.faceauth.id, "sub-" + suffix, "att-" + suffix));
          if (!store_->get_submission(t.kyc.id, "sub-" + suffix)) ++failures;
          if (!store_->find_key(t.addon_key.hash)) ++failures;
        } catch (const std::exception&) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(store_->count_attempts(t.faceauth.id), kThreads * kEach);
  SubmissionFilter filter;
  filter.limit = 1000;
  EXPECT_EQ(store_->list_submissions(t.kyc.id, filter).size(), static_cast<size_t>(kThreads * kEach));
}

TEST_P(StoreTest, TwoStoresOnOneDatabaseBothWrite) {
  Tenant t = make_tenant("acme");
  std::unique_ptr<Store> second = backend_->open();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int n = 0; n < 4; ++n) {
    Store* store = n % 2 == 0 ? store_.get() : second.get();
    threads.emplace_back([&, n, store] {
      for (int i = 0; i < 25; ++i) {
        try {
          store->insert_attempt(make_attempt(t.faceauth.id, "s", "att-" + std::to_string(n) + "-" + std::to_string(i)));
        } catch (const std::exception&) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(store_->count_attempts(t.faceauth.id), 100);
  EXPECT_EQ(second->count_attempts(t.faceauth.id), 100);
}

// The shared token bucket: a burst, then refusals with the wait, refills at the rate; two
// stores on one database (two servers) draw from one bucket.
TEST_P(StoreTest, RateTokensAreSharedByEveryStoreOnTheDatabase) {
  std::unique_ptr<Store> second = backend_->open();
  // 60 a minute = one a second, bursts of 3.
  EXPECT_EQ(store_->take_rate_token("k", 1, 3, 10'000), 0);
  EXPECT_EQ(second->take_rate_token("k", 1, 3, 10'000), 0);
  EXPECT_EQ(store_->take_rate_token("k", 1, 3, 10'000), 0);
  EXPECT_EQ(second->take_rate_token("k", 1, 3, 10'000), 1000);  // empty: one second to the next
  EXPECT_EQ(store_->take_rate_token("k", 1, 3, 10'500), 500);
  EXPECT_EQ(store_->take_rate_token("other", 1, 3, 10'500), 0);  // buckets are per name
  EXPECT_EQ(second->take_rate_token("k", 1, 3, 11'000), 0);      // refilled one token
  EXPECT_GT(store_->take_rate_token("k", 1, 3, 11'000), 0);
  EXPECT_EQ(store_->take_rate_token("k", 1, 3, 20'000), 0);  // full again, never above the burst
  EXPECT_EQ(store_->take_rate_token("k", 1, 3, 20'000), 0);
  EXPECT_EQ(store_->take_rate_token("k", 1, 3, 20'000), 0);
  EXPECT_GT(store_->take_rate_token("k", 1, 3, 20'000), 0);
}

// Eight threads on two stores take 100 tokens from a bucket of 60: exactly 60 succeed.
TEST_P(StoreTest, ConcurrentRateTokensNeverOverspend) {
  std::unique_ptr<Store> second = backend_->open();
  std::atomic<int> taken{0}, failures{0};
  std::vector<std::thread> threads;
  for (int n = 0; n < 8; ++n) {
    Store* store = n % 2 == 0 ? store_.get() : second.get();
    threads.emplace_back([&, store, n] {
      for (int i = 0; i < (n < 4 ? 13 : 12); ++i) {
        try {
          if (store->take_rate_token("shared", 0.001, 60, 5000) == 0) ++taken;
        } catch (const std::exception&) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(taken.load(), 60);
}

TEST_P(StoreTest, ClusterValueIsWrittenOnceAndReadByAll) {
  std::unique_ptr<Store> second = backend_->open();
  EXPECT_EQ(store_->put_cluster_value_if_absent("check", {1, 2, 3}), (Bytes{1, 2, 3}));
  EXPECT_EQ(second->put_cluster_value_if_absent("check", {9}), (Bytes{1, 2, 3}));  // the first one stays
  EXPECT_EQ(second->put_cluster_value_if_absent("other", {}), Bytes{});
}

// PostgreSQL: the server drops every connection of ours (a restart, a failover): the next
// calls reconnect and succeed, and nothing is lost.
TEST_P(StoreTest, LostConnectionsAreReplacedWithoutAnError) {
  if (GetParam() != "postgres") GTEST_SKIP() << "PostgreSQL only: SQLite has no connection to lose";
  Tenant t = make_tenant("acme");
  store_->insert_attempt(make_attempt(t.faceauth.id, "s", "before"));
  // Only this test's connections (the backend names them after its schema).
  const std::string name = backend_->url().substr(backend_->url().rfind('=') + 1);
  EXPECT_GE(query_int("SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '" +
                      name + "'"),
            1);
  EXPECT_TRUE(store_->ping());
  store_->insert_attempt(make_attempt(t.faceauth.id, "s", "after"));
  EXPECT_EQ(store_->count_attempts(t.faceauth.id), 2);
  EXPECT_TRUE(store_->find_key(t.addon_key.hash).has_value());
}

// Idempotency-Key records: one claim wins, the stored response comes back for the same
// request from any store on the database, another request with the key is refused.
TEST_P(StoreTest, IdempotencyKeyIsClaimedOnceAndAnswersTheStoredResponse) {
  Tenant t = make_tenant("acme");
  std::unique_ptr<Store> second = backend_->open();
  IdempotencyRecord first{t.faceauth.id, "key-1", Bytes(32, 1), "", 0};
  EXPECT_EQ(store_->claim_idempotency_key(first, 1000, 500, 10'000), IdempotencyClaim::claimed);
  IdempotencyRecord again = first;
  EXPECT_EQ(second->claim_idempotency_key(again, 1100, 500, 10'000), IdempotencyClaim::in_progress);
  IdempotencyRecord other = first;
  other.request_hash = Bytes(32, 2);
  EXPECT_EQ(second->claim_idempotency_key(other, 1100, 500, 10'000), IdempotencyClaim::mismatch);

  first.response_body = R"({"authentication_id":"att-1"})";
  store_->insert_attempt(make_attempt(t.faceauth.id, "s", "att-1"), std::nullopt, &first);
  again.response_body.clear();
  EXPECT_EQ(second->claim_idempotency_key(again, 1200, 500, 10'000), IdempotencyClaim::done);
  EXPECT_EQ(again.response_body, first.response_body);
  // The key is per project.
  IdempotencyRecord elsewhere{"another-project", "key-1", Bytes(32, 2), "", 0};
  EXPECT_EQ(second->claim_idempotency_key(elsewhere, 1200, 500, 10'000), IdempotencyClaim::claimed);
  // After keep_ms the key is forgotten; purge removes old records.
  IdempotencyRecord later = other;
  EXPECT_EQ(store_->claim_idempotency_key(later, 11'001, 500, 10'000), IdempotencyClaim::claimed);
  EXPECT_EQ(store_->purge_idempotency_keys(11'000), 1);  // "elsewhere" (1200); "later" stays
  EXPECT_EQ(rows("idempotency_keys"), 1);
}

TEST_P(StoreTest, IdempotencyKeyOfADeadRequestIsTakenOverAndAReleasedOneRunsAgain) {
  Tenant t = make_tenant("acme");
  IdempotencyRecord r{t.faceauth.id, "k", Bytes(32, 7), "", 0};
  EXPECT_EQ(store_->claim_idempotency_key(r, 1000, 500, 10'000), IdempotencyClaim::claimed);
  IdempotencyRecord retry = r;
  EXPECT_EQ(store_->claim_idempotency_key(retry, 1600, 500, 10'000), IdempotencyClaim::claimed);  // stale
  // A request that answered an error releases its key: the next one runs.
  store_->release_idempotency_key(t.faceauth.id, "k");
  EXPECT_EQ(rows("idempotency_keys"), 0);
  EXPECT_EQ(store_->claim_idempotency_key(retry, 1700, 500, 10'000), IdempotencyClaim::claimed);
  // An attempt whose insert fails stores no response either.
  Attempt duplicate = make_attempt(t.faceauth.id, "s", "att-1");
  store_->insert_attempt(duplicate);
  retry.response_body = "{}";
  EXPECT_THROW(store_->insert_attempt(duplicate, std::nullopt, &retry), StoreError);
  EXPECT_EQ(query_int("SELECT COUNT(*) FROM idempotency_keys WHERE response_body = ''"), 1);  // rolled back
}

TEST_P(StoreTest, SubmissionWithAnIdempotentResponseIsOneTransaction) {
  Tenant t = make_tenant("acme");
  IdempotencyRecord r{t.kyc.id, "k", Bytes(32, 5), "", 0};
  ASSERT_EQ(store_->claim_idempotency_key(r, 1000, 500, 10'000), IdempotencyClaim::claimed);
  r.response_body = R"({"submissionId":"sub-1"})";
  store_->create_submission(make_submission(t.kyc.id, "sub-1"), &r);
  IdempotencyRecord again{t.kyc.id, "k", Bytes(32, 5), "", 0};
  EXPECT_EQ(store_->claim_idempotency_key(again, 1100, 500, 10'000), IdempotencyClaim::done);
  EXPECT_EQ(again.response_body, r.response_body);
  // A failed creation (duplicate id) stores no response.
  IdempotencyRecord second{t.kyc.id, "k2", Bytes(32, 6), "", 0};
  ASSERT_EQ(store_->claim_idempotency_key(second, 1000, 500, 10'000), IdempotencyClaim::claimed);
  second.response_body = "{}";
  EXPECT_THROW(store_->create_submission(make_submission(t.kyc.id, "sub-1"), &second), StoreError);
  EXPECT_EQ(query_int("SELECT COUNT(*) FROM idempotency_keys WHERE key = 'k2' AND response_body = ''"), 1);
}

// Concurrent claims of one key from eight threads on two stores: exactly one wins.
TEST_P(StoreTest, ConcurrentIdempotencyClaimsHaveOneWinner) {
  std::unique_ptr<Store> second = backend_->open();
  std::atomic<int> claimed{0}, failures{0};
  std::vector<std::thread> threads;
  for (int n = 0; n < 8; ++n) {
    Store* store = n % 2 == 0 ? store_.get() : second.get();
    threads.emplace_back([&, store] {
      try {
        IdempotencyRecord r{"p", "same", Bytes(32, 3), "", 0};
        if (store->claim_idempotency_key(r, 1000, 500, 10'000) == IdempotencyClaim::claimed) ++claimed;
      } catch (const std::exception&) {
        ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(claimed.load(), 1);
}

TEST(PostgresStore, UnreachableServerIsAStoreError) {
  EXPECT_THROW(open_postgres_store("postgresql://faceauth@127.0.0.1:1/faceauth", 2), StoreError);
  EXPECT_THROW(open_store("mysql://x", "/tmp/unused.db", 1), StoreError);
}

// -- Lockout counters (written against the Store interface: the same tests for every store) --

class LockoutStoreTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;  // no PostgreSQL for this run: no store to fill
    t_ = make_tenant("acme");
    store_->create_submission(make_submission(t_.kyc.id, "sub-1"));
    store_->create_submission(make_submission(t_.kyc.id, "sub-2"));
  }

  // A failed similarity check (or, with `failed` false, an approved attempt) at `at_ms`.
  LockoutState attempt_at(int64_t at_ms, const LockoutRule& rule, bool failed = true,
                          const std::string& submission = "sub-1", const std::string& project = "") {
    Attempt a = make_attempt(project.empty() ? t_.faceauth.id : project, submission, "att-" + std::to_string(++n_));
    a.created_ms = at_ms;
    a.approved = !failed;
    a.similarity_failed = failed;
    a.fail_codes_json = failed ? R"(["face_compare_underscore"])" : "[]";
    return store_->insert_attempt_counted(a, std::nullopt, rule, lock_event("lock-" + a.id, a.id, at_ms), nullptr);
  }

  WebhookEvent lock_event(const std::string& id, const std::string& attempt_id, int64_t at_ms) {
    WebhookEvent e;
    e.id = id;
    e.kyc_project_id = t_.kyc.id;
    e.attempt_id = attempt_id;
    e.payload = R"({"webhook_trigger":"faceAuthLockout"})";
    e.created_ms = e.next_attempt_ms = at_ms;
    return e;
  }

  size_t outbox() { return store_->due_webhook_events(INT64_MAX / 2, 1000).size(); }

  Tenant t_;
  int n_ = 0;
};

INSTANTIATE_TEST_SUITE_P(Stores, LockoutStoreTest, ::testing::Values("sqlite", "postgres"), store_backend_name);

TEST_P(LockoutStoreTest, TheNthFailureWithinTheWindowLocks) {
  const LockoutRule rule{3, 60'000, 10'000};
  LockoutState first = attempt_at(1000, rule);
  EXPECT_FALSE(first.locked);
  EXPECT_EQ(first.failures, 1);
  EXPECT_EQ(attempt_at(2000, rule).failures, 2);
  EXPECT_EQ(outbox(), 0u);
  LockoutState third = attempt_at(3000, rule);
  EXPECT_TRUE(third.locked);
  EXPECT_EQ(third.failures, 3);
  EXPECT_EQ(third.locked_ms, 3000);
  EXPECT_EQ(third.locked_until_ms, 13'000);
  EXPECT_EQ(outbox(), 1u);  // the lock's webhook event, in the attempt's transaction

  EXPECT_TRUE(store_->get_lockout(t_.faceauth.id, "sub-1", rule, 12'999).locked);
  LockoutState after = store_->get_lockout(t_.faceauth.id, "sub-1", rule, 13'000);
  EXPECT_FALSE(after.locked);
  EXPECT_EQ(after.failures, 0);  // the count restarts after a lock
  EXPECT_EQ(after.locked_until_ms, 13'000);

  std::vector<LockoutEvent> events = store_->list_lockout_events(t_.faceauth.id, 0, 100);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, "locked");
  EXPECT_EQ(events[0].submission_id, "sub-1");
  EXPECT_EQ(events[0].time_ms, 3000);
  EXPECT_EQ(events[0].locked_until_ms, 13'000);
  EXPECT_EQ(events[0].failures, 3);
  EXPECT_EQ(events[0].attempt_id, "att-3");
  EXPECT_EQ(events[0].actor, "policy");
  EXPECT_GT(events[0].seq, 0);
}

TEST_P(LockoutStoreTest, OnlyFailuresWithinTheSlidingWindowCount) {
  const LockoutRule rule{3, 1000, 10'000};
  attempt_at(1000, rule);
  attempt_at(1900, rule);
  EXPECT_FALSE(attempt_at(2100, rule).locked);  // the first is out of the window by then
  EXPECT_EQ(store_->get_lockout(t_.faceauth.id, "sub-1", rule, 2100).failures, 2);
  EXPECT_TRUE(attempt_at(2800, rule).locked);  // 1900, 2100, 2800
}

TEST_P(LockoutStoreTest, ApprovedAttemptsDoNotCountAndDoNotReset) {
  const LockoutRule rule{2, 60'000, 10'000};
  attempt_at(1000, rule);
  LockoutState approved = attempt_at(1500, rule, false);
  EXPECT_FALSE(approved.locked);
  EXPECT_EQ(approved.failures, 1);
  EXPECT_TRUE(attempt_at(2000, rule).locked);
}

TEST_P(LockoutStoreTest, TheLockIsPerProjectAndSubmission) {
  const LockoutRule rule{2, 60'000, 10'000};
  FaceAuthProject other;
  other.id = "fa-other";
  other.kyc_project_id = t_.kyc.id;
  other.name = "other door";
  store_->create_faceauth_project(other, key_for(KeyKind::addon, other.id));
  attempt_at(1000, rule);
  EXPECT_TRUE(attempt_at(1100, rule).locked);
  EXPECT_FALSE(store_->get_lockout(t_.faceauth.id, "sub-2", rule, 1200).locked);
  EXPECT_FALSE(store_->get_lockout(other.id, "sub-1", rule, 1200).locked);
  EXPECT_FALSE(attempt_at(1200, rule, true, "sub-2").locked);
  EXPECT_FALSE(attempt_at(1300, rule, true, "sub-1", other.id).locked);
  EXPECT_EQ(store_->list_lockout_events(other.id, 0, 100).size(), 0u);
}

TEST_P(LockoutStoreTest, ARuleThatIsOffNeverLocks) {
  const LockoutRule off{};
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(attempt_at(1000 + i, off).locked);
  EXPECT_EQ(outbox(), 0u);
  EXPECT_EQ(store_->list_lockout_events(t_.faceauth.id, 0, 100).size(), 0u);
  EXPECT_EQ(store_->count_attempts(t_.faceauth.id), 10);
}

TEST_P(LockoutStoreTest, FailuresDuringALockNeitherExtendNorRelock) {
  const LockoutRule rule{2, 60'000, 10'000};
  attempt_at(1000, rule);
  attempt_at(1100, rule);
  LockoutState during = attempt_at(1200, rule);  // in flight when the lock began
  EXPECT_TRUE(during.locked);
  EXPECT_EQ(during.locked_until_ms, 11'100);
  EXPECT_EQ(store_->list_lockout_events(t_.faceauth.id, 0, 100).size(), 1u);
  EXPECT_EQ(outbox(), 1u);
}

TEST_P(LockoutStoreTest, UnlockEndsTheLockAndRestartsTheCount) {
  const LockoutRule rule{2, 60'000, 600'000};
  attempt_at(1000, rule);
  attempt_at(1100, rule);
  ASSERT_TRUE(store_->get_lockout(t_.faceauth.id, "sub-1", rule, 2000).locked);
  EXPECT_TRUE(store_->unlock_submission(t_.faceauth.id, "sub-1", 2000, lock_event("unlock-1", "", 2000)));
  LockoutState unlocked = store_->get_lockout(t_.faceauth.id, "sub-1", rule, 2000);
  EXPECT_FALSE(unlocked.locked);
  EXPECT_EQ(unlocked.failures, 0);
  EXPECT_EQ(outbox(), 2u);  // the lock's and the unlock's events
  // Not locked any more: nothing to log, no event, but the count restarts.
  EXPECT_FALSE(store_->unlock_submission(t_.faceauth.id, "sub-1", 2100, lock_event("unlock-2", "", 2100)));
  EXPECT_EQ(outbox(), 2u);
  std::vector<LockoutEvent> events = store_->list_lockout_events(t_.faceauth.id, 0, 100);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].kind, "unlocked");
  EXPECT_EQ(events[1].actor, "admin");
  EXPECT_EQ(events[1].time_ms, 2000);
  EXPECT_EQ(events[1].locked_until_ms, 601'100);  // when the lock would have ended
  EXPECT_GT(events[1].seq, events[0].seq);
  EXPECT_EQ(store_->list_lockout_events(t_.faceauth.id, events[0].seq, 100).size(), 1u);
  EXPECT_EQ(store_->list_lockout_events(t_.faceauth.id, 0, 1).size(), 1u);
  // After the unlock the full count is needed again.
  EXPECT_FALSE(attempt_at(3000, rule).locked);
  EXPECT_TRUE(attempt_at(3100, rule).locked);
}

TEST_P(LockoutStoreTest, UnlockWithoutALockResetsTheCount) {
  const LockoutRule rule{2, 60'000, 10'000};
  attempt_at(1000, rule);
  EXPECT_FALSE(store_->unlock_submission(t_.faceauth.id, "sub-1", 1500, std::nullopt));
  EXPECT_FALSE(attempt_at(2000, rule).locked);
  EXPECT_EQ(store_->get_lockout(t_.faceauth.id, "sub-1", rule, 2000).failures, 1);
}

TEST_P(LockoutStoreTest, TheFailureFlagIsStoredWithTheAttempt) {
  const LockoutRule rule{5, 60'000, 10'000};
  attempt_at(1000, rule);
  attempt_at(1100, rule, false);
  EXPECT_TRUE(store_->get_attempt(t_.faceauth.id, "att-1")->similarity_failed);
  EXPECT_FALSE(store_->get_attempt(t_.faceauth.id, "att-2")->similarity_failed);
}

TEST_P(LockoutStoreTest, AFailedLockWriteLeavesNoAttempt) {
  const LockoutRule rule{1, 60'000, 10'000};
  Attempt a = make_attempt(t_.faceauth.id, "sub-1", "att-x");
  a.similarity_failed = true;
  WebhookEvent bad = lock_event("ev", a.id, 1000);
  bad.kyc_project_id = "no-such-kyc-project";  // the outbox row breaks a foreign key
  EXPECT_THROW(store_->insert_attempt_counted(a, std::nullopt, rule, bad, nullptr), StoreError);
  EXPECT_FALSE(store_->get_attempt(t_.faceauth.id, "att-x").has_value());
  EXPECT_EQ(store_->list_lockout_events(t_.faceauth.id, 0, 100).size(), 0u);
  EXPECT_FALSE(store_->get_lockout(t_.faceauth.id, "sub-1", rule, a.created_ms).locked);
}

TEST_P(StoreTest, WriteProbeFailsWhileAnotherWriterHoldsTheDatabase) {
  if (GetParam() != "sqlite") GTEST_SKIP() << "SQLite only: one writer at a time is SQLite's";
  EXPECT_TRUE(store_->probe_write(1000));
  const std::string path = backend_->url().substr(7);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  EXPECT_FALSE(store_->probe_write(2000));
  EXPECT_TRUE(store_->ping());  // reads still work: only writes are stuck
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close_v2(db);
  EXPECT_TRUE(store_->probe_write(3000));
}

}  // namespace
}  // namespace faceauth
