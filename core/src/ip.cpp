#include "vigil/core/ip.h"

#include <arpa/inet.h>

#include <charconv>

namespace vigil::core {

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  std::string s(text);
  uint8_t buf[16];
  if (s.find(':') == std::string::npos) {
    if (inet_pton(AF_INET, s.c_str(), buf) == 1) return v4_bytes(buf);
    return std::nullopt;
  }
  if (inet_pton(AF_INET6, s.c_str(), buf) == 1) return v6_bytes(buf);
  return std::nullopt;
}

std::string IpAddress::to_string() const {
  char out[INET6_ADDRSTRLEN];
  if (is_v4_) {
    inet_ntop(AF_INET, bytes_.data() + 12, out, sizeof out);
  } else {
    inet_ntop(AF_INET6, bytes_.data(), out, sizeof out);
  }
  return out;
}

namespace {
IpAddress mask(const IpAddress& a, int prefix) {
  // prefix counts from the start of the 16-byte form.
  auto bytes = a.bytes();
  for (int i = 0; i < 16; ++i) {
    int bits = prefix - i * 8;
    if (bits >= 8) continue;
    bytes[i] = bits <= 0 ? 0 : static_cast<uint8_t>(bytes[i] & (0xff << (8 - bits)));
  }
  IpAddress m = a.is_v4() ? IpAddress::v4_bytes(bytes.data() + 12) : IpAddress::v6_bytes(bytes.data());
  return m;
}
int full_prefix(const Cidr& c) { return c.base.is_v4() ? c.prefix + 96 : c.prefix; }
}  // namespace

std::optional<Cidr> Cidr::parse(std::string_view text) {
  auto slash = text.find('/');
  auto addr = IpAddress::parse(text.substr(0, slash));
  if (!addr) return std::nullopt;
  int max = addr->is_v4() ? 32 : 128;
  int prefix = max;
  if (slash != std::string_view::npos) {
    auto p = text.substr(slash + 1);
    // Suricata also accepts a dotted netmask for IPv4 (a.b.c.d/255.255.255.0).
    if (addr->is_v4() && p.find('.') != std::string_view::npos) {
      auto m = IpAddress::parse(p);
      if (!m || !m->is_v4()) return std::nullopt;
      uint32_t v = m->v4_host_order();
      prefix = 0;
      while (prefix < 32 && (v & (0x80000000u >> prefix))) ++prefix;
      if ((v << prefix) != 0 && prefix < 32) return std::nullopt;  // non-contiguous mask
    } else {
      auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
      if (ec != std::errc() || ptr != p.data() + p.size() || prefix < 0 || prefix > max) {
        return std::nullopt;
      }
    }
  }
  Cidr c;
  c.prefix = prefix;
  c.base = mask(*addr, addr->is_v4() ? prefix + 96 : prefix);
  return c;
}

bool Cidr::contains(const IpAddress& a) const {
  if (a.is_v4() != base.is_v4()) return false;
  return mask(a, full_prefix(*this)) == base;
}

std::string Cidr::to_string() const { return base.to_string() + "/" + std::to_string(prefix); }

}  // namespace vigil::core
