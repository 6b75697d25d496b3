#pragma once
// multipart/form-data parsing to RFC 7578 (and RFC 2046 for the framing). Strict: anything
// malformed is an error, never a guess. The parts are views into the body buffer.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/text.h"

namespace faceauth {

struct MultipartPart {
  std::string name;                     // form field name (quoted-string unescaped)
  std::optional<std::string> filename;  // present for file fields
  std::string content_type;             // the part's Content-Type, "" when absent
  std::string_view data;                // the part's bytes, a view into the body
};

struct MultipartLimits {
  size_t max_parts = 32;
  size_t max_part_headers = 8192;  // bytes of one part's header block
};

enum class MultipartError {
  not_multipart,     // Content-Type is not multipart/form-data
  missing_boundary,  // no boundary parameter, or an invalid one (RFC 2046: 1-70 chars of bchars)
  malformed,         // framing, CRLF rules, part headers, Content-Disposition
  duplicate_field,   // the same field name twice
  too_many_parts,
};

const char* multipart_error_name(MultipartError error);

struct MultipartResult {
  std::vector<MultipartPart> parts;
  std::optional<MultipartError> error;
  std::string detail;  // for logs and the error message; never contains body bytes
};

// Extracts the boundary from a Content-Type header value (the parameter may be quoted).
std::optional<std::string> multipart_boundary(std::string_view content_type);

// Parses `body`; the returned views live as long as `body`.
MultipartResult parse_multipart(std::string_view content_type, std::string_view body,
                                const MultipartLimits& limits = {});

}  // namespace faceauth
