// Fast pattern selection, after Suricata's RetrieveFPForSig() (detect-engine-mpm.c).
#include "fast_pattern.h"

#include <cctype>

namespace vigil::rules::hs::detail {

uint32_t pattern_strength(std::string_view pattern) {
  // Same scoring as Suricata so both engines pick the same pattern: a byte seen for the first
  // time scores by how rare such bytes are in traffic, a repeated byte scores 1.
  std::array<bool, 256> seen{};
  uint32_t s = 0;
  for (unsigned char c : pattern) {
    if (seen[c]) {
      ++s;
      continue;
    }
    seen[c] = true;
    if (std::isalpha(c)) {
      s += 3;
    } else if (std::isprint(c) || c == 0x00 || c == 0x01 || c == 0xff) {
      s += 4;
    } else {
      s += 6;
    }
  }
  return s;
}

int buffer_priority(Buffer b) {
  // Suricata registers every app-layer buffer's mpm at priority 2 except the short, low-entropy
  // ones (method and status code at 4, status message at 3); the packet payload is 3. Lower wins.
  switch (b) {
    case Buffer::Payload: return 3;
    case Buffer::HttpStatMsg: return 3;
    case Buffer::HttpMethod: return 4;
    case Buffer::HttpStatCode: return 4;
    default: return 2;
  }
}

std::optional<FastPattern> select_fast_pattern(const Rule& rule) {
  auto make = [&](uint32_t bm, uint32_t item, bool explicit_choice) {
    const auto& c = std::get<Content>(rule.buffers[bm].items[item]);
    FastPattern fp;
    fp.buffer = rule.buffers[bm].buffer;
    fp.buffer_match = bm;
    fp.item = item;
    fp.caseless = c.nocase;
    fp.explicit_choice = explicit_choice;
    if (c.fast_pattern_chop && c.fast_pattern_chop->second > 0 &&
        size_t{c.fast_pattern_chop->first} + c.fast_pattern_chop->second <= c.bytes.size()) {
      fp.bytes = c.bytes.substr(c.fast_pattern_chop->first, c.fast_pattern_chop->second);
    } else {
      fp.bytes = c.bytes;
    }
    return fp;
  };

  // 1. An explicit fast_pattern wins. On a negated content it cannot filter anything (Suricata
  //    then evaluates the rule for every buffer), so the rule goes unfiltered.
  for (uint32_t bm = 0; bm < rule.buffers.size(); ++bm) {
    const auto& items = rule.buffers[bm].items;
    for (uint32_t i = 0; i < items.size(); ++i) {
      const auto* c = std::get_if<Content>(&items[i]);
      if (c == nullptr || !(c->fast_pattern || c->fast_pattern_only || c->fast_pattern_chop)) {
        continue;
      }
      if (c->negated || c->bytes.empty()) return std::nullopt;
      return make(bm, i, true);
    }
  }

  // 2. The highest-priority buffer class holding a non-negated content.
  int best_priority = 1 << 30;
  for (const auto& bmatch : rule.buffers) {
    for (const auto& item : bmatch.items) {
      const auto* c = std::get_if<Content>(&item);
      if (c != nullptr && !c->negated && !c->bytes.empty()) {
        best_priority = std::min(best_priority, buffer_priority(bmatch.buffer));
      }
    }
  }
  if (best_priority == 1 << 30) return std::nullopt;

  // 3. The longest content of that class; among equally long ones the strongest, the first on
  //    ties (a later one must be strictly stronger, as in Suricata's GetMpmForList).
  size_t max_len = 0;
  for (const auto& bmatch : rule.buffers) {
    if (buffer_priority(bmatch.buffer) != best_priority) continue;
    for (const auto& item : bmatch.items) {
      const auto* c = std::get_if<Content>(&item);
      if (c != nullptr && !c->negated) max_len = std::max(max_len, c->bytes.size());
    }
  }
  std::optional<std::pair<uint32_t, uint32_t>> best;
  uint32_t best_strength = 0;
  for (uint32_t bm = 0; bm < rule.buffers.size(); ++bm) {
    if (buffer_priority(rule.buffers[bm].buffer) != best_priority) continue;
    const auto& items = rule.buffers[bm].items;
    for (uint32_t i = 0; i < items.size(); ++i) {
      const auto* c = std::get_if<Content>(&items[i]);
      if (c == nullptr || c->negated || c->bytes.size() != max_len) continue;
      const uint32_t strength = pattern_strength(c->bytes);
      if (!best || strength > best_strength) {
        best = std::pair{bm, i};
        best_strength = strength;
      }
    }
  }
  if (!best) return std::nullopt;
  return make(best->first, best->second, false);
}

}  // namespace vigil::rules::hs::detail
