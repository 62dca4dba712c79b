#include "decode/defrag.h"

#include <algorithm>
#include <cstring>

#include "decode/wire.h"

namespace vigil::sensor {
namespace {

// Bookkeeping charged against the memcap besides the fragment bytes, so that floods of tiny
// fragments are bounded too.
constexpr size_t kFragOverhead = 64;
constexpr size_t kTrackerOverhead = 256;
constexpr uint32_t kMaxIpLen = 65535;

uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

}  // namespace

size_t Defragmenter::KeyHash::operator()(const Key& k) const {
  uint64_t w[4];
  std::memcpy(&w[0], k.src.data(), 8);
  std::memcpy(&w[1], k.src.data() + 8, 8);
  std::memcpy(&w[2], k.dst.data(), 8);
  std::memcpy(&w[3], k.dst.data() + 8, 8);
  uint64_t h = mix64(w[0] ^ mix64(w[1] ^ mix64(w[2] ^ mix64(w[3]))));
  h ^= mix64((uint64_t{k.id} << 32) | k.vni);
  h ^= mix64((uint64_t{k.vlan[0]} << 48) | (uint64_t{k.vlan[1]} << 32) |
             (uint64_t{k.v6} << 16) | (uint64_t{k.proto} << 8) | k.tunnel_depth);
  return static_cast<size_t>(h);
}

void Defragmenter::drop(Lru::iterator it) {
  memuse_ -= it->mem;
  index_.erase(it->key);
  lru_.erase(it);
}

void Defragmenter::expire(core::Timestamp now, DecodeEventSink& sink) {
  const int64_t timeout = int64_t{config_.defrag_timeout_sec} * 1000000;
  while (!lru_.empty() && now.usec - lru_.front().last_usec > timeout) {
    sink.on_event(DecodeEvent::kDefragTimeout);
    drop(lru_.begin());
  }
}

std::shared_ptr<std::vector<uint8_t>> Defragmenter::insert(const FragmentView& f,
                                                           DecodeEventSink& sink) {
  const DecodeEvent too_large =
      f.v6 ? DecodeEvent::kIpv6FragPktTooLarge : DecodeEvent::kIpv4FragPktTooLarge;
  const DecodeEvent ignored = f.v6 ? DecodeEvent::kIpv6FragIgnored : DecodeEvent::kIpv4FragIgnored;
  const DecodeEvent overlap = f.v6 ? DecodeEvent::kIpv6FragOverlap : DecodeEvent::kIpv4FragOverlap;

  expire(f.ts, sink);

  // As Suricata: a fragment reaching past the largest possible datagram is not stored.
  const uint32_t end = f.offset + f.data_len;
  if ((f.v6 ? end : 20 + end) > kMaxIpLen) {
    sink.on_event(too_large);
    return nullptr;
  }

  Key key;
  key.v6 = f.v6 ? 1 : 0;
  if (f.v6) {
    std::memcpy(key.src.data(), f.ip + 8, 16);
    std::memcpy(key.dst.data(), f.ip + 24, 16);
  } else {
    std::memcpy(key.src.data(), f.ip + 12, 4);
    std::memcpy(key.dst.data(), f.ip + 16, 4);
    key.proto = f.inner_proto;
  }
  key.id = f.id;
  key.vni = f.vni;
  key.vlan[0] = f.vlan[0];
  key.vlan[1] = f.vlan[1];
  key.tunnel_depth = f.tunnel_depth;

  const size_t need = f.data_len + kFragOverhead;
  Lru::iterator it;
  if (auto found = index_.find(key); found != index_.end()) {
    it = found->second;
    lru_.splice(lru_.end(), lru_, it);  // most recently updated goes last
  } else {
    if (index_.size() >= config_.defrag_max_trackers) {
      sink.on_event(DecodeEvent::kDefragTrackerLimit);
      sink.on_event(ignored);
      return nullptr;
    }
    if (memuse_ + kTrackerOverhead + need > config_.defrag_memcap) {
      sink.on_event(DecodeEvent::kDefragMemcap);
      sink.on_event(ignored);
      return nullptr;
    }
    lru_.emplace_back();
    it = std::prev(lru_.end());
    it->key = key;
    it->mem = kTrackerOverhead;
    memuse_ += kTrackerOverhead;
    index_.emplace(key, it);
  }
  Tracker& t = *it;
  t.last_usec = f.ts.usec;

  if (t.frags.size() >= config_.defrag_max_frags_per_datagram) {
    sink.on_event(DecodeEvent::kDefragTrackerLimit);
    sink.on_event(ignored);
    return nullptr;
  }
  if (memuse_ + need + (f.offset == 0 ? f.unfrag_len : 0) > config_.defrag_memcap) {
    sink.on_event(DecodeEvent::kDefragMemcap);
    sink.on_event(ignored);
    return nullptr;
  }

  for (const Frag& o : t.frags) {
    if (f.offset < o.offset + o.data.size() && o.offset < end) {
      sink.on_event(overlap);
      break;
    }
  }

  if (f.offset == 0 && !t.have_first) {
    t.header.assign(f.ip, f.ip + f.unfrag_len);
    if (f.v6) t.header[f.nh_pos] = f.inner_proto;  // the fragment header goes away
    t.have_first = true;
    t.mem += f.unfrag_len;
    memuse_ += f.unfrag_len;
  }
  if (!f.more) {
    if (t.seen_last && end != t.total) {
      // Two different ends: keep the first, as a BSD stack does.
      sink.on_event(DecodeEvent::kDefragLastMismatch);
    } else {
      t.seen_last = true;
      t.total = end;
    }
  }
  if (f.data_len > 0) {
    t.frags.push_back(Frag{f.offset, t.next_seq++, std::vector<uint8_t>(f.data, f.data + f.data_len)});
    t.mem += need;
    memuse_ += need;
  }

  if (!t.seen_last || !t.have_first || !complete(t)) return nullptr;
  auto out = build(t, sink);
  drop(it);
  return out;
}

bool Defragmenter::complete(const Tracker& t) const {
  // Sweep fragments in offset order; a gap before `total` means not yet.
  std::vector<std::pair<uint32_t, uint32_t>> spans;
  spans.reserve(t.frags.size());
  for (const Frag& fr : t.frags) {
    spans.emplace_back(fr.offset, fr.offset + static_cast<uint32_t>(fr.data.size()));
  }
  std::sort(spans.begin(), spans.end());
  uint32_t covered = 0;
  for (const auto& [lo, hi] : spans) {
    if (lo > covered) return false;
    covered = std::max(covered, hi);
    if (covered >= t.total) return true;
  }
  return covered >= t.total;
}

std::shared_ptr<std::vector<uint8_t>> Defragmenter::build(Tracker& t, DecodeEventSink& sink) {
  const bool v6 = t.key.v6 != 0;
  const size_t hlen = t.header.size();
  const size_t ip_len = v6 ? hlen - 40 + t.total : hlen + t.total;  // IPv6 length excludes 40
  if (ip_len > kMaxIpLen) {
    sink.on_event(v6 ? DecodeEvent::kIpv6FragPktTooLarge : DecodeEvent::kIpv4FragPktTooLarge);
    return nullptr;
  }
  auto buf = std::make_shared<std::vector<uint8_t>>(hlen + t.total);
  uint8_t* out = buf->data();
  std::memcpy(out, t.header.data(), hlen);

  // Lowest (offset, arrival) is written last and so wins: the BSD policy.
  std::vector<const Frag*> order;
  order.reserve(t.frags.size());
  for (const Frag& fr : t.frags) order.push_back(&fr);
  std::sort(order.begin(), order.end(), [](const Frag* a, const Frag* b) {
    return a->offset != b->offset ? a->offset > b->offset : a->seq > b->seq;
  });
  for (const Frag* fr : order) {
    if (fr->offset >= t.total) continue;
    size_t n = std::min<size_t>(fr->data.size(), t.total - fr->offset);
    std::memcpy(out + hlen + fr->offset, fr->data.data(), n);
  }

  if (v6) {
    out[4] = static_cast<uint8_t>(ip_len >> 8);
    out[5] = static_cast<uint8_t>(ip_len);
  } else {
    out[2] = static_cast<uint8_t>(ip_len >> 8);
    out[3] = static_cast<uint8_t>(ip_len);
    out[6] = 0;  // flags and offset: a whole datagram now
    out[7] = 0;
    out[10] = 0;
    out[11] = 0;
    uint16_t sum = static_cast<uint16_t>(~wire::csum_fold(wire::csum_add(out, hlen, 0)));
    std::memcpy(out + 10, &sum, 2);  // native order, as summed
  }
  return buf;
}

}  // namespace vigil::sensor
