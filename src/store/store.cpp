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
