#include "api/api_error.h"

#include <cctype>

#include <nlohmann/json.hpp>

#include "crypto/secrets.h"

namespace faceauth {
namespace {

struct Row {
  const char* name;
  int status;
  const char* message;
};

Row row(ApiErrorCode code) {
  switch (code) {
    case ApiErrorCode::required_field_missing:
      return {"required_field_missing", 400, "Required field is missing"};
    case ApiErrorCode::invalid_data_format:
      return {"invalid_data_format", 400, "Data parsing error. Please check input data."};
    case ApiErrorCode::Invalid_projectId:
      return {"Invalid_projectId", 401, "Fail to find the project data"};
    case ApiErrorCode::Invalid_submissionId:
      return {"Invalid_submissionId", 404, "Fail to find the submission data"};
    case ApiErrorCode::invalid_submission_status:
      return {"invalid_submission_status", 409, "The submission must be approved to process face authentication"};
    case ApiErrorCode::Invalid_authId:
      return {"Invalid_authId", 404, "Fail to find the authentication data"};
    case ApiErrorCode::image_too_large:
      return {"image_too_large", 413, "The image is larger than allowed"};
    case ApiErrorCode::image_converting_error:
      return {"image_converting_error", 415, "Image converting error"};
    case ApiErrorCode::image_processing_error:
      return {"image_processing_error", 422, "Image processing error"};
    case ApiErrorCode::no_face:
      return {"no_face", 422, "Face is not detected"};
    case ApiErrorCode::too_many_requests:
      return {"too_many_requests", 429, "Too many requests"};
    case ApiErrorCode::data_processing_error:
      return {"data_processing_error", 500, "Data processing error"};
    case ApiErrorCode::detection_server_error:
      return {"detection_server_error", 503, "Cannot finish process of detecting face"};
    case ApiErrorCode::unauthorized:
      return {"unauthorized", 401, "A valid admin token is required"};
    case ApiErrorCode::not_found:
      return {"not_found", 404, "No such resource"};
    case ApiErrorCode::method_not_allowed:
      return {"method_not_allowed", 405, "Method not allowed on this resource"};
    case ApiErrorCode::header_too_large:
      return {"invalid_data_format", 431, "Request headers are too large"};
    case ApiErrorCode::idempotency_key_reused:
      return {"idempotency_key_reused", 422, "This Idempotency-Key was used with a different request"};
    case ApiErrorCode::idempotency_key_in_progress:
      return {"idempotency_key_in_progress", 409, "The first request with this Idempotency-Key is still running"};
  }
  return {"data_processing_error", 500, "Data processing error"};
}

}  // namespace

const char* api_error_name(ApiErrorCode code) { return row(code).name; }
int api_error_status(ApiErrorCode code) { return row(code).status; }
const char* api_error_message(ApiErrorCode code) { return row(code).message; }

ApiErrorCode api_error_from_engine(ErrorCode code) {
  switch (code) {
    case ErrorCode::no_face:
      return ApiErrorCode::no_face;
    case ErrorCode::image_converting_error:
      return ApiErrorCode::image_converting_error;
    case ErrorCode::image_too_large:
      return ApiErrorCode::image_too_large;
    case ErrorCode::image_processing_error:
      return ApiErrorCode::image_processing_error;
    case ErrorCode::detection_server_error:
      return ApiErrorCode::detection_server_error;
  }
  return ApiErrorCode::detection_server_error;
}

std::string request_id_for(const HttpRequest& request) {
  const std::string* given = request.header("x-request-id");
  if (!given || given->empty() || given->size() > 64) return random_hex_id();
  for (char c : *given) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return random_hex_id();
  }
  return *given;
}

HttpResponse error_response(const ApiError& error, const std::string& request_id) {
  HttpResponse response;
  response.status = api_error_status(error.code);
  nlohmann::json body = {{"errorCode", api_error_name(error.code)},
                         {"message", error.message.empty() ? api_error_message(error.code) : error.message},
                         {"traceId", request_id}};
  // Never throws (an error body must always be written): bytes that are not UTF-8 become U+FFFD.
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  response.headers.emplace_back("x-request-id", request_id);
  if (error.code == ApiErrorCode::too_many_requests || error.code == ApiErrorCode::detection_server_error) {
    response.headers.emplace_back("Retry-After", std::to_string(error.retry_after_seconds));
  }
  return response;
}

}  // namespace faceauth
