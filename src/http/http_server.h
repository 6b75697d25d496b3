#pragma once
// The HTTP/1.1 server (Boost.Asio/Beast underneath, hidden here): event-driven reads and
// writes on a few I/O threads, handlers on a bounded thread pool (handlers may block), and
// admission control: a cap on open connections and on connections per client address, a
// deadline for the header block, a minimum body rate, keep-alive idle timeout and requests per
// connection, header and body size limits, and a graceful stop that finishes in-flight
// requests. Protocol failures that happen before a handler runs (a header block or body over
// the limit, bad syntax, no handler thread free) are answered by `on_protocol_error` so the
// response format stays the application's; a timeout or a client that goes away just closes
// the connection, and a connection over a cap is closed at once without an answer.

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
  overloaded,        // 503: every handler thread busy and the handler queue full
};

struct HttpServerConfig {
  std::string bind_address = "127.0.0.1";
  uint16_t port = 8080;  // 0: pick a free port (see HttpServer::port())
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 20 * 1024 * 1024;
  int read_timeout_ms = 15000;    // whole request, headers and body, from its first byte
  int header_timeout_ms = 10000;  // the header block: from accept (first request) or its first byte
  int write_timeout_ms = 15000;
  int idle_timeout_ms = 30000;            // keep-alive wait for the next request
  int min_body_bytes_per_second = 10240;  // once the body started, after the grace; 0 = no minimum
  int body_rate_grace_ms = 5000;
  int max_connections = 10000;             // open at once; more are closed at accept
  int max_connections_per_address = 64;    // per client IP (trusted proxies exempt); 0 = no cap
  int max_requests_per_connection = 1000;  // then Connection: close; 0 = no limit
  int io_threads = 2;
  int handler_threads = 8;        // handlers run here (they may block)
  int max_queued_requests = 256;  // waiting for a handler thread; more: on_protocol_error(overloaded)
  std::string trusted_proxies;    // IPs/CIDRs whose X-Forwarded-For names the client
  // Cheap, non-blocking routes answered on the I/O thread (e.g. /health); null: none.
  std::function<bool(const HttpRequest&)> run_inline;
};

// Counters since start (open is a gauge).
struct HttpServerStats {
  uint64_t open = 0;
  uint64_t accepted = 0;
  uint64_t refused_max_connections = 0;
  uint64_t refused_per_address = 0;
  uint64_t closed_slow_header = 0;
  uint64_t closed_slow_body = 0;
  uint64_t closed_idle = 0;
  uint64_t overloaded = 0;     // requests answered on_protocol_error(overloaded)
  uint64_t handler_queue = 0;  // gauge: requests waiting for a handler thread
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
  HttpServerStats stats() const;
  // Stops accepting, lets requests in flight finish (up to `grace_ms`), closes idle
  // keep-alive connections, and returns when every connection and thread has ended.
  void stop(int grace_ms = 10000);

 private:
  friend class HttpSession;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace faceauth
