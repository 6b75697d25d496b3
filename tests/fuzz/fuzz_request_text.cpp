// libFuzzer target: the text a client puts in a request line and its headers, read by our own
// code (Beast splits the request; these read what it hands over). Input: a request target up
// to the first '\n', an X-Forwarded-For value up to the second, a trusted-proxies list up to
// the third, then any bytes. Checks:
// - split_target either fails with nothing kept, or gives a path and query that are all
//   valid text (UTF-8 without NUL) and split_path segments that are non-empty and slash-free;
// - utf8_prefix of valid UTF-8 is a prefix of it, valid, and within the limit;
// - canonical_ip is "" or an address that canonical_ip keeps as it is;
// - a proxy list either parses or throws std::invalid_argument, and the client address
//   found behind it is the peer or a canonical address.
#include <cstddef>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "http/client_address.h"
#include "http/http_types.h"
#include "http/text.h"

namespace {

std::string_view take_line(std::string_view& input) {
  const size_t newline = input.find('\n');
  const std::string_view line = input.substr(0, newline);
  input = newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
  return line;
}

void check_target(std::string_view target) {
  std::string path;
  std::multimap<std::string, std::string> query;
  if (!faceauth::split_target(target, path, query)) {
    if (!path.empty() || !query.empty()) __builtin_trap();
    return;
  }
  if (!faceauth::is_valid_text(path)) __builtin_trap();
  for (const auto& [key, value] : query) {
    if (!faceauth::is_valid_text(key) || !faceauth::is_valid_text(value)) __builtin_trap();
  }
  for (const std::string& segment : faceauth::split_path(path)) {
    if (segment.empty() || segment.find('/') != std::string::npos) __builtin_trap();
  }
}

void check_prefix(std::string_view text) {
  if (!faceauth::is_valid_utf8(text)) return;
  for (size_t limit : {size_t{0}, size_t{1}, size_t{3}, size_t{64}, text.size() / 2}) {
    const std::string prefix = faceauth::utf8_prefix(text, limit);
    if (prefix.size() > limit || text.substr(0, prefix.size()) != prefix) __builtin_trap();
    if (!faceauth::is_valid_utf8(prefix)) __builtin_trap();
  }
}

bool is_canonical(const std::string& address) { return address.empty() || faceauth::canonical_ip(address) == address; }

void check_addresses(std::string_view forwarded, std::string_view proxies) {
  const std::string canonical = faceauth::canonical_ip(forwarded);
  if (!is_canonical(canonical)) __builtin_trap();
  faceauth::TrustedProxies trusted;
  try {
    trusted = faceauth::TrustedProxies::parse(proxies);
  } catch (const std::invalid_argument&) {
    return;
  }
  for (const std::string peer : {"127.0.0.1", "::1", "10.1.2.3"}) {
    const std::string client = trusted.client_address(peer, {forwarded, forwarded});
    if (client != peer && (client.empty() || !is_canonical(client))) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::string_view target = take_line(input);
  const std::string_view forwarded = take_line(input);
  const std::string_view proxies = take_line(input);
  check_target(target);
  check_target(input);
  check_prefix(input);
  check_prefix(target);
  check_addresses(forwarded, proxies);
  return 0;
}
