#pragma once
// The HTTP/1.1 server (Boost.Beast underneath, hidden here): keep-alive, read and write
// timeouts, header and body size limits, a bounded number of connection threads, and a
// graceful stop that finishes in-flight requests. Protocol failures that happen before a
// handler runs (a header block or body over the limit, bad syntax) are answered by
// `on_protocol_error` so the response format stays the application's; a read timeout or a
// client that goes away just closes the connection.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "http/http_types.h"

namespace faceauth {

enum class HttpProtocolError {
  header_too_large,  // 431
  body_too_large,    // 413
  bad_request,       // 400: syntax, unsupported transfer coding, ...
};

struct HttpServerConfig {
  std::string bind_address = "127.0.0.1";
  uint16_t port = 8080;  // 0: pick a free port (see HttpServer::port())
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 20 * 1024 * 1024;
  int read_timeout_ms = 15000;   // whole request, headers and body
  int write_timeout_ms = 15000;
  int idle_timeout_ms = 30000;   // keep-alive wait for the next request
  int max_connections = 256;     // connections served at once; others wait in the backlog
};

class HttpServer {
 public:
  HttpServer(HttpServerConfig config, HttpHandler handler,
             std::function<HttpResponse(HttpProtocolError)> on_protocol_error);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens; throws std::runtime_error when the address is taken.
  void start();
  uint16_t port() const;  // the bound port
  // Stops accepting, lets requests in flight finish (up to `grace_ms`), closes idle
  // keep-alive connections, and returns when every connection thread has ended.
  void stop(int grace_ms = 10000);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace faceauth
