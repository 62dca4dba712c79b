// Rule sets compiled for matching: one Hyperscan database per buffer kind, holding every rule's
// fast pattern for that buffer, plus the confirmation of a candidate rule against its full
// content/pcre/isdataat list for a buffer (Suricata's content inspection semantics).
//
// Threading: a CompiledRules is immutable after build() and may be shared by any number of
// threads. A Scratch belongs to exactly one thread at a time (it holds the Hyperscan scratch,
// PCRE2 match data and candidate de-duplication state).
//
// Errors: build() fails only for internal errors (Hyperscan out of memory, ...). A rule whose
// pattern Hyperscan or PCRE2 cannot compile is not fatal: it is reported in BuildReport and left
// out of `rules()` indexes (rule_ok(i) is false) so the rest of the set still works.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vigil/core/result.h"
#include "vigil/rules/parser.h"
#include "vigil/rules/rule.h"

namespace vigil::rules::hs {

struct BuildReport {
  std::vector<RuleError> rejected;  // rules that failed to compile (pcre syntax, ...)
  double compile_seconds = 0;
  size_t database_bytes = 0;  // total size of the Hyperscan databases
  size_t patterns = 0;        // distinct fast patterns
};

// The fast pattern chosen for a rule (Suricata's RetrieveFPForSig): an explicit fast_pattern
// content wins, otherwise the longest, then strongest, non-negated content of the
// highest-priority buffer.
struct FastPattern {
  Buffer buffer = Buffer::Payload;
  uint32_t buffer_match = 0;  // index into Rule::buffers
  uint32_t item = 0;          // index into Rule::buffers[buffer_match].items
  std::string bytes;          // the literal given to Hyperscan (after fast_pattern chop)
  bool caseless = false;
  bool explicit_choice = false;  // chosen by the rule's fast_pattern keyword
};

class CompiledRules;

// Per-thread matching state. Create one per worker thread from the CompiledRules it will scan.
class Scratch {
 public:
  ~Scratch();
  Scratch(Scratch&&) noexcept;
  Scratch& operator=(Scratch&&) noexcept;

 private:
  friend class CompiledRules;
  Scratch();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class CompiledRules {
 public:
  // Compiles `rules` (taken by value; indexes into rules() are stable). Rules that fail to
  // compile are reported in `report` and excluded from matching.
  static core::Result<std::unique_ptr<CompiledRules>> build(std::vector<Rule> rules,
                                                            BuildReport* report = nullptr);
  ~CompiledRules();

  [[nodiscard]] const std::vector<Rule>& rules() const;
  [[nodiscard]] bool rule_ok(uint32_t index) const;

  // The buffer whose database holds rule `index`'s fast pattern, or nullopt when the rule has no
  // usable fast pattern (no content, or only negated contents): such rules must be evaluated
  // without a prefilter.
  [[nodiscard]] std::optional<Buffer> prefilter_buffer(uint32_t index) const;

  // The fast pattern of rule `index`, or nullptr when it has none (see prefilter_buffer).
  [[nodiscard]] const FastPattern* fast_pattern(uint32_t index) const;

  // Indexes of rules without a prefilter, in load order.
  [[nodiscard]] const std::vector<uint32_t>& unfiltered_rules() const;

  // Creates a scratch for this rule set. Fails when Hyperscan cannot allocate.
  [[nodiscard]] core::Result<Scratch> make_scratch() const;

  // Scans `data` as buffer `b` and appends to `candidates` the index of every rule whose fast
  // pattern for `b` occurs in `data`, each at most once per call, in ascending index order.
  // Returns false only on a Hyperscan error (counted by the caller).
  bool scan(Scratch& scratch, Buffer b, std::span<const uint8_t> data,
            std::vector<uint32_t>& candidates) const;

  // Confirms rule `index`'s complete item list for buffer `b` against `data`, with Suricata's
  // semantics for offset/depth/distance/within/startswith/endswith/nocase, negation, pcre (with
  // /R relative matching) and isdataat, including the backtracking Suricata does when a later
  // relative item fails after an earlier item matched. Returns true when the rule has no items
  // for `b`.
  [[nodiscard]] bool inspect(Scratch& scratch, uint32_t index, Buffer b,
                             std::span<const uint8_t> data) const;

 private:
  CompiledRules();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::rules::hs
