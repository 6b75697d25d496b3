#include "http/http_types.h"

#include <algorithm>
#include <sstream>
#include <utility>

#include "http/text.h"

namespace faceauth {
namespace {

unsigned char lower(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u >= 'A' && u <= 'Z') ? static_cast<unsigned char>(u - 'A' + 'a') : u;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes `text` into `out`; '+' becomes a space when `plus_is_space` (query only).
bool percent_decode(std::string_view text, bool plus_is_space, std::string& out) {
  out.clear();
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (text.size() - i < 3) return false;  // fewer than two characters follow
      const int high = hex_value(text[i + 1]);
      const int low = hex_value(text[i + 2]);
      if (high < 0 || low < 0) return false;
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return true;
}

}  // namespace

bool CaseInsensitiveLess::operator()(std::string_view a, std::string_view b) const {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                      [](char x, char y) { return lower(x) < lower(y); });
}

const std::string* HttpRequest::header(std::string_view name) const {
  auto it = headers.lower_bound(name);
  if (it == headers.end() || headers.key_comp()(name, it->first)) return nullptr;
  return &it->second;
}

const std::string* HttpRequest::query_value(std::string_view name) const {
  auto it = query.lower_bound(std::string(name));
  if (it == query.end() || it->first != name) return nullptr;
  return &it->second;
}

bool split_target(std::string_view target, std::string& path, std::multimap<std::string, std::string>& query) {
  path.clear();
  query.clear();
  const size_t question = target.find('?');
  if (!percent_decode(target.substr(0, question), false, path) || !is_valid_text(path)) {
    path.clear();
    return false;
  }
  if (question == std::string_view::npos) return true;
  std::string_view rest = target.substr(question + 1);
  while (true) {
    const size_t amp = rest.find('&');
    const std::string_view piece = rest.substr(0, amp);
    if (!piece.empty()) {
      const size_t equals = piece.find('=');
      std::string key;
      std::string value;
      if (!percent_decode(piece.substr(0, equals), true, key) ||
          (equals != std::string_view::npos && !percent_decode(piece.substr(equals + 1), true, value)) ||
          !is_valid_text(key) || !is_valid_text(value)) {
        path.clear();
        query.clear();
        return false;
      }
      query.emplace(std::move(key), std::move(value));
    }
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  return true;
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> segments;
  std::stringstream stream(path);
  std::string segment;
  while (std::getline(stream, segment, '/')) {
    if (!segment.empty()) segments.push_back(segment);
  }
  return segments;
}

}  // namespace faceauth
