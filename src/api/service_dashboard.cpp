// FaceAuthService: the dashboard's "try it", an authentication in a project named by the
// admin API rather than by its add-on key.
#include "api/service.h"

namespace faceauth {

Outcome FaceAuthService::authenticate_in_project(const std::string& faceauth_project_id, const AuthInput& input) {
  std::optional<FaceAuthProject> project = store_.get_faceauth_project(faceauth_project_id);
  if (!project) return Outcome::fail(ApiErrorCode::not_found, "No such FaceAuth project");
  std::optional<Submission> submission = store_.get_submission(project->kyc_project_id, input.submission_id);
  if (!submission) return Outcome::fail(ApiErrorCode::Invalid_submissionId);
  if (submission->status != SubmissionStatus::approved || submission->template_sealed.empty()) {
    return Outcome::fail(ApiErrorCode::invalid_submission_status);
  }
  ApiKey key;
  key.id = "admin-try-it";  // the attempt's key_id: made from the dashboard, not with a key
  key.kind = KeyKind::addon;
  key.project_id = project->id;
  return compare_and_record(input, key, *project, *submission, nullptr);
}

}  // namespace faceauth
