// Per-direction reassembly buffer: in-order bytes, out-of-order segments, gaps, overlap policy.
#include <algorithm>
#include <cstring>

#include "vigil/sensor/stream.h"

namespace vigil::sensor {

namespace {
constexpr size_t kCompactBytes = 64 * 1024;
constexpr size_t kCompactSegs = 1024;
}  // namespace

std::optional<OverlapPolicy> parse_overlap_policy(std::string_view name) {
  struct Entry {
    std::string_view name;
    OverlapPolicy policy;
  };
  static constexpr Entry kEntries[] = {
      {"first", OverlapPolicy::kFirst},       {"last", OverlapPolicy::kLast},
      {"bsd", OverlapPolicy::kBsd},           {"bsd-right", OverlapPolicy::kFirst},
      {"linux", OverlapPolicy::kLinux},       {"old-linux", OverlapPolicy::kOldLinux},
      {"solaris", OverlapPolicy::kSolaris},   {"old-solaris", OverlapPolicy::kFirst},
      {"hpux10", OverlapPolicy::kHpux10},     {"hpux11", OverlapPolicy::kHpux11},
      {"irix", OverlapPolicy::kIrix},         {"macos", OverlapPolicy::kMacos},
      {"windows", OverlapPolicy::kWindows},   {"windows2k3", OverlapPolicy::kWindows2k3},
      {"vista", OverlapPolicy::kVista},
  };
  for (const auto& e : kEntries) {
    if (e.name == name) return e.policy;
  }
  return std::nullopt;
}

// Mirrors Suricata's DoHandleDataOverlap (stream-tcp-list.c) in IDS mode.
bool overlap_use_new(OverlapPolicy policy, uint64_t s, uint64_t e, uint64_t ls, uint64_t le) {
  using P = OverlapPolicy;
  if (policy == P::kLast) return true;
  if (s == ls) {
    if (e < le) return false;
    if (e > le && policy == P::kLinux) return true;
    return policy == P::kOldLinux || policy == P::kSolaris || policy == P::kHpux11;
  }
  if (s < ls) {
    if (e >= le && (policy == P::kSolaris || policy == P::kHpux11)) return true;
    switch (policy) {
      case P::kBsd:
      case P::kHpux10:
      case P::kIrix:
      case P::kWindows:
      case P::kWindows2k3:
      case P::kOldLinux:
      case P::kLinux:
      case P::kMacos:
        return true;
      default:
        return false;
    }
  }
  // New segment starts after the held one.
  return e > le && (policy == P::kSolaris || policy == P::kHpux11);
}

bool StreamConfig::add_host_policy(std::string_view policy_name, std::string_view address) {
  const auto pol = parse_overlap_policy(policy_name);
  if (!pol) return false;
  std::optional<core::Cidr> net;
  if (address.find('/') != std::string_view::npos) {
    net = core::Cidr::parse(address);
  } else if (auto ip = core::IpAddress::parse(address)) {
    net = core::Cidr{*ip, ip->is_v4() ? 32 : 128};
  }
  if (!net) return false;
  host_policies.push_back(HostOsPolicy{*net, *pol});
  return true;
}

OverlapPolicy StreamConfig::policy_for(const core::IpAddress& receiver) const {
  OverlapPolicy best = policy;
  int best_prefix = -1;
  for (const HostOsPolicy& h : host_policies) {
    if (h.net.prefix > best_prefix && h.net.base.is_v4() == receiver.is_v4() &&
        h.net.contains(receiver)) {
      best = h.policy;
      best_prefix = h.net.prefix;
    }
  }
  return best;
}

StreamBuffer::~StreamBuffer() {
  if (shared_) shared_->used -= held_;
}

void StreamBuffer::init(std::shared_ptr<StreamShared> shared) {
  shared_ = std::move(shared);
  policy_ = shared_->cfg.policy;
}

uint64_t StreamBuffer::held_bytes() const { return held_; }

bool StreamBuffer::charge(uint64_t n) {
  const uint64_t cap = shared_->cfg.memcap;
  if (cap != 0 && shared_->used + n > cap) {
    ++shared_->counters.memcap_drops;
    return false;
  }
  shared_->used += n;
  held_ += n;
  return true;
}

void StreamBuffer::uncharge(uint64_t n) {
  shared_->used -= n;
  held_ -= n;
}

size_t StreamBuffer::pos_of(uint64_t off) const {
  uint64_t skip = 0;
  for (const Gap& g : gaps_) {
    if (g.off >= off) break;
    skip += std::min(g.off + g.len, off) - g.off;
  }
  return head_ + static_cast<size_t>(off - base_off_ - skip);
}

StreamChunk StreamBuffer::chunk(uint64_t from) const {
  if (from < base_off_) from = base_off_;
  if (from >= contig_end_) return {};
  uint64_t end = contig_end_;
  for (const Gap& g : gaps_) {
    if (g.off + g.len <= from) continue;
    if (g.off <= from) return StreamChunk{{}, from, g.off + g.len - from};
    end = g.off;
    break;
  }
  const size_t p = pos_of(from);
  return StreamChunk{std::span<const uint8_t>(buf_.data() + p, static_cast<size_t>(end - from)),
                     from, 0};
}

bool StreamBuffer::copy(uint64_t from, std::span<uint8_t> out) const {
  if (from < base_off_) return false;
  size_t done = 0;
  while (done < out.size()) {
    const StreamChunk c = chunk(from + done);
    if (c.data.empty()) return false;
    const size_t n = std::min(out.size() - done, c.data.size());
    std::memcpy(out.data() + done, c.data.data(), n);
    done += n;
  }
  return true;
}

void StreamBuffer::append(uint64_t off, const uint8_t* data, uint64_t len, uint64_t seg_s,
                          uint64_t seg_e) {
  if (!charge(len)) return;
  buf_.insert(buf_.end(), data, data + len);
  segs_.push_back(SegRec{off, len});
  contig_end_ = off + len;
}

void StreamBuffer::promote() {
  size_t n = 0;
  while (n < ooo_.size() && ooo_[n].off == contig_end_) {
    OooSeg& o = ooo_[n];
    buf_.insert(buf_.end(), o.data.begin(), o.data.end());
    segs_.push_back(SegRec{o.off, o.data.size()});
    contig_end_ += o.data.size();
    ++n;
  }
  if (n) ooo_.erase(ooo_.begin(), ooo_.begin() + static_cast<std::ptrdiff_t>(n));
}

void StreamBuffer::overlap_contiguous(uint64_t s, uint64_t e, const uint8_t* data, uint64_t seg_s,
                                      uint64_t seg_e) {
  auto& c = shared_->counters;
  const OverlapPolicy policy = policy_;
  auto first = std::partition_point(segs_.begin() + static_cast<std::ptrdiff_t>(seg_head_),
                                    segs_.end(),
                                    [s](const SegRec& r) { return r.off + r.len <= s; });
  bool any = false, diff = false;
  for (auto it = first; it != segs_.end() && it->off < e; ++it) {
    const uint64_t os = std::max(s, it->off);
    const uint64_t oe = std::min(e, it->off + it->len);
    if (os >= oe) continue;
    any = true;
    uint8_t* held = buf_.data() + pos_of(os);
    const uint8_t* in = data + (os - s);
    const size_t n = static_cast<size_t>(oe - os);
    if (std::memcmp(held, in, n) == 0) continue;
    diff = true;
    if (overlap_use_new(policy, seg_s, seg_e, it->off, it->off + it->len)) {
      std::memcpy(held, in, n);
      rewritten_from_ = std::min(rewritten_from_, os);
      ++c.rewrites;
    }
  }
  if (any) {
    ++c.overlaps;
    ++(diff ? c.overlaps_different : c.overlaps_same);
  }
}

void StreamBuffer::insert_beyond(uint64_t s, uint64_t e, const uint8_t* data, uint64_t seg_s,
                                 uint64_t seg_e) {
  auto& c = shared_->counters;
  if (shared_->cfg.max_ooo_distance != 0 && s - contig_end_ > shared_->cfg.max_ooo_distance) {
    ++c.invalid;
    return;
  }
  // Fast path: in order, nothing held beyond.
  if (s == contig_end_ && (ooo_.empty() || ooo_.front().off >= e)) {
    append(s, data, e - s, seg_s, seg_e);
    promote();
    return;
  }
  // Resolve overlaps with held out-of-order segments, collecting the uncovered pieces.
  struct Piece {
    uint64_t s, e;
  };
  Piece inline_pieces[8];
  std::vector<Piece> more;
  size_t npieces = 0;
  auto add_piece = [&](uint64_t a, uint64_t b) {
    if (npieces < 8) inline_pieces[npieces] = Piece{a, b};
    else more.push_back(Piece{a, b});
    ++npieces;
  };
  const OverlapPolicy policy = policy_;
  bool any = false, diff = false;
  uint64_t cur = s;
  auto it = std::partition_point(ooo_.begin(), ooo_.end(), [s](const OooSeg& o) {
    return o.off + o.data.size() <= s;
  });
  for (; it != ooo_.end() && it->off < e; ++it) {
    const uint64_t oend = it->off + it->data.size();
    if (it->off > cur) add_piece(cur, it->off);
    const uint64_t os = std::max(cur, it->off);
    const uint64_t oe = std::min(e, oend);
    if (os < oe) {
      any = true;
      uint8_t* held = it->data.data() + (os - it->off);
      const uint8_t* in = data + (os - s);
      const size_t n = static_cast<size_t>(oe - os);
      if (std::memcmp(held, in, n) != 0) {
        diff = true;
        if (overlap_use_new(policy, seg_s, seg_e, it->off, oend)) std::memcpy(held, in, n);
      }
    }
    cur = std::max(cur, oe);
  }
  if (cur < e) add_piece(cur, e);
  if (any) {
    ++c.overlaps;
    ++(diff ? c.overlaps_different : c.overlaps_same);
  }
  bool stored_ooo = false;
  for (size_t i = 0; i < npieces; ++i) {
    const Piece pc = i < 8 ? inline_pieces[i] : more[i - 8];
    const uint8_t* pd = data + (pc.s - s);
    if (pc.s == contig_end_) {
      append(pc.s, pd, pc.e - pc.s, seg_s, seg_e);
      promote();
      continue;
    }
    if (!charge(pc.e - pc.s)) continue;
    auto pos = std::partition_point(ooo_.begin(), ooo_.end(),
                                    [&](const OooSeg& o) { return o.off < pc.s; });
    ooo_.insert(pos, OooSeg{pc.s, std::vector<uint8_t>(pd, pd + (pc.e - pc.s))});
    stored_ooo = true;
  }
  if (stored_ooo) ++c.out_of_order;
}

void StreamBuffer::insert(uint64_t off, const uint8_t* data, uint64_t len) {
  if (len == 0) return;
  const uint64_t seg_s = off, seg_e = off + len;
  uint64_t s = off, e = off + len;
  const uint64_t depth = shared_->cfg.reassembly_depth;
  if (depth != 0 && e > depth) {
    if (!depth_reached_) {
      depth_reached_ = true;
      ++shared_->counters.depth_reached;
    }
    if (s >= depth) return;
    e = depth;
  }
  if (e <= base_off_) return;  // already released: a retransmission of consumed data
  if (s < base_off_) {
    data += base_off_ - s;
    s = base_off_;
  }
  if (s < contig_end_) {
    const uint64_t ce = std::min(e, contig_end_);
    overlap_contiguous(s, ce, data, seg_s, seg_e);
    data += ce - s;
    s = ce;
  }
  if (s < e) insert_beyond(s, e, data, seg_s, seg_e);
}

void StreamBuffer::skip_holes_to(uint64_t off) {
  const uint64_t depth = shared_->cfg.reassembly_depth;
  if (depth != 0 && off > depth) off = depth;
  auto& c = shared_->counters;
  while (contig_end_ < off) {
    const uint64_t next = ooo_.empty() ? off : std::min(off, ooo_.front().off);
    if (next > contig_end_) {
      const uint64_t len = next - contig_end_;
      if (!gaps_.empty() && gaps_.back().off + gaps_.back().len == contig_end_) {
        gaps_.back().len += len;
      } else {
        gaps_.push_back(Gap{contig_end_, len});
      }
      ++gap_count_;
      ++c.gaps;
      c.gap_bytes += len;
      contig_end_ = next;
    }
    promote();
  }
}

void StreamBuffer::finish() {
  if (!ooo_.empty()) skip_holes_to(ooo_.back().off + ooo_.back().data.size());
  eof_ = true;
}

void StreamBuffer::consume(StreamConsumer c, uint64_t upto) {
  uint64_t& p = progress_[static_cast<size_t>(c)];
  if (upto > p) p = upto;
  const uint8_t mask = shared_->cfg.consumer_mask;
  uint64_t r = contig_end_;
  for (size_t i = 0; i < kStreamConsumers; ++i) {
    if (mask & (1u << i)) r = std::min(r, progress_[i]);
  }
  release(r);
}

void StreamBuffer::release(uint64_t upto) {
  if (upto > contig_end_) upto = contig_end_;
  if (upto <= base_off_) return;
  const size_t new_head = pos_of(upto);
  uncharge(new_head - head_);
  head_ = new_head;
  base_off_ = upto;
  size_t drop = 0;
  while (drop < gaps_.size() && gaps_[drop].off + gaps_[drop].len <= upto) ++drop;
  if (drop) gaps_.erase(gaps_.begin(), gaps_.begin() + static_cast<std::ptrdiff_t>(drop));
  if (!gaps_.empty() && gaps_.front().off < upto) {
    gaps_.front().len -= upto - gaps_.front().off;
    gaps_.front().off = upto;
  }
  while (seg_head_ < segs_.size() && segs_[seg_head_].off + segs_[seg_head_].len <= upto) {
    ++seg_head_;
  }
  if (seg_head_ == segs_.size()) {
    segs_.clear();
    seg_head_ = 0;
  } else if (seg_head_ >= kCompactSegs && seg_head_ * 2 >= segs_.size()) {
    segs_.erase(segs_.begin(), segs_.begin() + static_cast<std::ptrdiff_t>(seg_head_));
    seg_head_ = 0;
  }
  if (head_ == buf_.size()) {
    buf_.clear();
    head_ = 0;
  } else if (head_ >= kCompactBytes && head_ * 2 >= buf_.size()) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
}

}  // namespace vigil::sensor
