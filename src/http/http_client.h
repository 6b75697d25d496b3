#pragma once
// A minimal HTTP/1.1 client for webhook deliveries: one POST per connection to an http://
// URL (no TLS, no redirects, no proxies), with one deadline for connect, send and the
// status line. Thread-safe (no shared state). Name resolution uses getaddrinfo, which the
// deadline does not bound.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace faceauth {

struct HttpUrl {
  std::string host;  // a name, an IPv4 address, or an IPv6 address without brackets
  uint16_t port = 80;
  std::string target = "/";  // path and query
};

// http://host[:port][/path][?query]; nothing for anything else (https, user info, fragments,
// spaces or control characters, longer than 2048 characters).
std::optional<HttpUrl> parse_http_url(const std::string& url);

struct HttpPostResult {
  int status = 0;     // the answer's status code; 0 when none came
  std::string error;  // why no status came ("" when one did)
};

HttpPostResult http_post(const HttpUrl& url, const std::vector<std::pair<std::string, std::string>>& headers,
                         std::string_view content_type, std::string_view body, int timeout_ms);

}  // namespace faceauth
