#include "http/client_address.h"

#include <cstring>
#include <stdexcept>

#include <boost/asio/ip/address.hpp>

namespace faceauth {
namespace {

namespace ip = boost::asio::ip;

bool to_address(std::string_view text, ip::address& out) {
  boost::system::error_code ec;
  ip::address address = ip::make_address(std::string(text), ec);
  if (ec) return false;
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = ip::make_address_v4(ip::v4_mapped, address.to_v6());
  } else if (address.is_v6()) {
    // A zone ("fe80::1%eth0", "2001:db8::1%7") names a link of the sender's, not a client:
    // dropped, so one address is one key for the throttles (and "%-4" cannot make a new one).
    ip::address_v6 v6 = address.to_v6();
    v6.scope_id(0);
    address = v6;
  }
  out = address;
  return true;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// "1.2.3.4", "[::1]" or "1.2.3.4:567" (some proxies add the port) as an address.
bool forwarded_entry(std::string_view entry, ip::address& out) {
  entry = trim(entry);
  if (to_address(entry, out)) return true;
  if (!entry.empty() && entry.front() == '[') {
    const size_t close = entry.find(']');
    return close != std::string_view::npos && to_address(entry.substr(1, close - 1), out);
  }
  const size_t colon = entry.find(':');
  return colon != std::string_view::npos && entry.find(':', colon + 1) == std::string_view::npos &&
         to_address(entry.substr(0, colon), out);
}

}  // namespace

std::string canonical_ip(std::string_view text) {
  ip::address address;
  return to_address(text, address) ? address.to_string() : std::string();
}

TrustedProxies TrustedProxies::parse(std::string_view list) {
  TrustedProxies proxies;
  while (!list.empty()) {
    const size_t comma = list.find(',');
    const std::string_view item = trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (item.empty()) continue;
    const size_t slash = item.find('/');
    ip::address address;
    if (!to_address(item.substr(0, slash), address)) {
      throw std::invalid_argument("trusted-proxies: '" + std::string(item) + "' is not an IP address or CIDR");
    }
    Network network;
    network.v6 = address.is_v6();
    const int bits = network.v6 ? 128 : 32;
    network.prefix = bits;
    if (slash != std::string_view::npos) {
      const std::string digits(item.substr(slash + 1));
      size_t used = 0;
      int prefix = -1;
      try {
        prefix = std::stoi(digits, &used);
      } catch (const std::exception&) {
      }
      if (digits.empty() || used != digits.size() || prefix < 0 || prefix > bits) {
        throw std::invalid_argument("trusted-proxies: bad prefix length in '" + std::string(item) + "'");
      }
      network.prefix = prefix;
    }
    if (network.v6) {
      const auto bytes = address.to_v6().to_bytes();
      std::memcpy(network.bytes, bytes.data(), 16);
    } else {
      const auto bytes = address.to_v4().to_bytes();
      std::memcpy(network.bytes, bytes.data(), 4);
    }
    proxies.networks_.push_back(network);
  }
  return proxies;
}

bool TrustedProxies::contains(std::string_view text) const {
  ip::address address;
  if (networks_.empty() || !to_address(text, address)) return false;
  uint8_t bytes[16] = {};
  if (address.is_v6()) {
    const auto b = address.to_v6().to_bytes();
    std::memcpy(bytes, b.data(), 16);
  } else {
    const auto b = address.to_v4().to_bytes();
    std::memcpy(bytes, b.data(), 4);
  }
  for (const Network& network : networks_) {
    if (network.v6 != address.is_v6()) continue;
    const int full = network.prefix / 8;
    const int rest = network.prefix % 8;
    if (std::memcmp(bytes, network.bytes, static_cast<size_t>(full)) != 0) continue;
    const uint8_t mask = static_cast<uint8_t>(0xFF00 >> rest);
    if (rest == 0 || (bytes[full] & mask) == (network.bytes[full] & mask)) return true;
  }
  return false;
}

std::string TrustedProxies::client_address(const std::string& peer_ip,
                                           const std::vector<std::string_view>& forwarded_for) const {
  if (!contains(peer_ip)) return peer_ip;
  std::vector<std::string_view> entries;
  for (std::string_view value : forwarded_for) {
    while (true) {
      const size_t comma = value.find(',');
      entries.push_back(value.substr(0, comma));
      if (comma == std::string_view::npos) break;
      value.remove_prefix(comma + 1);
    }
  }
  std::string client = peer_ip;  // the nearest trusted hop so far
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    ip::address address;
    if (!forwarded_entry(*it, address)) break;  // garbage: trust nothing beyond it
    client = address.to_string();
    if (!contains(client)) break;
  }
  return client;
}

}  // namespace faceauth
