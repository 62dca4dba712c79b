// The classification scanner: one Hyperscan block-mode database for every detector of the
// pack, run over each flow direction's in-order bytes with a tail carried between calls, so a
// match split across segments is found once and its surroundings (digit boundaries, context
// words, the layout of a stamp) can be checked.
//
// Offsets: every direction is a byte stream; `consumed` counts what scan() was given, the tail is
// its last kTail bytes, and `considered` is the stream offset up to which match ends were
// decided. A scan looks at tail + new bytes, decides the matches that end after `considered` and
// at least kGuard bytes before the buffer's end (the rest waits for more bytes or finish()).
#include <algorithm>
#include <array>
#include <ctime>
#include <fstream>
#include <sstream>

#include <hs/hs.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "classify_internal.h"
#include "vigil/sensor/classify.h"

namespace vigil::sensor::classify {

namespace {

// Widest match a pattern may have, bytes before a match searched (context window, stamp labels)
// and bytes needed after it: the tail must hold all of it.
constexpr size_t kMaxMatch = 64;
constexpr size_t kGuard = 48;
constexpr size_t kLabelLookback = 48;
constexpr size_t kTail = kGuard + kMaxMatch + kMaxContextWindow + kLabelLookback;
// Candidates kept per scan: a megabyte of digit groups must not turn into a million validations.
constexpr size_t kMaxCandidates = 4096;

bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
bool is_alpha(uint8_t c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
uint8_t lower(uint8_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(lower(static_cast<uint8_t>(c)));
  return out;
}

// `hay` ends with `needle` (ASCII case-insensitively).
bool ends_with_ci(std::string_view hay, std::string_view needle) {
  if (hay.size() < needle.size()) return false;
  hay = hay.substr(hay.size() - needle.size());
  for (size_t i = 0; i < needle.size(); ++i) {
    if (lower(static_cast<uint8_t>(hay[i])) != lower(static_cast<uint8_t>(needle[i]))) return false;
  }
  return true;
}

std::string hs_error_text(const char* what, hs_error_t rc) { return std::string(what) + " failed (" + std::to_string(rc) + ")"; }

int year_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm.tm_year + 1900;
}

}  // namespace

struct Classifier::Impl {
  hs_database_t* db = nullptr;
  std::vector<ValidatorKind> kinds;
  std::vector<std::vector<std::string>> context;  // lowercased ASCII
  int year = 0;
  ~Impl() { hs_free_database(db); }
};

Classifier::~Classifier() = default;

core::Result<std::unique_ptr<Classifier>> Classifier::create(Pack pack, ClassifierConfig config) {
  if (config.key.size() < 16) return core::make_error("the classification HMAC key must have at least 16 bytes");
  if (pack.detectors.empty()) return core::make_error("the pack has no detectors", pack.name);
  std::unique_ptr<Classifier> c(new Classifier());
  c->impl_ = std::make_unique<Impl>();
  Impl& im = *c->impl_;
  im.year = config.current_year ? config.current_year : year_now();
  std::vector<const char*> exprs;
  std::vector<unsigned> flags, ids;
  for (size_t i = 0; i < pack.detectors.size(); ++i) {
    const DetectorSpec& d = pack.detectors[i];
    auto kind = validator_kind(d.validator);
    if (!kind) return core::make_error("unknown validator '" + d.validator + "'", pack.name + ": " + d.id);
    im.kinds.push_back(*kind);
    std::vector<std::string> words;
    for (const auto& w : d.context) words.push_back(lower_ascii(w));
    im.context.push_back(std::move(words));
    exprs.push_back(d.pattern.c_str());
    flags.push_back(HS_FLAG_SOM_LEFTMOST);
    ids.push_back(static_cast<unsigned>(i));
    // Bounded width, so that the tail carried between segments always holds a whole match.
    hs_expr_info_t* info = nullptr;
    hs_compile_error_t* err = nullptr;
    if (hs_expression_info(d.pattern.c_str(), HS_FLAG_SOM_LEFTMOST, &info, &err) != HS_SUCCESS) {
      std::string msg = err ? err->message : "unknown error";
      hs_free_compile_error(err);
      return core::make_error("pattern does not compile: " + msg, pack.name + ": detector " + d.id);
    }
    const unsigned max_width = info->max_width;
    free(info);
    if (max_width > kMaxMatch) {
      return core::make_error("pattern may match more than " + std::to_string(kMaxMatch) + " bytes",
                              pack.name + ": detector " + d.id);
    }
  }
  hs_compile_error_t* err = nullptr;
  hs_error_t rc = hs_compile_multi(exprs.data(), flags.data(), ids.data(), static_cast<unsigned>(exprs.size()),
                                   HS_MODE_BLOCK, nullptr, &im.db, &err);
  if (rc != HS_SUCCESS) {
    std::string where = pack.name;
    if (err && err->expression >= 0) where += ": detector " + pack.detectors[err->expression].id;
    std::string msg = err ? err->message : hs_error_text("hs_compile_multi", rc);
    hs_free_compile_error(err);
    return core::make_error("pattern does not compile: " + msg, where);
  }
  c->pack_ = std::move(pack);
  c->config_ = std::move(config);
  return c;
}

std::string Classifier::keyed_hash(std::string_view v) const {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), config_.key.data(), static_cast<int>(config_.key.size()),
       reinterpret_cast<const unsigned char*>(v.data()), v.size(), out, &len);
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  hex.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    hex.push_back(kHex[out[i] >> 4]);
    hex.push_back(kHex[out[i] & 15]);
  }
  return hex;
}

const char* FlowClassification::pii() const { return sensitive ? "sensitive" : basic ? "basic" : "none"; }
const char* FlowClassification::secrecy() const { return secret ? "suspected-state-secret" : "none"; }
std::vector<std::string> FlowClassification::tags() const {
  std::vector<std::string> t;
  if (basic || sensitive) t.emplace_back("pii");
  if (sensitive) t.emplace_back("pii-sensitive");
  if (bulk) t.emplace_back("pii-bulk");
  if (secret) t.emplace_back("state-secret-stamp");
  return t;
}

nlohmann::ordered_json Classifier::to_json(const FlowClassification& fc) const {
  nlohmann::ordered_json j;
  j["pii"] = fc.pii();
  j["secrecy"] = fc.secrecy();
  j["tags"] = fc.tags();
  j["bulk"] = fc.bulk;
  j["distinct_identifiers"] = fc.distinct_identifiers;
  j["pack"] = pack_.name;
  auto& dets = j["detectors"] = nlohmann::ordered_json::array();
  for (const auto& [idx, st] : fc.detectors) {
    const DetectorSpec& d = pack_.detectors[idx];
    nlohmann::ordered_json o;
    o["id"] = d.id;
    o["label"] = to_string(d.label);
    if (!d.grade.empty()) o["grade"] = d.grade;
    o["count"] = st.count;
    o["with_context"] = st.with_context;
    if (d.label != Label::kStateSecret) {
      o["distinct"] = st.distinct;
      auto& vals = o["values"] = nlohmann::ordered_json::array();
      for (const auto& [hash, v] : st.values) {
        vals.push_back({{"masked", v.masked}, {"hmac_sha256", hash}, {"count", v.count}});
      }
      o["values_truncated"] = st.distinct > st.values.size();
    }
    dets.push_back(std::move(o));
  }
  return j;
}

core::Result<std::vector<uint8_t>> load_key_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::make_error("cannot read the classification key file", path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  std::string trimmed = s;
  while (!trimmed.empty() && (trimmed.back() == '\n' || trimmed.back() == '\r' || trimmed.back() == ' ')) trimmed.pop_back();
  auto hexval = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (trimmed.size() == 64) {
    std::vector<uint8_t> key;
    for (size_t i = 0; i < 64; i += 2) {
      int hi = hexval(trimmed[i]), lo = hexval(trimmed[i + 1]);
      if (hi < 0 || lo < 0) {
        key.clear();
        break;
      }
      key.push_back(static_cast<uint8_t>(hi * 16 + lo));
    }
    if (key.size() == 32) return key;
  }
  if (s.size() < 16) return core::make_error("the key must be 64 hex characters or at least 16 bytes", path);
  return std::vector<uint8_t>(s.begin(), s.end());
}

// ---------------------------------------------------------------------------------------------

namespace {
struct Candidate {
  uint32_t id;
  uint32_t from, to;
};

struct MatchSink {
  std::vector<Candidate>* out;
  size_t base;  // offset of the scanned bytes in the buffer
};

int on_match(unsigned id, unsigned long long from, unsigned long long to, unsigned, void* ctx) {
  auto* sink = static_cast<MatchSink*>(ctx);
  if (sink->out->size() >= kMaxCandidates) return 1;  // stop the scan: counted by the caller
  sink->out->push_back({id, static_cast<uint32_t>(sink->base + from), static_cast<uint32_t>(sink->base + to)});
  return 0;
}

// A context word within `window` bytes before the match or a third of it after.
bool context_near(std::string_view buf, size_t s, size_t e, const std::vector<std::string>& words, size_t window) {
  const size_t lo = s > window ? s - window : 0;
  const size_t hi = std::min(buf.size(), e + window / 3);
  std::string before = lower_ascii(buf.substr(lo, s - lo));
  std::string after = lower_ascii(buf.substr(e, hi - e));
  for (const auto& w : words) {
    for (const std::string* hay : {&before, &after}) {
      size_t at = 0;
      while ((at = hay->find(w, at)) != std::string::npos) {
        // Whole words only: "mst" in "amstrong" does not count.
        bool left_ok = at == 0 || !is_alpha(static_cast<uint8_t>((*hay)[at - 1]));
        size_t end = at + w.size();
        bool right_ok = end >= hay->size() || !is_alpha(static_cast<uint8_t>((*hay)[end]));
        if (left_ok && right_ok) return true;
        ++at;
      }
    }
  }
  return false;
}

// Digits glued to the candidate make it part of a longer number ("3.14159265358979",
// "12-001095012345-7"); letters glued to it make it part of a token. Commas are field
// separators (CSV), not part of numbers.
bool isolated_number(std::string_view buf, size_t s, size_t e) {
  auto at = [&](size_t i) { return static_cast<uint8_t>(buf[i]); };
  if (s > 0) {
    uint8_t b = at(s - 1);
    if (is_digit(b) || is_alpha(b) || b == '+' || b == '_') return false;
    if ((b == '.' || b == '-') && s > 1 && is_digit(at(s - 2))) return false;
  }
  if (e < buf.size()) {
    uint8_t a = at(e);
    if (is_digit(a) || is_alpha(a) || a == '_') return false;
    if ((a == '.' || a == '-') && e + 1 < buf.size() && is_digit(at(e + 1))) return false;
  }
  return true;
}

bool stamp_pad(uint8_t c) { return c == ' ' || c == '\t' || c == '"' || c == '\'' || c == '*' || c == '|'; }

// A stamp stands alone: on its own line (or in its own HTML element / JSON line), optionally
// after a "Độ mật:" label. The right side may end the document only when the direction ended.
bool stamp_layout(std::string_view buf, size_t s, size_t e, bool stream_start, bool final) {
  auto at = [&](size_t i) { return static_cast<uint8_t>(buf[i]); };
  size_t i = s;
  size_t pad = 0;
  while (i > 0 && (stamp_pad(at(i - 1)) || at(i - 1) == '[' || at(i - 1) == '(') && pad < 16) --i, ++pad;
  bool left = false;
  if (i == 0) {
    left = stream_start;
  } else {
    uint8_t b = at(i - 1);
    if (b == '\n' || b == '\r' || b == '>' || b == '\f') left = true;
    else if (i >= 2 && at(i - 2) == '\\' && (b == 'n' || b == 'r')) left = true;  // "\n" in JSON text
    else if (b == ':') {
      std::string_view before = buf.substr(0, i - 1);
      while (!before.empty() && (before.back() == ' ' || before.back() == '\t')) before.remove_suffix(1);
      for (std::string_view label : {"\xC4\x90\xE1\xBB\x98 M\xE1\xBA\xAC" "T", "\xC4\x90\xE1\xBB\x99 m\xE1\xBA\xAD" "t",
                                     "\xC4\x91\xE1\xBB\x99 m\xE1\xBA\xAD" "t", "do mat"}) {
        if (ends_with_ci(before, label)) {
          left = true;
          break;
        }
      }
    }
  }
  if (!left) return false;
  size_t j = e;
  pad = 0;
  while (j < buf.size() && (stamp_pad(at(j)) || at(j) == ']' || at(j) == ')') && pad < 16) ++j, ++pad;
  if (j >= buf.size()) return final;
  uint8_t a = at(j);
  if (a == '\n' || a == '\r' || a == '<' || a == '\f') return true;
  return a == '\\' && j + 1 < buf.size() && (at(j + 1) == 'n' || at(j + 1) == 'r');
}

}  // namespace

// Where a detector can match in buf[from..]: every identifier lies in a run of digits and
// " .-+" separators holding at least 7 digits (plus at most 3 letters before it: passport, BHYT),
// and every stamp has an "M" with a "T" 1-5 bytes after it ("MAT", "M\xE1\xBA\xACT", the legacy
// and decomposed forms), "TUYỆT " up to 24 bytes before. The windows around those places, merged,
// are what Hyperscan scans; a match is always inside one.
void trigger_windows(std::string_view buf, size_t from, std::vector<std::pair<size_t, size_t>>& out) {
  out.clear();
  const size_t n = buf.size();
  auto add = [&](size_t a, size_t b) {
    a = std::max(a, from);
    b = std::min(b, n);
    if (a >= b) return;
    if (!out.empty() && a <= out.back().second) out.back().second = std::max(out.back().second, b);
    else out.emplace_back(a, b);
  };
  size_t run_start = from, digits = 0;
  for (size_t i = from; i < n; ++i) {
    const auto c = static_cast<uint8_t>(buf[i]);
    if (is_digit(c)) {
      if (digits == 0 && (i == from || !(buf[i - 1] == ' ' || buf[i - 1] == '.' || buf[i - 1] == '-' || buf[i - 1] == '+'))) run_start = i;
      ++digits;
      continue;
    }
    if (c == ' ' || c == '.' || c == '-' || c == '+') {
      if (digits == 0) run_start = i;
      continue;
    }
    if (digits >= 7) add(run_start >= 4 ? run_start - 4 : 0, i + 2);
    digits = 0;
    if (c == 'M') {
      for (size_t k = i + 2; k <= i + 6 && k < n; ++k) {
        if (buf[k] == 'T') {
          add(i >= 24 ? i - 24 : 0, k + 2);
          break;
        }
      }
    }
  }
  if (digits >= 7) add(run_start >= 4 ? run_start - 4 : 0, n);
}

struct ClassifyThread::Impl {
  std::vector<std::pair<size_t, size_t>> windows;
  hs_scratch_t* scratch = nullptr;
  std::string buf;
  std::vector<Candidate> cands;
  ~Impl() { hs_free_scratch(scratch); }
};

ClassifyThread::~ClassifyThread() = default;

core::Result<std::unique_ptr<ClassifyThread>> ClassifyThread::create(const Classifier& c) {
  std::unique_ptr<ClassifyThread> t(new ClassifyThread());
  t->c_ = &c;
  t->impl_ = std::make_unique<Impl>();
  hs_error_t rc = hs_alloc_scratch(c.impl().db, &t->impl_->scratch);
  if (rc != HS_SUCCESS) return core::make_error(hs_error_text("hs_alloc_scratch", rc));
  t->impl_->buf.reserve(64 * 1024);
  t->impl_->cands.reserve(256);
  return t;
}

bool ClassifyThread::confirm(std::string_view buf, uint32_t id, size_t from, size_t to, bool stream_start,
                             bool final, std::string& normalized, bool& ctx) const {
  const Classifier::Impl& ci = c_->impl();
  const DetectorSpec& d = c_->pack().detectors[id];
  const ValidatorKind kind = ci.kinds[id];
  const std::string_view text = buf.substr(from, to - from);
  bool ok = false;
  normalized.clear();
  ctx = false;
  switch (kind) {
    case ValidatorKind::kPersonalId: ok = validate::personal_id(text, ci.year, normalized); break;
    case ValidatorKind::kOldId: ok = validate::old_id(text, normalized); break;
    case ValidatorKind::kMobile: ok = validate::mobile(text, normalized); break;
    case ValidatorKind::kTaxCode: ok = validate::tax_code(text, normalized); break;
    case ValidatorKind::kSocialInsurance: ok = validate::social_insurance(text, normalized); break;
    case ValidatorKind::kHealthInsurance: ok = validate::health_insurance(text, normalized); break;
    case ValidatorKind::kPaymentCard: ok = validate::payment_card(text, normalized); break;
    case ValidatorKind::kPassport: ok = validate::passport(text, normalized); break;
    case ValidatorKind::kStamp:
      ok = stamp_layout(buf, from, to, stream_start, final);
      normalized = d.grade;
      break;
  }
  if (ok && kind != ValidatorKind::kStamp) ok = isolated_number(buf, from, to);
  if (ok && d.context_mode != ContextMode::kNone) {
    ctx = context_near(buf, from, to, ci.context[id], c_->pack().context_window);
    if (d.context_mode == ContextMode::kRequired && !ctx) ok = false;
  }
  return ok;
}

size_t ClassifyThread::redact(std::string& text) {
  if (text.empty()) return 0;
  auto& cands = impl_->cands;
  cands.clear();
  MatchSink sink{&cands, 0};
  hs_error_t rc = hs_scan(c_->impl().db, text.data(), static_cast<unsigned>(text.size()), 0, impl_->scratch,
                          on_match, &sink);
  if (rc != HS_SUCCESS && rc != HS_SCAN_TERMINATED) {
    ++counters_.scan_errors;
    return 0;
  }
  // Confirmed identifiers, replaced from the right so that earlier offsets stay valid; of
  // overlapping candidates the first confirmed (leftmost start, longest) wins.
  std::vector<std::pair<size_t, size_t>> spans;
  std::vector<std::string> masks;
  std::string normalized;
  std::sort(cands.begin(), cands.end(), [](const Candidate& a, const Candidate& b) {
    return a.from != b.from ? a.from < b.from : a.to > b.to;
  });
  size_t covered = 0;
  for (const Candidate& m : cands) {
    if (c_->impl().kinds[m.id] == ValidatorKind::kStamp || m.from < covered) continue;
    bool ctx = false;
    if (!confirm(text, m.id, m.from, m.to, true, true, normalized, ctx)) continue;
    spans.emplace_back(m.from, m.to);
    masks.push_back(mask(normalized));
    covered = m.to;
  }
  for (size_t i = spans.size(); i-- > 0;) text.replace(spans[i].first, spans[i].second - spans[i].first, masks[i]);
  counters_.redacted += spans.size();
  return spans.size();
}

void ClassifyThread::run(FlowClassification& fc, int dir, std::string_view buf, uint64_t buf_offset,
                         bool stream_start, bool final) {
  const Classifier::Impl& ci = c_->impl();
  auto& cands = impl_->cands;
  cands.clear();
  uint64_t& considered = fc.considered[dir];
  // Matches ending at or before `considered` were decided: Hyperscan needs to see only the bytes
  // a later match can start at (the tail before them serves context and boundary checks).
  size_t scan_from = 0;
  if (considered > buf_offset + kMaxMatch + 1) scan_from = std::min<uint64_t>(buf.size(), considered - buf_offset - kMaxMatch - 1);
  // Hyperscan runs only over windows around places where a detector can match (see
  // trigger_windows): most text has none, and digit-class patterns scan slowly.
  auto& windows = impl_->windows;
  trigger_windows(buf, scan_from, windows);
  for (const auto& [wfrom, wto] : windows) {
    counters_.bytes += wto - wfrom;
    MatchSink sink{&cands, wfrom};
    hs_error_t rc = hs_scan(ci.db, buf.data() + wfrom, static_cast<unsigned>(wto - wfrom), 0, impl_->scratch,
                            on_match, &sink);
    if (rc == HS_SCAN_TERMINATED) {
      ++counters_.scan_errors;  // candidate cap reached: the rest is not looked at
      break;
    }
    if (rc != HS_SUCCESS) ++counters_.scan_errors;
  }
  const uint64_t limit = final ? buf.size() : (buf.size() > kGuard ? buf.size() - kGuard : 0);
  const Pack& pack = c_->pack();
  const ClassifierConfig& cfg = c_->config();
  std::string normalized;
  for (const Candidate& m : cands) {
    const uint64_t abs_end = buf_offset + m.to;
    if (abs_end <= considered || m.to > limit) continue;
    ++counters_.candidates;
    const DetectorSpec& d = pack.detectors[m.id];
    const ValidatorKind kind = ci.kinds[m.id];
    bool ctx = false;
    const bool ok = confirm(buf, m.id, m.from, m.to, stream_start, final, normalized, ctx);
    if (!ok) {
      ++counters_.rejected;
      continue;
    }
    ++counters_.confirmed;
    DetectorStats& st = fc.detectors[m.id];
    ++st.count;
    if (ctx) ++st.with_context;
    std::string key = kind == ValidatorKind::kStamp ? normalized : c_->keyed_hash(normalized);
    auto it = st.values.find(key);
    if (it != st.values.end()) {
      ++it->second.count;
    } else {
      ++st.distinct;
      if (st.values.size() < cfg.max_values) {
        st.values.emplace(std::move(key), ValueStats{kind == ValidatorKind::kStamp ? normalized : mask(normalized), 1});
      }
      if (d.label != Label::kStateSecret) ++fc.distinct_identifiers;
    }
    switch (d.label) {
      case Label::kPiiBasic: fc.basic = true; break;
      case Label::kPiiSensitive: fc.sensitive = true; break;
      case Label::kStateSecret: fc.secret = true; break;
    }
    if (fc.distinct_identifiers >= cfg.bulk_threshold) fc.bulk = fc.sensitive = true;
  }
  considered = std::max(considered, buf_offset + limit);
}

namespace {
// Binary blocks (compressed or encrypted data, images, archives) cannot hold a cleartext
// identifier or stamp, and scanning them is most of the cost on real traffic: a block is text
// when at most 1 byte in 32 of its start is a control character other than tab, CR, LF and FF
// (random bytes have about 1 in 8).
// Only the first kTextSample bytes of a block are looked at: enough to tell text from binary.
constexpr size_t kTextBlock = 1024;
constexpr size_t kTextSample = 256;
constexpr auto kControl = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = 1;
  t['\t'] = t['\n'] = t['\r'] = t['\f'] = 0;
  t[0x7f] = 1;
  return t;
}();
bool text_block(std::span<const uint8_t> b) {
  const size_t n = std::min(b.size(), kTextSample);
  unsigned ctrl = 0;
  for (size_t i = 0; i < n; ++i) ctrl += kControl[b[i]];
  return ctrl * 32 <= n;
}
}  // namespace

void ClassifyThread::scan(FlowClassification& fc, int dir, std::span<const uint8_t> data) {
  size_t i = 0;
  while (i < data.size()) {
    const size_t start = i;
    while (i < data.size() && text_block(data.subspan(i, std::min(kTextBlock, data.size() - i)))) {
      i += std::min(kTextBlock, data.size() - i);
    }
    if (i > start) scan_text(fc, dir, data.subspan(start, i - start));
    const size_t bin = i;
    while (i < data.size() && !text_block(data.subspan(i, std::min(kTextBlock, data.size() - i)))) {
      i += std::min(kTextBlock, data.size() - i);
    }
    if (i > bin) {
      // What waited at the end of the text before is decided now; the binary bytes are skipped.
      finish(fc, dir);
      fc.consumed[dir] += i - bin;
      counters_.bytes_skipped += i - bin;
    }
  }
}

void ClassifyThread::scan_text(FlowClassification& fc, int dir, std::span<const uint8_t> data) {
  if (data.empty()) return;
  std::string& buf = impl_->buf;
  std::string& tail = fc.tail[dir];
  buf.assign(tail);
  buf.append(reinterpret_cast<const char*>(data.data()), data.size());
  const uint64_t offset = fc.consumed[dir] - tail.size();
  run(fc, dir, buf, offset, offset == 0, false);
  fc.consumed[dir] += data.size();
  const size_t keep = std::min(buf.size(), kTail);
  tail.assign(buf, buf.size() - keep, keep);
}

void ClassifyThread::finish(FlowClassification& fc, int dir) {
  std::string& tail = fc.tail[dir];
  if (!tail.empty()) {
    const uint64_t offset = fc.consumed[dir] - tail.size();
    std::string buf = std::move(tail);
    run(fc, dir, buf, offset, offset == 0, true);
  }
  tail.clear();
}

void ClassifyThread::scan_datagram(FlowClassification& fc, int dir, std::span<const uint8_t> data) {
  if (data.empty()) return;
  if (!text_block(data)) {
    counters_.bytes_skipped += data.size();
    return;
  }
  // Datagrams are independent documents: decide everything, and keep the stream offsets as they were.
  const uint64_t saved = fc.considered[dir];
  fc.considered[dir] = 0;
  run(fc, dir, std::string_view(reinterpret_cast<const char*>(data.data()), data.size()), 0, true, true);
  fc.considered[dir] = saved;
}

}  // namespace vigil::sensor::classify
