// Private data structures of vigil_rules_hs: the per-rule compiled item lists, the literal
// searcher used for confirmation, and the layout of Scratch and CompiledRules.
//
// Everything here is built once in CompiledRules::build() and read-only afterwards, except
// Scratch::Impl, which belongs to one thread.
#pragma once

#include <hs/hs.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/rules/hs/matcher.h"

namespace vigil::rules::hs::detail {

// ASCII-only case folding, as Suricata does for nocase (no locale, no UTF-8).
struct FoldTable {
  std::array<uint8_t, 256> lower{};
  constexpr FoldTable() {
    for (int c = 0; c < 256; ++c) lower[c] = static_cast<uint8_t>((c >= 'A' && c <= 'Z') ? c + 32 : c);
  }
};
inline constexpr FoldTable kFold{};

inline bool has_ascii_letter(std::string_view s) {
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) return true;
  }
  return false;
}

// Finds a literal in a buffer. Case-sensitive literals (and caseless ones without letters,
// where case does not matter) go to glibc memmem, which is vectorised for short needles;
// caseless literals with letters use Boyer-Moore-Horspool with a skip table that already holds
// both cases, so the inner loop does one table lookup per shift. All tables are built at
// build() so a search never allocates.
class LiteralSearcher {
 public:
  void init(std::string_view pattern, bool nocase) {
    nocase_ = nocase && has_ascii_letter(pattern);
    pat_.assign(pattern);
    if (!nocase_) return;
    for (auto& c : pat_) c = static_cast<char>(kFold.lower[static_cast<uint8_t>(c)]);
    const size_t m = pat_.size();
    const uint16_t dflt = static_cast<uint16_t>(m > 0xffff ? 0xffff : m);
    skip_.fill(dflt);
    for (size_t i = 0; i + 1 < m; ++i) {
      const size_t shift = m - 1 - i;
      const uint16_t s = static_cast<uint16_t>(shift > 0xffff ? 0xffff : shift);
      const uint8_t c = static_cast<uint8_t>(pat_[i]);
      skip_[c] = s;
      if (c >= 'a' && c <= 'z') skip_[c - 32] = s;
    }
  }

  [[nodiscard]] size_t size() const { return pat_.size(); }

  // First occurrence of the literal in [hay, hay + n), or nullptr.
  [[nodiscard]] const uint8_t* find(const uint8_t* hay, size_t n) const {
    const size_t m = pat_.size();
    if (m == 0 || n < m) return nullptr;
    if (!nocase_) return static_cast<const uint8_t*>(memmem(hay, n, pat_.data(), m));
    const auto* p = reinterpret_cast<const uint8_t*>(pat_.data());
    const uint8_t last = p[m - 1];
    const auto& fold = kFold.lower;
    size_t i = 0;
    while (i <= n - m) {
      const uint8_t c = hay[i + m - 1];
      if (fold[c] == last) {
        size_t j = 0;
        while (j + 1 < m && fold[hay[i + j]] == p[j]) ++j;
        if (j + 1 >= m) return hay + i;
      }
      i += skip_[c];
    }
    return nullptr;
  }

 private:
  std::string pat_;  // folded to lower case when nocase_
  bool nocase_ = false;
  std::array<uint16_t, 256> skip_{};
};

struct PcreDeleter {
  void operator()(pcre2_code* c) const { pcre2_code_free(c); }
};

enum class ItemKind : uint8_t { Content, Pcre, IsDataAt };

// One content/pcre/isdataat with everything the inspection loop needs precomputed.
// Numbers are the rule's as written; `depth_end` is Suricata's internal depth (offset + depth).
struct CompiledItem {
  ItemKind kind = ItemKind::Content;
  bool negated = false;
  bool relative = false;      // content: distance or within; pcre: R; isdataat: relative
  bool has_distance = false;
  bool has_within = false;
  bool endswith = false;
  // Suricata's DETECT_CONTENT_WITHIN_NEXT / DETECT_PCRE_RELATIVE_NEXT: a later item depends on
  // where this one matched closely enough that trying this item's next occurrence can help.
  bool retry_next = false;
  // DETECT_CONTENT_IS_SINGLE: a negated match of this content can never be undone by another
  // occurrence of an earlier item, so a hit ends the inspection.
  bool single = false;
  int64_t offset = 0;
  int64_t depth_end = 0;  // 0 = no depth
  int64_t distance = 0;
  int64_t within = 0;
  int64_t dataat = 0;
  LiteralSearcher search;
  std::unique_ptr<pcre2_code, PcreDeleter> re;
};

struct CompiledBuffer {
  Buffer buffer = Buffer::Payload;
  std::vector<CompiledItem> items;
};

struct CompiledRule {
  bool ok = false;
  std::vector<CompiledBuffer> buffers;  // one per distinct buffer, rule order
  std::optional<FastPattern> fast_pattern;

  [[nodiscard]] const CompiledBuffer* find(Buffer b) const {
    for (const auto& cb : buffers) {
      if (cb.buffer == b) return &cb;
    }
    return nullptr;
  }
};

// One Hyperscan database and the pattern id -> rule indexes map (CSR layout: the rules of
// pattern p are rules[begin[p] .. begin[p + 1])).
struct BufferDatabase {
  hs_database_t* db = nullptr;
  std::vector<uint32_t> begin;
  std::vector<uint32_t> rules;
  ~BufferDatabase() { hs_free_database(db); }
  BufferDatabase() = default;
  BufferDatabase(const BufferDatabase&) = delete;
  BufferDatabase& operator=(const BufferDatabase&) = delete;
};

// Suricata's default inspection recursion limit (detect.inspection-recursion-limit).
inline constexpr uint32_t kInspectionRecursionLimit = 3000;
// Suricata's default pcre.match-limit and pcre.match-limit-recursion.
inline constexpr uint32_t kPcreMatchLimit = 3500;
inline constexpr uint32_t kPcreDepthLimit = 1500;

// Runs the recursive content inspection of one buffer's items (inspect.cpp).
bool inspect_items(const std::vector<CompiledItem>& items, const uint8_t* data, size_t len,
                   pcre2_match_data* md, pcre2_match_context* mctx);

// Suricata's PatternStrength(): diverse, non-alphabetic patterns score higher.
uint32_t pattern_strength(std::string_view pattern);
// Suricata's fast-pattern list priority for a buffer: lower is preferred.
int buffer_priority(Buffer b);

}  // namespace vigil::rules::hs::detail

namespace vigil::rules::hs {

struct Scratch::Impl {
  const void* owner = nullptr;  // the CompiledRules::Impl this scratch was made for
  hs_scratch_t* hs = nullptr;
  pcre2_match_data* md = nullptr;
  pcre2_match_context* mctx = nullptr;
  pcre2_jit_stack* jit_stack = nullptr;
  // Candidate de-duplication: stamp[i] == generation means rule i is already in this call's
  // output. Bumping the generation resets the set in O(1).
  std::vector<uint32_t> stamp;
  uint32_t generation = 0;

  ~Impl() {
    if (hs != nullptr) hs_free_scratch(hs);
    pcre2_match_data_free(md);
    pcre2_match_context_free(mctx);
    pcre2_jit_stack_free(jit_stack);
  }
};

struct CompiledRules::Impl {
  std::vector<Rule> rules;
  std::vector<detail::CompiledRule> compiled;
  std::vector<uint32_t> unfiltered;
  std::array<std::unique_ptr<detail::BufferDatabase>, kBufferCount> dbs;
};

}  // namespace vigil::rules::hs
