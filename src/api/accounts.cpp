#include "api/accounts.h"

#include <algorithm>

#include "crypto/passwords.h"

namespace faceauth {
namespace {

nlohmann::ordered_json user_json(const User& user) {
  return {{"name", user.name},
          {"role", role_name(user.role)},
          {"create_time", iso_time(user.created_ms)},
          {"password_changed_time", iso_time(user.password_changed_ms)}};
}

// 1-64 characters of letters, digits, '.', '_', '-', '@'.
bool plain_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '@';
  });
}

// The password of a request: given (and acceptable), or made. `made` says which.
std::string password_of(const nlohmann::json& request, bool& made) {
  made = !request.contains("password");
  if (made) return random_password();
  if (!request.at("password").is_string()) throw std::invalid_argument("password must be a string");
  std::string password = request.at("password").get<std::string>();
  if (!acceptable_password(password)) throw std::invalid_argument("password must be 10-256 characters");
  return password;
}

}  // namespace

SignInThrottle::SignInThrottle(int max_failures, int64_t window_ms, size_t max_keys)
    : max_failures_(max_failures), window_ms_(window_ms), max_keys_(max_keys) {}

void SignInThrottle::prune(std::deque<int64_t>& times, int64_t now_ms) const {
  while (!times.empty() && times.front() <= now_ms - window_ms_) times.pop_front();
}

int64_t SignInThrottle::wait_ms(const std::string& key, int64_t now_ms) {
  std::lock_guard lock(mutex_);
  auto it = failures_.find(key);
  if (it == failures_.end()) return 0;
  prune(it->second, now_ms);
  if (static_cast<int>(it->second.size()) < max_failures_) return 0;
  return it->second.front() + window_ms_ - now_ms;
}

void SignInThrottle::failed(const std::string& key, int64_t now_ms) {
  std::lock_guard lock(mutex_);
  if (failures_.size() >= max_keys_ && !failures_.count(key)) {
    // Drop the key whose newest failure is oldest: it is the least likely to matter.
    auto oldest = std::min_element(failures_.begin(), failures_.end(), [](const auto& a, const auto& b) {
      return (a.second.empty() ? 0 : a.second.back()) < (b.second.empty() ? 0 : b.second.back());
    });
    failures_.erase(oldest);
  }
  std::deque<int64_t>& times = failures_[key];
  prune(times, now_ms);
  times.push_back(now_ms);
  while (static_cast<int>(times.size()) > max_failures_) times.pop_front();
}

void SignInThrottle::clear(const std::string& key) {
  std::lock_guard lock(mutex_);
  failures_.erase(key);
}

std::string address_host(const std::string& address) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) return address;
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return host;
}

Accounts::Accounts(Store& store, AccountsConfig config)
    : store_(store),
      config_(config),
      by_user_(config.user_failures, config.failure_window_ms),
      by_address_(config.address_failures, config.failure_window_ms),
      dummy_hash_(hash_password(random_password())) {}

SignIn Accounts::sign_in(const std::string& name, const std::string& password, const std::string& address,
                         int64_t now_ms) {
  SignIn out;
  // Keys of bounded size: a name longer than any user's is throttled by its first 64 bytes.
  const std::string user_key = "user:" + name.substr(0, 64), address_key = "address:" + address_host(address);
  int64_t wait = std::max(by_user_.wait_ms(user_key, now_ms), by_address_.wait_ms(address_key, now_ms));
  if (wait > 0) {
    out.result = SignIn::Result::throttled;
    out.retry_after_ms = wait;
    return out;
  }
  std::optional<User> user = plain_name(name) ? store_.find_user(name) : std::nullopt;
  // No password is longer than 256 bytes (acceptable_password): longer ones are not hashed.
  bool good =
      password.size() <= 256 && verify_password(user ? user->password_hash : dummy_hash_, password) && user.has_value();
  if (!good) {
    by_user_.failed(user_key, now_ms);
    by_address_.failed(address_key, now_ms);
    return out;
  }
  by_user_.clear(user_key);
  NewSession token = new_session_token();
  out.expires_ms = now_ms + config_.session_ms;
  store_.create_session({token.hash, user->id, now_ms, out.expires_ms, address});
  out.result = SignIn::Result::ok;
  out.user = *user;
  out.token = token.token;
  out.csrf_token = csrf_token_for(token.token);
  return out;
}

std::optional<Principal> Accounts::session(const std::string& token, int64_t now_ms) {
  if (token.empty() || token.size() > 128) return std::nullopt;
  Bytes hash = hash_key(token);
  std::optional<Session> found = store_.find_session(hash, now_ms);
  if (!found || !same_hash(found->token_hash, hash)) return std::nullopt;
  std::optional<User> user = store_.get_user(found->user_id);
  if (!user) return std::nullopt;
  return Principal{user->name, user->role, user->id, token};
}

void Accounts::sign_out(const std::string& token) {
  if (!token.empty() && token.size() <= 128) store_.delete_session(hash_key(token));
}

std::optional<std::string> Accounts::ensure_owner(int64_t now_ms) {
  if (!store_.list_users().empty()) return std::nullopt;
  std::string password = random_password();
  User owner{random_hex_id(), "owner", Role::owner, hash_password(password), now_ms, now_ms};
  if (!store_.create_user(owner)) return std::nullopt;  // another process made it first
  return password;
}

Outcome Accounts::add_user(const nlohmann::json& request) {
  if (!request.contains("name") || !request.at("name").is_string()) {
    return Outcome::fail(ApiErrorCode::required_field_missing, "name is required");
  }
  std::string name = request.at("name").get<std::string>();
  if (!plain_name(name)) {
    return Outcome::fail(ApiErrorCode::invalid_data_format, "name is 1-64 letters, digits, '.', '_', '-' or '@'");
  }
  std::optional<Role> role = parse_role(request.value("role", std::string("viewer")));
  if (!role) return Outcome::fail(ApiErrorCode::invalid_data_format, "role is owner, admin or viewer");
  bool made = false;
  std::string password = password_of(request, made);
  int64_t now = now_ms();
  User user{random_hex_id(), name, *role, hash_password(password), now, now};
  if (!store_.create_user(user)) return Outcome::fail(ApiErrorCode::invalid_data_format, "that name is taken");
  nlohmann::ordered_json body = {{"user", user_json(user)}};
  if (made) body["password"] = password;  // shown once; only its hash is kept
  return Outcome::ok(body, 201);
}

Outcome Accounts::list_users() {
  nlohmann::ordered_json items = nlohmann::ordered_json::array();
  for (const User& user : store_.list_users()) items.push_back(user_json(user));
  return Outcome::ok({{"users", items}});
}

Outcome Accounts::reset_password(const std::string& name, const nlohmann::json& request) {
  std::optional<User> user = store_.find_user(name);
  if (!user) return Outcome::fail(ApiErrorCode::not_found, "No such user");
  bool made = false;
  std::string password = password_of(request, made);
  if (!store_.set_user_password(user->id, hash_password(password), now_ms())) {
    return Outcome::fail(ApiErrorCode::not_found, "No such user");
  }
  nlohmann::ordered_json body = {{"user", user_json(*store_.find_user(name))}, {"sessions_ended", true}};
  if (made) body["password"] = password;
  return Outcome::ok(body);
}

Outcome Accounts::remove_user(const std::string& name) {
  std::optional<User> user = store_.find_user(name);
  if (!user) return Outcome::fail(ApiErrorCode::not_found, "No such user");
  if (user->role == Role::owner) {
    std::vector<User> users = store_.list_users();
    long owners = std::count_if(users.begin(), users.end(), [](const User& u) { return u.role == Role::owner; });
    if (owners <= 1) return Outcome::fail(ApiErrorCode::invalid_data_format, "the last owner cannot be removed");
  }
  if (!store_.delete_user(user->id)) return Outcome::fail(ApiErrorCode::not_found, "No such user");
  return Outcome::ok({{"message", "success"}});
}

bool role_allows(Role role, const std::string& method, const std::string& path) {
  if (role == Role::owner) return true;
  if (path.rfind("/admin/v1/auth/", 0) == 0) return true;  // everyone may sign out
  bool users = path.rfind("/admin/v1/users", 0) == 0;
  if (users) return false;
  if (role == Role::admin) return true;
  if (method != "GET" && method != "HEAD") return false;
  for (const char* image : {"/image", "/selfie", "/id-image"}) {
    std::string suffix = image;
    if (path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return false;
    }
  }
  return true;
}

}  // namespace faceauth
