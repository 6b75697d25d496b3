#include "http/http_client.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace faceauth {
namespace {

using Clock = std::chrono::steady_clock;

bool host_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_'; }

bool target_char(char c) {
  auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u < 0x7f && c != '#';
}

std::optional<uint16_t> parse_port(const std::string& text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  int port = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    port = port * 10 + (c - '0');
  }
  if (port < 1 || port > 65535) return std::nullopt;
  return static_cast<uint16_t>(port);
}

// Splits "host[:port]" or "[v6][:port]" into the URL.
bool parse_authority(const std::string& authority, HttpUrl& url) {
  std::string host = authority, port;
  bool has_port = false;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string::npos) return false;
    host = authority.substr(1, close - 1);
    std::string rest = authority.substr(close + 1);
    if (!rest.empty() && rest[0] != ':') return false;
    has_port = !rest.empty();
    if (has_port) port = rest.substr(1);
    for (char c : host) {
      if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')) return false;
    }
  } else {
    size_t colon = authority.find(':');
    has_port = colon != std::string::npos;
    if (has_port) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
    for (char c : host) {
      if (!host_char(c)) return false;
    }
  }
  if (host.empty() || host.size() > 253) return false;
  url.host = host;
  if (has_port) {
    std::optional<uint16_t> number = parse_port(port);
    if (!number) return false;
    url.port = *number;
  }
  return true;
}

int seconds_left_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

bool wait_for(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  int left = seconds_left_ms(deadline);
  return left > 0 && ::poll(&p, 1, left) == 1 && (p.revents & (events | POLLHUP | POLLERR)) != 0;
}

// A connected non-blocking socket, or -1 with `error` set.
int connect_to(const HttpUrl& url, Clock::time_point deadline, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(url.host.c_str(), std::to_string(url.port).c_str(), &hints, &found); rc != 0) {
    error = std::string("cannot resolve host: ") + gai_strerror(rc);
    return -1;
  }
  error = "connection failed";
  int fd = -1;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS && wait_for(fd, POLLOUT, deadline)) {
      int so_error = 0;
      socklen_t length = sizeof so_error;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &length);
      rc = so_error == 0 ? 0 : -1;
      if (so_error != 0) error = std::string("connection failed: ") + std::strerror(so_error);
    } else if (rc != 0) {
      error = seconds_left_ms(deadline) == 0 ? "connection timed out" : std::string("connection failed");
    }
    if (rc != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  return fd;
}

bool send_all(int fd, std::string_view data, Clock::time_point deadline) {
  while (!data.empty()) {
    ssize_t sent = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (sent > 0) {
      data.remove_prefix(static_cast<size_t>(sent));
    } else if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_for(fd, POLLOUT, deadline)) return false;
    } else if (sent < 0 && errno != EINTR) {
      return false;
    }
  }
  return true;
}

// The status code of "HTTP/1.x NNN ...", read up to the first line end; 0 when none.
int read_status(int fd, Clock::time_point deadline) {
  std::string head;
  char buffer[512];
  while (head.find("\r\n") == std::string::npos && head.size() < 8192) {
    ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
    if (got > 0) {
      head.append(buffer, static_cast<size_t>(got));
    } else if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_for(fd, POLLIN, deadline)) return 0;
    } else if (got == 0 || errno != EINTR) {
      break;
    }
  }
  if (head.rfind("HTTP/1.", 0) != 0 || head.size() < 12 || head[8] != ' ') return 0;
  int status = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (head[i] < '0' || head[i] > '9') return 0;
    status = status * 10 + (head[i] - '0');
  }
  return status;
}

}  // namespace

std::optional<HttpUrl> parse_http_url(const std::string& url) {
  const std::string scheme = "http://";
  if (url.size() > 2048 || url.size() <= scheme.size()) return std::nullopt;
  for (size_t i = 0; i < scheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(url[i])) != scheme[i]) return std::nullopt;
  }
  std::string rest = url.substr(scheme.size());
  size_t slash = rest.find_first_of("/?");
  std::string authority = rest.substr(0, slash);
  std::string target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (target[0] == '?') target = "/" + target;
  HttpUrl out;
  if (authority.find('@') != std::string::npos || !parse_authority(authority, out)) return std::nullopt;
  for (char c : target) {
    if (!target_char(c)) return std::nullopt;
  }
  out.target = target;
  return out;
}

HttpPostResult http_post(const HttpUrl& url, const std::vector<std::pair<std::string, std::string>>& headers,
                         std::string_view content_type, std::string_view body, int timeout_ms) {
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  HttpPostResult result;
  int fd = connect_to(url, deadline, result.error);
  if (fd < 0) return result;
  bool v6 = url.host.find(':') != std::string::npos;
  std::string request = "POST " + url.target + " HTTP/1.1\r\nHost: " + (v6 ? "[" + url.host + "]" : url.host) + ":" +
                        std::to_string(url.port) + "\r\nContent-Type: " + std::string(content_type) +
                        "\r\nContent-Length: " + std::to_string(body.size()) +
                        "\r\nConnection: close\r\nUser-Agent: faceauth-webhook/1\r\n";
  for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
  request += "\r\n";
  if (!send_all(fd, request, deadline) || !send_all(fd, body, deadline)) {
    result.error = seconds_left_ms(deadline) == 0 ? "timed out sending the request" : "sending the request failed";
  } else {
    result.status = read_status(fd, deadline);
    if (result.status == 0) {
      result.error = seconds_left_ms(deadline) == 0 ? "timed out waiting for the answer" : "no valid HTTP answer";
    }
  }
  ::close(fd);
  return result;
}

}  // namespace faceauth
