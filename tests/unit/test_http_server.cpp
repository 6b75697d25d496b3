// The HTTP server over real loopback sockets, driven by a tiny raw-socket client: round trips,
// keep-alive, limits, timeouts, concurrency and stopping.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "http/http_server.h"

namespace faceauth {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

long long elapsed_ms(Clock::time_point since) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - since).count();
}

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// A blocking POSIX client with a receive timeout, so a broken server fails a test instead of
// hanging it.
class Client {
 public:
  // `source`: the loopback address to connect from ("127.0.0.2", ...).
  explicit Client(uint16_t port, int timeout_ms = 5000, const char* source = nullptr) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) throw std::runtime_error("socket");
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (source) {
      sockaddr_in local{};
      local.sin_family = AF_INET;
      ::inet_pton(AF_INET, source, &local.sin_addr);
      if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
        ::close(fd_);
        throw std::runtime_error("bind");
      }
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      const int error = errno;
      ::close(fd_);
      throw std::runtime_error(std::string("connect: ") + std::strerror(error));
    }
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("send failed");
      data.remove_prefix(static_cast<size_t>(n));
    }
  }

  // Reads one response (Content-Length framed, or up to EOF without one); nullopt on EOF or
  // timeout before a complete response. `head`: the response has no body whatever it says.
  std::optional<RawResponse> read_response(bool head = false) {
    size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return std::nullopt;
    }
    RawResponse response;
    const std::string head_block = buffer_.substr(0, end);
    buffer_.erase(0, end + 4);
    size_t line_end = head_block.find("\r\n");
    const std::string status_line = head_block.substr(0, line_end);
    if (status_line.size() < 12 || status_line.compare(0, 5, "HTTP/") != 0) return std::nullopt;
    response.status = std::stoi(status_line.substr(9, 3));
    while (line_end != std::string::npos) {
      const size_t start = line_end + 2;
      line_end = head_block.find("\r\n", start);
      const std::string line =
          head_block.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
      const size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      response.headers[name] = value;
    }
    if (response.status / 100 == 1 || head) return response;
    const std::string length = response.header("content-length");
    if (length.empty()) {
      while (fill()) {
      }
      response.body = std::move(buffer_);
      buffer_.clear();
      return response;
    }
    const size_t n = std::stoul(length);
    while (buffer_.size() < n) {
      if (!fill()) return std::nullopt;
    }
    response.body = buffer_.substr(0, n);
    buffer_.erase(0, n);
    return response;
  }

  // True when the server closes the connection (EOF or reset) within `timeout_ms`.
  bool closed_within(int timeout_ms) {
    const auto deadline = Clock::now() + milliseconds(timeout_ms);
    for (;;) {
      const long long left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return false;
      pollfd pfd{fd_, POLLIN, 0};
      if (::poll(&pfd, 1, static_cast<int>(left)) <= 0) continue;
      char byte[256];
      const ssize_t n = ::recv(fd_, byte, sizeof(byte), 0);
      if (n <= 0) return true;
    }
  }

 private:
  bool fill() {
    char chunk[4096];
    const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string buffer_;
};

HttpResponse echo(const HttpRequest& request) {
  HttpResponse response;
  response.content_type = "text/plain";
  const std::string* q = request.query_value("q");
  response.body = request.method + " " + request.path + " q=" + (q ? *q : "-") + " body=" + request.body;
  response.headers.emplace_back("X-Client", request.client_address);
  response.headers.emplace_back("X-Peer", request.peer);
  const std::string* custom = request.header("x-custom");
  if (custom) response.headers.emplace_back("X-Custom-Echo", *custom);
  return response;
}

HttpResponse protocol_error(HttpProtocolError error) {
  HttpResponse response;
  switch (error) {
    case HttpProtocolError::header_too_large:
      response.status = 431;
      response.body = R"({"error":"header_too_large"})";
      break;
    case HttpProtocolError::body_too_large:
      response.status = 413;
      response.body = R"({"error":"body_too_large"})";
      break;
    case HttpProtocolError::bad_request:
      response.status = 400;
      response.body = R"({"error":"bad_request"})";
      break;
    case HttpProtocolError::overloaded:
      response.status = 503;
      response.body = R"({"error":"overloaded"})";
      break;
  }
  return response;
}

HttpServerConfig test_config() {
  HttpServerConfig config;
  config.port = 0;
  config.max_header_bytes = 2048;
  config.max_body_bytes = 1024;
  config.read_timeout_ms = 2000;
  config.write_timeout_ms = 2000;
  config.idle_timeout_ms = 2000;
  config.max_connections = 64;
  return config;
}

std::unique_ptr<HttpServer> start_server(HttpServerConfig config = test_config(), HttpHandler handler = echo) {
  auto server = std::make_unique<HttpServer>(std::move(config), std::move(handler), protocol_error);
  server->start();
  return server;
}

std::string get(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: test\r\n" + extra + "\r\n";
}

TEST(HttpServer, PortZeroPicksAFreePort) {
  auto server = start_server();
  EXPECT_NE(server->port(), 0);
}

TEST(HttpServer, AddressInUseThrows) {
  auto server = start_server();
  HttpServerConfig config = test_config();
  config.port = server->port();
  HttpServer second(config, echo, protocol_error);
  EXPECT_THROW(second.start(), std::runtime_error);
}

TEST(HttpServer, InvalidBindAddressThrows) {
  HttpServerConfig config = test_config();
  config.bind_address = "not-an-address";
  HttpServer server(config, echo, protocol_error);
  EXPECT_THROW(server.start(), std::runtime_error);
}

TEST(HttpServer, BindsIpv6Loopback) {
  HttpServerConfig config = test_config();
  config.bind_address = "::1";
  HttpServer server(config, echo, protocol_error);
  try {
    server.start();
  } catch (const std::runtime_error& error) {
    GTEST_SKIP() << "no IPv6 loopback here: " << error.what();
  }
  const int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_port = htons(server.port());
  addr.sin6_addr = in6addr_loopback;
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const std::string request = get("/v6?q=1", "Connection: close\r\n");
  ASSERT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()));
  std::string received;
  char chunk[1024];
  ssize_t n;
  while ((n = ::recv(fd, chunk, sizeof(chunk), 0)) > 0) received.append(chunk, static_cast<size_t>(n));
  ::close(fd);
  EXPECT_EQ(received.rfind("HTTP/1.1 200", 0), 0u) << received;
  EXPECT_NE(received.find("X-Client: ::1\r\n"), std::string::npos) << received;
  EXPECT_NE(received.find("X-Peer: [::1]:"), std::string::npos) << received;
  EXPECT_NE(received.find("GET /v6 q=1"), std::string::npos) << received;
}

TEST(HttpServer, GetRoundTripDecodesPathAndQuery) {
  auto server = start_server();
  Client client(server->port());
  client.send(get("/hello%20world?q=a%2Bb%26c&x=1", "X-Custom: MixedCase Value\r\n"));
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "GET /hello world q=a+b&c body=");
  EXPECT_EQ(response->header("content-type"), "text/plain");
  EXPECT_EQ(response->header("content-length"), std::to_string(response->body.size()));
  EXPECT_EQ(response->header("server"), "faceauthd");
  EXPECT_EQ(response->header("x-custom-echo"), "MixedCase Value");
  EXPECT_EQ(response->header("x-client"), "127.0.0.1");
  EXPECT_EQ(response->header("x-peer").rfind("127.0.0.1:", 0), 0u);
}

TEST(HttpServer, PostRoundTrip) {
  auto server = start_server();
  Client client(server->port());
  client.send(
      "POST /api/v1/things?q=z HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
      "Content-Length: 13\r\n\r\n{\"a\":\"hello\"}");
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "POST /api/v1/things q=z body={\"a\":\"hello\"}");
}

TEST(HttpServer, HeadHasNoBody) {
  auto server = start_server();
  Client client(server->port());
  client.send("HEAD /x HTTP/1.1\r\nHost: t\r\n\r\n");
  auto response = client.read_response(/*head=*/true);
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->header("content-length"), std::to_string(std::string("HEAD /x q=- body=").size()));
  // The connection stays usable: no body bytes precede the next response.
  client.send(get("/next"));
  auto next = client.read_response();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->body, "GET /next q=- body=");
}

TEST(HttpServer, KeepAliveServesThreeRequestsOnOneConnection) {
  auto server = start_server();
  Client client(server->port());
  std::string first_client;
  for (int i = 0; i < 3; ++i) {
    client.send(get("/n?q=" + std::to_string(i)));
    auto response = client.read_response();
    ASSERT_TRUE(response) << i;
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "GET /n q=" + std::to_string(i) + " body=");
    EXPECT_NE(response->header("connection"), "close");
    if (i == 0) first_client = response->header("x-peer");
    EXPECT_EQ(response->header("x-peer"), first_client);  // same peer port: same connection
  }
}

TEST(HttpServer, PipelinedRequestsAreAnsweredInOrder) {
  auto server = start_server();
  Client client(server->port());
  client.send(get("/a") + get("/b"));
  auto a = client.read_response();
  auto b = client.read_response();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->body, "GET /a q=- body=");
  EXPECT_EQ(b->body, "GET /b q=- body=");
}

TEST(HttpServer, ConnectionCloseIsHonoured) {
  auto server = start_server();
  Client client(server->port());
  client.send(get("/bye", "Connection: close\r\n"));
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->header("connection"), "close");
  EXPECT_TRUE(client.closed_within(1000));
}

TEST(HttpServer, Http10ClosesUnlessKeepAlive) {
  auto server = start_server();
  {
    Client client(server->port());
    client.send("GET /old HTTP/1.0\r\n\r\n");
    auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_TRUE(client.closed_within(1000));
  }
  Client client(server->port());
  client.send("GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->header("connection"), "keep-alive");
  client.send("GET /again HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  auto again = client.read_response();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->body, "GET /again q=- body=");
}

TEST(HttpServer, HandlerConnectionCloseEndsTheConnection) {
  auto server = start_server(test_config(), [](const HttpRequest&) {
    HttpResponse response;
    response.headers.emplace_back("Connection", "close");
    response.body = "{}";
    return response;
  });
  Client client(server->port());
  client.send(get("/"));
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->header("connection"), "close");
  EXPECT_TRUE(client.closed_within(1000));
}

TEST(HttpServer, HeaderOverTheLimitIs431FromTheProtocolErrorHandler) {
  auto server = start_server();
  Client client(server->port());
  client.send(get("/", "X-Big: " + std::string(4000, 'a') + "\r\n"));
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 431);
  EXPECT_EQ(response->body, R"({"error":"header_too_large"})");
  EXPECT_EQ(response->header("content-type"), "application/json");
  EXPECT_EQ(response->header("connection"), "close");
  EXPECT_TRUE(client.closed_within(2000));
}

TEST(HttpServer, BodyOverTheLimitIs413) {
  auto server = start_server();
  Client client(server->port());
  client.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2000\r\n\r\n" + std::string(2000, 'b'));
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 413);
  EXPECT_EQ(response->body, R"({"error":"body_too_large"})");
}

TEST(HttpServer, ChunkedBodyIsAccepted) {
  auto server = start_server();
  Client client(server->port());
  client.send(
      "POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "POST /c q=- body=hello world");
}

TEST(HttpServer, ChunkedBodyOverTheLimitIs413) {
  auto server = start_server();
  Client client(server->port());
  std::string request = "POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 5; ++i) request += "12c\r\n" + std::string(300, 'x') + "\r\n";
  request += "0\r\n\r\n";
  client.send(request);
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 413);
}

TEST(HttpServer, UnsupportedTransferEncodingIs400) {
  auto server = start_server();
  Client client(server->port());
  client.send("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\nabc");
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 400);
  EXPECT_EQ(response->body, R"({"error":"bad_request"})");
}

TEST(HttpServer, MalformedRequestLineIs400) {
  auto server = start_server();
  Client client(server->port());
  client.send("THIS IS NOT HTTP\r\n\r\n");
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 400);
  EXPECT_EQ(response->body, R"({"error":"bad_request"})");
  EXPECT_TRUE(client.closed_within(2000));
}

TEST(HttpServer, InvalidPercentEncodingIs400) {
  auto server = start_server();
  Client client(server->port());
  client.send(get("/bad%zz"));
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 400);
}

TEST(HttpServer, ExpectContinueWithinTheLimit) {
  auto server = start_server();
  Client client(server->port());
  client.send("POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  auto interim = client.read_response();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  client.send("data");
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "POST /e q=- body=data");
}

TEST(HttpServer, ExpectContinueOverTheLimitIs413WithoutReadingTheBody) {
  auto server = start_server();
  Client client(server->port());
  client.send("POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n");
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 413);
  EXPECT_TRUE(client.closed_within(2000));
}

TEST(HttpServer, HandlerExceptionIs500WithEmptyObject) {
  auto server = start_server(test_config(), [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("x"); });
  Client client(server->port());
  client.send(get("/"));
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 500);
  EXPECT_EQ(response->body, "{}");
  EXPECT_EQ(response->header("content-type"), "application/json");
}

TEST(HttpServer, SlowClientIsClosedAfterTheReadTimeoutWithoutBlockingOthers) {
  HttpServerConfig config = test_config();
  config.read_timeout_ms = 300;
  auto server = start_server(config);
  Client slow(server->port());
  slow.send("GET /slow HTTP/1.1\r\nHost: t\r\n");  // half a request, then nothing
  const auto start = Clock::now();
  {
    Client other(server->port());
    other.send(get("/fast"));
    auto response = other.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->body, "GET /fast q=- body=");
    EXPECT_LT(elapsed_ms(start), 250);
  }
  EXPECT_TRUE(slow.closed_within(2000));
  const long long waited = elapsed_ms(start);
  EXPECT_GE(waited, 250);
  EXPECT_LT(waited, 1500);
}

TEST(HttpServer, IdleKeepAliveConnectionIsClosedAfterTheIdleTimeout) {
  HttpServerConfig config = test_config();
  config.idle_timeout_ms = 200;
  auto server = start_server(config);
  Client client(server->port());
  client.send(get("/"));
  ASSERT_TRUE(client.read_response());
  const auto start = Clock::now();
  EXPECT_TRUE(client.closed_within(2000));
  EXPECT_GE(elapsed_ms(start), 150);
}

TEST(HttpServer, ThirtyTwoConcurrentClientsEachDoingFiveRequests) {
  auto server = start_server();
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < 32; ++c) {
    threads.emplace_back([&, c] {
      try {
        Client client(server->port());
        for (int i = 0; i < 5; ++i) {
          const std::string q = std::to_string(c) + "-" + std::to_string(i);
          client.send(get("/p?q=" + q));
          auto response = client.read_response();
          if (response && response->status == 200 && response->body == "GET /p q=" + q + " body=") ++ok;
        }
      } catch (const std::exception&) {
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), 32 * 5);
}

TEST(HttpServer, ConnectionsBeyondTheMaximumAreClosedAtOnce) {
  HttpServerConfig config = test_config();
  config.max_connections = 2;
  auto server = start_server(config);
  auto a = std::make_unique<Client>(server->port());
  Client b(server->port());
  a->send(get("/a"));
  b.send(get("/b"));
  ASSERT_TRUE(a->read_response());
  ASSERT_TRUE(b.read_response());
  {
    Client c(server->port());  // over the cap: closed without an answer
    EXPECT_TRUE(c.closed_within(2000));
  }
  EXPECT_EQ(server->stats().refused_max_connections, 1u);
  a.reset();  // frees a slot
  std::optional<RawResponse> response;
  for (int attempt = 0; attempt < 50 && !response; ++attempt) {
    Client d(server->port());
    d.send(get("/d"));
    response = d.read_response();
    if (!response) std::this_thread::sleep_for(milliseconds(20));  // a's slot not yet given back
  }
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "GET /d q=- body=");
}

TEST(HttpServer, StopLetsTheRequestInFlightFinishThenRefusesConnections) {
  std::atomic<bool> entered{false};
  auto server = start_server(test_config(), [&](const HttpRequest& request) {
    entered = true;
    std::this_thread::sleep_for(milliseconds(300));
    return echo(request);
  });
  const uint16_t port = server->port();
  Client client(port);
  client.send(get("/slow"));
  while (!entered) std::this_thread::sleep_for(milliseconds(1));
  const auto start = Clock::now();
  server->stop(5000);
  EXPECT_GE(elapsed_ms(start), 200);
  EXPECT_LT(elapsed_ms(start), 2000);
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "GET /slow q=- body=");
  EXPECT_EQ(response->header("connection"), "close");
  EXPECT_THROW(Client refused(port), std::runtime_error);
}

TEST(HttpServer, StopWithIdleKeepAliveConnectionsReturnsQuickly) {
  HttpServerConfig config = test_config();
  config.idle_timeout_ms = 30000;
  auto server = start_server(config);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(std::make_unique<Client>(server->port()));
    clients.back()->send(get("/"));
    ASSERT_TRUE(clients.back()->read_response());
  }
  const auto start = Clock::now();
  server->stop(10000);
  EXPECT_LT(elapsed_ms(start), 500);
  for (auto& client : clients) EXPECT_TRUE(client->closed_within(500));
}

TEST(HttpServer, StopForceClosesAfterTheGracePeriod) {
  auto server = start_server();
  Client slow(server->port());
  slow.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");  // body never completes
  std::this_thread::sleep_for(milliseconds(50));
  const auto start = Clock::now();
  server->stop(100);
  EXPECT_LT(elapsed_ms(start), 1000);
  EXPECT_TRUE(slow.closed_within(500));
}

TEST(HttpServer, DestructorStopsAndServerCanRestart) {
  HttpServer server(test_config(), echo, protocol_error);
  server.start();
  server.stop(100);
  server.start();
  Client client(server.port());
  client.send(get("/again"));
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
}

// Waits (bounded) until `done` holds.
bool eventually(const std::function<bool()>& done, int timeout_ms = 5000) {
  const auto deadline = Clock::now() + milliseconds(timeout_ms);
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return done();
}

// A gate a handler waits at until the test opens it.
class Gate {
 public:
  void wait() {
    std::unique_lock lock(mutex_);
    ++waiting_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  bool waiting(int count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(5), [&] { return waiting_ >= count; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int waiting_ = 0;
  bool open_ = false;
};

TEST(HttpServer, PerAddressCapRefusesTheExcessAndServesOtherAddresses) {
  HttpServerConfig config = test_config();
  config.max_connections_per_address = 2;
  auto server = start_server(config);
  Client a(server->port(), 5000, "127.0.0.2");
  Client b(server->port(), 5000, "127.0.0.2");
  a.send(get("/a"));
  b.send(get("/b"));
  ASSERT_TRUE(a.read_response());
  ASSERT_TRUE(b.read_response());
  Client excess(server->port(), 5000, "127.0.0.2");
  EXPECT_TRUE(excess.closed_within(2000));
  EXPECT_EQ(server->stats().refused_per_address, 1u);
  Client other(server->port(), 5000, "127.0.0.3");
  other.send(get("/other"));
  auto response = other.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->header("x-client"), "127.0.0.3");
}

TEST(HttpServer, TrustedProxiesAreExemptFromThePerAddressCap) {
  HttpServerConfig config = test_config();
  config.max_connections_per_address = 1;
  config.trusted_proxies = "127.0.0.4";
  auto server = start_server(config);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<Client>(server->port(), 5000, "127.0.0.4"));
    clients.back()->send(get("/p"));
    ASSERT_TRUE(clients.back()->read_response()) << i;
  }
  EXPECT_EQ(server->stats().refused_per_address, 0u);
}

TEST(HttpServer, ForwardedForIsReadOnlyFromTrustedProxies) {
  HttpServerConfig config = test_config();
  config.trusted_proxies = "127.0.0.5, 10.0.0.0/8";
  auto server = start_server(config);
  const std::string forwarded = "X-Forwarded-For: 198.51.100.9, 203.0.113.7\r\nX-Forwarded-For: 10.1.2.3\r\n";
  Client proxied(server->port(), 5000, "127.0.0.5");
  proxied.send(get("/f", forwarded));
  auto response = proxied.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->header("x-client"), "203.0.113.7");  // rightmost entry that is not a proxy
  Client direct(server->port(), 5000, "127.0.0.6");
  direct.send(get("/f", forwarded));
  response = direct.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->header("x-client"), "127.0.0.6");  // not a proxy: its header is ignored
}

TEST(HttpServer, SlowHeadersAreClosedAtTheHeaderDeadline) {
  HttpServerConfig config = test_config();
  config.header_timeout_ms = 300;
  config.read_timeout_ms = 30000;
  auto server = start_server(config);
  Client slow(server->port());
  bool closed = false;
  for (int line = 0; line < 40 && !closed; ++line) {  // one header line every 100 ms, never the end
    try {
      slow.send(line == 0 ? "GET /slow HTTP/1.1\r\n" : "X-Line: " + std::to_string(line) + "\r\n");
    } catch (const std::runtime_error&) {
      closed = true;
      break;
    }
    closed = slow.closed_within(100);
  }
  EXPECT_TRUE(closed);
  EXPECT_TRUE(eventually([&] { return server->stats().closed_slow_header == 1; }));
}

TEST(HttpServer, AConnectionThatSendsNothingIsClosedAtTheHeaderDeadline) {
  HttpServerConfig config = test_config();
  config.header_timeout_ms = 200;
  config.idle_timeout_ms = 30000;
  auto server = start_server(config);
  Client silent(server->port());
  EXPECT_TRUE(silent.closed_within(3000));
  EXPECT_TRUE(eventually([&] { return server->stats().closed_slow_header == 1 && server->stats().open == 0; }));
}

TEST(HttpServer, ABodyBelowTheMinimumRateIsClosed) {
  HttpServerConfig config = test_config();
  config.min_body_bytes_per_second = 1000;
  config.body_rate_grace_ms = 200;
  config.read_timeout_ms = 30000;
  auto server = start_server(config);
  Client slow(server->port());
  slow.send("POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n");
  bool closed = false;
  for (int i = 0; i < 100 && !closed; ++i) {  // 10 bytes every 100 ms: 100 bytes/s
    try {
      slow.send(std::string(10, 'x'));
    } catch (const std::runtime_error&) {
      closed = true;
      break;
    }
    closed = slow.closed_within(100);
  }
  EXPECT_TRUE(closed);
  EXPECT_TRUE(eventually([&] { return server->stats().closed_slow_body == 1; }));
}

TEST(HttpServer, ABodyAboveTheMinimumRateIsServed) {
  HttpServerConfig config = test_config();
  config.min_body_bytes_per_second = 100;
  config.body_rate_grace_ms = 100;
  auto server = start_server(config);
  Client client(server->port());
  client.send("POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 40\r\n\r\n");
  for (int i = 0; i < 4; ++i) {  // 10 bytes every 50 ms: 200 bytes/s
    std::this_thread::sleep_for(milliseconds(50));
    client.send(std::string(10, 'y'));
  }
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "POST /b q=- body=" + std::string(40, 'y'));
}

TEST(HttpServer, MaxRequestsPerConnectionEndsTheConnection) {
  HttpServerConfig config = test_config();
  config.max_requests_per_connection = 2;
  auto server = start_server(config);
  Client client(server->port());
  client.send(get("/1"));
  auto first = client.read_response();
  ASSERT_TRUE(first);
  EXPECT_NE(first->header("connection"), "close");
  client.send(get("/2"));
  auto second = client.read_response();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->header("connection"), "close");
  EXPECT_TRUE(client.closed_within(2000));
}

TEST(HttpServer, InlineRoutesAreAnsweredWhileEveryHandlerThreadIsBusy) {
  Gate gate;
  HttpServerConfig config = test_config();
  config.handler_threads = 1;
  config.run_inline = [](const HttpRequest& request) { return request.path == "/health"; };
  auto server = start_server(config, [&](const HttpRequest& request) {
    if (request.path == "/block") gate.wait();
    return echo(request);
  });
  Client blocked(server->port());
  blocked.send(get("/block"));
  ASSERT_TRUE(gate.waiting(1));
  Client health(server->port());
  health.send(get("/health"));
  auto response = health.read_response();
  gate.open();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "GET /health q=- body=");
  auto unblocked = blocked.read_response();
  ASSERT_TRUE(unblocked);
  EXPECT_EQ(unblocked->body, "GET /block q=- body=");
}

TEST(HttpServer, AFullHandlerQueueIsAnsweredOverloaded) {
  Gate gate;
  HttpServerConfig config = test_config();
  config.handler_threads = 1;
  config.max_queued_requests = 1;
  auto server = start_server(config, [&](const HttpRequest& request) {
    gate.wait();
    return echo(request);
  });
  Client running(server->port());
  running.send(get("/running"));
  ASSERT_TRUE(gate.waiting(1));
  Client queued(server->port());
  queued.send(get("/queued"));
  ASSERT_TRUE(eventually([&] { return server->stats().handler_queue == 1; }));
  Client refused(server->port());
  refused.send(get("/refused"));
  auto response = refused.read_response();
  gate.open();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 503);
  EXPECT_EQ(response->body, R"({"error":"overloaded"})");
  EXPECT_EQ(server->stats().overloaded, 1u);
  auto first = running.read_response();
  auto second = queued.read_response();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(second->body, "GET /queued q=- body=");
}

TEST(HttpServer, FiveHundredIdleConnectionsCostNoThreadAndAreCountedOpen) {
  rlimit limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  if (limit.rlim_cur < 2048 && limit.rlim_max >= 2048) {
    limit.rlim_cur = 2048;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
  ::getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < 1200) GTEST_SKIP() << "descriptor limit " << limit.rlim_cur;
  HttpServerConfig config = test_config();
  config.max_connections = 1000;
  config.max_connections_per_address = 0;
  config.header_timeout_ms = 30000;
  config.handler_threads = 1;
  auto server = start_server(config);
  std::vector<std::unique_ptr<Client>> idle;
  for (int i = 0; i < 500; ++i) idle.push_back(std::make_unique<Client>(server->port()));
  ASSERT_TRUE(eventually([&] { return server->stats().open == 500; })) << server->stats().open;
  Client client(server->port());
  client.send(get("/served"));
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "GET /served q=- body=");
  idle.clear();
  EXPECT_TRUE(eventually([&] { return server->stats().open == 1; })) << server->stats().open;
}

}  // namespace
}  // namespace faceauth
