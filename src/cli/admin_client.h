#pragma once
// The HTTP side of `faceauth admin`: a synchronous HTTP/1.1 client (Boost.Beast, plain TCP)
// for faceauthd's management API, URL and token resolution, percent-encoding and
// multipart/form-data bodies.

#include <string>
#include <utility>
#include <vector>

#include "cli/commands.h"

namespace faceauth {

// Where faceauthd listens and the admin token to send.
struct AdminServer {
  std::string host;    // without brackets for IPv6
  std::string port;    // "80" when the URL has none
  std::string prefix;  // a path before /admin/v1 (reverse proxy), "" or "/x" without trailing '/'
  std::string token;
};

struct AdminReply {
  int status = 0;
  std::string body;
  bool ok() const { return status >= 200 && status < 300; }
};

// --url (else base_url of --demo-json, FACEAUTH_URL, http://127.0.0.1:8080) and --token
// (else admin_token of --demo-json, FACEAUTH_ADMIN_TOKEN). Throws std::invalid_argument for an
// https:// or malformed URL and for a missing token.
AdminServer admin_server(const Args& args);

// One request with `Authorization: Bearer TOKEN`; `body` is sent with `content_type` when
// not empty. Throws std::runtime_error when faceauthd cannot be reached or answers garbage.
AdminReply admin_call(const AdminServer& server, const std::string& method, const std::string& target,
                      const std::string& body = "", const std::string& content_type = "application/json");

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string url_encode(const std::string& text);
// "?a=1&b=2" from the pairs whose value is not empty; "" when none.
std::string query_string(const std::vector<std::pair<std::string, std::string>>& pairs);

struct FormPart {
  std::string name;
  std::string data;
  std::string filename;  // "" for a text field
};

// A multipart/form-data body with a random boundary that occurs in no part; returns
// (content type with the boundary, body).
std::pair<std::string, std::string> multipart_form(const std::vector<FormPart>& parts);

}  // namespace faceauth
