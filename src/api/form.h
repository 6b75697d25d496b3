#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/api_error.h"
#include "http/http_types.h"

namespace faceauth {

// A multipart/form-data body of one of our forms (POST /v3/faceauth, POST /v3/submissions,
// the dashboard's try-it), its values pointing into the request's body.
struct FormFields {
  std::optional<ApiErrorCode> error;
  std::string message;
  std::map<std::string, std::string_view> values;
};

// The vendor's limit on a text field of a form (submissionId, userId, ...), in bytes.
constexpr size_t kFormFieldBytes = 256;

// Parses a multipart body. Every field name, and every text field (each field but
// `file_fields`), must be valid UTF-8 without NUL; names at most 256 bytes, text fields at
// most `max_bytes`. Anything else is invalid_data_format with a message that echoes only
// names of ours.
FormFields parse_form(const HttpRequest& request, const std::vector<std::string>& file_fields, size_t max_bytes);

// The value of a text field, "" when absent.
std::string form_field(const FormFields& form, const std::string& name);

}  // namespace faceauth
