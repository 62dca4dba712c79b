#include "rule_index.h"

#include <algorithm>

namespace vigil::sensor::detail {

namespace {

// Addresses covered by a set of inclusive IPv4 ranges (saturating).
uint64_t v4_size(const std::vector<std::pair<uint32_t, uint32_t>>& ranges) {
  uint64_t n = 0;
  for (const auto& r : ranges) n += uint64_t{r.second} - r.first + 1;
  return n;
}

uint64_t port_count(const rules::PortSet& p) {
  uint64_t n = 0;
  for (const auto& r : p.ranges()) n += uint64_t{r.second} - r.first + 1;
  return n;
}

// A side is worth indexing when it is smaller than a /8 and made of few ranges.
constexpr uint64_t kSelectiveAddresses = 1ull << 24;
constexpr size_t kMaxRanges = 4096;
constexpr uint64_t kMaxPorts = 64;

}  // namespace

std::vector<uint32_t> AddressIndex::build(const std::vector<rules::Rule>& rules,
                                          const std::vector<uint32_t>& ids, bool keep_unselective) {
  std::vector<uint32_t> rest;
  // Pass 1: choose a side per rule and collect segment boundaries per side.
  struct Choice {
    uint32_t id;
    int side;  // 0 src, 1 dst, -1 generic
  };
  std::vector<Choice> choices;
  std::vector<uint32_t> bounds[2];
  for (uint32_t id : ids) {
    const rules::Rule& r = rules[id];
    uint64_t s = v4_size(r.src_addr.v4()), d = v4_size(r.dst_addr.v4());
    bool selective = !r.bidirectional &&
                     ((s < kSelectiveAddresses && r.src_addr.v4().size() <= kMaxRanges) ||
                      (d < kSelectiveAddresses && r.dst_addr.v4().size() <= kMaxRanges));
    if (!selective && !keep_unselective) {
      rest.push_back(id);
      continue;
    }
    if (!r.src_addr.v6().empty() || !r.dst_addr.v6().empty()) v6_.push_back(id);
    if (r.src_addr.v4().empty() || r.dst_addr.v4().empty()) continue;  // never matches IPv4
    int side = -1;
    // A bidirectional rule matches either way round, so it cannot be indexed on one side.
    if (!r.bidirectional) {
      if (s <= d && s < kSelectiveAddresses && r.src_addr.v4().size() <= kMaxRanges) side = 0;
      else if (d < kSelectiveAddresses && r.dst_addr.v4().size() <= kMaxRanges) side = 1;
    }
    choices.push_back({id, side});
    if (side < 0) {
      generic_.push_back(id);
      continue;
    }
    const auto& ranges = side == 0 ? r.src_addr.v4() : r.dst_addr.v4();
    for (const auto& [lo, hi] : ranges) {
      bounds[side].push_back(lo);
      if (hi != UINT32_MAX) bounds[side].push_back(hi + 1);
    }
  }
  Side* sides[2] = {&by_src_, &by_dst_};
  for (int s = 0; s < 2; ++s) {
    auto& b = bounds[s];
    b.push_back(0);
    std::sort(b.begin(), b.end());
    b.erase(std::unique(b.begin(), b.end()), b.end());
    sides[s]->seg_start = b;
    sides[s]->seg_rules.assign(b.size(), {});
  }
  // Pass 2: list each rule in every segment its chosen side covers.
  for (const Choice& c : choices) {
    if (c.side < 0) continue;
    const rules::Rule& r = rules[c.id];
    add_to_side(*sides[c.side], c.side == 0 ? r.src_addr.v4() : r.dst_addr.v4(), c.id);
  }
  return rest;
}

void AddressIndex::add_to_side(Side& side, const std::vector<std::pair<uint32_t, uint32_t>>& ranges,
                              uint32_t id) {
  for (const auto& [lo, hi] : ranges) {
    auto first = std::lower_bound(side.seg_start.begin(), side.seg_start.end(), lo);
    for (auto it = first; it != side.seg_start.end() && *it <= hi; ++it) {
      side.seg_rules[static_cast<size_t>(it - side.seg_start.begin())].push_back(id);
      if (*it == UINT32_MAX) break;
    }
  }
}

void AddressIndex::lookup(const Side& side, uint32_t addr, std::vector<uint32_t>& out) {
  if (side.seg_start.empty()) return;
  auto it = std::upper_bound(side.seg_start.begin(), side.seg_start.end(), addr);
  size_t seg = static_cast<size_t>(it - side.seg_start.begin()) - 1;
  const auto& rules = side.seg_rules[seg];
  out.insert(out.end(), rules.begin(), rules.end());
}

void AddressIndex::candidates(const Packet& p, std::vector<uint32_t>& out) const {
  if (p.ip_version == 6) {
    out.insert(out.end(), v6_.begin(), v6_.end());
    return;
  }
  out.insert(out.end(), generic_.begin(), generic_.end());
  lookup(by_src_, p.src.v4_host_order(), out);
  lookup(by_dst_, p.dst.v4_host_order(), out);
}

void PortIndex::build(const std::vector<rules::Rule>& rules, const std::vector<uint32_t>& ids) {
  for (uint32_t id : ids) {
    const rules::Rule& r = rules[id];
    auto add_ports = [&](const rules::PortSet& ports, auto& map) {
      for (const auto& [lo, hi] : ports.ranges()) {
        for (uint32_t port = lo; port <= hi; ++port) map[static_cast<uint16_t>(port)].push_back(id);
      }
    };
    if (!r.bidirectional && !r.dst_ports.is_any() && port_count(r.dst_ports) <= kMaxPorts) {
      add_ports(r.dst_ports, by_dport_);
    } else if (!r.bidirectional && !r.src_ports.is_any() && port_count(r.src_ports) <= kMaxPorts) {
      add_ports(r.src_ports, by_sport_);
    } else {
      generic_.push_back(id);
    }
  }
}

void PortIndex::candidates(const Packet& p, std::vector<uint32_t>& out) const {
  out.insert(out.end(), generic_.begin(), generic_.end());
  bool ports = p.has_l4 && (p.proto == 6 || p.proto == 17 || p.proto == 132);
  if (!ports) return;
  if (auto it = by_dport_.find(p.dport); it != by_dport_.end()) {
    out.insert(out.end(), it->second.begin(), it->second.end());
  }
  if (auto it = by_sport_.find(p.sport); it != by_sport_.end()) {
    out.insert(out.end(), it->second.begin(), it->second.end());
  }
}

}  // namespace vigil::sensor::detail
