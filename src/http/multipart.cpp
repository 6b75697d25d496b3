// Strict multipart/form-data parser (RFC 7578, framing from RFC 2046). Every deviation from
// the grammar is an error; nothing is repaired or guessed. Part data are views into the body.
#include "http/multipart.h"

#include <cstdint>
#include <map>
#include <set>
#include <utility>

namespace faceauth {
namespace {

constexpr std::string_view kCrlf = "\r\n";

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string to_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = lower(c);
  return out;
}

bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// RFC 9110 tchar.
bool is_tchar(char c) {
  if (is_alnum(c)) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

// RFC 2046 bcharsnospace (space is handled by the caller).
bool is_bchar_nospace(char c) {
  if (is_alnum(c)) return true;
  switch (c) {
    case '\'':
    case '(':
    case ')':
    case '+':
    case '_':
    case ',':
    case '-':
    case '.':
    case '/':
    case ':':
    case '=':
    case '?':
      return true;
    default:
      return false;
  }
}

bool is_ows(char c) { return c == ' ' || c == '\t'; }

void skip_ows(std::string_view text, size_t& pos) {
  while (pos < text.size() && is_ows(text[pos])) ++pos;
}

std::string_view trim_ows(std::string_view text) {
  size_t begin = 0;
  size_t end = text.size();
  while (begin < end && is_ows(text[begin])) ++begin;
  while (end > begin && is_ows(text[end - 1])) --end;
  return text.substr(begin, end - begin);
}

// qdtext and the characters a quoted-pair may escape (RFC 9110 5.6.4): HTAB, SP, VCHAR,
// obs-text. Everything else (other controls, DEL) is invalid inside a quoted-string.
bool is_quotable(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7F);
}

// Parses a token at `pos`; empty when there is none.
std::string_view parse_token(std::string_view text, size_t& pos) {
  const size_t begin = pos;
  while (pos < text.size() && is_tchar(text[pos])) ++pos;
  return text.substr(begin, pos - begin);
}

// Parses a quoted-string starting at `pos` (which holds '"'), unescaping quoted-pairs.
bool parse_quoted(std::string_view text, size_t& pos, std::string& out) {
  if (pos >= text.size() || text[pos] != '"') return false;
  ++pos;
  out.clear();
  while (pos < text.size()) {
    const char c = text[pos];
    if (c == '"') {
      ++pos;
      return true;
    }
    if (c == '\\') {
      if (pos + 1 >= text.size() || !is_quotable(text[pos + 1])) return false;
      out.push_back(text[pos + 1]);
      pos += 2;
      continue;
    }
    if (!is_quotable(c)) return false;
    out.push_back(c);
    ++pos;
  }
  return false;  // unterminated
}

// `; name=value` parameters after a media type or disposition type: OWS ";" OWS name "="
// (token / quoted-string). Names are lower-cased; a repeated name is an error.
bool parse_parameters(std::string_view text, size_t pos, std::map<std::string, std::string>& params) {
  params.clear();
  while (true) {
    skip_ows(text, pos);
    if (pos == text.size()) return true;
    if (text[pos] != ';') return false;
    ++pos;
    skip_ows(text, pos);
    if (pos == text.size()) return true;  // a trailing ';' is tolerated
    const std::string_view name = parse_token(text, pos);
    if (name.empty()) return false;
    if (pos >= text.size() || text[pos] != '=') return false;
    ++pos;
    std::string value;
    if (pos < text.size() && text[pos] == '"') {
      if (!parse_quoted(text, pos, value)) return false;
    } else {
      const std::string_view token = parse_token(text, pos);
      if (token.empty()) return false;
      value = std::string(token);
    }
    if (!params.emplace(to_lower(name), std::move(value)).second) return false;
  }
}

struct MediaType {
  std::string type;  // "type/subtype", lower-cased
  std::map<std::string, std::string> params;
};

// Splits a Content-Type value into its lower-cased type/subtype and parameters.
// Returns false when the type itself is not type "/" subtype; `params_ok` tells whether the
// parameter list parsed.
bool parse_media_type(std::string_view value, MediaType& media, bool& params_ok) {
  size_t pos = 0;
  skip_ows(value, pos);
  const std::string_view type = parse_token(value, pos);
  if (type.empty() || pos >= value.size() || value[pos] != '/') return false;
  ++pos;
  const std::string_view subtype = parse_token(value, pos);
  if (subtype.empty()) return false;
  media.type = to_lower(type) + "/" + to_lower(subtype);
  params_ok = parse_parameters(value, pos, media.params);
  return true;
}

bool valid_boundary(std::string_view boundary) {
  if (boundary.empty() || boundary.size() > 70) return false;
  for (char c : boundary) {
    if (c != ' ' && !is_bchar_nospace(c)) return false;
  }
  return boundary.back() != ' ';
}

struct Disposition {
  std::string name;
  std::optional<std::string> filename;
};

// Content-Disposition: form-data; name="..."[; filename="..."]. Other parameters
// (filename* included) are ignored once they parse.
bool parse_disposition(std::string_view value, Disposition& out, std::string& detail) {
  size_t pos = 0;
  const std::string_view type = parse_token(value, pos);
  if (!iequals(type, "form-data")) {
    detail = "Content-Disposition is not form-data";
    return false;
  }
  std::map<std::string, std::string> params;
  if (!parse_parameters(value, pos, params)) {
    detail = "malformed Content-Disposition parameters";
    return false;
  }
  auto name = params.find("name");
  if (name == params.end() || name->second.empty()) {
    detail = "Content-Disposition without a field name";
    return false;
  }
  out.name = name->second;
  out.filename.reset();
  if (auto filename = params.find("filename"); filename != params.end()) out.filename = filename->second;
  return true;
}

// A header field value may hold HTAB, SP, VCHAR and obs-text; no other control characters.
bool valid_field_value(std::string_view value) {
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u == 0x7F || (u < 0x20 && u != '\t')) return false;
  }
  return true;
}

struct PartHeaders {
  std::optional<Disposition> disposition;
  std::optional<std::string> content_type;
};

// Parses one part's header block starting at `pos` up to and including the empty line.
// On success `pos` is the first byte of the part's data.
bool parse_part_headers(std::string_view body, size_t& pos, const MultipartLimits& limits, PartHeaders& headers,
                        std::string& detail) {
  const size_t start = pos;
  while (true) {
    const size_t used = pos - start;
    // The line with its CRLF must still fit in the header budget.
    const size_t budget = limits.max_part_headers > used ? limits.max_part_headers - used : 0;
    const std::string_view window = body.substr(pos, budget);
    const size_t eol = window.find(kCrlf);
    if (eol == std::string_view::npos) {
      if (body.size() - pos > budget) {
        detail = "part header block too large";
      } else {
        detail = "part headers not terminated by CRLF";
      }
      return false;
    }
    const std::string_view line = window.substr(0, eol);
    pos += eol + kCrlf.size();
    if (line.empty()) break;
    if (line.find('\n') != std::string_view::npos || line.find('\r') != std::string_view::npos) {
      detail = "bare CR or LF in part headers";
      return false;
    }
    if (is_ows(line.front())) {
      detail = "folded part header line";
      return false;
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      detail = "malformed part header line";
      return false;
    }
    const std::string_view name = line.substr(0, colon);
    for (char c : name) {
      if (!is_tchar(c)) {
        detail = "malformed part header name";
        return false;
      }
    }
    const std::string_view value = trim_ows(line.substr(colon + 1));
    if (!valid_field_value(value)) {
      detail = "control character in a part header";
      return false;
    }
    if (iequals(name, "content-disposition")) {
      if (headers.disposition) {
        detail = "repeated Content-Disposition";
        return false;
      }
      Disposition disposition;
      if (!parse_disposition(value, disposition, detail)) return false;
      headers.disposition = std::move(disposition);
    } else if (iequals(name, "content-type")) {
      if (headers.content_type) {
        detail = "repeated Content-Type in a part";
        return false;
      }
      headers.content_type = std::string(value);
    }
    // Other headers (Content-Transfer-Encoding and the like) are ignored.
  }
  if (!headers.disposition) {
    detail = "part without Content-Disposition";
    return false;
  }
  return true;
}

MultipartResult fail(MultipartError error, std::string detail) {
  MultipartResult result;
  result.error = error;
  result.detail = std::move(detail);
  return result;
}

}  // namespace

const char* multipart_error_name(MultipartError error) {
  switch (error) {
    case MultipartError::not_multipart:
      return "not_multipart";
    case MultipartError::missing_boundary:
      return "missing_boundary";
    case MultipartError::malformed:
      return "malformed";
    case MultipartError::duplicate_field:
      return "duplicate_field";
    case MultipartError::too_many_parts:
      return "too_many_parts";
  }
  return "unknown";
}

std::optional<std::string> multipart_boundary(std::string_view content_type) {
  MediaType media;
  bool params_ok = false;
  if (!parse_media_type(content_type, media, params_ok) || !params_ok) return std::nullopt;
  auto boundary = media.params.find("boundary");
  if (boundary == media.params.end() || !valid_boundary(boundary->second)) return std::nullopt;
  return boundary->second;
}

MultipartResult parse_multipart(std::string_view content_type, std::string_view body, const MultipartLimits& limits) {
  MediaType media;
  bool params_ok = false;
  if (!parse_media_type(content_type, media, params_ok) || media.type != "multipart/form-data") {
    return fail(MultipartError::not_multipart, "Content-Type is not multipart/form-data");
  }
  const std::optional<std::string> boundary = multipart_boundary(content_type);
  if (!boundary) return fail(MultipartError::missing_boundary, "missing or invalid multipart boundary");

  const std::string dash_boundary = "--" + *boundary;
  const std::string delimiter = std::string(kCrlf) + dash_boundary;

  // The first delimiter: at offset 0, or after a preamble that ends with CRLF. The first
  // occurrence of the boundary decides: a preamble that runs into it without a CRLF is an error.
  const size_t first = body.find(dash_boundary);
  if (first == std::string_view::npos) return fail(MultipartError::malformed, "no multipart delimiter in the body");
  if (first != 0 && (first < kCrlf.size() || body.substr(first - kCrlf.size(), kCrlf.size()) != kCrlf)) {
    return fail(MultipartError::malformed, "preamble does not end with CRLF");
  }
  size_t pos = first + dash_boundary.size();

  MultipartResult result;
  std::set<std::string, std::less<>> names;
  while (true) {
    // After a delimiter: "--" closes; otherwise transport padding, then CRLF.
    if (body.substr(pos, 2) == "--") return result;  // the epilogue is ignored
    skip_ows(body, pos);
    if (body.substr(pos, kCrlf.size()) != kCrlf) {
      return fail(MultipartError::malformed, "delimiter not followed by CRLF");
    }
    pos += kCrlf.size();

    PartHeaders headers;
    std::string detail;
    if (!parse_part_headers(body, pos, limits, headers, detail)) return fail(MultipartError::malformed, detail);

    const size_t end = body.find(delimiter, pos);
    if (end == std::string_view::npos) {
      return fail(MultipartError::malformed, "body truncated: no close delimiter");
    }
    if (result.parts.size() >= limits.max_parts) {
      return fail(MultipartError::too_many_parts, "more than " + std::to_string(limits.max_parts) + " parts");
    }
    if (!names.insert(headers.disposition->name).second) {
      return fail(MultipartError::duplicate_field, "a form field appears twice");
    }
    MultipartPart part;
    part.name = std::move(headers.disposition->name);
    part.filename = std::move(headers.disposition->filename);
    part.content_type = headers.content_type.value_or("");
    part.data = body.substr(pos, end - pos);
    result.parts.push_back(std::move(part));
    pos = end + delimiter.size();
  }
}

}  // namespace faceauth
