// AddressSet / PortSet: sorted, disjoint, inclusive range sets.
//
// Every operation keeps the invariant (sorted by start, no overlap, no adjacency) so equality of
// sets is equality of vectors and lookups are a binary search.
#include "vigil/rules/address.h"

#include <algorithm>
#include <limits>

namespace vigil::rules {
namespace {

template <typename T>
std::vector<std::pair<T, T>> merge_ranges(std::vector<std::pair<T, T>> v) {
  std::sort(v.begin(), v.end());
  std::vector<std::pair<T, T>> out;
  out.reserve(v.size());
  for (const auto& r : v) {
    // Adjacent ranges merge too ("hi + 1 == lo"), guarding the overflow at the type's maximum.
    if (!out.empty() && (r.first <= out.back().second ||
                         (out.back().second != std::numeric_limits<T>::max() &&
                          r.first == out.back().second + 1))) {
      out.back().second = std::max(out.back().second, r.second);
    } else {
      out.push_back(r);
    }
  }
  return out;
}

template <typename T>
std::vector<std::pair<T, T>> unite_ranges(const std::vector<std::pair<T, T>>& a,
                                          const std::vector<std::pair<T, T>>& b) {
  std::vector<std::pair<T, T>> v;
  v.reserve(a.size() + b.size());
  v.insert(v.end(), a.begin(), a.end());
  v.insert(v.end(), b.begin(), b.end());
  return merge_ranges(std::move(v));
}

template <typename T>
std::vector<std::pair<T, T>> complement_ranges(const std::vector<std::pair<T, T>>& a) {
  constexpr T kMax = std::numeric_limits<T>::max();
  std::vector<std::pair<T, T>> out;
  T next = 0;
  bool done = false;  // `next` wrapped past the maximum
  for (const auto& r : a) {
    if (r.first > next) out.emplace_back(next, static_cast<T>(r.first - 1));
    if (r.second == kMax) {
      done = true;
      break;
    }
    next = static_cast<T>(r.second + 1);
  }
  if (!done) out.emplace_back(next, kMax);
  return out;
}

template <typename T>
bool ranges_contain(const std::vector<std::pair<T, T>>& v, T x) {
  // First range whose start is > x; the candidate is the one before it.
  auto it = std::upper_bound(v.begin(), v.end(), x,
                             [](T val, const std::pair<T, T>& r) { return val < r.first; });
  if (it == v.begin()) return false;
  --it;
  return x <= it->second;
}

AddressSet::u128 to_u128(const std::array<uint8_t, 16>& b) {
  AddressSet::u128 v = 0;
  for (uint8_t byte : b) v = (v << 8) | byte;
  return v;
}

}  // namespace

AddressSet AddressSet::any() {
  AddressSet s;
  s.v4_ = {{0u, std::numeric_limits<uint32_t>::max()}};
  s.v6_ = {{u128{0}, ~u128{0}}};
  return s;
}

AddressSet AddressSet::from_cidr(const core::Cidr& c) {
  AddressSet s;
  if (c.base.is_v4()) {
    uint32_t lo = c.base.v4_host_order();
    uint32_t span = c.prefix >= 32 ? 0u : (c.prefix <= 0 ? ~0u : (~0u >> c.prefix));
    s.v4_ = {{lo, lo | span}};
  } else {
    u128 lo = to_u128(c.base.bytes());
    u128 span = c.prefix >= 128 ? u128{0} : (c.prefix <= 0 ? ~u128{0} : (~u128{0} >> c.prefix));
    s.v6_ = {{lo, lo | span}};
  }
  return s;
}

bool AddressSet::contains(const core::IpAddress& a) const {
  if (a.is_v4()) return ranges_contain(v4_, a.v4_host_order());
  return ranges_contain(v6_, to_u128(a.bytes()));
}

bool AddressSet::is_any() const {
  return v4_.size() == 1 && v4_[0].first == 0 && v4_[0].second == std::numeric_limits<uint32_t>::max() &&
         v6_.size() == 1 && v6_[0].first == 0 && v6_[0].second == ~u128{0};
}

AddressSet AddressSet::unite(const AddressSet& o) const {
  AddressSet s;
  s.v4_ = unite_ranges(v4_, o.v4_);
  s.v6_ = unite_ranges(v6_, o.v6_);
  return s;
}

AddressSet AddressSet::complement() const {
  AddressSet s;
  s.v4_ = complement_ranges(v4_);
  s.v6_ = complement_ranges(v6_);
  return s;
}

bool PortSet::contains(uint16_t port) const { return ranges_contain(ranges_, port); }

PortSet PortSet::unite(const PortSet& o) const {
  PortSet p;
  p.ranges_ = unite_ranges(ranges_, o.ranges_);
  return p;
}

PortSet PortSet::complement() const {
  PortSet p;
  p.ranges_ = complement_ranges(ranges_);
  return p;
}

}  // namespace vigil::rules
