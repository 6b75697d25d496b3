// The HTTP/1.1 server: Beast parses and serializes, the I/O is ours and synchronous.
//
// One acceptor thread; one thread per connection, at most max_connections at once (the acceptor
// waits for a free slot, so excess connections wait in the kernel's listen backlog). Each
// connection thread reads through DeadlineStream, a blocking stream whose reads and writes wait
// with poll() against a deadline; that gives the whole-request read timeout, the idle timeout and
// the write timeout without an io_context (and its descriptors) per connection.
//
// Stopping: the acceptor is woken through a pipe and the listening socket closed; connections
// waiting idle for a next request are shut down for reading (the registry keeps their
// descriptors; a connection closes its descriptor under the registry lock, so stop() never
// touches a reused number); requests in flight finish and are answered with Connection: close;
// after the grace period the remaining sockets are shut down both ways and every thread joined.

#include "http/http_server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>

namespace faceauth {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

constexpr int kMaxIov = 64;
constexpr size_t kFirstReadBytes = 4096;
constexpr auto kLingerLimit = std::chrono::milliseconds(1000);  // draining after an early close
constexpr size_t kLingerMaxBytes = 4 * 1024 * 1024;

std::chrono::milliseconds ms(int value) { return std::chrono::milliseconds(std::max(value, 0)); }

// A connected socket as a Beast SyncReadStream/SyncWriteStream. Every read and write waits at
// most until the current deadline; past it the operation fails with beast::error::timeout.
// Sends use MSG_NOSIGNAL, so a peer that went away never raises SIGPIPE.
class DeadlineStream {
 public:
  explicit DeadlineStream(int fd) : fd_(fd) {}

  void expires_at(Clock::time_point deadline) { deadline_ = deadline; }
  void expires_after(std::chrono::milliseconds timeout) { deadline_ = Clock::now() + timeout; }

  template <class MutableBufferSequence>
  size_t read_some(const MutableBufferSequence& buffers, error_code& ec) {
    iovec iov[kMaxIov];
    int count = 0;
    for (auto it = net::buffer_sequence_begin(buffers); it != net::buffer_sequence_end(buffers) && count < kMaxIov;
         ++it) {
      net::mutable_buffer buffer(*it);
      if (buffer.size() == 0) continue;
      iov[count].iov_base = buffer.data();
      iov[count].iov_len = buffer.size();
      ++count;
    }
    ec = {};
    if (count == 0) return 0;
    for (;;) {
      msghdr msg{};
      msg.msg_iov = iov;
      msg.msg_iovlen = static_cast<size_t>(count);
      const ssize_t n = ::recvmsg(fd_, &msg, MSG_DONTWAIT);
      if (n > 0) return static_cast<size_t>(n);
      if (n == 0) {
        ec = net::error::eof;
        return 0;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        ec = error_code(errno, boost::system::system_category());
        return 0;
      }
      if (!wait(POLLIN, ec)) return 0;
    }
  }

  template <class ConstBufferSequence>
  size_t write_some(const ConstBufferSequence& buffers, error_code& ec) {
    iovec iov[kMaxIov];
    int count = 0;
    for (auto it = net::buffer_sequence_begin(buffers); it != net::buffer_sequence_end(buffers) && count < kMaxIov;
         ++it) {
      net::const_buffer buffer(*it);
      if (buffer.size() == 0) continue;
      iov[count].iov_base = const_cast<void*>(buffer.data());
      iov[count].iov_len = buffer.size();
      ++count;
    }
    ec = {};
    if (count == 0) return 0;
    for (;;) {
      msghdr msg{};
      msg.msg_iov = iov;
      msg.msg_iovlen = static_cast<size_t>(count);
      const ssize_t n = ::sendmsg(fd_, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        ec = error_code(errno, boost::system::system_category());
        return 0;
      }
      if (!wait(POLLOUT, ec)) return 0;
    }
  }

  template <class MutableBufferSequence>
  size_t read_some(const MutableBufferSequence& buffers) {
    error_code ec;
    const size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

  template <class ConstBufferSequence>
  size_t write_some(const ConstBufferSequence& buffers) {
    error_code ec;
    const size_t n = write_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

 private:
  // Waits until the socket is ready for `events` or the deadline passes (false, ec set).
  bool wait(short events, error_code& ec) {
    for (;;) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline_ - Clock::now());
      if (left.count() <= 0) {
        ec = beast::error::timeout;
        return false;
      }
      pollfd pfd{fd_, events, 0};
      const int ready = ::poll(&pfd, 1, static_cast<int>(std::min<long long>(left.count(), INT_MAX)));
      if (ready > 0) return true;  // readiness, or an error the next recv/send reports
      if (ready < 0 && errno != EINTR) {
        ec = error_code(errno, boost::system::system_category());
        return false;
      }
    }
  }

  int fd_;
  Clock::time_point deadline_ = Clock::time_point::max();
};

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

std::string peer_string(const sockaddr_storage& storage, socklen_t length) {
  net::ip::tcp::endpoint endpoint;
  if (length > endpoint.capacity()) return "unknown";
  std::memcpy(endpoint.data(), &storage, length);
  endpoint.resize(length);
  net::ip::address address = endpoint.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6());
  }
  const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return host + ":" + std::to_string(endpoint.port());
}

}  // namespace

struct HttpServer::Impl {
  HttpServerConfig config;
  HttpHandler handler;
  std::function<HttpResponse(HttpProtocolError)> on_protocol_error;

  std::mutex lifecycle_mutex;  // serializes start() and stop()
  bool running = false;
  net::io_context io;  // only for the acceptor object; never run
  std::optional<net::ip::tcp::acceptor> acceptor;
  uint16_t bound_port = 0;
  int wake_read = -1;
  int wake_write = -1;
  std::thread acceptor_thread;

  struct Connection {
    int fd = -1;
    bool idle = false;  // blocked waiting for the first byte of a request (or draining)
    std::thread thread;
  };
  std::mutex mutex;  // guards everything below
  std::condition_variable changed;
  bool stopping = false;
  std::atomic<bool> stopping_flag{false};
  std::map<uint64_t, Connection> connections;
  uint64_t next_id = 0;
  std::vector<std::thread> finished;  // ended connection threads, still to be joined

  void accept_loop();
  void spawn(int fd, std::string peer);
  void serve(uint64_t id, int fd, const std::string& peer);
  void close_connection(uint64_t id, int fd);
  bool set_idle(uint64_t id, bool idle);
  void join_finished();

  bool respond(DeadlineStream& stream, HttpResponse response, unsigned version, bool& keep_alive, bool head);
  void respond_protocol_error(DeadlineStream& stream, uint64_t id, int fd, HttpProtocolError error);
  void linger_close(DeadlineStream& stream, uint64_t id, int fd);
};

void HttpServer::Impl::join_finished() {
  std::vector<std::thread> done;
  {
    std::lock_guard lock(mutex);
    done.swap(finished);
  }
  for (std::thread& thread : done) thread.join();
}

void HttpServer::Impl::accept_loop() {
  const size_t max_connections = static_cast<size_t>(std::max(config.max_connections, 1));
  const int listen_fd = acceptor->native_handle();
  for (;;) {
    join_finished();
    {
      std::unique_lock lock(mutex);
      changed.wait(lock, [&] { return stopping || connections.size() < max_connections; });
      if (stopping) return;
    }
    pollfd fds[2] = {{listen_fd, POLLIN, 0}, {wake_read, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) continue;  // EINTR
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) {
      if ((fds[0].revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) return;
      continue;
    }
    sockaddr_storage storage{};
    socklen_t length = sizeof(storage);
    const int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&storage), &length, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        pollfd wake{wake_read, POLLIN, 0};
        ::poll(&wake, 1, 100);  // out of descriptors or memory: back off, stay stoppable
      }
      continue;  // EAGAIN, ECONNABORTED, EINTR, ...: the next one
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    spawn(fd, peer_string(storage, length));
  }
}

void HttpServer::Impl::spawn(int fd, std::string peer) {
  std::lock_guard lock(mutex);
  const uint64_t id = next_id++;
  Connection& connection = connections[id];
  connection.fd = fd;
  try {
    // The thread's first registry access waits for this lock, so its entry is complete by then.
    connection.thread = std::thread([this, id, fd, peer = std::move(peer)] { serve(id, fd, peer); });
  } catch (const std::exception&) {
    connections.erase(id);
    ::close(fd);
  }
}

void HttpServer::Impl::close_connection(uint64_t id, int fd) {
  std::lock_guard lock(mutex);
  ::close(fd);  // under the lock: stop() never shuts down a descriptor number after its reuse
  auto it = connections.find(id);
  if (it != connections.end()) {
    finished.push_back(std::move(it->second.thread));
    connections.erase(it);
  }
  changed.notify_all();
}

bool HttpServer::Impl::set_idle(uint64_t id, bool idle) {
  std::lock_guard lock(mutex);
  if (idle && stopping) return false;
  auto it = connections.find(id);
  if (it != connections.end()) it->second.idle = idle;
  return true;
}

// Writes the response; `keep_alive` comes in as the request's wish and goes out as what was sent
// (a handler's own Connection: close ends the connection too). False when the write failed.
bool HttpServer::Impl::respond(DeadlineStream& stream, HttpResponse response, unsigned version, bool& keep_alive,
                               bool head) {
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
  stream.expires_after(ms(config.write_timeout_ms));
  error_code ec;
  http::write(stream, message, ec);
  return !ec;
}

void HttpServer::Impl::respond_protocol_error(DeadlineStream& stream, uint64_t id, int fd, HttpProtocolError error) {
  HttpResponse response;
  try {
    response = on_protocol_error(error);
  } catch (...) {
    response = HttpResponse{};
    response.status = error == HttpProtocolError::header_too_large ? 431
                      : error == HttpProtocolError::body_too_large ? 413
                                                                   : 400;
    response.body = "{}";
  }
  bool keep_alive = false;
  if (respond(stream, std::move(response), 11, keep_alive, false)) linger_close(stream, id, fd);
}

// After answering early (the request unread or half read), stop sending and read what the
// client still sends for a short while: closing with unread data would reset the connection
// and could destroy the response before the client reads it.
void HttpServer::Impl::linger_close(DeadlineStream& stream, uint64_t id, int fd) {
  ::shutdown(fd, SHUT_WR);
  if (!set_idle(id, true)) return;  // stopping: no draining
  stream.expires_after(std::min(ms(config.read_timeout_ms), std::chrono::milliseconds(kLingerLimit)));
  char sink[16 * 1024];
  size_t total = 0;
  error_code ec;
  while (total < kLingerMaxBytes) {
    total += stream.read_some(net::buffer(sink), ec);
    if (ec) break;
  }
}

void HttpServer::Impl::serve(uint64_t id, int fd, const std::string& peer) {
  DeadlineStream stream(fd);
  beast::flat_buffer buffer;
  const uint32_t header_limit =
      static_cast<uint32_t>(std::min<size_t>(config.max_header_bytes, std::numeric_limits<uint32_t>::max()));
  try {
    for (;;) {
      // Idle: wait for the first byte of the next request (unless it is already buffered).
      if (buffer.size() == 0) {
        if (!set_idle(id, true)) break;
        stream.expires_after(ms(config.idle_timeout_ms));
        error_code ec;
        const size_t n = stream.read_some(buffer.prepare(kFirstReadBytes), ec);
        buffer.commit(n);
        set_idle(id, false);
        if (ec) break;  // EOF, idle timeout, stop(), reset: just close
      }

      // The request, header and body, within one read timeout.
      const auto deadline = Clock::now() + ms(config.read_timeout_ms);
      stream.expires_at(deadline);
      http::request_parser<http::string_body> parser;
      parser.header_limit(header_limit);
      parser.body_limit(static_cast<std::uint64_t>(config.max_body_bytes));
      error_code ec;
      http::read_header(stream, buffer, parser, ec);
      if (!ec && !transfer_encoding_supported(parser)) ec = http::error::bad_transfer_encoding;
      if (!ec && !parser.is_done()) {
        const auto& header = parser.get();
        const auto expect = header.find(http::field::expect);
        if (header.version() >= 11 && expect != header.end() && beast::iequals(expect->value(), "100-continue")) {
          // Beast has already refused a declared Content-Length over the limit (body_limit above).
          static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
          stream.expires_after(ms(config.write_timeout_ms));
          net::write(stream, net::buffer(kContinue.data(), kContinue.size()), ec);
          if (ec) break;
          stream.expires_at(deadline);
        }
        http::read(stream, buffer, parser, ec);
      }
      if (ec) {
        if (ec == http::error::header_limit) {
          respond_protocol_error(stream, id, fd, HttpProtocolError::header_too_large);
        } else if (ec == http::error::body_limit) {
          respond_protocol_error(stream, id, fd, HttpProtocolError::body_too_large);
        } else if (is_http_error(ec) && ec != http::error::end_of_stream && ec != http::error::partial_message) {
          respond_protocol_error(stream, id, fd, HttpProtocolError::bad_request);
        }
        break;  // timeouts, EOF, resets: just close
      }

      http::request<http::string_body> message = parser.release();
      HttpRequest request;
      request.method = std::string(message.method_string());
      request.target = std::string(message.target());
      if (!split_target(request.target, request.path, request.query)) {
        respond_protocol_error(stream, id, fd, HttpProtocolError::bad_request);
        break;
      }
      for (const auto& field : message) {
        request.headers.emplace(std::string(field.name_string()), std::string(field.value()));
      }
      request.body = std::move(message.body());
      request.client_address = peer;

      HttpResponse response;
      try {
        response = handler(request);
      } catch (...) {
        response = HttpResponse{};
        response.status = 500;
        response.body = "{}";
      }
      bool keep_alive = message.keep_alive() && !stopping_flag.load();
      const bool head = message.method() == http::verb::head;
      if (!respond(stream, std::move(response), message.version(), keep_alive, head)) break;
      if (!keep_alive) {
        linger_close(stream, id, fd);
        break;
      }
    }
  } catch (...) {
    // Allocation failures and the like: drop this connection, keep the server.
  }
  close_connection(id, fd);
}

HttpServer::HttpServer(HttpServerConfig config, HttpHandler handler,
                       std::function<HttpResponse(HttpProtocolError)> on_protocol_error)
    : impl_(std::make_unique<Impl>()) {
  impl_->config = std::move(config);
  impl_->handler = std::move(handler);
  impl_->on_protocol_error = std::move(on_protocol_error);
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start() {
  Impl& impl = *impl_;
  std::lock_guard lifecycle(impl.lifecycle_mutex);
  if (impl.running) throw std::logic_error("HttpServer::start: already running");

  error_code ec;
  const net::ip::address address = net::ip::make_address(impl.config.bind_address, ec);
  if (ec) throw std::runtime_error("invalid bind address '" + impl.config.bind_address + "'");
  const net::ip::tcp::endpoint endpoint(address, impl.config.port);
  const std::string where = (address.is_v6() ? "[" + address.to_string() + "]" : address.to_string()) + ":" +
                            std::to_string(impl.config.port);

  net::ip::tcp::acceptor acceptor(impl.io);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (!ec) acceptor.non_blocking(true, ec);
  if (ec) throw std::runtime_error("cannot listen on " + where + ": " + ec.message());
  const uint16_t port = acceptor.local_endpoint(ec).port();
  if (ec) throw std::runtime_error("cannot listen on " + where + ": " + ec.message());

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    throw std::runtime_error(std::string("cannot create the stop pipe: ") + std::strerror(errno));
  }

  impl.acceptor.emplace(std::move(acceptor));
  impl.bound_port = port;
  impl.wake_read = pipe_fds[0];
  impl.wake_write = pipe_fds[1];
  {
    std::lock_guard lock(impl.mutex);
    impl.stopping = false;
    impl.stopping_flag = false;
  }
  try {
    impl.acceptor_thread = std::thread([&impl] { impl.accept_loop(); });
  } catch (...) {
    impl.acceptor.reset();
    ::close(impl.wake_read);
    ::close(impl.wake_write);
    impl.wake_read = impl.wake_write = -1;
    throw;
  }
  impl.running = true;
}

uint16_t HttpServer::port() const { return impl_->bound_port; }

void HttpServer::stop(int grace_ms) {
  Impl& impl = *impl_;
  std::lock_guard lifecycle(impl.lifecycle_mutex);
  if (!impl.running) return;

  {
    std::lock_guard lock(impl.mutex);
    impl.stopping = true;
    impl.stopping_flag = true;
    for (auto& [id, connection] : impl.connections) {
      if (connection.idle) ::shutdown(connection.fd, SHUT_RD);  // wakes its read with EOF
    }
    impl.changed.notify_all();
  }
  const char byte = 1;
  [[maybe_unused]] const ssize_t written = ::write(impl.wake_write, &byte, 1);
  impl.acceptor_thread.join();
  error_code ec;
  impl.acceptor->close(ec);  // new connections are refused from here on
  impl.acceptor.reset();
  ::close(impl.wake_read);
  ::close(impl.wake_write);
  impl.wake_read = impl.wake_write = -1;

  {
    std::unique_lock lock(impl.mutex);
    impl.changed.wait_until(lock, Clock::now() + ms(grace_ms), [&] { return impl.connections.empty(); });
    for (auto& [id, connection] : impl.connections) ::shutdown(connection.fd, SHUT_RDWR);
    impl.changed.wait(lock, [&] { return impl.connections.empty(); });
  }
  impl.join_finished();
  impl.running = false;
}

}  // namespace faceauth
