#pragma once
// The values of each row both stores insert, in the order of the columns their INSERTs list,
// and the rows both read back, written once so that the SQLite and PostgreSQL stores cannot
// disagree on an order. `Values` is a store's parameter list (SQLite's Query, PostgreSQL's
// Params): each has text, blob, integer, real and boolean, each returning itself. `Columns` is
// one result row: text(k), integer(k), real(k), blob(k) and boolean(k) read column k. The SQL
// stays in each store (placeholders and conflict clauses differ).

#include <exception>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "policy/policy.h"
#include "store/store.h"

namespace faceauth::row_values {

// kyc_projects(id, name, webhook_url, created_ms, auto_approve_threshold, webhook_secret_sealed)
template <class Values>
Values& kyc_project(Values&& v, const KycProject& p) {
  v.text(p.id).text(p.name).text(p.webhook_url).integer(p.created_ms);
  return v.real(p.auto_approve_threshold).blob(p.webhook_secret_sealed);
}

// faceauth_projects(id, kyc_project_id, name, policy_json, image_retention_days, created_ms)
template <class Values>
Values& faceauth_project(Values&& v, const FaceAuthProject& p, const std::string& policy_json) {
  v.text(p.id).text(p.kyc_project_id).text(p.name).text(policy_json);
  return v.integer(p.image_retention_days).integer(p.created_ms);
}

// submissions(id, kyc_project_id, status, user_id, email, cf1, cf2, cf3, template_sealed,
// template_model, template_source, selfie_sealed, id_image_sealed, created_ms, updated_ms)
template <class Values>
Values& submission(Values&& v, const Submission& s) {
  v.text(s.id).text(s.kyc_project_id).text(submission_status_name(s.status)).text(s.user_id).text(s.email);
  v.text(s.cf1).text(s.cf2).text(s.cf3).blob(s.template_sealed).text(s.template_model).text(s.template_source);
  return v.blob(s.selfie_sealed).blob(s.id_image_sealed).integer(s.created_ms).integer(s.updated_ms);
}

// attempts(id, faceauth_project_id, kyc_submission_id, approved, scores_json, fail_codes_json,
// comments_json, policy_json, user_id, cf1, cf2, cf3, key_id, client_address, latency_ms,
// created_ms, image_sealed, delete_check, image_state, similarity_failed)
template <class Values>
Values& attempt(Values&& v, const Attempt& a) {
  const char* image_state = a.delete_check ? "deleted" : a.image_sealed.empty() ? "not_stored" : "stored";
  v.text(a.id).text(a.faceauth_project_id).text(a.submission_id).boolean(a.approved).text(a.scores_json);
  v.text(a.fail_codes_json).text(a.comments_json).text(a.policy_json).text(a.user_id);
  v.text(a.cf1).text(a.cf2).text(a.cf3).text(a.key_id).text(a.client_address).real(a.latency_ms);
  v.integer(a.created_ms).blob(a.image_sealed).boolean(a.delete_check).text(image_state);
  return v.boolean(a.similarity_failed);
}

// webhook_events(id, kyc_project_id, attempt_id, payload, created_ms, state, attempts, next_attempt_ms)
template <class Values>
Values& webhook_event(Values&& v, const WebhookEvent& e) {
  v.text(e.id).text(e.kyc_project_id).text(e.attempt_id).text(e.payload).integer(e.created_ms);
  return v.text(webhook_state_name(e.state)).integer(e.attempts).integer(e.next_attempt_ms);
}

// webhook_deliveries(event_id, kyc_project_id, attempt_id, url, attempt, started_ms, http_status,
// error, duration_ms, event_state)
template <class Values>
Values& webhook_delivery(Values&& v, const WebhookDelivery& d, WebhookState event_state) {
  v.text(d.event_id).text(d.kyc_project_id).text(d.attempt_id).text(d.url).integer(d.attempt);
  v.integer(d.started_ms).integer(d.http_status).text(d.error).real(d.duration_ms);
  return v.text(webhook_state_name(event_state));
}

// users(id, name, role, password_hash, created_ms, password_changed_ms)
template <class Values>
Values& user(Values&& v, const User& u) {
  v.text(u.id).text(u.name).text(role_name(u.role)).text(u.password_hash);
  return v.integer(u.created_ms).integer(u.password_changed_ms);
}

// sessions(token_hash, user_id, created_ms, expires_ms, client_address)
template <class Values>
Values& session(Values&& v, const Session& s) {
  return v.blob(s.token_hash).text(s.user_id).integer(s.created_ms).integer(s.expires_ms).text(s.client_address);
}

// audit_log(time_ms, actor, role, action, target, status, client_address, request_id)
template <class Values>
Values& audit_entry(Values&& v, const AuditEntry& e) {
  v.integer(e.time_ms).text(e.actor).text(e.role).text(e.action).text(e.target).integer(e.status);
  return v.text(e.client_address).text(e.request_id);
}

// lockout_events(faceauth_project_id, submission_id, kind, time_ms, locked_until_ms, failures,
// attempt_id, actor)
template <class Values>
Values& lockout_event(Values&& v, const LockoutEvent& e) {
  v.text(e.faceauth_project_id).text(e.submission_id).text(e.kind).integer(e.time_ms);
  return v.integer(e.locked_until_ms).integer(e.failures).text(e.attempt_id).text(e.actor);
}

// SELECT id, name, webhook_url, created_ms, auto_approve_threshold, webhook_secret_sealed
template <class Columns>
KycProject kyc_project_from(const Columns& c) {
  return {c.text(0), c.text(1), c.text(2), c.integer(3), c.real(4), c.blob(5)};
}

// SELECT id, kyc_project_id, name, policy_json, image_retention_days, created_ms
template <class Columns>
FaceAuthProject faceauth_project_from(const Columns& c) {
  FaceAuthProject p;
  p.id = c.text(0);
  p.kyc_project_id = c.text(1);
  p.name = c.text(2);
  try {
    p.policy = policy_from_json(nlohmann::json::parse(c.text(3)));
  } catch (const std::exception&) {
    throw StoreError("read FaceAuth project: stored policy is not valid");
  }
  p.image_retention_days = static_cast<int>(c.integer(4));
  p.created_ms = c.integer(5);
  return p;
}

// SELECT the submissions columns in the order submission() binds them.
template <class Columns>
Submission submission_from(const Columns& c) {
  Submission s;
  s.id = c.text(0);
  s.kyc_project_id = c.text(1);
  std::optional<SubmissionStatus> status = parse_submission_status(c.text(2));
  if (!status) throw StoreError("read submission: stored status is not valid");
  s.status = *status;
  s.user_id = c.text(3);
  s.email = c.text(4);
  s.cf1 = c.text(5);
  s.cf2 = c.text(6);
  s.cf3 = c.text(7);
  s.template_sealed = c.blob(8);
  s.template_model = c.text(9);
  s.template_source = c.text(10);
  s.selfie_sealed = c.blob(11);
  s.id_image_sealed = c.blob(12);
  s.created_ms = c.integer(13);
  s.updated_ms = c.integer(14);
  return s;
}

// SELECT the attempts columns in the order attempt() binds them.
template <class Columns>
Attempt attempt_from(const Columns& c) {
  Attempt a;
  a.id = c.text(0);
  a.faceauth_project_id = c.text(1);
  a.submission_id = c.text(2);
  a.approved = c.boolean(3);
  a.scores_json = c.text(4);
  a.fail_codes_json = c.text(5);
  a.comments_json = c.text(6);
  a.policy_json = c.text(7);
  a.user_id = c.text(8);
  a.cf1 = c.text(9);
  a.cf2 = c.text(10);
  a.cf3 = c.text(11);
  a.key_id = c.text(12);
  a.client_address = c.text(13);
  a.latency_ms = c.real(14);
  a.created_ms = c.integer(15);
  a.image_sealed = c.blob(16);
  a.delete_check = c.boolean(17);
  a.image_state = c.text(18);
  a.similarity_failed = c.boolean(19);
  return a;
}

inline WebhookState webhook_state_from(const std::string& text) {
  if (text == "pending") return WebhookState::pending;
  if (text == "delivered") return WebhookState::delivered;
  if (text == "failed") return WebhookState::failed;
  throw StoreError("read webhook event: stored state is not valid");
}

// SELECT id, kyc_project_id, attempt_id, payload, created_ms, state, attempts, next_attempt_ms
template <class Columns>
WebhookEvent webhook_event_from(const Columns& c) {
  WebhookEvent e;
  e.id = c.text(0);
  e.kyc_project_id = c.text(1);
  e.attempt_id = c.text(2);
  e.payload = c.text(3);
  e.created_ms = c.integer(4);
  e.state = webhook_state_from(c.text(5));
  e.attempts = static_cast<int>(c.integer(6));
  e.next_attempt_ms = c.integer(7);
  return e;
}

// SELECT seq, event_id, kyc_project_id, attempt_id, url, attempt, started_ms, http_status, error,
// duration_ms, event_state
template <class Columns>
WebhookDelivery webhook_delivery_from(const Columns& c) {
  WebhookDelivery d;
  d.seq = c.integer(0);
  d.event_id = c.text(1);
  d.kyc_project_id = c.text(2);
  d.attempt_id = c.text(3);
  d.url = c.text(4);
  d.attempt = static_cast<int>(c.integer(5));
  d.started_ms = c.integer(6);
  d.http_status = static_cast<int>(c.integer(7));
  d.error = c.text(8);
  d.duration_ms = c.real(9);
  d.event_state = webhook_state_from(c.text(10));
  return d;
}

// SELECT id, name, role, password_hash, created_ms, password_changed_ms
template <class Columns>
User user_from(const Columns& c) {
  return {c.text(0), c.text(1), parse_role(c.text(2)).value_or(Role::viewer), c.text(3), c.integer(4), c.integer(5)};
}

// SELECT seq, faceauth_project_id, submission_id, kind, time_ms, locked_until_ms, failures, attempt_id, actor
template <class Columns>
LockoutEvent lockout_event_from(const Columns& c) {
  const int failures = static_cast<int>(c.integer(6));
  return {c.integer(0), c.text(1), c.text(2), c.text(3), c.integer(4), c.integer(5), failures, c.text(7), c.text(8)};
}

// SELECT seq, time_ms, actor, role, action, target, status, client_address, request_id
template <class Columns>
AuditEntry audit_entry_from(const Columns& c) {
  const int status = static_cast<int>(c.integer(6));
  return {c.integer(0), c.integer(1), c.text(2), c.text(3), c.text(4), c.text(5), status, c.text(7), c.text(8)};
}

}  // namespace faceauth::row_values
