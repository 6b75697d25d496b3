// faceauth admin migrate-store's copy: an SQLite store with every kind of record, copied into
// a fresh PostgreSQL schema, verified, read back through the PostgreSQL store, and copied again.
#include "store/migrate_store.h"

#include <gtest/gtest.h>

#include "crypto/secrets.h"
#include "store/store.h"
#include "store_backends.h"

namespace faceauth {
namespace {

class MigrateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FACEAUTH_OPEN_BACKEND(target_, "postgres");
    source_ = make_store_backend("sqlite");
    path_ = source_->url().substr(7);
    std::unique_ptr<Store> store = source_->open();
    NewKey kyc_key = generate_key("kyc"), addon_key = generate_key("fa"), rotated = generate_key("fa");
    store->create_kyc_project({"kyc-1", "Acme", "http://127.0.0.1:9/hook", 5, 72.5, {1, 2, 3}},
                              {"k1", KeyKind::kyc, "kyc-1", kyc_key.prefix, kyc_key.hash, 5});
    FaceAuthProject fa;
    fa.id = "fa-1";
    fa.kyc_project_id = "kyc-1";
    fa.name = "door";
    fa.policy.face_similarity_threshold = 61.25;
    fa.image_retention_days = -1;
    store->create_faceauth_project(fa, {"k2", KeyKind::addon, "fa-1", addon_key.prefix, addon_key.hash, 6});
    store->rotate_key({"k3", KeyKind::addon, "fa-1", rotated.prefix, rotated.hash, 7});  // k2 revoked
    Submission s;
    s.id = "sub-1";
    s.kyc_project_id = "kyc-1";
    s.status = SubmissionStatus::approved;
    s.user_id = "ünïcode";
    s.template_sealed = Bytes(512, 0xab);
    s.template_model = "m1";
    s.selfie_sealed = {0, 0, 1};
    store->create_submission(s);
    for (int i = 0; i < 50; ++i) {
      Attempt a;
      a.id = "att-" + std::to_string(i);
      a.faceauth_project_id = "fa-1";
      a.submission_id = "sub-1";
      a.approved = i % 2 == 0;
      a.scores_json = R"({"face_similarity_score":90.1})";
      a.fail_codes_json = a.comments_json = "[]";
      a.policy_json = "{}";
      a.latency_ms = 12.345678901234 * i;
      a.created_ms = 1000 + i;
      a.image_sealed = Bytes(100, static_cast<uint8_t>(i));
      WebhookEvent e{"ev-" + a.id, "kyc-1", a.id, R"({"data":{"user_id":"u"}})", a.created_ms};
      IdempotencyRecord r{"fa-1", "idem-" + a.id, Bytes(32, 9), "", 0};
      ASSERT_EQ(store->claim_idempotency_key(r, a.created_ms, 1000, 86'400'000), IdempotencyClaim::claimed);
      r.response_body = "{\"authentication_id\":\"" + a.id + "\"}";
      store->insert_attempt(a, e, &r);
    }
    store->purge_attempt("fa-1", "att-3");
    WebhookEvent e0 = store->claim_webhook_events(5000, 1, 1000)[0];
    e0.state = WebhookState::delivered;
    e0.attempts = 1;
    store->record_webhook_delivery(
        {0, e0.id, "kyc-1", e0.attempt_id, "http://127.0.0.1:9/hook", 1, 5000, 204, "", 1.5, WebhookState::delivered},
        e0);
    store->put_cluster_value_if_absent("sealing_check", {4, 5, 6});
  }

  std::unique_ptr<StoreBackend> target_, source_;
  std::string path_;
};

void expect_all_same(const std::vector<TableCopy>& copies, int64_t attempts) {
  ASSERT_EQ(copies.size(), 14u);
  for (const TableCopy& t : copies) {
    EXPECT_TRUE(t.same()) << t.table << ": " << t.source_rows << " / " << t.target_rows;
    if (t.table == "attempts") {
      EXPECT_EQ(t.target_rows, attempts);
    }
    if (t.table == "api_keys") {
      EXPECT_EQ(t.target_rows, 3);
    }
    if (t.table == "webhook_deliveries") {
      EXPECT_EQ(t.target_rows, 1);
    }
  }
}

TEST_F(MigrateStoreTest, CopiesEverythingVerifiesAndCanRunAgain) {
  expect_all_same(migrate_sqlite_to_postgres(path_, target_->url()), 50);
  std::unique_ptr<Store> pg = target_->open();
  std::unique_ptr<Store> sqlite = source_->open();
  // Read back through the PostgreSQL store: what a server would see.
  EXPECT_EQ(pg->get_kyc_project("kyc-1")->webhook_secret_sealed, (Bytes{1, 2, 3}));
  EXPECT_EQ(pg->get_kyc_project("kyc-1")->auto_approve_threshold, 72.5);
  EXPECT_EQ(pg->get_faceauth_project("fa-1")->policy, sqlite->get_faceauth_project("fa-1")->policy);
  EXPECT_EQ(pg->get_submission("kyc-1", "sub-1")->user_id, "ünïcode");
  EXPECT_EQ(pg->get_submission("kyc-1", "sub-1")->template_sealed, Bytes(512, 0xab));
  AttemptQuery all{"fa-1", 0, INT64_MAX, std::nullopt, 1000};
  std::vector<Attempt> a = pg->list_attempts(all), b = sqlite->list_attempts(all);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].id, b[i].id);
    EXPECT_EQ(a[i].latency_ms, b[i].latency_ms);
    EXPECT_EQ(a[i].image_sealed, b[i].image_sealed);
    EXPECT_EQ(a[i].image_state, b[i].image_state);
    EXPECT_EQ(a[i].approved, b[i].approved);
  }
  EXPECT_EQ(pg->get_attempt("fa-1", "att-3")->image_state, "deleted");
  EXPECT_EQ(pg->list_webhook_deliveries("kyc-1", 0, 10).size(), 1u);
  EXPECT_EQ(pg->due_webhook_events(INT64_MAX, 100).size(), 49u);  // the delivered one is not due
  IdempotencyRecord replay{"fa-1", "idem-att-7", Bytes(32, 9), "", 0};
  EXPECT_EQ(pg->claim_idempotency_key(replay, 2000, 1000, 86'400'000), IdempotencyClaim::done);
  EXPECT_EQ(replay.response_body, R"({"authentication_id":"att-7"})");
  // A new delivery after the copy gets the next number.
  pg->record_webhook_delivery(
      {0, "ev-att-1", "kyc-1", "att-1", "u", 1, 6000, 500, "HTTP 500", 1, WebhookState::pending},
      pg->due_webhook_events(INT64_MAX, 1)[0]);
  EXPECT_EQ(pg->list_webhook_deliveries("kyc-1", 0, 10).back().seq, 2);
  target_->exec("DELETE FROM webhook_deliveries WHERE seq = 2");

  // Changes on the node before the final copy come over on a second run; nothing doubles.
  sqlite->purge_attempt("fa-1", "att-4");
  expect_all_same(migrate_sqlite_to_postgres(path_, target_->url()), 50);
  EXPECT_EQ(pg->get_attempt("fa-1", "att-4")->image_state, "deleted");

  // A row only the target has is reported, not hidden.
  Attempt extra = a[0];
  extra.id = "only-in-postgres";
  pg->insert_attempt(extra);
  bool attempts_differ = false;
  for (const TableCopy& t : migrate_sqlite_to_postgres(path_, target_->url())) {
    if (t.table == "attempts") attempts_differ = !t.same() && t.target_rows == 51;
  }
  EXPECT_TRUE(attempts_differ);
}

}  // namespace
}  // namespace faceauth
