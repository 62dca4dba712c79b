// Indexes for rules that have no fast pattern, so that a packet only meets the few that could
// apply to it (Suricata's IP-only engine and port grouping, in small):
//
//   AddressIndex  rules by the more selective of their two address sets (reputation lists, IP-only
//                 rules): the IPv4 space is cut at every range boundary into segments, each listing
//                 the rules whose set covers it. Rules whose sets are both huge either stay in a
//                 plain list or are handed back to the caller; IPv6-capable rules stay in a list.
//   PortIndex     other rules by destination port (or source port when the destination is "any"),
//                 for the rules whose port sets are small.
//
// Both are built once and read-only afterwards.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "vigil/rules/rule.h"
#include "vigil/sensor/packet.h"

namespace vigil::sensor::detail {

class AddressIndex {
 public:
  // Indexes `ids`. With `keep_unselective`, rules no address narrows go to a list met by every
  // IPv4 packet; without it they are returned for the caller to index otherwise.
  std::vector<uint32_t> build(const std::vector<rules::Rule>& rules, const std::vector<uint32_t>& ids,
                              bool keep_unselective);
  // Appends rules that may match packet `p` (a superset; the caller checks them fully).
  void candidates(const Packet& p, std::vector<uint32_t>& out) const;
  // Rules met by every IPv4 packet (not indexable) and by IPv6 packets.
  [[nodiscard]] size_t generic_count() const { return generic_.size(); }
  [[nodiscard]] size_t v6_count() const { return v6_.size(); }

 private:
  struct Side {
    std::vector<uint32_t> seg_start;             // sorted segment starts (host order)
    std::vector<std::vector<uint32_t>> seg_rules;  // rules covering each segment
  };
  void add_to_side(Side& side, const std::vector<std::pair<uint32_t, uint32_t>>& ranges, uint32_t id);
  static void lookup(const Side& side, uint32_t addr, std::vector<uint32_t>& out);

  Side by_src_, by_dst_;
  std::vector<uint32_t> generic_;    // evaluated for every IPv4 packet
  std::vector<uint32_t> v6_;         // rules that can match IPv6 packets
};

class PortIndex {
 public:
  void build(const std::vector<rules::Rule>& rules, const std::vector<uint32_t>& ids);
  void candidates(const Packet& p, std::vector<uint32_t>& out) const;
  [[nodiscard]] size_t generic_count() const { return generic_.size(); }

 private:
  std::unordered_map<uint16_t, std::vector<uint32_t>> by_dport_, by_sport_;
  std::vector<uint32_t> generic_;
};

}  // namespace vigil::sensor::detail
