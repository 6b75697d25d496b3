// TrustedProxies: the list's parsing, CIDR matching and the X-Forwarded-For walk.
#include <stdexcept>

#include <gtest/gtest.h>

#include "http/client_address.h"

namespace faceauth {
namespace {

TEST(TrustedProxies, ParsesAddressesAndNetworks) {
  TrustedProxies proxies = TrustedProxies::parse(" 10.0.0.1, 192.168.0.0/16,fd00::/8 , ::1");
  EXPECT_TRUE(proxies.contains("10.0.0.1"));
  EXPECT_FALSE(proxies.contains("10.0.0.2"));
  EXPECT_TRUE(proxies.contains("192.168.200.7"));
  EXPECT_FALSE(proxies.contains("192.169.0.1"));
  EXPECT_TRUE(proxies.contains("fd12::5"));
  EXPECT_FALSE(proxies.contains("fe80::1"));
  EXPECT_TRUE(proxies.contains("::1"));
  EXPECT_TRUE(proxies.contains("::ffff:10.0.0.1"));  // v4-mapped is the IPv4 address
  EXPECT_FALSE(proxies.contains("not an ip"));
  EXPECT_TRUE(TrustedProxies::parse("").empty());
}

TEST(TrustedProxies, OddPrefixLengthsMatchBitwise) {
  TrustedProxies proxies = TrustedProxies::parse("172.16.0.0/12, 0.0.0.0/0");
  EXPECT_TRUE(proxies.contains("8.8.8.8"));  // /0: everything IPv4
  EXPECT_FALSE(proxies.contains("2001:db8::1"));
  TrustedProxies twelve = TrustedProxies::parse("172.16.0.0/12");
  EXPECT_TRUE(twelve.contains("172.31.255.255"));
  EXPECT_FALSE(twelve.contains("172.32.0.0"));
}

TEST(TrustedProxies, RefusesBadEntries) {
  EXPECT_THROW(TrustedProxies::parse("10.0.0.300"), std::invalid_argument);
  EXPECT_THROW(TrustedProxies::parse("10.0.0.0/33"), std::invalid_argument);
  EXPECT_THROW(TrustedProxies::parse("10.0.0.0/"), std::invalid_argument);
  EXPECT_THROW(TrustedProxies::parse("10.0.0.0/8x"), std::invalid_argument);
  EXPECT_THROW(TrustedProxies::parse("proxy.example"), std::invalid_argument);
}

TEST(TrustedProxies, ClientIsTheRightmostUntrustedForwardedEntry) {
  TrustedProxies proxies = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8");
  EXPECT_EQ(proxies.client_address("127.0.0.1", {"198.51.100.1, 203.0.113.7, 10.0.0.2"}), "203.0.113.7");
  EXPECT_EQ(proxies.client_address("127.0.0.1", {"198.51.100.1", "203.0.113.7:4711", "10.0.0.2"}), "203.0.113.7");
  EXPECT_EQ(proxies.client_address("127.0.0.1", {"[2001:db8::7]"}), "2001:db8::7");
  EXPECT_EQ(proxies.client_address("127.0.0.1", {"10.0.0.3, 10.0.0.2"}), "10.0.0.3");  // all trusted: leftmost
  EXPECT_EQ(proxies.client_address("127.0.0.1", {}), "127.0.0.1");                     // no header: the proxy
  EXPECT_EQ(proxies.client_address("127.0.0.1", {"garbage, 10.0.0.2"}), "10.0.0.2");   // nothing past garbage
}

TEST(TrustedProxies, ForwardedForFromAnUntrustedPeerIsIgnored) {
  TrustedProxies proxies = TrustedProxies::parse("10.0.0.1");
  EXPECT_EQ(proxies.client_address("192.0.2.5", {"203.0.113.7"}), "192.0.2.5");
  EXPECT_EQ(TrustedProxies().client_address("192.0.2.5", {"203.0.113.7"}), "192.0.2.5");
}

TEST(TrustedProxies, CanonicalIp) {
  EXPECT_EQ(canonical_ip("::ffff:127.0.0.1"), "127.0.0.1");
  EXPECT_EQ(canonical_ip("2001:DB8::1"), "2001:db8::1");
  EXPECT_EQ(canonical_ip("1.2.3"), "");
}

// Found by fuzz_request_text: a zone made each spelling a different "address" (and "%-04"
// printed as %18446744073709551612, which reads back as another), so the throttles' key moved.
TEST(TrustedProxies, ZonesAreNotPartOfAnAddress) {
  EXPECT_EQ(canonical_ip("fe80::1%2"), "fe80::1");
  EXPECT_EQ(canonical_ip("fe80::1%-04"), "fe80::1");
  EXPECT_EQ(canonical_ip("::ffff:19%-04"), "::255.255.0.25");
  EXPECT_EQ(canonical_ip(canonical_ip("2001:db8::9%4294967295")), canonical_ip("2001:db8::9%4294967295"));
  TrustedProxies proxies = TrustedProxies::parse("127.0.0.1");
  EXPECT_EQ(proxies.client_address("127.0.0.1", {"2001:db8::7%1"}), "2001:db8::7");
  EXPECT_EQ(proxies.client_address("127.0.0.1", {"[2001:db8::7%2]:443"}), "2001:db8::7");
  EXPECT_TRUE(TrustedProxies::parse("fe80::1%3").contains("fe80::1"));
}

}  // namespace
}  // namespace faceauth
