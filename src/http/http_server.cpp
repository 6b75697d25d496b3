// The HTTP/1.1 server: Beast parses and serializes, Asio runs every read, write and timer
// asynchronously on `io_threads` threads; handlers run on a bounded pool of handler threads.
//
// A connection is a Session: its socket, one timer, a buffer that stays empty until data
// arrives, and a parser made when a request starts. Nothing blocks an I/O thread except the
// routes the application marks cheap (`run_inline`). Timeouts re-arm the one timer:
//   - waiting for a request: the header deadline on a fresh connection (from accept),
//     the idle timeout on a keep-alive one (no buffer is held while waiting);
//   - the header block: `header_timeout_ms` (from accept, or from the request's first byte);
//   - the whole request: `read_timeout_ms` from its first byte;
//   - the body: after `body_rate_grace_ms`, at least `min_body_bytes_per_second` on average;
//   - a write: `write_timeout_ms`.
// A timer that fires closes the socket; the pending operation then ends the session.
// Admission: at accept, a connection over `max_connections` or over the per-address cap
// (trusted proxies exempt) is closed at once, before any buffer or timer exists.
//
// Stopping: the acceptor is closed, connections waiting for a request are closed; requests in
// flight finish and are answered with Connection: close; after the grace period the remaining
// sockets are closed; stop() returns when every session is gone and every thread joined.

#include "http/http_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>

#include "http/client_address.h"

namespace faceauth {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr auto kLingerLimit = std::chrono::milliseconds(1000);  // draining after an early close
constexpr size_t kLingerMaxBytes = 4 * 1024 * 1024;
constexpr size_t kLingerChunk = 16 * 1024;
constexpr auto kAcceptBackoff = std::chrono::milliseconds(100);  // out of descriptors or memory

std::chrono::milliseconds ms(int value) { return std::chrono::milliseconds(std::max(value, 0)); }

bool is_http_error(const error_code& ec) {
  return ec.category() == make_error_code(http::error::bad_method).category();
}

// RFC 9112 6.1: a request whose transfer coding we do not implement is answered 400. The only
// coding we decode is a single "chunked" (Beast rejects duplicates and Content-Length conflicts
// itself, but silently ignores codings that do not end in chunked).
bool transfer_encoding_supported(const http::request_parser<http::string_body>& parser) {
  const auto& header = parser.get();
  bool present = false;
  int codings = 0;
  bool last_chunked = false;
  for (const auto& field : header) {
    if (field.name() != http::field::transfer_encoding) continue;
    present = true;
    for (const auto token : http::token_list{field.value()}) {
      ++codings;
      last_chunked = beast::iequals(token, "chunked");
    }
  }
  return !present || (codings == 1 && last_chunked && parser.chunked());
}

bool has_token(beast::string_view value, beast::string_view token) {
  for (const auto item : http::token_list{value}) {
    if (beast::iequals(item, token)) return true;
  }
  return false;
}

bool header_text_ok(std::string_view text) {
  return text.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

net::ip::address plain_address(const tcp::endpoint& endpoint) {
  net::ip::address address = endpoint.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6());
  }
  return address;
}

std::string peer_string(const net::ip::address& address, uint16_t port) {
  const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return host + ":" + std::to_string(port);
}

// The response as Beast's message; `keep_alive` comes in as the request's wish and goes out as
// what is sent (a handler's own Connection: close ends the connection too).
http::response<http::string_body> to_message(HttpResponse response, unsigned version, bool& keep_alive, bool head) {
  http::response<http::string_body> message;
  message.version(version);
  int status = response.status;
  if (status < 200 || status > 999) status = 500;  // a final response is all we can send here
  message.result(static_cast<unsigned>(status));
  for (auto& [name, value] : response.headers) {
    if (name.empty() || !header_text_ok(name) || !header_text_ok(value)) continue;
    if (beast::iequals(name, "content-length") || beast::iequals(name, "transfer-encoding") ||
        beast::iequals(name, "server")) {
      continue;
    }
    if (beast::iequals(name, "connection")) {
      if (has_token(value, "close")) keep_alive = false;
      continue;
    }
    if (beast::iequals(name, "content-type") && !response.content_type.empty()) continue;
    message.insert(name, value);
  }
  if (!response.content_type.empty() && header_text_ok(response.content_type)) {
    message.set(http::field::content_type, response.content_type);
  }
  message.set(http::field::server, "faceauthd");
  const bool bodiless = status == 204 || status == 304;
  if (!bodiless) {
    message.content_length(response.body.size());
    if (!head) message.body() = std::move(response.body);
  }
  message.keep_alive(keep_alive);
  return message;
}

// Handlers run here: a fixed set of threads and a bounded queue.
class HandlerPool {
 public:
  void start(int threads, size_t max_queued) {
    std::lock_guard lock(mutex_);
    stopping_ = false;
    max_queued_ = max_queued;
    for (int i = 0; i < std::max(threads, 1); ++i) threads_.emplace_back([this] { run(); });
  }

  // False when the queue is full.
  bool submit(std::function<void()> task) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_ || tasks_.size() >= max_queued_) return false;
      tasks_.push_back(std::move(task));
    }
    ready_.notify_one();
    return true;
  }

  size_t queued() const {
    std::lock_guard lock(mutex_);
    return tasks_.size();
  }

  // Runs what is queued, then joins the threads.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_all();
    for (std::thread& thread : threads_) thread.join();
    threads_.clear();
  }

 private:
  void run() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      try {
        task();
      } catch (...) {
        // the task answers its own errors; nothing may end this thread
      }
    }
  }

  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> tasks_;
  std::vector<std::thread> threads_;
  size_t max_queued_ = 0;
  bool stopping_ = false;
};

}  // namespace

class HttpSession;
using Session = HttpSession;

struct HttpServer::Impl {
  HttpServerConfig config;
  HttpHandler handler;
  std::function<HttpResponse(HttpProtocolError)> on_protocol_error;
  TrustedProxies trusted;

  std::mutex lifecycle_mutex;  // serializes start() and stop()
  bool running = false;
  std::unique_ptr<net::io_context> io;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::optional<tcp::acceptor> acceptor;  // on its own strand
  std::optional<net::steady_timer> accept_backoff;
  std::vector<std::thread> io_threads;
  HandlerPool pool;
  uint16_t bound_port = 0;
  std::atomic<bool> stopping{false};

  std::mutex mutex;  // guards the registry and the per-address counts
  std::condition_variable changed;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;
  std::unordered_map<std::string, int> per_address;

  std::atomic<uint64_t> accepted{0}, refused_max{0}, refused_address{0}, slow_header{0}, slow_body{0}, idle{0},
      overloaded{0};

  void accept();
  void on_accept(const error_code& ec, tcp::socket socket);
  bool admit(const std::string& ip, bool& counted);
  void session_ended(Session* session, const std::string& ip, bool counted);
  void for_each_session(void (Session::*action)());
};

// One connection. Every member is touched only on the socket's strand, except `closed_`
// (read by handler threads).
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(HttpServer::Impl& server, tcp::socket socket, std::string ip, std::string peer, bool counted)
      : server_(server),
        socket_(std::move(socket)),
        timer_(socket_.get_executor()),
        ip_(std::move(ip)),
        peer_(std::move(peer)),
        counted_(counted) {}
  ~HttpSession() { server_.session_ended(this, ip_, counted_); }

  // Starts serving on the session's strand.
  void launch() {
    net::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->start(); });
  }
  void close_now() {
    net::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->close(); });
  }
  // Stopping: closes the connection unless a request is in flight.
  void close_if_waiting() {
    net::dispatch(socket_.get_executor(), [self = shared_from_this()] {
      if (self->phase_ == Phase::waiting || self->phase_ == Phase::lingering) self->close();
    });
  }

 private:
  enum class Phase { waiting, header, body, handler, writing, lingering };
  enum class Reason { none, slow_header, slow_body, idle, write };

  HttpServerConfig& config() { return server_.config; }

  void start() {
    header_deadline_ = Clock::now() + ms(server_.config.header_timeout_ms);
    wait_request(header_deadline_, Reason::slow_header);
  }

  // One timer per session; a new deadline replaces the old one (stale expiries are ignored).
  void arm(Clock::time_point deadline, Reason reason) {
    ++generation_;
    timer_.expires_at(deadline);
    timer_.async_wait([self = shared_from_this(), generation = generation_, reason](const error_code& ec) {
      if (ec || generation != self->generation_ || self->closed_) return;
      self->on_timeout(reason);
    });
  }

  void on_timeout(Reason reason) {
    if (reason == Reason::slow_header) ++server_.slow_header;
    if (reason == Reason::slow_body) ++server_.slow_body;
    if (reason == Reason::idle) ++server_.idle;
    close();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    ++generation_;
    timer_.cancel();
    error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

  // Waits for the first byte of a request without holding a buffer.
  void wait_request(Clock::time_point deadline, Reason reason) {
    phase_ = Phase::waiting;
    if (server_.stopping) return close();
    if (buffer_.size() > 0) return begin_request();  // pipelined: already here
    buffer_.shrink_to_fit();
    arm(deadline, reason);
    socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](const error_code& ec) {
      if (ec || self->closed_) return self->close();
      self->begin_request();
    });
  }

  void begin_request() {
    const auto now = Clock::now();
    request_deadline_ = now + ms(config().read_timeout_ms);
    if (requests_ > 0) header_deadline_ = now + ms(config().header_timeout_ms);
    parser_.emplace();
    parser_->header_limit(
        static_cast<uint32_t>(std::min<size_t>(config().max_header_bytes, std::numeric_limits<uint32_t>::max())));
    parser_->body_limit(static_cast<std::uint64_t>(config().max_body_bytes));
    phase_ = Phase::header;
    arm(std::min(header_deadline_, request_deadline_), Reason::slow_header);
    http::async_read_header(socket_, buffer_, *parser_,
                            [self = shared_from_this()](const error_code& ec, size_t) { self->on_header(ec); });
  }

  void on_header(error_code ec) {
    if (closed_) return;
    if (!ec && !transfer_encoding_supported(*parser_)) ec = http::error::bad_transfer_encoding;
    if (ec) return read_failed(ec);
    if (parser_->is_done()) return dispatch();
    body_started_ = Clock::now();
    body_bytes_ = 0;
    phase_ = Phase::body;
    const auto& header = parser_->get();
    const auto expect = header.find(http::field::expect);
    if (header.version() >= 11 && expect != header.end() && beast::iequals(expect->value(), "100-continue")) {
      // Beast has already refused a declared Content-Length over the limit (body_limit).
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      arm(Clock::now() + ms(config().write_timeout_ms), Reason::write);
      net::async_write(socket_, net::buffer(kContinue.data(), kContinue.size()),
                       [self = shared_from_this()](const error_code& error, size_t) {
                         if (error || self->closed_) return self->close();
                         self->read_body();
                       });
      return;
    }
    read_body();
  }

  // The body's deadline: the request's, and the minimum rate after the grace period.
  Clock::time_point body_deadline() const {
    const HttpServerConfig& c = server_.config;
    if (c.min_body_bytes_per_second <= 0) return request_deadline_;
    const auto earned =
        std::chrono::milliseconds(body_bytes_ * 1000 / static_cast<uint64_t>(c.min_body_bytes_per_second));
    return std::min(request_deadline_, body_started_ + ms(c.body_rate_grace_ms) + earned);
  }

  void read_body() {
    arm(body_deadline(), Reason::slow_body);
    http::async_read_some(socket_, buffer_, *parser_, [self = shared_from_this()](const error_code& ec, size_t n) {
      if (self->closed_) return;
      if (ec) return self->read_failed(ec);
      self->body_bytes_ += n;
      if (self->parser_->is_done()) return self->dispatch();
      self->read_body();
    });
  }

  void read_failed(const error_code& ec) {
    if (ec == http::error::header_limit) return protocol_error(HttpProtocolError::header_too_large);
    if (ec == http::error::body_limit) return protocol_error(HttpProtocolError::body_too_large);
    if (is_http_error(ec) && ec != http::error::end_of_stream && ec != http::error::partial_message) {
      return protocol_error(HttpProtocolError::bad_request);
    }
    close();  // timeouts, EOF, resets: just close
  }

  std::shared_ptr<HttpRequest> make_request(http::request<http::string_body>& message) {
    auto request = std::make_shared<HttpRequest>();
    request->method = std::string(message.method_string());
    request->target = std::string(message.target());
    if (!split_target(request->target, request->path, request->query)) return nullptr;
    std::vector<std::string_view> forwarded;
    for (const auto& field : message) {
      request->headers.emplace(std::string(field.name_string()), std::string(field.value()));
      if (beast::iequals(field.name_string(), "x-forwarded-for"))
        forwarded.emplace_back(field.value().data(), field.value().size());
    }
    request->body = std::move(message.body());
    request->client_address = server_.trusted.client_address(ip_, forwarded);
    request->peer = peer_;
    return request;
  }

  void dispatch() {
    timer_.cancel();
    ++generation_;
    phase_ = Phase::handler;
    http::request<http::string_body> message = parser_->release();
    parser_.reset();
    std::shared_ptr<HttpRequest> request = make_request(message);
    if (!request) return protocol_error(HttpProtocolError::bad_request);
    ++requests_;
    const unsigned version = message.version();
    bool keep_alive = message.keep_alive();
    const int max_requests = config().max_requests_per_connection;
    if (max_requests > 0 && requests_ >= max_requests) keep_alive = false;
    const bool head = message.method() == http::verb::head;
    if (config().run_inline && config().run_inline(*request)) {
      return respond(run_handler(*request), version, keep_alive, head);
    }
    auto self = shared_from_this();
    const bool queued = server_.pool.submit([self, request, version, keep_alive, head] {
      if (self->closed_) return;  // force-closed while queued
      HttpResponse response = self->run_handler(*request);
      net::post(self->socket_.get_executor(),
                [self, response = std::move(response), version, keep_alive, head]() mutable {
                  if (self->closed_) return;
                  self->respond(std::move(response), version, keep_alive, head);
                });
    });
    if (!queued) {
      ++server_.overloaded;
      protocol_error(HttpProtocolError::overloaded);
    }
  }

  HttpResponse run_handler(const HttpRequest& request) {
    try {
      return server_.handler(request);
    } catch (...) {
      HttpResponse response;
      response.status = 500;
      response.body = "{}";
      return response;
    }
  }

  void respond(HttpResponse response, unsigned version, bool keep_alive, bool head) {
    keep_alive = keep_alive && !server_.stopping;
    response_.emplace(to_message(std::move(response), version, keep_alive, head));
    phase_ = Phase::writing;
    arm(Clock::now() + ms(config().write_timeout_ms), Reason::write);
    http::async_write(socket_, *response_, [self = shared_from_this(), keep_alive](const error_code& ec, size_t) {
      if (self->closed_) return;
      self->response_.reset();
      if (ec) return self->close();
      if (!keep_alive) return self->linger();
      self->wait_request(Clock::now() + ms(self->config().idle_timeout_ms), Reason::idle);
    });
  }

  void protocol_error(HttpProtocolError error) {
    parser_.reset();
    HttpResponse response;
    try {
      response = server_.on_protocol_error(error);
    } catch (...) {
      response = HttpResponse{};
      response.status = error == HttpProtocolError::header_too_large ? 431
                        : error == HttpProtocolError::body_too_large ? 413
                        : error == HttpProtocolError::overloaded     ? 503
                                                                     : 400;
      response.body = "{}";
    }
    respond(std::move(response), 11, false, false);
  }

  // After answering with Connection: close (maybe with the request unread), stop sending and
  // read what the client still sends for a short while: closing with unread data would reset
  // the connection and could destroy the response before the client reads it.
  void linger() {
    error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    phase_ = Phase::lingering;
    if (ec || server_.stopping) return close();
    buffer_.clear();
    buffer_.shrink_to_fit();
    linger_bytes_ = 0;
    arm(Clock::now() + std::min(ms(config().read_timeout_ms), std::chrono::milliseconds(kLingerLimit)), Reason::none);
    drain();
  }

  void drain() {
    socket_.async_read_some(buffer_.prepare(kLingerChunk), [self = shared_from_this()](const error_code& ec, size_t n) {
      if (self->closed_) return;
      self->linger_bytes_ += n;
      if (ec || self->linger_bytes_ >= kLingerMaxBytes) return self->close();
      self->drain();
    });
  }

  HttpServer::Impl& server_;
  tcp::socket socket_;
  net::steady_timer timer_;
  std::string ip_;
  std::string peer_;
  bool counted_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> response_;
  Phase phase_ = Phase::waiting;
  std::atomic<bool> closed_{false};
  uint64_t generation_ = 0;
  int requests_ = 0;
  Clock::time_point header_deadline_{};
  Clock::time_point request_deadline_{};
  Clock::time_point body_started_{};
  uint64_t body_bytes_ = 0;
  size_t linger_bytes_ = 0;
};

void HttpServer::Impl::accept() {
  acceptor->async_accept(net::make_strand(*io),
                         [this](const error_code& ec, tcp::socket socket) { on_accept(ec, std::move(socket)); });
}

bool HttpServer::Impl::admit(const std::string& ip, bool& counted) {
  std::lock_guard lock(mutex);
  counted = false;
  if (sessions.size() >= static_cast<size_t>(std::max(config.max_connections, 1))) {
    ++refused_max;
    return false;
  }
  if (config.max_connections_per_address > 0 && !trusted.contains(ip)) {
    int& count = per_address[ip];
    if (count >= config.max_connections_per_address) {
      ++refused_address;
      return false;
    }
    ++count;
    counted = true;
  }
  return true;
}

void HttpServer::Impl::on_accept(const error_code& ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor->is_open()) return;  // stopping
  if (ec) {
    if (ec == net::error::no_descriptors || ec == net::error::no_buffer_space || ec == net::error::no_memory ||
        ec.value() == ENFILE) {
      accept_backoff->expires_after(kAcceptBackoff);
      accept_backoff->async_wait([this](const error_code& error) {
        if (!error && acceptor->is_open()) accept();
      });
      return;
    }
    return accept();  // ECONNABORTED and the like: the next one
  }
  error_code peer_error;
  const tcp::endpoint endpoint = socket.remote_endpoint(peer_error);
  if (peer_error) return accept();  // already gone
  const net::ip::address address = plain_address(endpoint);
  const std::string ip = address.to_string();
  bool counted = false;
  if (!admit(ip, counted)) {
    error_code ignored;
    socket.close(ignored);
    return accept();
  }
  ++accepted;
  error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  std::shared_ptr<Session> session;
  try {
    session = std::make_shared<Session>(*this, std::move(socket), ip, peer_string(address, endpoint.port()), counted);
  } catch (const std::exception&) {
    if (counted) session_ended(nullptr, ip, true);
    return accept();
  }
  {
    std::lock_guard lock(mutex);
    sessions[session.get()] = session;
  }
  session->launch();
  accept();
}

void HttpServer::Impl::session_ended(Session* session, const std::string& ip, bool counted) {
  std::lock_guard lock(mutex);
  if (session) sessions.erase(session);
  if (counted) {
    auto it = per_address.find(ip);
    if (it != per_address.end() && --it->second <= 0) per_address.erase(it);
  }
  changed.notify_all();
}

void HttpServer::Impl::for_each_session(void (Session::*action)()) {
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(mutex);
    for (auto& [raw, weak] : sessions) {
      if (auto session = weak.lock()) live.push_back(std::move(session));
    }
  }
  for (auto& session : live) (session.get()->*action)();
}

HttpServer::HttpServer(HttpServerConfig config, HttpHandler handler,
                       std::function<HttpResponse(HttpProtocolError)> on_protocol_error)
    : impl_(std::make_unique<Impl>()) {
  impl_->config = std::move(config);
  impl_->handler = std::move(handler);
  impl_->on_protocol_error = std::move(on_protocol_error);
  impl_->trusted = TrustedProxies::parse(impl_->config.trusted_proxies);
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start() {
  Impl& impl = *impl_;
  std::lock_guard lifecycle(impl.lifecycle_mutex);
  if (impl.running) throw std::logic_error("HttpServer::start: already running");

  error_code ec;
  const net::ip::address address = net::ip::make_address(impl.config.bind_address, ec);
  if (ec) throw std::runtime_error("invalid bind address '" + impl.config.bind_address + "'");
  const tcp::endpoint endpoint(address, impl.config.port);
  const std::string where = peer_string(address, impl.config.port);

  auto io = std::make_unique<net::io_context>(std::max(impl.config.io_threads, 1));
  tcp::acceptor acceptor(net::make_strand(*io));
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + where + ": " + ec.message());
  const uint16_t port = acceptor.local_endpoint(ec).port();
  if (ec) throw std::runtime_error("cannot listen on " + where + ": " + ec.message());

  impl.stopping = false;
  impl.io = std::move(io);
  impl.work.emplace(impl.io->get_executor());
  impl.acceptor.emplace(std::move(acceptor));
  impl.accept_backoff.emplace(impl.acceptor->get_executor());
  impl.bound_port = port;
  impl.pool.start(impl.config.handler_threads, static_cast<size_t>(std::max(impl.config.max_queued_requests, 0)));
  net::dispatch(impl.acceptor->get_executor(), [&impl] { impl.accept(); });
  for (int i = 0; i < std::max(impl.config.io_threads, 1); ++i) {
    impl.io_threads.emplace_back([&impl] {
      for (;;) {
        try {
          impl.io->run();
          return;
        } catch (...) {
          // a handler threw (allocation failure): keep the loop
        }
      }
    });
  }
  impl.running = true;
}

uint16_t HttpServer::port() const { return impl_->bound_port; }

HttpServerStats HttpServer::stats() const {
  Impl& impl = *impl_;
  HttpServerStats stats;
  {
    std::lock_guard lock(impl.mutex);
    stats.open = impl.sessions.size();
  }
  stats.accepted = impl.accepted;
  stats.refused_max_connections = impl.refused_max;
  stats.refused_per_address = impl.refused_address;
  stats.closed_slow_header = impl.slow_header;
  stats.closed_slow_body = impl.slow_body;
  stats.closed_idle = impl.idle;
  stats.overloaded = impl.overloaded;
  stats.handler_queue = impl.pool.queued();
  return stats;
}

void HttpServer::stop(int grace_ms) {
  Impl& impl = *impl_;
  std::lock_guard lifecycle(impl.lifecycle_mutex);
  if (!impl.running) return;

  impl.stopping = true;
  {
    std::promise<void> closed;
    net::dispatch(impl.acceptor->get_executor(), [&impl, &closed] {
      error_code ec;
      impl.acceptor->close(ec);  // new connections are refused from here on
      impl.accept_backoff->cancel();
      closed.set_value();
    });
    closed.get_future().wait();
  }
  impl.for_each_session(&Session::close_if_waiting);
  {
    std::unique_lock lock(impl.mutex);
    impl.changed.wait_until(lock, Clock::now() + ms(grace_ms), [&] { return impl.sessions.empty(); });
  }
  impl.for_each_session(&Session::close_now);
  {
    std::unique_lock lock(impl.mutex);
    impl.changed.wait(lock, [&] { return impl.sessions.empty(); });
  }
  impl.pool.stop();
  impl.work.reset();
  impl.io->stop();
  for (std::thread& thread : impl.io_threads) thread.join();
  impl.io_threads.clear();
  impl.accept_backoff.reset();
  impl.acceptor.reset();
  impl.io.reset();
  impl.running = false;
}

}  // namespace faceauth
