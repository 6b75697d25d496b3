#pragma once
// The client's address as handlers see it. Directly connected clients are their TCP peer;
// behind a trusted proxy (the `trusted-proxies` setting: IPs and CIDRs) the address comes from
// X-Forwarded-For, read from the right: the first entry that is not itself a trusted proxy.
// X-Forwarded-For from any other peer is ignored, so a client cannot choose its own address.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace faceauth {

class TrustedProxies {
 public:
  TrustedProxies() = default;
  // "10.0.0.1, 192.168.0.0/16, ::1, fd00::/8"; throws std::invalid_argument naming a bad entry.
  static TrustedProxies parse(std::string_view list);

  bool empty() const { return networks_.empty(); }
  // `address` is a plain IP ("127.0.0.1", "::1"); false when it is not one.
  bool contains(std::string_view address) const;
  // The client address for a peer and the request's X-Forwarded-For values (in order of
  // appearance; each may hold a comma-separated list).
  std::string client_address(const std::string& peer_ip, const std::vector<std::string_view>& forwarded_for) const;

 private:
  struct Network {
    bool v6 = false;
    uint8_t bytes[16] = {};
    int prefix = 0;
  };
  std::vector<Network> networks_;
};

// A plain IP in canonical form (v4-mapped IPv6 as IPv4), or "" when `text` is not one.
std::string canonical_ip(std::string_view text);

}  // namespace faceauth
