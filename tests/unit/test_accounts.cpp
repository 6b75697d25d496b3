// Dashboard accounts: password hashing, session and CSRF tokens, sign-in throttling, roles,
// and the Store methods behind them (users, sessions, audit log, webhook requeue), written
// against the Store interface so every implementation runs them.
#include <filesystem>

#include <gtest/gtest.h>

#include "api/accounts.h"
#include "api/dashboard_stats.h"
#include "crypto/passwords.h"
#include "store_backends.h"

namespace faceauth {
namespace {

namespace fs = std::filesystem;

TEST(Passwords, HashVerifiesOnlyTheSamePassword) {
  init_crypto();
  std::string hash = hash_password("correct horse battery");
  EXPECT_EQ(hash.rfind("$argon2id$", 0), 0u) << hash;
  EXPECT_TRUE(verify_password(hash, "correct horse battery"));
  EXPECT_FALSE(verify_password(hash, "correct horse batterY"));
  EXPECT_FALSE(verify_password(hash, ""));
  EXPECT_NE(hash_password("correct horse battery"), hash);  // a new salt each time
  EXPECT_FALSE(verify_password("", "x"));
  EXPECT_FALSE(verify_password("$argon2id$garbage", "x"));
}

TEST(Passwords, RandomPasswordsAreLongAndDiffer) {
  init_crypto();
  std::string a = random_password(), b = random_password();
  EXPECT_EQ(a.size(), 20u);
  EXPECT_NE(a, b);
  EXPECT_TRUE(acceptable_password(a));
  EXPECT_FALSE(acceptable_password("short"));
  EXPECT_FALSE(acceptable_password(std::string(257, 'x')));
}

TEST(SessionTokens, HashAndCsrfDeriveFromTheToken) {
  init_crypto();
  NewSession one = new_session_token(), two = new_session_token();
  EXPECT_NE(one.token, two.token);
  EXPECT_EQ(one.hash, hash_key(one.token));
  EXPECT_EQ(csrf_token_for(one.token), csrf_token_for(one.token));
  EXPECT_NE(csrf_token_for(one.token), csrf_token_for(two.token));
  EXPECT_EQ(csrf_token_for(one.token).size(), 64u);
  EXPECT_EQ(csrf_token_for(one.token).find(one.token), std::string::npos);
  EXPECT_TRUE(same_text("abc", "abc"));
  EXPECT_FALSE(same_text("abc", "abd"));
  EXPECT_FALSE(same_text("abc", "abcd"));
  EXPECT_FALSE(same_text("", ""));  // an absent token never matches an absent cookie
}

TEST(SignInThrottle, WaitsOnceTheWindowIsFullAndForgetsAfterIt) {
  SignInThrottle throttle(3, 1000);
  EXPECT_EQ(throttle.wait_ms("a", 0), 0);
  throttle.failed("a", 0);
  throttle.failed("a", 100);
  EXPECT_EQ(throttle.wait_ms("a", 200), 0);
  throttle.failed("a", 200);
  EXPECT_EQ(throttle.wait_ms("a", 300), 700);  // the first failure leaves the window at 1000
  EXPECT_EQ(throttle.wait_ms("b", 300), 0);    // per key
  EXPECT_EQ(throttle.wait_ms("a", 1000), 0);
  throttle.failed("a", 1000);
  EXPECT_GT(throttle.wait_ms("a", 1000), 0);
  throttle.clear("a");
  EXPECT_EQ(throttle.wait_ms("a", 1000), 0);
}

TEST(SignInThrottle, KeepsAtMostMaxKeys) {
  SignInThrottle throttle(1, 1000, 2);
  throttle.failed("a", 0);
  throttle.failed("b", 1);
  throttle.failed("c", 2);  // drops "a", the stalest
  EXPECT_EQ(throttle.wait_ms("a", 3), 0);
  EXPECT_GT(throttle.wait_ms("b", 3), 0);
  EXPECT_GT(throttle.wait_ms("c", 3), 0);
}

TEST(Roles, WhoMayDoWhat) {
  EXPECT_TRUE(role_allows(Role::owner, "POST", "/admin/v1/users"));
  EXPECT_FALSE(role_allows(Role::admin, "GET", "/admin/v1/users"));
  EXPECT_TRUE(role_allows(Role::admin, "POST", "/admin/v1/kyc-projects"));
  EXPECT_TRUE(role_allows(Role::admin, "GET", "/admin/v1/faceauth-projects/x/attempts/y/image"));
  EXPECT_TRUE(role_allows(Role::viewer, "GET", "/admin/v1/kyc-projects"));
  EXPECT_TRUE(role_allows(Role::viewer, "GET", "/admin/v1/faceauth-projects/x/attempts"));
  EXPECT_FALSE(role_allows(Role::viewer, "POST", "/admin/v1/kyc-projects"));
  EXPECT_FALSE(role_allows(Role::viewer, "PUT", "/admin/v1/faceauth-projects/x/policy"));
  EXPECT_FALSE(role_allows(Role::viewer, "DELETE", "/admin/v1/faceauth-projects/x/attempts/y"));
  EXPECT_FALSE(role_allows(Role::viewer, "GET", "/admin/v1/faceauth-projects/x/attempts/y/image"));
  EXPECT_FALSE(role_allows(Role::viewer, "GET", "/admin/v1/kyc-projects/k/submissions/s/selfie"));
  EXPECT_FALSE(role_allows(Role::viewer, "GET", "/admin/v1/kyc-projects/k/submissions/s/id-image"));
  EXPECT_FALSE(role_allows(Role::viewer, "GET", "/admin/v1/users"));
  EXPECT_TRUE(role_allows(Role::viewer, "POST", "/admin/v1/auth/sign-out"));
}

TEST(Addresses, HostWithoutPort) {
  EXPECT_EQ(address_host("127.0.0.1:5000"), "127.0.0.1");
  EXPECT_EQ(address_host("[::1]:5000"), "::1");
  EXPECT_EQ(address_host("local"), "local");
}

TEST(DashboardStats, CountsPerMinuteAndQuantiles) {
  DashboardStats stats(3);
  const int64_t minute = 60'000, t0 = 100 * minute;
  for (int i = 0; i < 19; ++i) stats.observe(t0 + i, 200, 10.0, i % 2 ? 1 : -1);
  stats.observe(t0 + 50, 500, 1000.0, 0);
  stats.observe(t0 + minute, 200, 2.0, 1);
  nlohmann::json out = stats.render(t0 + minute + 5);
  ASSERT_EQ(out["series"].size(), 3u);
  const nlohmann::json& first = out["series"][1];
  EXPECT_EQ(first["start_ms"], t0);
  EXPECT_EQ(first["requests"], 20);
  EXPECT_EQ(first["server_errors"], 1);
  EXPECT_EQ(first["approved"], 9);
  EXPECT_EQ(first["rejected"], 10);
  // p50 is the 10 ms bucket (upper bound within 25 %), p95 the 1000 ms one.
  EXPECT_GE(first["p50_ms"].get<double>(), 10.0);
  EXPECT_LE(first["p50_ms"].get<double>(), 12.5);
  EXPECT_GE(first["p95_ms"].get<double>(), 10.0);
  EXPECT_LE(first["p95_ms"].get<double>(), 12.5);  // 19 of 20 are 10 ms: the 95th is one of them
  EXPECT_EQ(out["totals"]["requests"], 21);
  EXPECT_DOUBLE_EQ(out["totals"]["approval_rate"].get<double>(), 10.0 / 20.0);
  // Three minutes later the ring has forgotten them.
  nlohmann::json later = stats.render(t0 + 4 * minute);
  EXPECT_EQ(later["totals"]["requests"], 0);
}

TEST(DashboardStats, QuantileOfAHistogram) {
  std::array<uint32_t, DashboardStats::kBuckets> histogram{};
  EXPECT_EQ(DashboardStats::quantile(histogram, 0.5), 0);
  histogram[3] = 1;
  histogram[10] = 1;
  EXPECT_NEAR(DashboardStats::quantile(histogram, 0.5), DashboardStats::bucket_upper_ms(3), 0.05);
  EXPECT_NEAR(DashboardStats::quantile(histogram, 0.95), DashboardStats::bucket_upper_ms(10), 0.05);
}

// Every Store implementation: users, sessions, audit, webhook requeue.
// (SQLite and PostgreSQL: store_backends.h.)
class AccountStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    init_crypto();
    FACEAUTH_OPEN_BACKEND(backend_, GetParam());
    store_ = backend_->open();
  }
  void TearDown() override { store_.reset(); }
  User user(const std::string& name, Role role) {
    return User{random_hex_id(), name, role, hash_password("password-of-" + name), 1000, 1000};
  }

  std::unique_ptr<StoreBackend> backend_;
  std::unique_ptr<Store> store_;
};

INSTANTIATE_TEST_SUITE_P(Stores, AccountStoreTest, ::testing::Values("sqlite", "postgres"), store_backend_name);

TEST_P(AccountStoreTest, UsersAreUniqueByName) {
  User alice = user("alice", Role::admin);
  EXPECT_TRUE(store_->create_user(alice));
  EXPECT_FALSE(store_->create_user(user("alice", Role::viewer)));
  EXPECT_TRUE(store_->create_user(user("bob", Role::viewer)));
  std::vector<User> all = store_->list_users();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "alice");
  EXPECT_EQ(all[0].role, Role::admin);
  EXPECT_EQ(store_->find_user("alice")->id, alice.id);
  EXPECT_EQ(store_->get_user(alice.id)->password_hash, alice.password_hash);
  EXPECT_FALSE(store_->find_user("carol"));
}

TEST_P(AccountStoreTest, SessionsExpireAndEndWithPasswordResetAndRemoval) {
  User alice = user("alice", Role::admin);
  ASSERT_TRUE(store_->create_user(alice));
  NewSession one = new_session_token(), two = new_session_token();
  store_->create_session({one.hash, alice.id, 1000, 5000, "127.0.0.1:1"});
  store_->create_session({two.hash, alice.id, 1000, 9000, "127.0.0.1:2"});
  ASSERT_TRUE(store_->find_session(one.hash, 4999));
  EXPECT_EQ(store_->find_session(one.hash, 4999)->user_id, alice.id);
  EXPECT_FALSE(store_->find_session(one.hash, 5000));  // expired
  EXPECT_EQ(store_->delete_expired_sessions(6000), 1);
  EXPECT_TRUE(store_->find_session(two.hash, 6000));
  EXPECT_TRUE(store_->set_user_password(alice.id, hash_password("another password"), 7000));
  EXPECT_FALSE(store_->find_session(two.hash, 7000));  // a reset ends every session
  NewSession three = new_session_token();
  store_->create_session({three.hash, alice.id, 8000, 99000, ""});
  EXPECT_TRUE(store_->delete_session(three.hash));
  EXPECT_FALSE(store_->delete_session(three.hash));
  store_->create_session({three.hash, alice.id, 8000, 99000, ""});
  EXPECT_TRUE(store_->delete_user(alice.id));
  EXPECT_FALSE(store_->find_session(three.hash, 8000));
  EXPECT_FALSE(store_->delete_user(alice.id));
  EXPECT_FALSE(store_->set_user_password(alice.id, "x", 1));
}

TEST_P(AccountStoreTest, AuditListsNewestFirstWithFilters) {
  for (int i = 0; i < 5; ++i) {
    store_->append_audit({0, 1000 + i, i % 2 ? "alice" : "admin-token", "owner",
                          i < 3 ? "POST /admin/v1/kyc-projects" : "DELETE /admin/v1/users/{id}",
                          "id" + std::to_string(i), 200, "127.0.0.1:9", "req" + std::to_string(i)});
  }
  std::vector<AuditEntry> all = store_->list_audit({});
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[0].target, "id4");
  EXPECT_GT(all[0].seq, all[1].seq);
  AuditQuery by_alice;
  by_alice.actor = "alice";
  EXPECT_EQ(store_->list_audit(by_alice).size(), 2u);
  AuditQuery deletes;
  deletes.action = "DELETE";
  EXPECT_EQ(store_->list_audit(deletes).size(), 2u);
  AuditQuery window;
  window.from_ms = 1001;
  window.to_ms = 1003;
  EXPECT_EQ(store_->list_audit(window).size(), 2u);
  AuditQuery page;
  page.limit = 2;
  std::vector<AuditEntry> first = store_->list_audit(page);
  page.before_seq = first.back().seq;
  std::vector<AuditEntry> second = store_->list_audit(page);
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second[0].target, "id2");
}

TEST_P(AccountStoreTest, RequeueMakesAnEventDueAgain) {
  KycProject project{"kyc1", "K", "http://127.0.0.1:9/hook", 1000, 0, {}};
  NewKey key = generate_key("kyc");
  store_->create_kyc_project(project, {random_hex_id(), KeyKind::kyc, "kyc1", key.prefix, key.hash, 1000});
  NewKey addon = generate_key("fa");
  FaceAuthProject door;
  door.id = "fa1";
  door.kyc_project_id = "kyc1";
  door.name = "door";
  store_->create_faceauth_project(door, {random_hex_id(), KeyKind::addon, "fa1", addon.prefix, addon.hash, 1000});
  Attempt attempt;
  attempt.id = "att1";
  attempt.faceauth_project_id = "fa1";
  attempt.scores_json = attempt.fail_codes_json = attempt.comments_json = attempt.policy_json = "{}";
  WebhookEvent event{"ev1", "kyc1", "att1", "{}", 1000, WebhookState::pending, 0, 1000};
  store_->insert_attempt(attempt, event);
  event.state = WebhookState::failed;
  event.attempts = 8;
  store_->record_webhook_delivery(
      {0, "ev1", "kyc1", "att1", project.webhook_url, 8, 1000, 500, "HTTP 500", 1.0, WebhookState::failed}, event);
  EXPECT_TRUE(store_->due_webhook_events(50'000, 10).empty());
  EXPECT_FALSE(store_->requeue_webhook_event("other", "ev1", 50'000));
  EXPECT_FALSE(store_->requeue_webhook_event("kyc1", "nope", 50'000));
  EXPECT_TRUE(store_->requeue_webhook_event("kyc1", "ev1", 50'000));
  std::vector<WebhookEvent> due = store_->due_webhook_events(50'000, 10);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].attempts, 0);
  EXPECT_EQ(due[0].state, WebhookState::pending);
}

// Accounts over a store: sign-in, sessions, throttling, revocation.
class AccountsTest : public AccountStoreTest {};
INSTANTIATE_TEST_SUITE_P(Stores, AccountsTest, ::testing::Values("sqlite", "postgres"), store_backend_name);

TEST_P(AccountsTest, FirstStartMakesOneOwner) {
  Accounts accounts(*store_);
  std::optional<std::string> password = accounts.ensure_owner(1000);
  ASSERT_TRUE(password);
  EXPECT_FALSE(accounts.ensure_owner(2000));
  std::optional<User> owner = store_->find_user("owner");
  ASSERT_TRUE(owner);
  EXPECT_EQ(owner->role, Role::owner);
  EXPECT_TRUE(verify_password(owner->password_hash, *password));
  EXPECT_EQ(owner->password_hash.find(*password), std::string::npos);
}

TEST_P(AccountsTest, SignInMakesARevocableSession) {
  Accounts accounts(*store_);
  ASSERT_TRUE(store_->create_user(user("alice", Role::admin)));
  SignIn in = accounts.sign_in("alice", "password-of-alice", "127.0.0.1:4000", 10'000);
  ASSERT_EQ(in.result, SignIn::Result::ok);
  EXPECT_EQ(in.csrf_token, csrf_token_for(in.token));
  EXPECT_EQ(in.expires_ms, 10'000 + accounts.config().session_ms);
  std::optional<Principal> who = accounts.session(in.token, 20'000);
  ASSERT_TRUE(who);
  EXPECT_EQ(who->actor, "alice");
  EXPECT_EQ(who->role, Role::admin);
  EXPECT_FALSE(who->bearer());
  EXPECT_FALSE(accounts.session(in.token, in.expires_ms));  // expired
  EXPECT_FALSE(accounts.session(in.token + "x", 20'000));
  EXPECT_FALSE(accounts.session("", 20'000));
  accounts.sign_out(in.token);
  EXPECT_FALSE(accounts.session(in.token, 20'000));
}

TEST_P(AccountsTest, ResetAndRemovalEndSessions) {
  Accounts accounts(*store_);
  ASSERT_TRUE(store_->create_user(user("alice", Role::admin)));
  ASSERT_TRUE(store_->create_user(user("owner", Role::owner)));
  SignIn in = accounts.sign_in("alice", "password-of-alice", "127.0.0.1:1", 10'000);
  ASSERT_EQ(in.result, SignIn::Result::ok);
  Outcome reset = accounts.reset_password("alice", nlohmann::json::object());
  ASSERT_FALSE(reset.error);
  std::string made = reset.body["password"];
  EXPECT_FALSE(accounts.session(in.token, 10'001));
  EXPECT_EQ(accounts.sign_in("alice", "password-of-alice", "127.0.0.1:1", 10'002).result,
            SignIn::Result::bad_credentials);
  SignIn again = accounts.sign_in("alice", made, "127.0.0.1:1", 10'003);
  ASSERT_EQ(again.result, SignIn::Result::ok);
  ASSERT_FALSE(accounts.remove_user("alice").error);
  EXPECT_FALSE(accounts.session(again.token, 10'004));
  EXPECT_TRUE(accounts.remove_user("owner").error);  // the last owner stays
  EXPECT_TRUE(accounts.remove_user("nobody").error);
}

TEST_P(AccountsTest, FailedSignInsAreThrottledPerUserAndPerAddress) {
  AccountsConfig config;
  config.user_failures = 3;
  config.address_failures = 5;
  config.failure_window_ms = 60'000;
  Accounts accounts(*store_, config);
  ASSERT_TRUE(store_->create_user(user("alice", Role::admin)));
  ASSERT_TRUE(store_->create_user(user("bob", Role::admin)));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(accounts.sign_in("alice", "wrong", "10.0.0.1:1", 1000 + i).result, SignIn::Result::bad_credentials);
  }
  // Even the right password waits now, from any address.
  SignIn held = accounts.sign_in("alice", "password-of-alice", "10.0.0.9:1", 2000);
  EXPECT_EQ(held.result, SignIn::Result::throttled);
  EXPECT_GT(held.retry_after_ms, 0);
  EXPECT_EQ(accounts.sign_in("alice", "password-of-alice", "10.0.0.9:1", 61'001).result, SignIn::Result::ok);
  // One address trying many names is held too, whatever the name.
  for (int i = 0; i < 5; ++i) accounts.sign_in("nobody" + std::to_string(i), "wrong", "10.0.0.2:7", 70'000 + i);
  EXPECT_EQ(accounts.sign_in("bob", "password-of-bob", "10.0.0.2:8", 70'010).result, SignIn::Result::throttled);
  EXPECT_EQ(accounts.sign_in("bob", "password-of-bob", "10.0.0.3:8", 70'010).result, SignIn::Result::ok);
}

// PostgreSQL's text ends at a NUL: "alice\0x" would find alice there, under a throttle key of
// its own, so varying what follows the NUL would dodge the per-user throttle.
TEST_P(AccountsTest, NamesWithANulNeverSignIn) {
  using namespace std::string_literals;
  Accounts accounts(*store_);
  ASSERT_TRUE(store_->create_user(user("alice", Role::admin)));
  EXPECT_EQ(accounts.sign_in("alice\0x"s, "password-of-alice", "10.0.0.8:1", 1000).result,
            SignIn::Result::bad_credentials);
  EXPECT_EQ(accounts.sign_in("alice\0"s, "password-of-alice", "10.0.0.8:1", 1001).result,
            SignIn::Result::bad_credentials);
  EXPECT_EQ(accounts.sign_in("alice", "password-of-alice", "10.0.0.8:1", 1002).result, SignIn::Result::ok);
}

TEST_P(AccountsTest, HugeNamesAndPasswordsFailWithoutGrowingTheThrottle) {
  Accounts accounts(*store_);
  ASSERT_TRUE(store_->create_user(user("alice", Role::admin)));
  std::string huge(100000, 'a');
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(accounts.sign_in(huge + std::to_string(i), "x", "10.0.0.5:1", 1000).result,
              SignIn::Result::bad_credentials);
  }
  // All five counted under the same 64-byte key.
  EXPECT_EQ(accounts.sign_in(huge, "x", "10.0.0.6:1", 1001).result, SignIn::Result::throttled);
  EXPECT_EQ(accounts.sign_in("alice", std::string(100000, 'p'), "10.0.0.7:1", 1002).result,
            SignIn::Result::bad_credentials);
  EXPECT_EQ(accounts.sign_in("alice", "password-of-alice", "10.0.0.7:1", 1003).result, SignIn::Result::ok);
}

TEST_P(AccountsTest, UserRequestsAreValidated) {
  Accounts accounts(*store_);
  Outcome made = accounts.add_user({{"name", "carol"}, {"role", "viewer"}});
  ASSERT_FALSE(made.error);
  EXPECT_EQ(made.status, 201);
  EXPECT_EQ(made.body["password"].get<std::string>().size(), 20u);
  EXPECT_TRUE(accounts.add_user({{"name", "carol"}}).error);  // taken
  EXPECT_TRUE(accounts.add_user({{"name", "<b>"}}).error);
  EXPECT_TRUE(accounts.add_user({{"name", "dave"}, {"role", "god"}}).error);
  EXPECT_TRUE(accounts.add_user({{"role", "admin"}}).error);
  EXPECT_THROW(accounts.add_user({{"name", "dave"}, {"password", "short"}}), std::invalid_argument);
  Outcome given = accounts.add_user({{"name", "dave"}, {"password", "a long enough password"}});
  ASSERT_FALSE(given.error);
  EXPECT_FALSE(given.body.contains("password"));  // never echoed
  nlohmann::ordered_json listed = accounts.list_users().body;
  EXPECT_EQ(listed["users"].size(), 2u);
  EXPECT_EQ(listed.dump().find("argon2"), std::string::npos);
}

}  // namespace
}  // namespace faceauth
