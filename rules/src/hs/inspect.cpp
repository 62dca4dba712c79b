// Content inspection of one buffer: Suricata's DetectEngineContentInspection() for the
// content, pcre and isdataat keywords.
//
// The walk is recursive over the item list. Each step returns Suricata's tri-state:
//   1  the rest of the list matched,
//   0  no match here, but an earlier item may retry at its next occurrence,
//  -1  no match and nothing earlier can change that (stop the whole inspection).
// `prev_end` is Suricata's det_ctx->buffer_offset: the end of the last content or pcre match,
// the anchor of every relative item. It is passed by value, so a failed branch cannot leak its
// anchor into a sibling.
#include "internal.h"

namespace vigil::rules::hs::detail {
namespace {

class Inspection {
 public:
  Inspection(const std::vector<CompiledItem>& items, const uint8_t* data, size_t len,
             pcre2_match_data* md, pcre2_match_context* mctx)
      : items_(items), data_(data), len_(static_cast<int64_t>(len)), md_(md), mctx_(mctx) {}

  int step(size_t i, int64_t prev_end) {
    // Bounded like Suricata, so a rule with many relative items on a hostile buffer cannot
    // take quadratic (or worse) time.
    if (++recursion_ == kInspectionRecursionLimit) return -1;
    const CompiledItem& it = items_[i];
    switch (it.kind) {
      case ItemKind::Content: return content(it, i, prev_end);
      case ItemKind::Pcre: return pcre(it, i, prev_end);
      case ItemKind::IsDataAt: return isdataat(it, i, prev_end);
    }
    return -1;
  }

 private:
  // The item matched without moving the anchor: continue with the next one, if any.
  int next(size_t i, int64_t prev_end) {
    if (i + 1 == items_.size()) return 1;
    return step(i + 1, prev_end);
  }

  int content(const CompiledItem& it, size_t i, int64_t prev_end) {
    const bool last = i + 1 == items_.size();
    const auto plen = static_cast<int64_t>(it.search.size());
    int64_t retry_from = 0;  // Suricata's prev_offset: where the next occurrence is searched
    for (;;) {
      int64_t end = len_;
      int64_t start = 0;
      if (it.relative) {
        start = prev_end;
        if (it.has_distance) {
          start = (it.distance < 0 && -it.distance > start) ? 0 : start + it.distance;
        }
        if (it.has_within) {
          const int64_t w = prev_end + it.within + it.distance;
          // A window ending before the buffer start is empty (Suricata's unsigned arithmetic
          // would wrap it to the whole buffer; no sane rule depends on that).
          if (end > w) end = w < 0 ? 0 : w;
        }
        if (it.depth_end != 0 && it.depth_end + prev_end < end) end = prev_end + it.depth_end;
        if (it.offset > start) start = it.offset;
      } else {
        if (it.depth_end != 0) end = it.depth_end;
        start = it.offset;
      }
      if (retry_from != 0) start = retry_from;
      if (end > len_) end = len_;

      if (start > end || end == 0) return it.negated ? next(i, prev_end) : 0;

      const int64_t window = end - start;
      const uint8_t* found = nullptr;
      if (it.endswith && !it.negated) {
        // Only an occurrence ending at the buffer end can match; test that one position instead
        // of walking every earlier occurrence.
        if (end == len_ && plen <= window &&
            it.search.find(data_ + len_ - plen, static_cast<size_t>(plen)) != nullptr) {
          found = data_ + len_ - plen;
        }
      } else if (it.endswith && end < len_) {
        found = nullptr;
      } else if (plen <= window) {
        found = it.search.find(data_ + start, static_cast<size_t>(window));
      }

      if (found == nullptr) {
        if (it.negated) return next(i, prev_end);
        // An absolute content that is absent stays absent whatever earlier items do.
        return it.relative ? 0 : -1;
      }

      const int64_t match_end = (found - data_) + plen;
      if (it.negated) {
        // Suricata compares the match end with the window length here (not the buffer length);
        // kept for identical verdicts.
        if (it.endswith && window != match_end) return next(i, prev_end);
        return it.single ? -1 : 0;
      }

      if (last) return 1;
      const int r = step(i + 1, match_end);
      if (r != 0) return r;
      // The next items failed. Only when one of them is tied to this match by `within` (or is a
      // pcre/isdataat relative to it) can a later occurrence of this content help.
      if (!it.retry_next) return -1;
      retry_from = match_end - plen + 1;
      if (it.endswith) return it.relative ? 0 : -1;  // the only candidate position was tried
    }
  }

  int pcre(const CompiledItem& it, size_t i, int64_t prev_end) {
    const int64_t base = it.relative ? prev_end : 0;
    if (base > len_) return 0;
    const uint8_t* subject = data_ + base;
    const auto subject_len = static_cast<PCRE2_SIZE>(len_ - base);
    PCRE2_SIZE start = 0;
    for (;;) {
      const int rc = pcre2_match(it.re.get(), subject, subject_len, start, 0, md_, mctx_);
      int64_t new_end = prev_end;
      int64_t next_start = 0;  // absolute; 0 when there is no occurrence to move past
      if (rc == PCRE2_ERROR_NOMATCH) {
        if (!it.negated) return 0;
      } else if (rc >= 0) {  // 0: ovector too small, but the match itself is valid
        if (it.negated) return 0;
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md_);
        new_end = base + static_cast<int64_t>(ov[1]);
        next_start = base + static_cast<int64_t>(ov[0]) + 1;
      } else {
        // Match limit hit or another runtime error: Suricata counts it as no match, negated
        // or not.
        return 0;
      }

      if (!it.retry_next || i + 1 == items_.size()) return next(i, new_end);
      const int r = step(i + 1, new_end);
      if (r != 0) return r;
      if (next_start == 0) return 0;  // negated pcre: no other occurrence to try
      start = static_cast<PCRE2_SIZE>(next_start - base);
    }
  }

  int isdataat(const CompiledItem& it, size_t i, int64_t prev_end) {
    bool has_data;
    if (it.relative) {
      has_data = prev_end + it.dataat <= len_;
    } else {
      has_data = it.dataat < len_;
    }
    if (has_data == !it.negated) return next(i, prev_end);
    // A relative negated isdataat can succeed after an earlier item moves; everything else
    // depends on the buffer length alone (relative: later occurrences only shrink the room).
    return (it.relative && it.negated) ? 0 : -1;
  }

  const std::vector<CompiledItem>& items_;
  const uint8_t* data_;
  int64_t len_;
  pcre2_match_data* md_;
  pcre2_match_context* mctx_;
  uint32_t recursion_ = 0;
};

}  // namespace

bool inspect_items(const std::vector<CompiledItem>& items, const uint8_t* data, size_t len,
                   pcre2_match_data* md, pcre2_match_context* mctx) {
  if (items.empty()) return true;
  // An empty span may carry a null pointer; the walk does pointer arithmetic on it.
  if (data == nullptr) {
    static const uint8_t kEmpty = 0;
    data = &kEmpty;
    len = 0;
  }
  Inspection ins(items, data, len, md, mctx);
  return ins.step(0, 0) == 1;
}

}  // namespace vigil::rules::hs::detail
