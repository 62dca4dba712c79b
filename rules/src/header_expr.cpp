// Recursive-descent parsing of address/port expressions, plus Suricata's default variables.
//
// Semantics follow Suricata's detect-engine-address.c / detect-engine-port.c: a list is the
// union of its positive members minus the union of its negated members, and a list with only
// negated members starts from "any". A result that matches nothing is an error.
#include "header_expr.h"

#include <charconv>

#include "vigil/core/ip.h"

namespace vigil::rules {

Vars Vars::suricata_defaults() {
  Vars v;
  v.address_groups = {
      {"HOME_NET", "[192.168.0.0/16,10.0.0.0/8,172.16.0.0/12]"},
      {"EXTERNAL_NET", "!$HOME_NET"},
      {"HTTP_SERVERS", "$HOME_NET"},
      {"SMTP_SERVERS", "$HOME_NET"},
      {"SQL_SERVERS", "$HOME_NET"},
      {"DNS_SERVERS", "$HOME_NET"},
      {"TELNET_SERVERS", "$HOME_NET"},
      {"AIM_SERVERS", "$EXTERNAL_NET"},
      {"DC_SERVERS", "$HOME_NET"},
      {"DNP3_SERVER", "$HOME_NET"},
      {"DNP3_CLIENT", "$HOME_NET"},
      {"MODBUS_CLIENT", "$HOME_NET"},
      {"MODBUS_SERVER", "$HOME_NET"},
      {"ENIP_CLIENT", "$HOME_NET"},
      {"ENIP_SERVER", "$HOME_NET"},
  };
  v.port_groups = {
      {"HTTP_PORTS", "80"},
      {"SHELLCODE_PORTS", "!80"},
      {"ORACLE_PORTS", "1521"},
      {"SSH_PORTS", "22"},
      {"DNP3_PORTS", "20000"},
      {"MODBUS_PORTS", "502"},
      {"FILE_DATA_PORTS", "[$HTTP_PORTS,110,143]"},
      {"FTP_PORTS", "21"},
      {"GENEVE_PORTS", "6081"},
      {"VXLAN_PORTS", "4789"},
      {"TEREDO_PORTS", "3544"},
  };
  return v;
}

namespace detail {
namespace {

// Deep enough for any sane variable chain, small enough to stop "A = $B, B = $A" quickly.
constexpr int kMaxDepth = 16;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits the inside of "[...]" at top-level commas.
bool split_list(std::string_view inner, std::vector<std::string_view>& parts, ExprError& err) {
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i < inner.size(); ++i) {
    char c = inner[i];
    if (c == '[') {
      ++depth;
    } else if (c == ']') {
      if (--depth < 0) {
        err.reason = "unbalanced ']'";
        return false;
      }
    } else if (c == ',' && depth == 0) {
      parts.push_back(trim(inner.substr(start, i - start)));
      start = i + 1;
    }
  }
  if (depth != 0) {
    err.reason = "unbalanced '['";
    return false;
  }
  parts.push_back(trim(inner.substr(start)));
  for (auto p : parts) {
    if (p.empty()) {
      err.reason = "empty list element";
      return false;
    }
  }
  return true;
}

// Generic over the two set types: Traits supplies any(), none(), the atom parser and the
// variable table.
struct AddrTraits {
  using Set = AddressSet;
  static Set any() { return AddressSet::any(); }
  static Set none() { return AddressSet::none(); }
  static const std::map<std::string, std::string>& table(const Vars& v) { return v.address_groups; }
  static bool atom(std::string_view s, Set& out, ExprError& err) {
    // a.b.c.d-e.f.g.h ranges (Suricata accepts them for IPv4 and IPv6).
    if (auto dash = s.find('-'); dash != std::string_view::npos) {
      auto lo = core::IpAddress::parse(trim(s.substr(0, dash)));
      auto hi = core::IpAddress::parse(trim(s.substr(dash + 1)));
      if (!lo || !hi || lo->is_v4() != hi->is_v4() || *hi < *lo) {
        err.reason = "bad address range '" + std::string(s) + "'";
        return false;
      }
      // Build the range as the union of the two endpoint /32s plus everything between: the
      // complement trick keeps AddressSet's representation private.
      Set below_hi = lt(*hi, true);
      Set below_lo = lt(*lo, false);
      out = below_hi.intersect(below_lo.complement());
      return true;
    }
    auto c = core::Cidr::parse(s);
    if (!c) {
      err.reason = "bad address '" + std::string(s) + "'";
      return false;
    }
    out = AddressSet::from_cidr(*c);
    return true;
  }
  // All addresses of a's family that are < a (or <= a when inclusive), as a union of CIDRs.
  static Set lt(const core::IpAddress& a, bool inclusive) {
    Set s = none();
    const auto& b = a.bytes();
    const bool v4 = a.is_v4();
    const int first_bit = v4 ? 96 : 0;
    // For every 1 bit of a, the block that shares the prefix before it and has a 0 there is < a.
    for (int bit = first_bit; bit < 128; ++bit) {
      if ((b[bit / 8] >> (7 - bit % 8)) & 1) {
        std::array<uint8_t, 16> p = b;
        p[bit / 8] = static_cast<uint8_t>(p[bit / 8] & ~(1 << (7 - bit % 8)));
        core::Cidr c;
        c.base = v4 ? core::IpAddress::v4_bytes(p.data() + 12) : core::IpAddress::v6_bytes(p.data());
        c.prefix = bit + 1 - first_bit;
        auto parsed = core::Cidr::parse(c.base.to_string() + "/" + std::to_string(c.prefix));
        if (parsed) s = s.unite(AddressSet::from_cidr(*parsed));
      }
    }
    if (inclusive) {
      core::Cidr c;
      c.base = a;
      c.prefix = v4 ? 32 : 128;
      s = s.unite(AddressSet::from_cidr(c));
    }
    return s;
  }
};

struct PortTraits {
  using Set = PortSet;
  static Set any() { return PortSet::any(); }
  static Set none() { return PortSet::any().complement(); }
  static const std::map<std::string, std::string>& table(const Vars& v) { return v.port_groups; }
  static bool number(std::string_view s, uint16_t& out) {
    s = trim(s);
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v > 65535) return false;
    out = static_cast<uint16_t>(v);
    return true;
  }
  static bool atom(std::string_view s, Set& out, ExprError& err) {
    auto colon = s.find(':');
    uint16_t lo = 0;
    uint16_t hi = 65535;
    bool ok = true;
    if (colon == std::string_view::npos) {
      ok = number(s, lo);
      hi = lo;
    } else {
      auto a = trim(s.substr(0, colon));
      auto b = trim(s.substr(colon + 1));
      if (a.empty() && b.empty()) ok = false;
      if (!a.empty()) ok = ok && number(a, lo);
      if (!b.empty()) ok = ok && number(b, hi);
      ok = ok && lo <= hi;
    }
    if (!ok) {
      err.reason = "bad port '" + std::string(s) + "'";
      return false;
    }
    out = PortSet::range(lo, hi);
    return true;
  }
};

template <typename T>
bool parse_expr(std::string_view s, const Vars& vars, int depth, typename T::Set& out,
                ExprError& err);

template <typename T>
bool parse_list(std::string_view inner, const Vars& vars, int depth, typename T::Set& out,
                ExprError& err) {
  std::vector<std::string_view> parts;
  if (!split_list(inner, parts, err)) return false;
  typename T::Set pos = T::none();
  typename T::Set neg = T::none();
  bool have_pos = false;
  for (auto p : parts) {
    bool negated = false;
    while (!p.empty() && p.front() == '!') {
      negated = !negated;
      p = trim(p.substr(1));
    }
    typename T::Set v;
    if (!parse_expr<T>(p, vars, depth, v, err)) return false;
    if (negated) {
      neg = neg.unite(v);
    } else {
      pos = pos.unite(v);
      have_pos = true;
    }
  }
  if (!have_pos) pos = T::any();
  out = pos.unite(neg).complement().unite(neg).complement();  // pos minus neg
  return true;
}

template <typename T>
bool parse_expr(std::string_view s, const Vars& vars, int depth, typename T::Set& out,
                ExprError& err) {
  if (depth > kMaxDepth) {
    err.reason = "variables nested too deeply (a cycle?)";
    return false;
  }
  s = trim(s);
  if (s.empty()) {
    err.reason = "empty address or port";
    return false;
  }
  if (s.front() == '!') {
    typename T::Set v;
    if (!parse_expr<T>(s.substr(1), vars, depth, v, err)) return false;
    out = v.complement();
    return true;
  }
  if (s.front() == '[') {
    if (s.back() != ']') {
      err.reason = "unterminated list '" + std::string(s) + "'";
      return false;
    }
    return parse_list<T>(s.substr(1, s.size() - 2), vars, depth, out, err);
  }
  if (s == "any") {
    out = T::any();
    return true;
  }
  if (s.front() == '$') {
    const auto& table = T::table(vars);
    auto it = table.find(std::string(s.substr(1)));
    if (it == table.end()) {
      err.reason = "undefined variable " + std::string(s);
      err.undefined_var = true;
      return false;
    }
    return parse_expr<T>(it->second, vars, depth + 1, out, err);
  }
  return T::atom(s, out, err);
}

}  // namespace

bool parse_address(std::string_view text, const Vars& vars, AddressSet& out, ExprError& err) {
  if (!parse_expr<AddrTraits>(text, vars, 0, out, err)) return false;
  if (out.empty()) {
    err.reason = "address '" + std::string(text) + "' matches nothing";
    return false;
  }
  return true;
}

bool parse_ports(std::string_view text, const Vars& vars, PortSet& out, ExprError& err) {
  if (!parse_expr<PortTraits>(text, vars, 0, out, err)) return false;
  if (out.empty()) {
    err.reason = "port '" + std::string(text) + "' matches nothing";
    return false;
  }
  return true;
}

}  // namespace detail
}  // namespace vigil::rules
