#pragma once
// Our HTTP interface: handlers see these plain structs, never the HTTP library, so they are
// tested without sockets.

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace faceauth {

// Header names are compared case-insensitively.
struct CaseInsensitiveLess {
  bool operator()(std::string_view a, std::string_view b) const;
  using is_transparent = void;
};

struct HttpRequest {
  std::string method;                             // "GET", "POST", ...
  std::string target;                             // as sent: path and query
  std::string path;                               // percent-decoded path, no query
  std::multimap<std::string, std::string> query;  // percent-decoded
  std::multimap<std::string, std::string, CaseInsensitiveLess> headers;
  std::string body;
  std::string client_address;  // the client's IP: the peer, or X-Forwarded-For behind a trusted proxy
  std::string peer;            // "ip:port" of the TCP peer

  // First value of a header or query parameter, or nullptr.
  const std::string* header(std::string_view name) const;
  const std::string* query_value(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type = "application/json";
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// Splits "path?query" into a decoded path and decoded query pairs; false when the
// percent-encoding is invalid or a decoded piece is not text (valid UTF-8 without NUL).
bool split_target(std::string_view target, std::string& path, std::multimap<std::string, std::string>& query);

// The non-empty segments of a decoded path: "/v3//faceauth/" -> {"v3", "faceauth"}.
std::vector<std::string> split_path(const std::string& path);

}  // namespace faceauth
