// CompiledRules: per-rule compilation (items, pcre), fast pattern databases, scan and inspect.
#include <algorithm>
#include <chrono>
#include <map>
#include <tuple>

#include "fast_pattern.h"
#include "internal.h"

namespace vigil::rules::hs {

using detail::CompiledBuffer;
using detail::CompiledItem;
using detail::CompiledRule;
using detail::ItemKind;

Scratch::Scratch() = default;
Scratch::~Scratch() = default;
Scratch::Scratch(Scratch&&) noexcept = default;
Scratch& Scratch::operator=(Scratch&&) noexcept = default;

CompiledRules::CompiledRules() : impl_(std::make_unique<Impl>()) {}
CompiledRules::~CompiledRules() = default;

namespace {

RuleError make_rule_error(const Rule& r, std::string keyword, std::string reason,
                          std::string category) {
  RuleError e;
  e.file = r.file;
  e.line = r.line;
  e.sid = r.sid;
  e.keyword = std::move(keyword);
  e.reason = std::move(reason);
  e.category = std::move(category);
  return e;
}

uint32_t pcre_options(const Pcre& p) {
  uint32_t o = 0;
  if (p.caseless) o |= PCRE2_CASELESS;
  if (p.multiline) o |= PCRE2_MULTILINE;
  if (p.dotall) o |= PCRE2_DOTALL;
  if (p.extended) o |= PCRE2_EXTENDED;
  if (p.anchored) o |= PCRE2_ANCHORED;
  if (p.dollar_endonly) o |= PCRE2_DOLLAR_ENDONLY;
  if (p.ungreedy) o |= PCRE2_UNGREEDY;
  return o;
}

// Compiles one item. Returns false (and fills `error`) when the rule cannot be used.
bool compile_item(const Rule& rule, const BufferItem& item, CompiledItem& out, RuleError& error) {
  if (const auto* c = std::get_if<Content>(&item)) {
    const auto len = static_cast<int64_t>(c->bytes.size());
    if (len == 0) {
      error = make_rule_error(rule, "content", "empty content", "invalid content");
      return false;
    }
    if (c->within && *c->within < len) {
      // Suricata rejects this too: the content cannot fit in the window, so it never matches.
      error = make_rule_error(rule, "within",
                              "within " + std::to_string(*c->within) +
                                  " is less than the content length " + std::to_string(len),
                              "invalid within");
      return false;
    }
    if (c->depth && *c->depth < len) {
      error = make_rule_error(rule, "depth",
                              "depth " + std::to_string(*c->depth) +
                                  " is less than the content length " + std::to_string(len),
                              "invalid depth");
      return false;
    }
    if (c->fast_pattern_chop &&
        (c->fast_pattern_chop->second == 0 ||
         size_t{c->fast_pattern_chop->first} + c->fast_pattern_chop->second > c->bytes.size())) {
      error = make_rule_error(rule, "fast_pattern", "fast_pattern offset,length exceeds the content",
                              "invalid fast_pattern");
      return false;
    }
    out.kind = ItemKind::Content;
    out.negated = c->negated;
    out.has_distance = c->distance.has_value();
    out.has_within = c->within.has_value();
    out.relative = out.has_distance || out.has_within;
    out.distance = c->distance.value_or(0);
    out.within = c->within.value_or(0);
    out.endswith = c->endswith;
    // Rule values are as written: depth counts from offset. Suricata stores offset + depth.
    out.offset = c->offset.value_or(0);
    out.depth_end = c->depth ? out.offset + *c->depth : 0;
    if (c->startswith) {
      out.offset = 0;
      out.depth_end = len;
    }
    out.single = !(out.relative || c->depth || c->offset || c->startswith);
    out.search.init(c->bytes, c->nocase);
    return true;
  }
  if (const auto* p = std::get_if<Pcre>(&item)) {
    int err = 0;
    PCRE2_SIZE err_off = 0;
    pcre2_code* re = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(p->pattern.data()),
                                   p->pattern.size(), pcre_options(*p), &err, &err_off, nullptr);
    if (re == nullptr) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(err, msg, sizeof(msg));
      error = make_rule_error(rule, "pcre",
                              "pcre \"" + p->pattern + "\" does not compile at offset " +
                                  std::to_string(err_off) + ": " +
                                  reinterpret_cast<const char*>(msg),
                              "invalid pcre");
      return false;
    }
    // JIT is a speed-up, not a requirement: without it the interpreter gives the same answers.
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    out.kind = ItemKind::Pcre;
    out.re.reset(re);
    out.negated = p->negated;
    out.relative = p->relative;
    return true;
  }
  const auto& d = std::get<IsDataAt>(item);
  out.kind = ItemKind::IsDataAt;
  out.negated = d.negated;
  out.relative = d.relative;
  out.dataat = d.offset;
  return true;
}

// Marks which items a later relative item depends on (Suricata's *_RELATIVE_NEXT flags, set by
// the within/distance/pcre R/isdataat relative keywords on the previous content or pcre).
void link_relative_items(std::vector<CompiledItem>& items) {
  for (size_t j = 0; j < items.size(); ++j) {
    const CompiledItem& it = items[j];
    if (!it.relative) continue;
    // The anchor is the closest earlier content or pcre; isdataat does not move it.
    size_t p = j;
    while (p > 0 && items[p - 1].kind == ItemKind::IsDataAt) --p;
    if (p == 0) continue;
    --p;
    CompiledItem& prev = items[p];
    prev.single = false;
    if (prev.kind == ItemKind::Pcre) {
      prev.retry_next = true;
    } else {
      // A non-negated distance-only content cannot gain from an earlier item's later
      // occurrence (its window only shrinks), so Suricata (detect-distance.c) sets only
      // DISTANCE_NEXT for it; within, negated contents, pcre R and isdataat relative set
      // WITHIN_NEXT too, which allows the retry.
      const bool distance_only = it.kind == ItemKind::Content && !it.has_within && !it.negated;
      if (!distance_only) prev.retry_next = true;
    }
  }
}

bool compile_rule(const Rule& rule, CompiledRule& out, RuleError& error) {
  for (const auto& bm : rule.buffers) {
    CompiledBuffer* cb = nullptr;
    for (auto& existing : out.buffers) {
      if (existing.buffer == bm.buffer) cb = &existing;
    }
    if (cb == nullptr) {
      cb = &out.buffers.emplace_back();
      cb->buffer = bm.buffer;
    }
    for (const auto& item : bm.items) {
      CompiledItem ci;
      if (!compile_item(rule, item, ci, error)) return false;
      cb->items.push_back(std::move(ci));
    }
  }
  for (auto& cb : out.buffers) link_relative_items(cb.items);
  out.fast_pattern = detail::select_fast_pattern(rule);
  out.ok = true;
  return true;
}

struct PatternKey {
  std::string bytes;  // folded when caseless, so "ABC"/nocase and "abc"/nocase share an id
  bool caseless;
  bool operator<(const PatternKey& o) const {
    return std::tie(caseless, bytes) < std::tie(o.caseless, o.bytes);
  }
};

std::string hs_error_text(const char* what, hs_error_t rc) {
  return std::string(what) + " failed (Hyperscan error " + std::to_string(rc) + ")";
}

struct ScanContext {
  const detail::BufferDatabase* db;
  uint32_t* stamp;  // Scratch::Impl::stamp
  uint32_t generation;
  std::vector<uint32_t>* out;
};

int on_hs_match(unsigned id, unsigned long long /*from*/, unsigned long long /*to*/,
                unsigned /*flags*/, void* ctx_ptr) {
  auto* ctx = static_cast<ScanContext*>(ctx_ptr);
  const auto& db = *ctx->db;
  uint32_t* stamp = ctx->stamp;
  const uint32_t gen = ctx->generation;
  for (uint32_t k = db.begin[id]; k < db.begin[id + 1]; ++k) {
    const uint32_t rule = db.rules[k];
    if (stamp[rule] != gen) {
      stamp[rule] = gen;
      ctx->out->push_back(rule);
    }
  }
  return 0;
}

}  // namespace

core::Result<std::unique_ptr<CompiledRules>> CompiledRules::build(std::vector<Rule> rules,
                                                                  BuildReport* report) {
  const auto t0 = std::chrono::steady_clock::now();
  BuildReport local;
  BuildReport& rep = report != nullptr ? *report : local;
  rep = BuildReport{};

  if (hs_valid_platform() != HS_SUCCESS) {
    return core::make_error("this CPU lacks the instructions Hyperscan needs (SSSE3)");
  }
  if (rules.size() >= UINT32_MAX) return core::make_error("too many rules");

  std::unique_ptr<CompiledRules> cr(new CompiledRules());
  Impl& im = *cr->impl_;
  im.rules = std::move(rules);
  im.compiled.resize(im.rules.size());

  for (size_t i = 0; i < im.rules.size(); ++i) {
    RuleError err;
    CompiledRule cr_rule;
    if (compile_rule(im.rules[i], cr_rule, err)) {
      im.compiled[i] = std::move(cr_rule);
    } else {
      rep.rejected.push_back(std::move(err));
    }
  }

  // Group fast patterns per buffer, de-duplicated, each with the rules that chose it.
  std::array<std::map<PatternKey, std::vector<uint32_t>>, kBufferCount> groups;
  for (uint32_t i = 0; i < im.compiled.size(); ++i) {
    const auto& c = im.compiled[i];
    if (!c.ok || !c.fast_pattern) continue;
    PatternKey key{c.fast_pattern->bytes, c.fast_pattern->caseless};
    if (key.caseless) {
      for (auto& ch : key.bytes) ch = static_cast<char>(detail::kFold.lower[static_cast<uint8_t>(ch)]);
    }
    groups[static_cast<size_t>(c.fast_pattern->buffer)][std::move(key)].push_back(i);
  }

  for (int b = 0; b < kBufferCount; ++b) {
    auto& group = groups[b];
    while (!group.empty()) {
      std::vector<const char*> exprs;
      std::vector<size_t> lens;
      std::vector<unsigned> flags, ids;
      std::vector<const std::vector<uint32_t>*> rule_lists;
      for (const auto& [key, rule_list] : group) {
        ids.push_back(static_cast<unsigned>(exprs.size()));
        exprs.push_back(key.bytes.data());
        lens.push_back(key.bytes.size());
        // SINGLEMATCH: a prefilter only needs to know a pattern occurred, not every place.
        flags.push_back(HS_FLAG_SINGLEMATCH | (key.caseless ? HS_FLAG_CASELESS : 0U));
        rule_lists.push_back(&rule_list);
      }
      hs_database_t* db = nullptr;
      hs_compile_error_t* cerr = nullptr;
      const hs_error_t rc =
          hs_compile_lit_multi(exprs.data(), flags.data(), ids.data(), lens.data(),
                               static_cast<unsigned>(exprs.size()), HS_MODE_BLOCK, nullptr, &db, &cerr);
      if (rc != HS_SUCCESS) {
        const int bad = cerr != nullptr ? cerr->expression : -1;
        const std::string msg = cerr != nullptr && cerr->message != nullptr ? cerr->message : "";
        hs_free_compile_error(cerr);
        if (bad < 0 || static_cast<size_t>(bad) >= exprs.size()) {
          return core::make_error("Hyperscan compile of the fast patterns failed: " + msg);
        }
        // One literal Hyperscan refuses: reject the rules using it and compile the rest.
        auto it = group.begin();
        std::advance(it, bad);
        for (uint32_t r : it->second) {
          im.compiled[r].ok = false;
          rep.rejected.push_back(make_rule_error(im.rules[r], "content",
                                                 "fast pattern rejected by Hyperscan: " + msg,
                                                 "hyperscan"));
        }
        group.erase(it);
        continue;
      }
      auto bdb = std::make_unique<detail::BufferDatabase>();
      bdb->db = db;
      bdb->begin.reserve(rule_lists.size() + 1);
      for (const auto* list : rule_lists) {
        bdb->begin.push_back(static_cast<uint32_t>(bdb->rules.size()));
        bdb->rules.insert(bdb->rules.end(), list->begin(), list->end());
      }
      bdb->begin.push_back(static_cast<uint32_t>(bdb->rules.size()));
      size_t db_size = 0;
      if (hs_database_size(db, &db_size) != HS_SUCCESS) {
        return core::make_error("hs_database_size failed");
      }
      rep.database_bytes += db_size;
      rep.patterns += rule_lists.size();
      im.dbs[b] = std::move(bdb);
      break;
    }
  }

  for (uint32_t i = 0; i < im.compiled.size(); ++i) {
    if (im.compiled[i].ok && !im.compiled[i].fast_pattern) im.unfiltered.push_back(i);
  }
  rep.compile_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return cr;
}

const std::vector<Rule>& CompiledRules::rules() const { return impl_->rules; }

bool CompiledRules::rule_ok(uint32_t index) const {
  return index < impl_->compiled.size() && impl_->compiled[index].ok;
}

std::optional<Buffer> CompiledRules::prefilter_buffer(uint32_t index) const {
  const FastPattern* fp = fast_pattern(index);
  if (fp == nullptr) return std::nullopt;
  return fp->buffer;
}

const FastPattern* CompiledRules::fast_pattern(uint32_t index) const {
  if (!rule_ok(index)) return nullptr;
  const auto& fp = impl_->compiled[index].fast_pattern;
  return fp ? &*fp : nullptr;
}

const std::vector<uint32_t>& CompiledRules::unfiltered_rules() const { return impl_->unfiltered; }

core::Result<Scratch> CompiledRules::make_scratch() const {
  Scratch s;
  s.impl_ = std::make_unique<Scratch::Impl>();
  Scratch::Impl& si = *s.impl_;
  si.owner = impl_.get();
  for (const auto& db : impl_->dbs) {
    if (!db) continue;
    // One scratch grown to fit every database of the set.
    const hs_error_t rc = hs_alloc_scratch(db->db, &si.hs);
    if (rc != HS_SUCCESS) return core::make_error(hs_error_text("hs_alloc_scratch", rc));
  }
  // One ovector pair is enough: only the overall match bounds are used.
  si.md = pcre2_match_data_create(1, nullptr);
  si.mctx = pcre2_match_context_create(nullptr);
  si.jit_stack = pcre2_jit_stack_create(32 * 1024, 512 * 1024, nullptr);
  if (si.md == nullptr || si.mctx == nullptr || si.jit_stack == nullptr) {
    return core::make_error("PCRE2 match state allocation failed");
  }
  pcre2_jit_stack_assign(si.mctx, nullptr, si.jit_stack);
  pcre2_set_match_limit(si.mctx, detail::kPcreMatchLimit);
  pcre2_set_depth_limit(si.mctx, detail::kPcreDepthLimit);
  si.stamp.assign(impl_->rules.size(), 0);
  si.generation = 0;
  return s;
}

bool CompiledRules::scan(Scratch& scratch, Buffer b, std::span<const uint8_t> data,
                         std::vector<uint32_t>& candidates) const {
  const auto bi = static_cast<size_t>(b);
  if (bi >= impl_->dbs.size()) return false;
  const detail::BufferDatabase* db = impl_->dbs[bi].get();
  if (db == nullptr || data.empty()) return true;
  Scratch::Impl* si = scratch.impl_.get();
  if (si == nullptr || si->owner != impl_.get()) return false;  // scratch of another rule set

  if (++si->generation == 0) {
    // Wrapped after 2^32 calls: old stamps could collide with the new generation.
    std::fill(si->stamp.begin(), si->stamp.end(), 0);
    si->generation = 1;
  }
  const size_t first = candidates.size();
  ScanContext ctx{db, si->stamp.data(), si->generation, &candidates};
  if (data.size() > UINT32_MAX) return false;  // hs_scan takes an unsigned length
  const hs_error_t rc = hs_scan(db->db, reinterpret_cast<const char*>(data.data()),
                                static_cast<unsigned>(data.size()), 0, si->hs, on_hs_match, &ctx);
  if (rc != HS_SUCCESS) {
    candidates.resize(first);
    return false;
  }
  std::sort(candidates.begin() + static_cast<std::ptrdiff_t>(first), candidates.end());
  return true;
}

bool CompiledRules::inspect(Scratch& scratch, uint32_t index, Buffer b,
                            std::span<const uint8_t> data) const {
  if (!rule_ok(index)) return false;
  const detail::CompiledBuffer* cb = impl_->compiled[index].find(b);
  if (cb == nullptr) return true;
  Scratch::Impl* si = scratch.impl_.get();
  if (si == nullptr || si->owner != impl_.get()) return false;
  return detail::inspect_items(cb->items, data.data(), data.size(), si->md, si->mctx);
}

}  // namespace vigil::rules::hs
