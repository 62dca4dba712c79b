// fuzz_rules: the Suricata rule parser on arbitrary text, then the accepted rules (a few, with
// short patterns) compiled to Hyperscan databases and inspected against a fixed payload.
//
// Input: rule text, one rule per line (continuation lines and comments as in a rules file).
// Compilation is capped (kMaxCompiledRules rules, kMaxPatternBytes of content/pcre per rule) so
// one run stays in the millisecond range; the parser itself sees the whole input.
#include <span>
#include <string_view>
#include <variant>
#include <vector>

#include "fuzz_util.h"
#include "vigil/rules/hs/matcher.h"
#include "vigil/rules/parser.h"

namespace {

using namespace vigil::rules;

constexpr size_t kMaxCompiledRules = 8;
constexpr size_t kMaxPatternBytes = 256;

const ParseContext& context() {
  static const ParseContext ctx{};
  return ctx;
}

// Something every buffer kind can be asked to inspect: an HTTP request with some binary tail.
using namespace std::literals;
constexpr std::string_view kPayload =
    "GET /index.php?id=1%27%20OR%201=1 HTTP/1.1\r\nHost: www.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\nCookie: a=b; session=deadbeef\r\n"
    "Content-Length: 5\r\n\r\nhello\x00\x01\x02\xff\xfe\x7f\x80 ABCDEFGHabcdefgh 0123456789"sv;

size_t pattern_bytes(const Rule& r) {
  size_t n = 0;
  for (const auto& bm : r.buffers) {
    for (const auto& item : bm.items) {
      if (const auto* c = std::get_if<Content>(&item)) n += c->bytes.size();
      if (const auto* p = std::get_if<Pcre>(&item)) n += p->pattern.size();
    }
  }
  return n;
}

void compile_and_inspect(std::vector<Rule> rules) {
  hs::BuildReport report;
  auto compiled = hs::CompiledRules::build(std::move(rules), &report);
  if (!compiled) return;
  for (const auto& e : report.rejected) vigil::fuzz::consume(uint32_t(e.to_string().size()));
  const hs::CompiledRules& cr = **compiled;
  auto scratch = cr.make_scratch();
  if (!scratch) return;
  const std::span<const uint8_t> payload(reinterpret_cast<const uint8_t*>(kPayload.data()),
                                         kPayload.size());
  const auto owned = vigil::fuzz::own_copy(payload);
  std::vector<uint32_t> candidates;
  for (int b = 0; b < kBufferCount; ++b) {
    candidates.clear();
    vigil::fuzz::consume(cr.scan(*scratch, static_cast<Buffer>(b), owned, candidates) ? 1u : 0u);
    vigil::fuzz::consume(uint32_t(candidates.size()));
  }
  for (uint32_t i = 0; i < cr.rules().size(); ++i) {
    if (const auto* fp = cr.fast_pattern(i)) vigil::fuzz::consume(uint32_t(fp->bytes.size()));
    vigil::fuzz::consume(cr.prefilter_buffer(i).has_value() ? 1u : 0u);
    if (!cr.rule_ok(i)) continue;
    for (const auto& bm : cr.rules()[i].buffers) {
      vigil::fuzz::consume(cr.inspect(*scratch, i, bm.buffer, owned) ? 1u : 0u);
      vigil::fuzz::consume(cr.inspect(*scratch, i, bm.buffer, {}) ? 1u : 0u);
    }
  }
  for (uint32_t i : cr.unfiltered_rules()) vigil::fuzz::consume(i);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  RuleSet set = load_rules_from_string(text, context(), "<fuzz>");
  for (const auto& e : set.rejected) vigil::fuzz::consume(uint32_t(e.to_string().size()));
  for (const auto& [reason, n] : set.rejected_by_reason()) {
    vigil::fuzz::consume(uint32_t(reason.size() + n));
  }
  std::vector<Rule> small;
  for (auto& r : set.rules) {
    if (small.size() >= kMaxCompiledRules) break;
    if (pattern_bytes(r) > kMaxPatternBytes) continue;
    vigil::fuzz::consume(uint32_t(r.msg.size() + r.buffers.size() + r.sid));
    small.push_back(std::move(r));
  }
  if (!small.empty()) compile_and_inspect(std::move(small));
  return 0;
}
