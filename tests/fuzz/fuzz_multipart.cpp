// libFuzzer target: the multipart/form-data parser reads the Content-Type and the body from
// the client. Input: the Content-Type up to the first '\n', then the body. Any input must give
// either an error with no parts, or parts whose names are non-empty and whose data lie inside
// the body.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "http/http_types.h"
#include "http/multipart.h"

namespace {

void check(const faceauth::MultipartResult& result, std::string_view body, const faceauth::MultipartLimits& limits) {
  if (result.error) {
    if (!result.parts.empty()) __builtin_trap();
    return;
  }
  if (result.parts.size() > limits.max_parts) __builtin_trap();
  const char* begin = body.data();
  const char* end = body.data() + body.size();
  for (const faceauth::MultipartPart& part : result.parts) {
    if (part.name.empty()) __builtin_trap();
    if (part.data.size() > body.size()) __builtin_trap();
    if (part.data.data() < begin || part.data.data() > end) __builtin_trap();
    if (static_cast<size_t>(end - part.data.data()) < part.data.size()) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const std::string_view content_type = input.substr(0, newline);
  const std::string_view body = newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);

  const faceauth::MultipartLimits defaults;
  check(faceauth::parse_multipart(content_type, body, defaults), body, defaults);
  faceauth::MultipartLimits tight;
  tight.max_parts = 2;
  tight.max_part_headers = 64;
  check(faceauth::parse_multipart(content_type, body, tight), body, tight);

  if (auto boundary = faceauth::multipart_boundary(content_type)) {
    if (boundary->empty() || boundary->size() > 70 || boundary->back() == ' ') __builtin_trap();
  }
  (void)faceauth::is_valid_utf8(body);
  std::string path;
  std::multimap<std::string, std::string> query;
  if (!faceauth::split_target(content_type, path, query) && (!path.empty() || !query.empty())) __builtin_trap();
  return 0;
}
