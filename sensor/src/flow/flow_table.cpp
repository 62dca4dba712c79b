#include <algorithm>
#include <cstring>

#include "vigil/sensor/flow.h"
#include "vigil/sensor/stream.h"

namespace vigil::sensor {

namespace {

constexpr uint8_t kIpProtoTcp = 6;
constexpr uint8_t kIpProtoUdp = 17;
constexpr uint8_t kIpProtoIcmp = 1;
constexpr uint8_t kIpProtoIcmpV6 = 58;
// EVE flow ids are kept within 51 bits so JSON readers that use doubles keep them exact.
constexpr uint64_t kFlowIdMask = (uint64_t{1} << 51) - 1;

inline uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

inline uint64_t load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

bool endpoint_less(const core::IpAddress& a, uint16_t pa, const core::IpAddress& b, uint16_t pb) {
  if (a.bytes() != b.bytes()) return a.bytes() < b.bytes();
  return pa < pb;
}

}  // namespace

std::string_view to_string(FlowEndReason r) {
  switch (r) {
    case FlowEndReason::kTimeout: return "timeout";
    case FlowEndReason::kEvicted: return "evicted";
    case FlowEndReason::kReused: return "reused";
    case FlowEndReason::kShutdown: return "shutdown";
  }
  return "unknown";
}

FlowKey FlowKey::from_packet(const Packet& p) {
  FlowKey k;
  k.proto = p.proto;
  k.ip_version = p.ip_version;
  k.vlan[0] = p.vlan_count > 0 ? p.vlan[0] : 0;
  k.vlan[1] = p.vlan_count > 1 ? p.vlan[1] : 0;
  k.vni = p.vni;
  uint16_t sp = 0, dp = 0;
  if (p.has_l4) {
    if (p.proto == kIpProtoIcmp || p.proto == kIpProtoIcmpV6) {
      // Echo request and reply share the id; types differ, so they stay out of the key.
      sp = dp = p.icmp.has_id_seq ? p.icmp.id : 0;
    } else {
      sp = p.sport;
      dp = p.dport;
    }
  }
  if (endpoint_less(p.src, sp, p.dst, dp)) {
    k.addr_a = p.src.bytes();
    k.port_a = sp;
    k.addr_b = p.dst.bytes();
    k.port_b = dp;
  } else {
    k.addr_a = p.dst.bytes();
    k.port_a = dp;
    k.addr_b = p.src.bytes();
    k.port_b = sp;
  }
  return k;
}

uint64_t flow_key_hash(const FlowKey& k) {
  uint64_t h = 0x9e3779b97f4a7c15ULL;
  h = mix64(h ^ load64(k.addr_a.data()));
  h = mix64(h ^ load64(k.addr_a.data() + 8));
  h = mix64(h ^ load64(k.addr_b.data()));
  h = mix64(h ^ load64(k.addr_b.data() + 8));
  const uint64_t tail = (uint64_t{k.port_a} << 48) | (uint64_t{k.port_b} << 32) |
                        (uint64_t{k.proto} << 8) | k.ip_version;
  const uint64_t tail2 = (uint64_t{k.vlan[0]} << 48) | (uint64_t{k.vlan[1]} << 32) | k.vni;
  h = mix64(h ^ tail);
  h = mix64(h ^ tail2);
  return h;
}

// ---- Flow ------------------------------------------------------------------------------------

Flow::Flow() = default;
Flow::~Flow() = default;

Direction Flow::direction_of(const Packet& p) const {
  if (proto == kIpProtoIcmp || proto == kIpProtoIcmpV6) {
    return p.src == client_ip ? Direction::ToServer : Direction::ToClient;
  }
  if (p.src == client_ip && p.sport == client_port) return Direction::ToServer;
  return Direction::ToClient;
}

void Flow::swap_direction() {
  std::swap(client_ip, server_ip);
  std::swap(client_port, server_port);
  std::swap(packets[0], packets[1]);
  std::swap(bytes[0], bytes[1]);
  std::swap(seen[0], seen[1]);
}

void Flow::reset() {
  id = 0;
  key = FlowKey{};
  hash = 0;
  client_ip = server_ip = core::IpAddress{};
  client_port = server_port = 0;
  proto = ip_version = 0;
  first_ts = last_ts = core::Timestamp{};
  packets[0] = packets[1] = bytes[0] = bytes[1] = 0;
  state = FlowState::kNew;
  established = pkt_established = false;
  seen[0] = seen[1] = false;
  app_proto = 0;
  tcp.reset();
  detect.reset();
  app.reset();
  lru_prev_ = lru_next_ = 0;
}

// ---- FlowTable -------------------------------------------------------------------------------

FlowTable::FlowTable(FlowConfig config) : config_(config) {
  uint64_t cap = std::max<uint32_t>(config_.max_flows, 1);
  if (config_.memcap != 0) cap = std::min<uint64_t>(cap, std::max<uint64_t>(config_.memcap / sizeof(Flow), 1));
  cap_ = static_cast<uint32_t>(cap);
  uint64_t n = 16;
  while (n < uint64_t{cap_} * 2) n <<= 1;
  slots_.assign(n, Slot{});
  mask_ = n - 1;
  pool_.reserve(std::min<uint32_t>(cap_, 4096));
}

FlowTable::~FlowTable() = default;

uint32_t FlowTable::timeout_for(const Flow& f) const {
  const FlowTimeouts* t = &config_.default_timeouts;
  switch (f.proto) {
    case kIpProtoTcp: t = &config_.tcp_timeouts; break;
    case kIpProtoUdp: t = &config_.udp_timeouts; break;
    case kIpProtoIcmp:
    case kIpProtoIcmpV6: t = &config_.icmp_timeouts; break;
    default: break;
  }
  switch (f.state) {
    case FlowState::kNew: return t->new_s;
    case FlowState::kEstablished: return t->established_s;
    case FlowState::kClosed: return t->closed_s;
  }
  return t->new_s;
}

Flow* FlowTable::find(const FlowKey& key, uint64_t hash) {
  for (uint64_t i = hash & mask_;; i = (i + 1) & mask_) {
    const Slot& s = slots_[i];
    if (s.flow == 0) return nullptr;
    if (s.hash == hash) {
      Flow* f = pool_[s.flow - 1].get();
      if (f->key == key) return f;
    }
  }
}

void FlowTable::index_insert(Flow* f) {
  for (uint64_t i = f->hash & mask_;; i = (i + 1) & mask_) {
    if (slots_[i].flow == 0) {
      slots_[i] = Slot{f->hash, f->slot_ + 1};
      return;
    }
  }
}

// Linear probing with backward-shift deletion: no tombstones, probe chains stay short.
void FlowTable::index_erase(Flow* f) {
  uint64_t i = f->hash & mask_;
  while (slots_[i].flow != f->slot_ + 1) i = (i + 1) & mask_;
  uint64_t hole = i;
  for (uint64_t j = (hole + 1) & mask_; slots_[j].flow != 0; j = (j + 1) & mask_) {
    const uint64_t home = slots_[j].hash & mask_;
    // Move j into the hole if its home position is not in (hole, j] cyclically.
    const bool between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
    if (!between) {
      slots_[hole] = slots_[j];
      hole = j;
    }
  }
  slots_[hole] = Slot{};
}

void FlowTable::lru_unlink(Flow* f) {
  const uint32_t me = f->slot_ + 1;
  if (f->lru_prev_) pool_[f->lru_prev_ - 1]->lru_next_ = f->lru_next_;
  else if (lru_head_ == me) lru_head_ = f->lru_next_;
  if (f->lru_next_) pool_[f->lru_next_ - 1]->lru_prev_ = f->lru_prev_;
  else if (lru_tail_ == me) lru_tail_ = f->lru_prev_;
  f->lru_prev_ = f->lru_next_ = 0;
}

void FlowTable::lru_push_back(Flow* f) {
  const uint32_t me = f->slot_ + 1;
  f->lru_prev_ = lru_tail_;
  f->lru_next_ = 0;
  if (lru_tail_) pool_[lru_tail_ - 1]->lru_next_ = me;
  lru_tail_ = me;
  if (!lru_head_) lru_head_ = me;
}

Flow* FlowTable::allocate() {
  if (!free_.empty()) {
    const uint32_t idx = free_.back();
    free_.pop_back();
    return pool_[idx].get();
  }
  auto f = std::make_unique<Flow>();
  f->slot_ = static_cast<uint32_t>(pool_.size());
  pool_.push_back(std::move(f));
  return pool_.back().get();
}

void FlowTable::end_flow(Flow* f, FlowEndReason reason, const FlowEndCallback* cb) {
  if (cb && *cb) (*cb)(*f, reason);
  index_erase(f);
  lru_unlink(f);
  f->reset();
  free_.push_back(f->slot_);
  --live_;
  counters_.active = live_;
}

bool FlowTable::tcp_reuse(const Flow& f, const Packet& p, Direction dir) const {
  // Suricata's TcpSessionPacketSsnReuse: a bare SYN on a closed session with another ISN.
  if (!f.tcp || (p.tcp.flags & (tcp_flag::kSyn | tcp_flag::kAck | tcp_flag::kRst)) != tcp_flag::kSyn)
    return false;
  const TcpState st = f.tcp->state();
  if (st != TcpState::kClosed && st != TcpState::kTimeWait && st != TcpState::kLastAck &&
      st != TcpState::kClosing)
    return false;
  const TcpStreamState& s = f.tcp->seq_state(dir);
  return !(s.syn_seen && s.isn == p.tcp.seq);
}

Flow* FlowTable::get_or_create(const Packet& p, Direction& dir_out, bool& created_out) {
  created_out = false;
  if (!p.decoded || p.ip_version == 0) {
    ++counters_.no_flow;
    return nullptr;
  }
  const FlowKey key = FlowKey::from_packet(p);
  const uint64_t hash = flow_key_hash(key);
  Flow* f = find(key, hash);

  if (f && p.proto == kIpProtoTcp && p.has_l4 && tcp_reuse(*f, p, f->direction_of(p))) {
    ++counters_.reused;
    end_flow(f, FlowEndReason::kReused, &end_cb_);
    f = nullptr;
  }

  if (!f) {
    if (live_ >= cap_) {
      Flow* oldest = lru_head_ ? pool_[lru_head_ - 1].get() : nullptr;
      const int64_t min_idle = int64_t{config_.evict_min_idle_s} * 1000000;
      if (!oldest || p.ts.usec - oldest->last_ts.usec < min_idle) {
        ++counters_.memcap_hits;
        return nullptr;
      }
      ++counters_.evicted;
      end_flow(oldest, FlowEndReason::kEvicted, &end_cb_);
    }
    f = allocate();
    f->key = key;
    f->hash = hash;
    f->client_ip = p.src;
    f->server_ip = p.dst;
    const bool icmp = p.proto == kIpProtoIcmp || p.proto == kIpProtoIcmpV6;
    f->client_port = icmp ? 0 : p.sport;
    f->server_port = icmp ? 0 : p.dport;
    f->proto = p.proto;
    f->ip_version = p.ip_version;
    f->first_ts = p.ts;
    ++id_counter_;
    uint64_t id = mix64(hash ^ (id_counter_ * 0x9e3779b97f4a7c15ULL)) & kFlowIdMask;
    f->id = id == 0 ? 1 : id;
    index_insert(f);
    ++live_;
    ++counters_.created;
    counters_.active = live_;
    created_out = true;
    lru_push_back(f);
  } else if (lru_tail_ != f->slot_ + 1) {
    lru_unlink(f);
    lru_push_back(f);
  }

  const Direction dir = f->direction_of(p);
  dir_out = dir;
  const size_t d = index(dir);
  if (p.ts > f->last_ts) f->last_ts = p.ts;
  ++f->packets[d];
  f->bytes[d] += p.caplen != 0 ? p.caplen : p.l3_len;
  f->seen[d] = true;
  if (f->proto != kIpProtoTcp && f->seen[0] && f->seen[1] && !f->established) {
    f->established = true;
    f->state = FlowState::kEstablished;
  }
  f->pkt_established = f->established;
  return f;
}

void FlowTable::expire(core::Timestamp now, const FlowEndCallback& cb) {
  // Only TCP flows reach the closed state, so the other closed timeouts do not bound the scan.
  uint32_t min_timeout = std::min({config_.tcp_timeouts.new_s, config_.tcp_timeouts.established_s,
                                   config_.tcp_timeouts.closed_s});
  for (const FlowTimeouts* t :
       {&config_.default_timeouts, &config_.udp_timeouts, &config_.icmp_timeouts}) {
    min_timeout = std::min({min_timeout, t->new_s, t->established_s});
  }
  const int64_t min_usec = int64_t{min_timeout} * 1000000;
  uint32_t cur = lru_head_;
  while (cur) {
    Flow* f = pool_[cur - 1].get();
    cur = f->lru_next_;
    const int64_t idle = now.usec - f->last_ts.usec;
    // The LRU is ordered by last packet: nothing after this can be idle long enough.
    if (idle <= min_usec) break;
    if (idle > int64_t{timeout_for(*f)} * 1000000) {
      ++counters_.timed_out;
      end_flow(f, FlowEndReason::kTimeout, &cb);
    }
  }
}

void FlowTable::for_each(const std::function<void(Flow&)>& fn) {
  for (uint32_t cur = lru_head_; cur;) {
    Flow* f = pool_[cur - 1].get();
    cur = f->lru_next_;
    fn(*f);
  }
}

void FlowTable::flush_all(const FlowEndCallback& cb) {
  while (lru_head_) {
    ++counters_.flushed;
    end_flow(pool_[lru_head_ - 1].get(), FlowEndReason::kShutdown, &cb);
  }
}

}  // namespace vigil::sensor
