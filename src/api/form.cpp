#include "api/form.h"

#include <algorithm>

#include "http/multipart.h"
#include "http/text.h"

namespace faceauth {
namespace {

// The text fields of our forms (named in error messages; other names are not echoed).
const std::vector<std::string> kTextFields = {"submissionId", "userId", "email", "cf1", "cf2", "cf3"};

}  // namespace

FormFields parse_form(const HttpRequest& request, const std::vector<std::string>& file_fields, size_t max_bytes) {
  FormFields form;
  const std::string* type = request.header("content-type");
  MultipartResult parsed = parse_multipart(type ? *type : "", request.body);
  if (parsed.error) {
    form.error = ApiErrorCode::invalid_data_format;
    form.message = std::string("multipart/form-data is required: ") + multipart_error_name(*parsed.error);
    return form;
  }
  for (const MultipartPart& part : parsed.parts) {
    if (!is_valid_text(part.name) || part.name.size() > 256) {
      form.error = ApiErrorCode::invalid_data_format;
      form.message = "a field name is not valid UTF-8 (without NUL) of at most 256 bytes";
      return form;
    }
    bool is_file = std::find(file_fields.begin(), file_fields.end(), part.name) != file_fields.end();
    if (!is_file && (part.data.size() > max_bytes || !is_valid_text(part.data))) {
      // Only names of ours are echoed: never raw client bytes in a message.
      bool known = std::find(kTextFields.begin(), kTextFields.end(), part.name) != kTextFields.end();
      form.error = ApiErrorCode::invalid_data_format;
      form.message = (known ? "field " + part.name : std::string("a text field")) +
                     " must be valid UTF-8 (without NUL) of at most " + std::to_string(max_bytes) + " bytes";
      return form;
    }
    form.values[part.name] = part.data;
  }
  return form;
}

std::string form_field(const FormFields& form, const std::string& name) {
  auto it = form.values.find(name);
  return it == form.values.end() ? "" : std::string(it->second);
}

}  // namespace faceauth
