#include <catch2/catch.hpp>

#include "vigil/core/ip.h"

using vigil::core::Cidr;
using vigil::core::IpAddress;

TEST_CASE("IPv4 and IPv6 addresses parse and print", "[core][ip]") {
  auto a = IpAddress::parse("192.168.1.20");
  REQUIRE(a);
  CHECK(a->is_v4());
  CHECK(a->to_string() == "192.168.1.20");
  CHECK(a->v4_host_order() == 0xC0A80114u);

  auto b = IpAddress::parse("2001:db8:0:0:0:0:0:1");
  REQUIRE(b);
  CHECK_FALSE(b->is_v4());
  CHECK(b->to_string() == "2001:db8::1");

  CHECK_FALSE(IpAddress::parse("300.1.1.1"));
  CHECK_FALSE(IpAddress::parse("not-an-ip"));
}

TEST_CASE("CIDR blocks contain what they should", "[core][ip]") {
  auto c = Cidr::parse("10.0.0.0/8");
  REQUIRE(c);
  CHECK(c->contains(*IpAddress::parse("10.200.3.4")));
  CHECK_FALSE(c->contains(*IpAddress::parse("11.0.0.1")));
  // An IPv4 block never contains an IPv6 address, even the mapped form.
  CHECK_FALSE(c->contains(*IpAddress::parse("::ffff:10.0.0.1")));

  auto host = Cidr::parse("192.168.1.7");
  REQUIRE(host);
  CHECK(host->prefix == 32);

  auto masked = Cidr::parse("192.168.1.77/255.255.255.0");
  REQUIRE(masked);
  CHECK(masked->prefix == 24);
  CHECK(masked->to_string() == "192.168.1.0/24");

  auto v6 = Cidr::parse("2001:db8::/32");
  REQUIRE(v6);
  CHECK(v6->contains(*IpAddress::parse("2001:db8:ffff::1")));
  CHECK_FALSE(v6->contains(*IpAddress::parse("2001:db9::1")));

  CHECK_FALSE(Cidr::parse("10.0.0.0/33"));
  CHECK_FALSE(Cidr::parse("10.0.0.0/255.0.255.0"));
}
