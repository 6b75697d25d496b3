#pragma once
// The API's error table (../shared/spec/faceauth-api.md): one place maps codes to HTTP
// statuses and the vendor's messages, and builds the error body.

#include <string>

#include "http/http_types.h"
#include "vision/error.h"

namespace faceauth {

enum class ApiErrorCode {
  required_field_missing,
  invalid_data_format,
  Invalid_projectId,
  Invalid_submissionId,
  invalid_submission_status,
  Invalid_authId,
  image_too_large,
  image_converting_error,
  image_processing_error,
  no_face,
  too_many_requests,
  data_processing_error,
  detection_server_error,
  // ours, for the management API and HTTP framing
  unauthorized,
  not_found,
  method_not_allowed,
  header_too_large,
  // ours: Idempotency-Key (docs/openapi.yaml)
  idempotency_key_reused,
  idempotency_key_in_progress,
};

struct ApiError {
  ApiErrorCode code;
  std::string message;          // "" = the table's message
  int retry_after_seconds = 1;  // Retry-After of too_many_requests and detection_server_error
};

const char* api_error_name(ApiErrorCode code);
int api_error_status(ApiErrorCode code);
const char* api_error_message(ApiErrorCode code);
ApiErrorCode api_error_from_engine(ErrorCode code);

// The client's x-request-id when it is 1-64 characters of A-Z a-z 0-9 - _, else a new id.
std::string request_id_for(const HttpRequest& request);

// {"errorCode", "message", "traceId"} with the status, and x-request-id = traceId.
HttpResponse error_response(const ApiError& error, const std::string& request_id);

}  // namespace faceauth
