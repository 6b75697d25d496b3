// Attempt history, purge, retention and the webhook outbox of both stores (SQLite and
// PostgreSQL, store_backends.h), and the webhook deliverer with a fake sender.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "api/webhook.h"
#include "crypto/secrets.h"
#include "store/store.h"
#include "store_backends.h"

namespace faceauth {
namespace {

constexpr int64_t kDay = 86'400'000;

class HistoryStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    FACEAUTH_OPEN_BACKEND(backend_, GetParam());
    store_ = backend_->open();
    kyc_ = add_project("kyc-a", "fa-a", 30);
    add_project("kyc-b", "fa-b", -1);
  }
  void TearDown() override { store_.reset(); }

  KycProject add_project(const std::string& kyc_id, const std::string& fa_id, int retention) {
    KycProject kyc{kyc_id, kyc_id, "http://127.0.0.1:9/hook", 1, 0, sealer_.seal(secret_bytes())};
    NewKey k = generate_key("kyc");
    store_->create_kyc_project(kyc, {random_hex_id(), KeyKind::kyc, kyc_id, k.prefix, k.hash, 1});
    FaceAuthProject fa;
    fa.id = fa_id;
    fa.kyc_project_id = kyc_id;
    fa.name = fa_id;
    fa.image_retention_days = retention;
    NewKey a = generate_key("fa");
    store_->create_faceauth_project(fa, {random_hex_id(), KeyKind::addon, fa_id, a.prefix, a.hash, 1});
    return kyc;
  }

  static Bytes secret_bytes() {
    std::string s = "whsec_unit";
    return Bytes(s.begin(), s.end());
  }

  static Attempt attempt(const std::string& project, const std::string& id, int64_t created_ms, bool image = true) {
    Attempt a;
    a.id = id;
    a.faceauth_project_id = project;
    a.submission_id = "sub";
    a.scores_json = "{}";
    a.fail_codes_json = a.comments_json = "[]";
    a.policy_json = "{}";
    a.user_id = "user";
    a.cf1 = "one";
    a.created_ms = created_ms;
    if (image) a.image_sealed = {1, 2, 3};
    return a;
  }

  static WebhookEvent event_for(const Attempt& a, const std::string& kyc_id) {
    WebhookEvent e;
    e.id = "ev-" + a.id;
    e.kyc_project_id = kyc_id;
    e.attempt_id = a.id;
    e.payload = webhook_payload(a, "t");
    e.created_ms = e.next_attempt_ms = a.created_ms;
    return e;
  }

  std::unique_ptr<StoreBackend> backend_;
  std::unique_ptr<Store> store_;
  Sealer sealer_ = Sealer::from_hex(std::string(64, 'a'));
  KycProject kyc_;
};

INSTANTIATE_TEST_SUITE_P(Stores, HistoryStoreTest, ::testing::Values("sqlite", "postgres"), store_backend_name);

TEST_P(HistoryStoreTest, KeysetPagesCoverTheRangeOnceWithTiesBrokenById) {
  std::vector<std::string> all;
  for (int i = 0; i < 50; ++i) {
    std::string id = "id-" + std::to_string(100 + (i * 37) % 50);  // ids not in time order
    store_->insert_attempt(attempt("fa-a", id, 1000 + i / 5));     // five per millisecond
  }
  store_->insert_attempt(attempt("fa-b", "other", 1005));
  store_->insert_attempt(attempt("fa-a", "too-late", 2000));
  AttemptQuery q{"fa-a", 1000, 2000, std::nullopt, 7};
  std::vector<std::string> seen;
  std::pair<int64_t, std::string> last{0, ""};
  for (;;) {
    std::vector<Attempt> page = store_->list_attempts(q);
    for (const Attempt& a : page) {
      EXPECT_GT(std::make_pair(a.created_ms, a.id), last);
      last = {a.created_ms, a.id};
      seen.push_back(a.id);
    }
    if (page.size() < 7) break;
    q.after = last;
  }
  EXPECT_EQ(seen.size(), 50u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 50u);
}

TEST_P(HistoryStoreTest, PurgeErasesImageAndPersonalDataOnceAndKeepsTheRecord) {
  Attempt a = attempt("fa-a", "att", 5000);
  store_->insert_attempt(a, event_for(a, "kyc-a"));
  EXPECT_FALSE(store_->purge_attempt("fa-b", "att"));  // another project's
  EXPECT_TRUE(store_->purge_attempt("fa-a", "att"));
  std::optional<Attempt> got = store_->get_attempt("fa-a", "att");
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->delete_check);
  EXPECT_EQ(got->image_state, "deleted");
  EXPECT_TRUE(got->image_sealed.empty());
  EXPECT_EQ(got->user_id + got->cf1, "");
  EXPECT_EQ(got->created_ms, 5000);
  EXPECT_FALSE(store_->purge_attempt("fa-a", "att"));
  std::vector<WebhookEvent> due = store_->due_webhook_events(5000, 10);
  ASSERT_EQ(due.size(), 1u);
  nlohmann::json data = nlohmann::json::parse(due[0].payload)["data"];
  EXPECT_EQ(data["user_id"], "");
  EXPECT_EQ(data["cf1"], "");
  EXPECT_EQ(data["authentication_id"], "att");
}

TEST_P(HistoryStoreTest, SweeperPurgesOnlyImagesOlderThanTheRetention) {
  const int64_t now = 100 * kDay;
  store_->insert_attempt(attempt("fa-a", "old", now - 31 * kDay));
  store_->insert_attempt(attempt("fa-a", "young", now - 29 * kDay));
  store_->insert_attempt(attempt("fa-b", "kept-forever", 1));
  store_->insert_attempt(attempt("fa-a", "none", 1, false));
  EXPECT_EQ(store_->purge_expired_images(now), 1);
  EXPECT_EQ(store_->get_attempt("fa-a", "old")->image_state, "expired");
  EXPECT_TRUE(store_->get_attempt("fa-a", "old")->image_sealed.empty());
  EXPECT_FALSE(store_->get_attempt("fa-a", "old")->delete_check);
  EXPECT_EQ(store_->get_attempt("fa-a", "young")->image_state, "stored");
  EXPECT_EQ(store_->get_attempt("fa-b", "kept-forever")->image_state, "stored");
  EXPECT_EQ(store_->get_attempt("fa-a", "none")->image_state, "not_stored");
  EXPECT_EQ(store_->purge_expired_images(now), 0);
}

// PostgreSQL: while another server holds the sweeper's advisory lock, a sweep does nothing.
TEST_P(HistoryStoreTest, OneSweeperAtATime) {
  if (GetParam() != "postgres") GTEST_SKIP() << "PostgreSQL only: one SQLite file has one server";
  const int64_t now = 100 * kDay;
  store_->insert_attempt(attempt("fa-a", "old", now - 31 * kDay));
  const std::string lock = "SELECT 1 FROM (SELECT pg_advisory_lock(7377286950052429826)) s";  // kSweeperLock
  ASSERT_EQ(backend_->query_int(lock), 1);
  EXPECT_EQ(store_->purge_expired_images(now), 0);
  EXPECT_EQ(store_->get_attempt("fa-a", "old")->image_state, "stored");
  ASSERT_EQ(backend_->query_int("SELECT pg_advisory_unlock(7377286950052429826)::int"), 1);
  EXPECT_EQ(store_->purge_expired_images(now), 1);
  EXPECT_EQ(store_->get_attempt("fa-a", "old")->image_state, "expired");
}

TEST_P(HistoryStoreTest, AFailedAttemptInsertWritesNoEvent) {
  Attempt a = attempt("fa-a", "dup", 1);
  store_->insert_attempt(a);
  WebhookEvent e = event_for(a, "kyc-a");
  EXPECT_THROW(store_->insert_attempt(a, e), StoreError);
  EXPECT_TRUE(store_->due_webhook_events(INT64_MAX, 10).empty());
}

// The pagination check of tests/api/test_history.py at the store: 5,000 attempts written by
// four threads, read back in keyset pages of 2,000 (the API's largest), each exactly once.
TEST_P(HistoryStoreTest, FiveThousandAttemptsPageExactlyOnce) {
  constexpr int kThreads = 4;
  constexpr int kEach = 1250;
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int n = 0; n < kThreads; ++n) {
    writers.emplace_back([&, n] {
      for (int i = 0; i < kEach; ++i) {
        try {
          store_->insert_attempt(attempt("fa-a", "a-" + std::to_string(n) + "-" + std::to_string(i), 10'000 + i / 3));
        } catch (const std::exception&) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  ASSERT_EQ(failures.load(), 0);
  EXPECT_EQ(store_->count_attempts("fa-a"), kThreads * kEach);
  AttemptQuery q{"fa-a", 0, INT64_MAX, std::nullopt, 2000};
  std::set<std::string> seen;
  std::pair<int64_t, std::string> last{0, ""};
  int pages = 0;
  for (; pages < 10; ++pages) {
    std::vector<Attempt> page = store_->list_attempts(q);
    for (const Attempt& a : page) {
      EXPECT_GT(std::make_pair(a.created_ms, a.id), last);
      last = {a.created_ms, a.id};
      EXPECT_TRUE(seen.insert(a.id).second) << a.id;
    }
    if (page.size() < 2000) break;
    q.after = last;
  }
  EXPECT_EQ(pages, 2);  // 2,000 + 2,000 + 1,000
  EXPECT_EQ(seen.size(), static_cast<size_t>(kThreads * kEach));
}

// Two servers (two stores on one database) claiming the outbox: an event goes to one of
// them, comes back to anyone when its lease ends, and a recorded try ends the lease.
TEST_P(HistoryStoreTest, ClaimedEventsAreLeasedToOneServer) {
  std::unique_ptr<Store> other = backend_->open();
  for (int i = 0; i < 6; ++i) {
    Attempt a = attempt("fa-a", "att-" + std::to_string(i), 1000 + i);
    store_->insert_attempt(a, event_for(a, "kyc-a"));
  }
  std::vector<WebhookEvent> mine = store_->claim_webhook_events(2000, 4, 500);
  std::vector<WebhookEvent> theirs = other->claim_webhook_events(2000, 10, 500);
  ASSERT_EQ(mine.size(), 4u);
  ASSERT_EQ(theirs.size(), 2u);
  EXPECT_EQ(mine[0].id, "ev-att-0");  // oldest first
  std::set<std::string> ids;
  for (const auto& e : mine) ids.insert(e.id);
  for (const auto& e : theirs) ids.insert(e.id);
  EXPECT_EQ(ids.size(), 6u);
  EXPECT_TRUE(other->claim_webhook_events(2499, 10, 500).empty());  // all leased
  EXPECT_TRUE(store_->due_webhook_events(2499, 10).empty());
  EXPECT_EQ(store_->next_webhook_due_ms(), 2500);

  // The first server records a try of one event: that lease ends, the event is due at its
  // next_attempt_ms. The others' leases run out at 2500 and anyone may claim them again.
  WebhookEvent tried = mine[0];
  tried.attempts = 1;
  tried.next_attempt_ms = 3000;
  WebhookDelivery log{0,   tried.id,   "kyc-a", tried.attempt_id,     "http://127.0.0.1:9/hook", 1, 2000,
                      500, "HTTP 500", 1,       WebhookState::pending};
  store_->record_webhook_delivery(log, tried);
  std::vector<WebhookEvent> again = other->claim_webhook_events(2500, 10, 1000);
  EXPECT_EQ(again.size(), 5u);
  for (const auto& e : again) EXPECT_NE(e.id, tried.id);
  std::vector<WebhookEvent> retry = store_->claim_webhook_events(3000, 10, 500);
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_EQ(retry[0].id, tried.id);
  EXPECT_EQ(retry[0].attempts, 1);
}

// Eight threads on two stores claiming at once: no event is handed out twice.
TEST_P(HistoryStoreTest, ConcurrentClaimsNeverShareAnEvent) {
  std::unique_ptr<Store> other = backend_->open();
  for (int i = 0; i < 200; ++i) {
    Attempt a = attempt("fa-a", "att-" + std::to_string(i), 1000);
    store_->insert_attempt(a, event_for(a, "kyc-a"));
  }
  std::mutex mutex;
  std::vector<std::string> claimed;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int n = 0; n < 8; ++n) {
    Store* store = n % 2 == 0 ? store_.get() : other.get();
    threads.emplace_back([&, store] {
      for (int round = 0; round < 20; ++round) {
        try {
          for (const WebhookEvent& e : store->claim_webhook_events(5000, 3, 60000)) {
            std::lock_guard lock(mutex);
            claimed.push_back(e.id);
          }
        } catch (const std::exception&) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(std::set<std::string>(claimed.begin(), claimed.end()).size(), claimed.size());
  EXPECT_EQ(claimed.size(), 200u);
}

TEST(WebhookSignature, IsHmacSha256OfTimestampDotBody) {
  init_crypto();
  // python3 -c "import hmac,hashlib;print(hmac.new(b'whsec_test',b'1700000000.{\"a\":1}',hashlib.sha256).hexdigest())"
  EXPECT_EQ(webhook_signature("whsec_test", 1700000000, R"({"a":1})"),
            "v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789");
  EXPECT_NE(webhook_signature("whsec_test", 1700000001, R"({"a":1})"),
            webhook_signature("whsec_test", 1700000000, R"({"a":1})"));
}

TEST(WebhookBackoff, DoublesUpToTheCap) {
  WebhookRetry retry{100, 700, 5, 1000};
  EXPECT_EQ(webhook_backoff_ms(retry, 1), 100);
  EXPECT_EQ(webhook_backoff_ms(retry, 2), 200);
  EXPECT_EQ(webhook_backoff_ms(retry, 3), 400);
  EXPECT_EQ(webhook_backoff_ms(retry, 4), 700);
  EXPECT_EQ(webhook_backoff_ms(retry, 40), 700);
}

TEST(HttpUrl, OnlyPlainHttpUrls) {
  std::optional<HttpUrl> url = parse_http_url("http://127.0.0.1:8081/hooks/fa?x=1");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, 8081);
  EXPECT_EQ(url->target, "/hooks/fa?x=1");
  url = parse_http_url("HTTP://[::1]");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 80);
  EXPECT_EQ(url->target, "/");
  for (const char* bad : {"https://a/", "http://", "http://a b/", "http://u@h/", "http://h:0/", "http://h:65536/",
                          "http://h/#f", "http://h:/", "http://[::1/", "ftp://h/", "http://h/\x01"}) {
    EXPECT_FALSE(parse_http_url(bad)) << bad;
  }
}

TEST_P(HistoryStoreTest, DelivererRetriesWithBackoffAndLogsEveryTry) {
  Attempt a = attempt("fa-a", "att", 1000);
  store_->insert_attempt(a, event_for(a, "kyc-a"));
  struct Answer {
    int status;
    int64_t takes_ms;
  };
  std::vector<Answer> answers = {{500, 0}, {0, 30}, {204, 0}};
  int64_t steady = 0;  // the deliverer's clock: a try moves it by its length, nothing else does
  WebhookSender sender = [&](const HttpUrl& url, const auto& headers, std::string_view body, int) {
    EXPECT_EQ(url.port, 9);
    EXPECT_EQ(headers.size(), 3u);
    EXPECT_EQ(webhook_signature("whsec_unit", std::stoll(headers[1].second), body), headers[2].second);
    Answer answer = answers.front();
    answers.erase(answers.begin());
    steady += answer.takes_ms;
    return HttpPostResult{answer.status, answer.status ? "" : "connection refused"};
  };
  WebhookDeliverer deliverer(*store_, sealer_, {100, 1000, 5, 50}, sender, [&] { return steady; });
  EXPECT_EQ(deliverer.deliver_due(1000), 1);
  EXPECT_EQ(deliverer.deliver_due(1099), 0);  // backoff: 100 ms
  EXPECT_EQ(deliverer.wait_ms(1050), 50);
  EXPECT_EQ(deliverer.deliver_due(1100), 1);  // refused after 30 ms
  EXPECT_EQ(deliverer.deliver_due(1329), 0);  // then 200 ms after the try ended
  EXPECT_EQ(deliverer.deliver_due(1330), 1);
  EXPECT_EQ(deliverer.wait_ms(5000), -1);  // delivered: nothing pending
  std::vector<WebhookDelivery> log = store_->list_webhook_deliveries("kyc-a", 0, 10);
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0].http_status, 500);
  EXPECT_EQ(log[1].error, "connection refused");
  EXPECT_EQ(log[1].duration_ms, 30);
  EXPECT_EQ(log[2].event_state, WebhookState::delivered);
  EXPECT_EQ(log[2].attempt, 3);
  EXPECT_TRUE(store_->list_webhook_deliveries("kyc-b", 0, 10).empty());
}

TEST_P(HistoryStoreTest, DelivererGivesUpAfterMaxAttemptsAndWithoutAWebhook) {
  Attempt a = attempt("fa-a", "att", 1000);
  store_->insert_attempt(a, event_for(a, "kyc-a"));
  int calls = 0;
  WebhookDeliverer deliverer(*store_, sealer_, {1, 1, 2, 50}, [&](const HttpUrl&, const auto&, std::string_view, int) {
    ++calls;
    return HttpPostResult{503, ""};
  });
  for (int64_t t = 1000; t < 1100; ++t) deliverer.deliver_due(t);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(store_->list_webhook_deliveries("kyc-a", 0, 10).back().event_state, WebhookState::failed);

  KycProject off = kyc_;
  off.webhook_url.clear();
  off.webhook_secret_sealed.clear();
  ASSERT_TRUE(store_->update_kyc_project(off));
  Attempt b = attempt("fa-a", "att-2", 2000);
  store_->insert_attempt(b, event_for(b, "kyc-a"));
  EXPECT_EQ(deliverer.deliver_due(2000), 1);
  EXPECT_EQ(calls, 2);  // nothing sent
  EXPECT_EQ(store_->list_webhook_deliveries("kyc-a", 0, 10).back().event_state, WebhookState::failed);
}

}  // namespace
}  // namespace faceauth
