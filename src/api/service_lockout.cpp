// FaceAuthService: the lockout of a submission after repeated failed similarity checks (the
// policy's `lockout`), its admin view and unlock, the event log and the lockout webhooks.
//
// The lock is keyed by (FaceAuth project, submission): the rule (failures, window, lock
// length) is each FaceAuth project's policy, so one project's counters follow its own rule
// and a project with lockout off is never refused because of another project's failures.
#include <algorithm>

#include "api/service.h"

namespace faceauth {
namespace {

nlohmann::ordered_json time_or_null(int64_t ms) { return ms > 0 ? nlohmann::ordered_json(iso_time(ms)) : nullptr; }

// Whole seconds until `until_ms`, at least 1 (the Retry-After of a locked submission).
int seconds_until(int64_t until_ms, int64_t now) {
  int64_t seconds = (until_ms - now + 999) / 1000;
  return static_cast<int>(std::clamp<int64_t>(seconds, 1, INT32_MAX));
}

nlohmann::ordered_json lockout_json(const std::string& submission_id, const LockoutState& state,
                                    const LockoutPolicy& policy, int64_t now) {
  nlohmann::ordered_json body = {{"submissionId", submission_id},
                                 {"locked", state.locked},
                                 {"locked_until", state.locked ? time_or_null(state.locked_until_ms) : nullptr},
                                 {"retry_after_seconds", state.locked ? seconds_until(state.locked_until_ms, now) : 0},
                                 {"failures", state.failures},
                                 {"last_locked", time_or_null(state.locked_ms)},
                                 {"lockout",
                                  {{"failures", policy.failures},
                                   {"window_seconds", policy.window_seconds},
                                   {"lock_seconds", policy.lock_seconds}}}};
  return body;
}

nlohmann::ordered_json lockout_event_json(const LockoutEvent& e) {
  return {{"seq", e.seq},
          {"submissionId", e.submission_id},
          {"event", e.kind},
          {"time", iso_time(e.time_ms)},
          {"locked_until", time_or_null(e.locked_until_ms)},
          {"failures", e.failures},
          {"authentication_id", e.attempt_id},
          {"actor", e.actor}};
}

}  // namespace

LockoutRule lockout_rule(const LockoutPolicy& policy) {
  if (!policy.on()) return {};
  return {policy.failures, int64_t{policy.window_seconds} * 1000, int64_t{policy.lock_seconds} * 1000};
}

std::string lockout_payload(const std::string& faceauth_project_id, const std::string& submission_id, const char* state,
                            int64_t time_ms, int64_t locked_until_ms, int failures, const std::string& attempt_id) {
  nlohmann::ordered_json data = {{"faceauth_project_id", faceauth_project_id},
                                 {"submission_id", submission_id},
                                 {"state", state},
                                 {"time", iso_time(time_ms)},
                                 {"locked_until", iso_time(locked_until_ms)},
                                 {"failures", failures},
                                 {"authentication_id", attempt_id}};
  nlohmann::ordered_json body = {{"webhook_trigger", "faceAuthLockout"}, {"data", data}};
  return body.dump();
}

std::optional<Outcome> FaceAuthService::refuse_when_locked(const FaceAuthProject& project,
                                                           const Submission& submission) {
  LockoutRule rule = lockout_rule(project.policy.lockout);
  if (rule.failures <= 0) return std::nullopt;
  const int64_t now = now_ms();
  LockoutState state = store_.get_lockout(project.id, submission.id, rule, now);
  if (!state.locked) return std::nullopt;
  Outcome refused = Outcome::fail(ApiErrorCode::too_many_requests,
                                  "The submission is locked after repeated failed face comparisons; retry after "
                                  "Retry-After seconds or ask an administrator to unlock it");
  refused.error->retry_after_seconds = seconds_until(state.locked_until_ms, now);
  return refused;
}

std::optional<WebhookEvent> FaceAuthService::lockout_webhook_event(const std::string& kyc_project_id,
                                                                   const std::string& attempt_id, std::string payload,
                                                                   int64_t time_ms) {
  std::optional<KycProject> project = store_.get_kyc_project(kyc_project_id);
  if (!project || project->webhook_url.empty()) return std::nullopt;
  WebhookEvent event;
  event.id = random_uuid();
  event.kyc_project_id = kyc_project_id;
  event.attempt_id = attempt_id;
  event.payload = std::move(payload);
  event.created_ms = event.next_attempt_ms = time_ms;
  return event;
}

Outcome FaceAuthService::get_lockout(const std::string& faceauth_project_id, const std::string& submission_id) {
  std::optional<FaceAuthProject> project = store_.get_faceauth_project(faceauth_project_id);
  if (!project) return Outcome::fail(ApiErrorCode::not_found, "No such FaceAuth project");
  if (!store_.get_submission(project->kyc_project_id, submission_id)) {
    return Outcome::fail(ApiErrorCode::Invalid_submissionId);
  }
  const int64_t now = now_ms();
  LockoutPolicy policy = project->policy.lockout;
  LockoutState state = store_.get_lockout(project->id, submission_id, lockout_rule(policy), now);
  state.locked = state.locked && policy.on();
  return Outcome::ok(lockout_json(submission_id, state, policy, now));
}

Outcome FaceAuthService::unlock_submission(const std::string& faceauth_project_id, const std::string& submission_id) {
  std::optional<FaceAuthProject> project = store_.get_faceauth_project(faceauth_project_id);
  if (!project) return Outcome::fail(ApiErrorCode::not_found, "No such FaceAuth project");
  if (!store_.get_submission(project->kyc_project_id, submission_id)) {
    return Outcome::fail(ApiErrorCode::Invalid_submissionId);
  }
  const int64_t now = now_ms();
  LockoutRule rule = lockout_rule(project->policy.lockout);
  LockoutState before = store_.get_lockout(project->id, submission_id, rule, now);
  std::optional<WebhookEvent> event = lockout_webhook_event(
      project->kyc_project_id, "",
      lockout_payload(project->id, submission_id, "unlocked", now, before.locked_until_ms, 0, ""), now);
  bool was_locked = store_.unlock_submission(project->id, submission_id, now, event);
  if (was_locked && event && config_.on_webhook_event) config_.on_webhook_event();
  LockoutState after = store_.get_lockout(project->id, submission_id, rule, now);
  nlohmann::ordered_json body = {{"message", "success"},
                                 {"was_locked", was_locked},
                                 {"lockout", lockout_json(submission_id, after, project->policy.lockout, now)}};
  return Outcome::ok(body);
}

Outcome FaceAuthService::list_lockout_events(const std::string& faceauth_project_id, int64_t after_seq, int limit) {
  if (!store_.get_faceauth_project(faceauth_project_id)) {
    return Outcome::fail(ApiErrorCode::not_found, "No such FaceAuth project");
  }
  std::vector<LockoutEvent> page = store_.list_lockout_events(faceauth_project_id, after_seq, limit);
  nlohmann::ordered_json items = nlohmann::ordered_json::array();
  for (const LockoutEvent& e : page) items.push_back(lockout_event_json(e));
  nlohmann::ordered_json body = {{"events", items}};
  if (!page.empty() && static_cast<int>(page.size()) == limit) body["next_after"] = page.back().seq;
  return Outcome::ok(body);
}

}  // namespace faceauth
