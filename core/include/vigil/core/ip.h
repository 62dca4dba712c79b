// IP addresses and CIDR blocks, IPv4 and IPv6 in one value type.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace vigil::core {

// An IPv4 or IPv6 address. IPv4 is stored as an IPv4-mapped IPv6 address (::ffff:a.b.c.d) so
// that comparisons and ranges work on one 16-byte representation.
class IpAddress {
 public:
  IpAddress() = default;

  static IpAddress v4(uint32_t host_order) {
    IpAddress a;
    a.bytes_[10] = 0xff;
    a.bytes_[11] = 0xff;
    a.bytes_[12] = static_cast<uint8_t>(host_order >> 24);
    a.bytes_[13] = static_cast<uint8_t>(host_order >> 16);
    a.bytes_[14] = static_cast<uint8_t>(host_order >> 8);
    a.bytes_[15] = static_cast<uint8_t>(host_order);
    a.is_v4_ = true;
    return a;
  }
  // From 4 network-order bytes.
  static IpAddress v4_bytes(const uint8_t* p) {
    return v4((uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3]);
  }
  // From 16 network-order bytes.
  static IpAddress v6_bytes(const uint8_t* p) {
    IpAddress a;
    std::memcpy(a.bytes_.data(), p, 16);
    a.is_v4_ = false;
    return a;
  }
  static std::optional<IpAddress> parse(std::string_view text);

  [[nodiscard]] bool is_v4() const { return is_v4_; }
  [[nodiscard]] const std::array<uint8_t, 16>& bytes() const { return bytes_; }
  [[nodiscard]] uint32_t v4_host_order() const {
    return (uint32_t{bytes_[12]} << 24) | (uint32_t{bytes_[13]} << 16) |
           (uint32_t{bytes_[14]} << 8) | bytes_[15];
  }
  // Dotted quad for IPv4; RFC 5952 text for IPv6 (as Suricata's EVE prints it).
  [[nodiscard]] std::string to_string() const;

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
  friend auto operator<=>(const IpAddress& a, const IpAddress& b) {
    if (auto c = a.is_v4_ <=> b.is_v4_; c != 0) return c;
    return a.bytes_ <=> b.bytes_;
  }

 private:
  std::array<uint8_t, 16> bytes_{};
  bool is_v4_ = false;
};

// A CIDR block: an address and a prefix length (0..32 for IPv4, 0..128 for IPv6).
struct Cidr {
  IpAddress base;  // already masked to the prefix
  int prefix = 0;

  static std::optional<Cidr> parse(std::string_view text);
  [[nodiscard]] bool contains(const IpAddress& a) const;
  [[nodiscard]] std::string to_string() const;
};

}  // namespace vigil::core
