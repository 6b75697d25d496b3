#include "cli/admin_client.h"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <random>
#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

namespace faceauth {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

constexpr auto kTimeout = std::chrono::seconds(120);  // a submission runs the face engine
constexpr uint64_t kMaxResponseBytes = 64 * 1024 * 1024;

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value && *value ? value : fallback;
}

// {"admin_token", "base_url"} of a demo.json written by faceauthd's first start.
nlohmann::json read_demo_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::invalid_argument("cannot read " + path);
  nlohmann::json doc = nlohmann::json::parse(in, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) throw std::invalid_argument(path + " is not a JSON object");
  return doc;
}

std::string demo_field(const nlohmann::json& demo, const char* name) {
  auto it = demo.find(name);
  return it != demo.end() && it->is_string() ? it->get<std::string>() : "";
}

// http://host[:port][/prefix] or http://[v6]:port/...
AdminServer parse_url(const std::string& url) {
  if (url.rfind("https://", 0) == 0) {
    throw std::invalid_argument("faceauth admin speaks plain http:// only, not " + url +
                                "; reach faceauthd directly or through an SSH tunnel");
  }
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) throw std::invalid_argument("the URL must start with http://: " + url);
  std::string rest = url.substr(scheme.size());
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  AdminServer server;
  server.prefix = slash == std::string::npos ? "" : rest.substr(slash);
  while (!server.prefix.empty() && server.prefix.back() == '/') server.prefix.pop_back();
  size_t colon = authority.rfind(':');
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string::npos) throw std::invalid_argument("bad IPv6 address in " + url);
    server.host = authority.substr(1, close - 1);
    colon = close + 1 < authority.size() && authority[close + 1] == ':' ? close + 1 : std::string::npos;
  } else {
    server.host = authority.substr(0, colon);
  }
  server.port = colon == std::string::npos ? "80" : authority.substr(colon + 1);
  if (server.host.empty() || server.port.empty()) throw std::invalid_argument("no host or port in " + url);
  return server;
}

std::string host_header(const AdminServer& server) {
  bool v6 = server.host.find(':') != std::string::npos;
  return (v6 ? "[" + server.host + "]" : server.host) + ":" + server.port;
}

std::string random_hex(size_t bytes) {
  static const char* digits = "0123456789abcdef";
  std::random_device device;
  std::string out;
  for (size_t i = 0; i < bytes; ++i) {
    unsigned value = device() & 0xffu;
    out += {digits[value >> 4], digits[value & 15]};
  }
  return out;
}

// The quoted-string of a Content-Disposition parameter: '"' and '\' escaped, controls dropped.
std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) continue;
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string media_type(const std::string& filename) {
  std::string ext = filename.substr(filename.find_last_of('.') + 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == "jpg" || ext == "jpeg") return "image/jpeg";
  if (ext == "png" || ext == "webp" || ext == "bmp") return "image/" + ext;
  return "application/octet-stream";
}

AdminReply exchange(const AdminServer& server, http::request<http::string_body>& request) {
  boost::asio::io_context io;
  tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  stream.expires_after(kTimeout);
  stream.connect(resolver.resolve(server.host, server.port));
  http::write(stream, request);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBytes);
  http::read(stream, buffer, parser);
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  return {static_cast<int>(parser.get().result_int()), parser.get().body()};
}

}  // namespace

AdminServer admin_server(const Args& args) {
  std::string url = env_or("FACEAUTH_URL", "http://127.0.0.1:8080");
  std::string token = env_or("FACEAUTH_ADMIN_TOKEN", "");
  if (!args.get("demo-json").empty()) {
    nlohmann::json demo = read_demo_json(args.get("demo-json"));
    if (!demo_field(demo, "base_url").empty()) url = demo_field(demo, "base_url");
    if (!demo_field(demo, "admin_token").empty()) token = demo_field(demo, "admin_token");
  }
  AdminServer server = parse_url(args.get("url", url));
  server.token = args.get("token", token);
  if (server.token.empty()) {
    throw std::invalid_argument("no admin token: give --token, FACEAUTH_ADMIN_TOKEN or --demo-json FILE");
  }
  return server;
}

AdminReply admin_call(const AdminServer& server, const std::string& method, const std::string& target,
                      const std::string& body, const std::string& content_type) {
  http::request<http::string_body> request{http::string_to_verb(method), server.prefix + target, 11};
  request.set(http::field::host, host_header(server));
  request.set(http::field::user_agent, "faceauth-admin");
  request.set(http::field::authorization, "Bearer " + server.token);
  request.set(http::field::accept, "application/json");
  if (!body.empty()) request.set(http::field::content_type, content_type);
  request.body() = body;
  request.prepare_payload();
  try {
    return exchange(server, request);
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error(method + " http://" + host_header(server) + server.prefix + target + ": " +
                             e.code().message());
  }
}

std::string url_encode(const std::string& text) {
  static const char* digits = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += {'%', digits[u >> 4], digits[u & 15]};
    }
  }
  return out;
}

std::string query_string(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::string out;
  for (const auto& [name, value] : pairs) {
    if (!value.empty()) out += (out.empty() ? "?" : "&") + url_encode(name) + "=" + url_encode(value);
  }
  return out;
}

std::pair<std::string, std::string> multipart_form(const std::vector<FormPart>& parts) {
  std::string boundary;
  bool clash = true;
  while (clash) {
    boundary = "faceauth-" + random_hex(16);
    clash = false;
    for (const FormPart& part : parts) clash = clash || part.data.find(boundary) != std::string::npos;
  }
  std::string body;
  for (const FormPart& part : parts) {
    body += "--" + boundary + "\r\nContent-Disposition: form-data; name=" + quoted(part.name);
    if (!part.filename.empty()) {
      body += "; filename=" + quoted(part.filename) + "\r\nContent-Type: " + media_type(part.filename);
    }
    body += "\r\n\r\n" + part.data + "\r\n";
  }
  body += "--" + boundary + "--\r\n";
  return {"multipart/form-data; boundary=" + boundary, body};
}

}  // namespace faceauth
