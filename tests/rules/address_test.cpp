#include <catch2/catch.hpp>

#include "vigil/rules/parser.h"

using vigil::core::IpAddress;
using vigil::rules::AddressSet;
using vigil::rules::ParseContext;
using vigil::rules::PortSet;
using vigil::rules::Rule;

namespace {

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

// Parses "alert ip <src> <sport> -> any any" and returns the rule (REQUIREs success).
Rule header(const std::string& src, const std::string& sport, const ParseContext& ctx = {}) {
  vigil::rules::RuleError err;
  auto r = vigil::rules::parse_rule("alert ip " + src + " " + sport + " -> any any (sid:1;)", ctx,
                                    "t.rules", 1, &err);
  INFO(err.to_string());
  REQUIRE(r.ok());
  return std::move(r).value();
}

vigil::rules::RuleError header_error(const std::string& src, const std::string& sport) {
  vigil::rules::RuleError err;
  auto r = vigil::rules::parse_rule("alert ip " + src + " " + sport + " -> any any (sid:1;)",
                                    ParseContext{}, "t.rules", 7, &err);
  REQUIRE_FALSE(r.ok());
  return err;
}

}  // namespace

TEST_CASE("AddressSet set algebra", "[rules][address]") {
  auto net = AddressSet::from_cidr(*vigil::core::Cidr::parse("10.0.0.0/8"));
  CHECK(net.contains(ip("10.1.2.3")));
  CHECK_FALSE(net.contains(ip("11.0.0.0")));
  CHECK_FALSE(net.contains(ip("::1")));
  auto inv = net.complement();
  CHECK(inv.contains(ip("11.0.0.0")));
  CHECK(inv.contains(ip("9.255.255.255")));
  CHECK(inv.contains(ip("::1")));
  CHECK_FALSE(inv.contains(ip("10.0.0.1")));
  CHECK(net.unite(inv).is_any());
  CHECK(net.intersect(inv).empty());
  CHECK(AddressSet::any().complement().empty());
  auto v6 = AddressSet::from_cidr(*vigil::core::Cidr::parse("2001:db8::/32"));
  CHECK(v6.contains(ip("2001:db8::1")));
  CHECK_FALSE(v6.contains(ip("2001:db9::1")));
  // Adjacent ranges merge into one.
  auto a = AddressSet::from_cidr(*vigil::core::Cidr::parse("10.0.0.0/25"));
  auto b = AddressSet::from_cidr(*vigil::core::Cidr::parse("10.0.0.128/25"));
  CHECK(a.unite(b).v4().size() == 1);
}

TEST_CASE("PortSet set algebra", "[rules][address]") {
  auto p = PortSet::range(80, 90).unite(PortSet::single(443));
  CHECK(p.contains(80));
  CHECK(p.contains(90));
  CHECK_FALSE(p.contains(91));
  CHECK(p.contains(443));
  auto c = p.complement();
  CHECK(c.contains(0));
  CHECK(c.contains(65535));
  CHECK_FALSE(c.contains(85));
  CHECK(p.unite(c).is_any());
  CHECK(PortSet::any().complement().empty());
  CHECK(PortSet::range(0, 0).complement().ranges().front().first == 1);
}

TEST_CASE("header addresses: any, CIDR, lists, negation, nesting", "[rules][parser][address]") {
  CHECK(header("any", "any").src_addr.is_any());

  auto r = header("[10.0.0.0/8,!10.1.0.0/16]", "any");
  CHECK(r.src_addr.contains(ip("10.2.0.1")));
  CHECK_FALSE(r.src_addr.contains(ip("10.1.0.1")));
  CHECK_FALSE(r.src_addr.contains(ip("11.0.0.1")));
  CHECK(r.src_addr_text == "[10.0.0.0/8,!10.1.0.0/16]");

  // Only negated members: start from any.
  r = header("[!1.2.3.4]", "any");
  CHECK_FALSE(r.src_addr.contains(ip("1.2.3.4")));
  CHECK(r.src_addr.contains(ip("1.2.3.5")));

  r = header("![1.2.3.0/24,[5.6.7.8,!1.2.3.9]]", "any");
  CHECK_FALSE(r.src_addr.contains(ip("1.2.3.1")));
  CHECK_FALSE(r.src_addr.contains(ip("5.6.7.8")));
  // The inner list is {5.6.7.8} (its negated member only subtracts), so everything outside the
  // /24 and 5.6.7.8 stays in.
  CHECK(r.src_addr.contains(ip("9.9.9.9")));
  CHECK_FALSE(r.src_addr.contains(ip("1.2.3.9")));

  r = header("[2001:db8::/32,192.0.2.1]", "any");
  CHECK(r.src_addr.contains(ip("2001:db8::5")));
  CHECK(r.src_addr.contains(ip("192.0.2.1")));
  CHECK_FALSE(r.src_addr.contains(ip("192.0.2.2")));

  // Dotted netmask and address ranges.
  r = header("192.168.1.0/255.255.255.0", "any");
  CHECK(r.src_addr.contains(ip("192.168.1.200")));
  r = header("10.0.0.5-10.0.0.9", "any");
  CHECK(r.src_addr.contains(ip("10.0.0.5")));
  CHECK(r.src_addr.contains(ip("10.0.0.9")));
  CHECK_FALSE(r.src_addr.contains(ip("10.0.0.10")));
  CHECK_FALSE(r.src_addr.contains(ip("10.0.0.4")));
}

TEST_CASE("header variables resolve recursively with Suricata defaults", "[rules][parser][address]") {
  auto r = header("$HOME_NET", "any");
  CHECK(r.src_addr.contains(ip("192.168.3.4")));
  CHECK(r.src_addr.contains(ip("172.20.0.1")));
  CHECK_FALSE(r.src_addr.contains(ip("8.8.8.8")));

  r = header("$EXTERNAL_NET", "any");
  CHECK(r.src_addr.contains(ip("8.8.8.8")));
  CHECK_FALSE(r.src_addr.contains(ip("10.0.0.1")));

  r = header("!$EXTERNAL_NET", "any");
  CHECK(r.src_addr.contains(ip("10.0.0.1")));

  r = header("$HTTP_SERVERS", "$HTTP_PORTS");
  CHECK(r.src_addr.contains(ip("10.0.0.1")));
  CHECK(r.src_ports.contains(80));
  CHECK_FALSE(r.src_ports.contains(81));

  r = header("any", "$FILE_DATA_PORTS");
  CHECK(r.src_ports.contains(80));
  CHECK(r.src_ports.contains(110));
  CHECK(r.src_ports.contains(143));
  CHECK_FALSE(r.src_ports.contains(25));

  // As in suricata.yaml, AIM_SERVERS is the outside world.
  r = header("$AIM_SERVERS", "any");
  CHECK(r.src_addr.contains(ip("8.8.8.8")));
  CHECK_FALSE(r.src_addr.contains(ip("10.0.0.1")));
  for (const char* v : {"$SMTP_SERVERS", "$SQL_SERVERS", "$DNS_SERVERS", "$TELNET_SERVERS", "$DC_SERVERS",
                        "$DNP3_SERVER", "$DNP3_CLIENT", "$MODBUS_CLIENT", "$MODBUS_SERVER",
                        "$ENIP_CLIENT", "$ENIP_SERVER"}) {
    INFO(v);
    CHECK(header(v, "any").src_addr.contains(ip("192.168.0.1")));
  }
  for (const auto& [v, port] : std::vector<std::pair<const char*, uint16_t>>{
           {"$ORACLE_PORTS", 1521}, {"$SSH_PORTS", 22}, {"$DNP3_PORTS", 20000}, {"$MODBUS_PORTS", 502},
           {"$FTP_PORTS", 21}, {"$GENEVE_PORTS", 6081}, {"$VXLAN_PORTS", 4789}, {"$TEREDO_PORTS", 3544}}) {
    INFO(v);
    CHECK(header("any", v).src_ports.contains(port));
  }

  r = header("any", "$SHELLCODE_PORTS");
  CHECK_FALSE(r.src_ports.contains(80));
  CHECK(r.src_ports.contains(81));

  ParseContext ctx;
  ctx.vars.address_groups["A"] = "[$B,3.3.3.3]";
  ctx.vars.address_groups["B"] = "!$HOME_NET";
  r = header("$A", "any", ctx);
  CHECK(r.src_addr.contains(ip("3.3.3.3")));
  CHECK(r.src_addr.contains(ip("8.8.8.8")));
  CHECK_FALSE(r.src_addr.contains(ip("10.0.0.1")));

  ctx.vars.address_groups["LOOP"] = "$LOOP";
  vigil::rules::RuleError err;
  CHECK_FALSE(vigil::rules::parse_rule("alert ip $LOOP any -> any any (sid:1;)", ctx, "", 0, &err).ok());
}

TEST_CASE("header ports: ranges, open ranges, lists, negation", "[rules][parser][address]") {
  auto r = header("any", "1024:");
  CHECK(r.src_ports.contains(1024));
  CHECK(r.src_ports.contains(65535));
  CHECK_FALSE(r.src_ports.contains(1023));
  r = header("any", ":1023");
  CHECK(r.src_ports.contains(0));
  CHECK_FALSE(r.src_ports.contains(1024));
  r = header("any", "[80:90,!85,443]");
  CHECK(r.src_ports.contains(84));
  CHECK_FALSE(r.src_ports.contains(85));
  CHECK(r.src_ports.contains(443));
  CHECK_FALSE(r.src_ports.contains(444));
  r = header("any", "![1:1024,[2000,3000]]");
  CHECK_FALSE(r.src_ports.contains(80));
  CHECK_FALSE(r.src_ports.contains(3000));
  CHECK(r.src_ports.contains(2001));
  CHECK(r.src_ports.contains(0));
  r = header("any", "!$HTTP_PORTS");
  CHECK_FALSE(r.src_ports.contains(80));
}

TEST_CASE("bad addresses and ports are rejected with a reason", "[rules][parser][address]") {
  auto e = header_error("$NOPE", "any");
  CHECK(e.category == "undefined variable");
  CHECK(e.reason.find("$NOPE") != std::string::npos);
  CHECK(e.line == 7);
  CHECK(e.file == "t.rules");
  CHECK(header_error("any", "$NOPE_PORTS").category == "undefined variable");
  CHECK(header_error("!$NOPE", "any").category == "undefined variable");
  CHECK(header_error("300.1.1.1", "any").category == "syntax");
  CHECK(header_error("1.2.3.0/33", "any").category == "syntax");
  CHECK(header_error("[1.2.3.4,!1.2.3.4]", "any").category == "syntax");  // empty
  CHECK(header_error("[1.2.3.4", "any").category == "syntax");
  CHECK(header_error("any", "70000").category == "syntax");
  CHECK(header_error("any", "90:80").category == "syntax");
  CHECK(header_error("any", "!any").category == "syntax");
  CHECK(header_error("any", "[]").category == "syntax");
}
