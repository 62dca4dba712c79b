// Address and port sets from rule headers and variables ($HOME_NET, [1.2.3.0/24,!1.2.3.4], ...).
//
// Both are stored as sorted, disjoint, inclusive ranges so that negation, lists and nesting all
// reduce to set algebra at parse time and a lookup is a binary search at match time.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "vigil/core/ip.h"

namespace vigil::rules {

class AddressSet {
 public:
  using u128 = unsigned __int128;

  static AddressSet any();
  static AddressSet none() { return {}; }
  static AddressSet from_cidr(const core::Cidr& c);

  [[nodiscard]] bool contains(const core::IpAddress& a) const;
  [[nodiscard]] bool is_any() const;
  [[nodiscard]] bool empty() const { return v4_.empty() && v6_.empty(); }

  [[nodiscard]] AddressSet unite(const AddressSet& o) const;
  [[nodiscard]] AddressSet complement() const;
  [[nodiscard]] AddressSet intersect(const AddressSet& o) const {
    return complement().unite(o.complement()).complement();
  }

  // Inclusive ranges; IPv4 in host order.
  const std::vector<std::pair<uint32_t, uint32_t>>& v4() const { return v4_; }
  const std::vector<std::pair<u128, u128>>& v6() const { return v6_; }

 private:
  std::vector<std::pair<uint32_t, uint32_t>> v4_;
  std::vector<std::pair<u128, u128>> v6_;
};

class PortSet {
 public:
  static PortSet any() { PortSet p; p.ranges_ = {{0, 65535}}; return p; }
  static PortSet single(uint16_t port) { PortSet p; p.ranges_ = {{port, port}}; return p; }
  static PortSet range(uint16_t lo, uint16_t hi) { PortSet p; p.ranges_ = {{lo, hi}}; return p; }

  [[nodiscard]] bool contains(uint16_t port) const;
  [[nodiscard]] bool is_any() const { return ranges_.size() == 1 && ranges_[0] == std::pair<uint16_t, uint16_t>{0, 65535}; }
  [[nodiscard]] bool empty() const { return ranges_.empty(); }
  [[nodiscard]] PortSet unite(const PortSet& o) const;
  [[nodiscard]] PortSet complement() const;
  const std::vector<std::pair<uint16_t, uint16_t>>& ranges() const { return ranges_; }

 private:
  std::vector<std::pair<uint16_t, uint16_t>> ranges_;  // sorted, disjoint, inclusive
};

}  // namespace vigil::rules
