#include "store/store.h"

namespace faceauth {

const char* submission_status_name(SubmissionStatus status) {
  switch (status) {
    case SubmissionStatus::pending:
      return "pending";
    case SubmissionStatus::approved:
      return "approved";
    case SubmissionStatus::rejected:
      return "rejected";
  }
  return "unknown";  // not a valid status: the schema refuses it
}

std::optional<SubmissionStatus> parse_submission_status(const std::string& text) {
  if (text == "pending") return SubmissionStatus::pending;
  if (text == "approved") return SubmissionStatus::approved;
  if (text == "rejected") return SubmissionStatus::rejected;
  return std::nullopt;
}

const char* webhook_state_name(WebhookState state) {
  switch (state) {
    case WebhookState::pending:
      return "pending";
    case WebhookState::delivered:
      return "delivered";
    case WebhookState::failed:
      return "failed";
  }
  return "unknown";
}

}  // namespace faceauth

namespace faceauth {

IdempotencyClaim idempotency_claim(const Bytes& stored_hash, const IdempotencyRecord& request, int64_t created_ms,
                                   int64_t now_ms, int64_t stale_ms) {
  if (stored_hash != request.request_hash) return IdempotencyClaim::mismatch;
  if (!request.response_body.empty()) return IdempotencyClaim::done;
  if (created_ms >= now_ms - stale_ms) return IdempotencyClaim::in_progress;
  return IdempotencyClaim::claimed;  // its server died mid-request: this one takes the key over
}

bool is_postgres_url(const std::string& database) {
  return database.rfind("postgresql://", 0) == 0 || database.rfind("postgres://", 0) == 0;
}

std::unique_ptr<Store> open_store(const std::string& database, const std::string& default_sqlite_path, int pool_size) {
  if (database.empty()) return open_sqlite_store(default_sqlite_path);
  if (is_postgres_url(database)) return open_postgres_store(database, pool_size);
  if (database.rfind("sqlite:", 0) == 0 && database.size() > 7) return open_sqlite_store(database.substr(7));
  throw StoreError("database: expected postgresql://..., sqlite:PATH or nothing");
}

const char* role_name(Role role) {
  switch (role) {
    case Role::owner:
      return "owner";
    case Role::admin:
      return "admin";
    case Role::viewer:
      return "viewer";
  }
  return "unknown";
}

std::optional<Role> parse_role(const std::string& text) {
  if (text == "owner") return Role::owner;
  if (text == "admin") return Role::admin;
  if (text == "viewer") return Role::viewer;
  return std::nullopt;
}

}  // namespace faceauth
