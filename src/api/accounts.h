#pragma once
// Dashboard accounts without HTTP: users (argon2id password hashes), sign-in with throttling
// of failures per user name and per client address, sessions (random token in the cookie, its
// SHA-256 in the store, an expiry) and who may do what. Thread-safe (the store is; the
// throttle has its own lock).

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "api/service.h"
#include "store/store.h"

namespace faceauth {

// Who makes a request to the admin API.
struct Principal {
  std::string actor;  // the user name, or "admin-token" for the bearer token
  Role role = Role::viewer;
  std::string user_id;        // "" for the bearer token
  std::string session_token;  // the cookie's token ("" for the bearer token): its CSRF token derives from it
  bool bearer() const { return session_token.empty(); }
};

// Failures in a sliding window per key; once `max_failures` are in the window the key waits
// until the oldest leaves it. Memory is bounded: at most `max_keys` keys are tracked (the
// oldest are dropped first).
class SignInThrottle {
 public:
  SignInThrottle(int max_failures, int64_t window_ms, size_t max_keys = 10000);
  // Milliseconds until `key` may try again; 0 when it may now.
  int64_t wait_ms(const std::string& key, int64_t now_ms);
  void failed(const std::string& key, int64_t now_ms);
  void clear(const std::string& key);

 private:
  void prune(std::deque<int64_t>& times, int64_t now_ms) const;

  int max_failures_;
  int64_t window_ms_;
  size_t max_keys_;
  std::mutex mutex_;
  std::map<std::string, std::deque<int64_t>> failures_;
};

struct AccountsConfig {
  int64_t session_ms = 12 * 3600 * 1000;  // a session's life from sign-in
  int user_failures = 5;                  // failed sign-ins per user name in the window
  int address_failures = 20;              // failed sign-ins per client address in the window
  int64_t failure_window_ms = 15 * 60 * 1000;
};

struct SignIn {
  enum class Result { ok, bad_credentials, throttled } result = Result::bad_credentials;
  int64_t retry_after_ms = 0;  // throttled: when to try again
  User user;
  std::string token;  // the session token for the cookie
  std::string csrf_token;
  int64_t expires_ms = 0;
};

class Accounts {
 public:
  Accounts(Store& store, AccountsConfig config = {});

  // `address` is the peer ("ip:port"); failures count per user name and per ip.
  SignIn sign_in(const std::string& name, const std::string& password, const std::string& address, int64_t now_ms);
  // The principal of a live session token, or nothing.
  std::optional<Principal> session(const std::string& token, int64_t now_ms);
  void sign_out(const std::string& token);

  // At the first start (no user yet): an owner "owner" with a random password, returned to
  // show once; nothing when there are users already.
  std::optional<std::string> ensure_owner(int64_t now_ms);

  // The admin API's user routes (owner only, checked by the caller). `add_user` takes
  // {"name", "role", "password"?} and answers the password when it made one.
  Outcome add_user(const nlohmann::json& request);
  Outcome list_users();
  Outcome reset_password(const std::string& name, const nlohmann::json& request);
  Outcome remove_user(const std::string& name);

  const AccountsConfig& config() const { return config_; }

 private:
  Store& store_;
  AccountsConfig config_;
  SignInThrottle by_user_;
  SignInThrottle by_address_;
  std::string dummy_hash_;  // verified against for unknown names, so they take as long
};

// May `role` make this request? `path` is the decoded path under /admin/v1. Viewers read,
// but no face image, no user list and nothing that changes state; admins do all but users;
// owners do everything.
bool role_allows(Role role, const std::string& method, const std::string& path);

// "ip" of "ip:port" (or "[v6]:port").
std::string address_host(const std::string& address);

}  // namespace faceauth
