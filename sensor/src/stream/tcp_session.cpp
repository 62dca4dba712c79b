// TCP state machine after Suricata's stream-tcp.c (IDS mode), feeding StreamBuffer.
#include <algorithm>

#include "vigil/sensor/stream.h"

namespace vigil::sensor {

namespace {

constexpr uint8_t kWscaleMax = 14;

inline bool seq_lt(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }
inline bool seq_leq(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) <= 0; }
inline bool seq_gt(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) > 0; }
inline bool seq_geq(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) >= 0; }

inline bool has(uint8_t flags, uint8_t f) { return (flags & f) != 0; }

FlowState flow_state_of(TcpState s) {
  switch (s) {
    case TcpState::kNone:
    case TcpState::kSynSent:
    case TcpState::kSynRecv:
      return FlowState::kNew;
    case TcpState::kTimeWait:
    case TcpState::kLastAck:
    case TcpState::kClosed:
      return FlowState::kClosed;
    default:
      return FlowState::kEstablished;
  }
}

}  // namespace

std::string_view to_string(TcpState s) {
  switch (s) {
    case TcpState::kNone: return "none";
    case TcpState::kSynSent: return "syn_sent";
    case TcpState::kSynRecv: return "syn_recv";
    case TcpState::kEstablished: return "established";
    case TcpState::kFinWait1: return "fin_wait1";
    case TcpState::kFinWait2: return "fin_wait2";
    case TcpState::kTimeWait: return "time_wait";
    case TcpState::kLastAck: return "last_ack";
    case TcpState::kCloseWait: return "close_wait";
    case TcpState::kClosing: return "closing";
    case TcpState::kClosed: return "closed";
  }
  return "unknown";
}

TcpSession::TcpSession(std::shared_ptr<StreamShared> shared) : shared_(std::move(shared)) {
  buffers_[0].init(shared_);
  buffers_[1].init(shared_);
}

TcpSession::~TcpSession() = default;

void TcpSession::set_state(TcpState s) { state_ = s; }

// Each direction's data is reassembled the way its receiver would (Suricata's host-os-policy).
// Called once the client and server roles are settled, before any overlap can occur.
void TcpSession::set_policies(const Flow& flow) {
  const StreamConfig& cfg = shared_->cfg;
  if (cfg.host_policies.empty()) {
    buffers_[0].policy_ = buffers_[1].policy_ = cfg.policy;
    return;
  }
  buffers_[index(Direction::ToServer)].policy_ = cfg.policy_for(flow.server_ip);
  buffers_[index(Direction::ToClient)].policy_ = cfg.policy_for(flow.client_ip);
}

void TcpSession::init_stream(Direction d, uint32_t isn, bool /*data_after_isn*/) {
  TcpStreamState& s = streams_[index(d)];
  s.isn = isn;
  s.base_seq = isn + 1;
  s.next_seq = isn + 1;
  ref_seq_[index(d)] = isn + 1;
  ref_off_[index(d)] = 0;
}

uint64_t TcpSession::offset_of(Direction d, uint32_t seq) const {
  const int64_t rel = static_cast<int32_t>(seq - ref_seq_[index(d)]);
  const int64_t off = static_cast<int64_t>(ref_off_[index(d)]) + rel;
  return off < 0 ? UINT64_MAX : static_cast<uint64_t>(off);
}

void TcpSession::finish() {
  buffers_[0].finish();
  buffers_[1].finish();
}

bool TcpSession::rst_valid(const Packet& p, Direction dir) const {
  const TcpStreamState& s = streams_[index(dir)];
  const uint32_t seq = p.tcp.seq;
  switch (state_) {
    case TcpState::kSynSent:
      if (dir == Direction::ToClient) {
        // Reply to the SYN: must acknowledge it.
        const TcpStreamState& c = streams_[0];
        return !has(p.tcp.flags, tcp_flag::kAck) ||
               (seq_geq(p.tcp.ack, c.isn + 1) && seq_leq(p.tcp.ack, c.next_seq));
      }
      return seq == s.isn || seq == s.next_seq;
    default:
      break;
  }
  if (seq == s.next_seq) return true;
  // Suricata's StreamTcpValidateRst: Linux and Solaris accept any sequence in the window.
  const OverlapPolicy pol = buffers_[index(dir)].policy_;
  if (pol == OverlapPolicy::kLinux || pol == OverlapPolicy::kOldLinux ||
      pol == OverlapPolicy::kSolaris) {
    const TcpStreamState& r = streams_[index(opposite(dir))];
    const uint32_t win = std::max<uint32_t>(r.window, 1);
    return seq_geq(seq + p.payload_len, s.has_ack ? s.last_ack : s.next_seq) &&
           seq_lt(seq, s.next_seq + win);
  }
  return false;
}

void TcpSession::handle_ack(const Packet& p, Direction dir) {
  TcpStreamState& me = streams_[index(dir)];
  me.window = static_cast<uint32_t>(p.tcp.window) << me.wscale;
  if (!has(p.tcp.flags, tcp_flag::kAck)) return;
  const Direction od = opposite(dir);
  TcpStreamState& o = streams_[index(od)];
  const uint32_t ack = p.tcp.ack;
  if (!o.has_ack || seq_gt(ack, o.last_ack)) {
    o.last_ack = ack;
    o.has_ack = true;
  }
  // The receiver acknowledged data we never saw: move on (a gap once the buffer skips it).
  if (seq_gt(ack, o.next_seq)) o.next_seq = ack;
  if (o.fin_seen && seq_gt(ack, o.fin_seq)) o.fin_acked = true;

  uint64_t ack_off = offset_of(od, o.last_ack);
  if (ack_off == UINT64_MAX) return;
  if (o.fin_seen) ack_off = std::min(ack_off, offset_of(od, o.fin_seq));
  StreamBuffer& b = buffers_[index(od)];
  b.set_acked(ack_off);
  if (ack_off > b.contiguous_end()) b.skip_holes_to(ack_off);
}

void TcpSession::handle_data(const Packet& p, Direction dir, StreamPacketResult& r) {
  uint64_t len = p.payload_len;
  if (len == 0 || p.payload == nullptr) return;
  TcpStreamState& s = streams_[index(dir)];
  auto& c = shared_->counters;
  const uint32_t seq = p.tcp.seq + (has(p.tcp.flags, tcp_flag::kSyn) ? 1u : 0u);
  // Keep-alive: one byte (or none) just below next_seq.
  if (len == 1 && seq == s.next_seq - 1) return;
  ++c.segments;
  const uint32_t end = seq + static_cast<uint32_t>(len);
  if (seq_leq(end, s.next_seq)) {
    r.retransmission = true;
    ++c.retransmissions;
  }
  if (seq_leq(seq, s.next_seq) && seq_gt(end, s.next_seq)) s.next_seq = end;

  const uint8_t* data = p.payload;
  uint64_t off = offset_of(dir, seq);
  if (off == UINT64_MAX) {
    // Starts before the stream's first byte: keep the part after it.
    const uint64_t before = static_cast<uint32_t>(s.base_seq - seq);
    if (before >= len) return;
    data += before;
    len -= before;
    off = 0;
  }
  StreamBuffer& b = buffers_[index(dir)];
  b.insert(off, data, len);
  // Out-of-order data that just became contiguous moves next_seq on.
  const uint64_t ce = b.contiguous_end();
  const uint64_t ref = ref_off_[index(dir)];
  if (ce >= ref) {
    const uint32_t ce_seq = ref_seq_[index(dir)] + static_cast<uint32_t>(ce - ref);
    if (seq_gt(ce_seq, s.next_seq)) s.next_seq = ce_seq;
  }
}

void TcpSession::update_close_state() {
  if (state_ < TcpState::kEstablished || state_ == TcpState::kClosed) return;
  const TcpStreamState& c = streams_[0];
  const TcpStreamState& sv = streams_[1];
  TcpState next = state_;
  if (c.fin_seen && !sv.fin_seen) {
    next = c.fin_acked ? TcpState::kFinWait2 : TcpState::kFinWait1;
  } else if (sv.fin_seen && !c.fin_seen) {
    next = TcpState::kCloseWait;
  } else if (c.fin_seen && sv.fin_seen) {
    if (c.fin_acked && sv.fin_acked) {
      next = TcpState::kClosed;
    } else if (first_fin_ == Direction::ToServer) {
      next = c.fin_acked ? TcpState::kTimeWait : TcpState::kClosing;
    } else {
      next = sv.fin_acked ? TcpState::kLastAck : TcpState::kClosing;
    }
  }
  set_state(next);
  if (state_ == TcpState::kClosed) finish();
}

void TcpSession::handle_none(Flow& flow, const Packet& p, Direction& dir, StreamPacketResult& r) {
  const uint8_t f = p.tcp.flags;
  auto& c = shared_->counters;
  if (has(f, tcp_flag::kSyn) && has(f, tcp_flag::kAck)) {
    // Midstream SYN/ACK: its sender is the server (Suricata reverses flow and packet).
    if (dir == Direction::ToServer) flow.swap_direction();
    dir = Direction::ToClient;
    TcpStreamState& sv = streams_[1];
    TcpStreamState& cl = streams_[0];
    init_stream(Direction::ToClient, p.tcp.seq, false);
    sv.syn_seen = true;
    init_stream(Direction::ToServer, p.tcp.ack - 1, false);
    cl.last_ack = p.tcp.ack;
    cl.has_ack = true;
    sv.wscale = p.tcp.has_wscale ? p.tcp.wscale : 0;
    cl.wscale = sv.wscale;
    sv.window = static_cast<uint32_t>(p.tcp.window) << sv.wscale;
    midstream_ = midstream_synack_ = true;
    ++c.midstream_pickups;
    set_state(TcpState::kSynRecv);
    return;
  }
  if (has(f, tcp_flag::kSyn)) {
    if (dir == Direction::ToClient) flow.swap_direction();
    dir = Direction::ToServer;
    TcpStreamState& cl = streams_[0];
    init_stream(Direction::ToServer, p.tcp.seq, false);
    cl.syn_seen = true;
    cl.wscale = p.tcp.has_wscale ? p.tcp.wscale : 0;
    syn_had_wscale_ = p.tcp.has_wscale;
    cl.window = p.tcp.window;
    set_state(TcpState::kSynSent);
    if (p.payload_len > 0 && shared_->cfg.syn_data) {
      tfo_ = true;
      handle_data(p, dir, r);
    }
    return;
  }
  // Midstream pickup on ACK (or FIN with data): the sender is the client.
  if (dir == Direction::ToClient) flow.swap_direction();
  dir = Direction::ToServer;
  init_stream(Direction::ToServer, p.tcp.seq - 1, false);
  init_stream(Direction::ToClient, p.tcp.ack - 1, false);
  streams_[0].wscale = streams_[1].wscale = kWscaleMax;
  midstream_ = true;
  ++c.midstream_pickups;
  set_state(TcpState::kEstablished);
  handle_open(p, dir, r);
}

// An RST during the handshake: accepted only when its sequence number fits (rst_valid); it then
// closes the session.
void TcpSession::handle_rst(const Packet& p, Direction dir, StreamPacketResult& r) {
  if (!rst_valid(p, dir)) {
    r.invalid = true;
    return;
  }
  ++shared_->counters.rst;
  streams_[index(dir)].rst_seen = true;
  set_state(TcpState::kClosed);
  finish();
}

void TcpSession::handle_syn_sent(const Packet& p, Direction dir, StreamPacketResult& r) {
  const uint8_t f = p.tcp.flags;
  auto& c = shared_->counters;
  TcpStreamState& cl = streams_[0];
  TcpStreamState& sv = streams_[1];
  if (has(f, tcp_flag::kRst)) {
    handle_rst(p, dir, r);
    return;
  }
  if (has(f, tcp_flag::kSyn) && has(f, tcp_flag::kAck)) {
    if (dir == Direction::ToClient && !fourwhs_) {
      if (!(seq_geq(p.tcp.ack, cl.isn + 1) && seq_leq(p.tcp.ack, cl.next_seq))) {
        r.invalid = true;
        return;
      }
      init_stream(Direction::ToClient, p.tcp.seq, false);
      sv.syn_seen = true;
      const bool ws = syn_had_wscale_ && p.tcp.has_wscale;
      sv.wscale = ws ? p.tcp.wscale : 0;
      if (!ws) cl.wscale = 0;
      handle_ack(p, dir);
      set_state(TcpState::kSynRecv);
      handle_data(p, dir, r);
      return;
    }
    if (dir == Direction::ToServer && fourwhs_) {
      // 4-way handshake: the client answers the server's SYN with a SYN/ACK.
      if (p.tcp.seq != cl.isn || p.tcp.ack != sv.isn + 1) {
        r.invalid = true;
        return;
      }
      handle_ack(p, dir);
      set_state(TcpState::kSynRecv);
      return;
    }
    r.invalid = true;
    return;
  }
  if (has(f, tcp_flag::kSyn)) {
    if (dir == Direction::ToClient) {
      // Server sends its own SYN: split / simultaneous open (Suricata's 4WHS).
      fourwhs_ = true;
      init_stream(Direction::ToClient, p.tcp.seq, false);
      sv.syn_seen = true;
      sv.wscale = p.tcp.has_wscale ? p.tcp.wscale : 0;
      return;
    }
    if (p.tcp.seq == cl.isn) {
      r.retransmission = true;
      ++c.retransmissions;
      if (p.payload_len > 0 && shared_->cfg.syn_data) handle_data(p, dir, r);
    } else {
      // A new ISN replaces the old attempt (Suricata: SYN resend with different seq).
      ++c.invalid;
      init_stream(Direction::ToServer, p.tcp.seq, false);
      cl.syn_seen = true;
    }
    return;
  }
  r.invalid = true;
}

void TcpSession::handle_syn_recv(Flow& flow, const Packet& p, Direction dir,
                                 StreamPacketResult& r) {
  const uint8_t f = p.tcp.flags;
  auto& c = shared_->counters;
  TcpStreamState& cl = streams_[0];
  TcpStreamState& sv = streams_[1];
  if (has(f, tcp_flag::kRst)) {
    handle_rst(p, dir, r);
    return;
  }
  if (has(f, tcp_flag::kSyn)) {
    const TcpStreamState& s = streams_[index(dir)];
    if (p.tcp.seq == s.isn) {
      r.retransmission = true;
      ++c.retransmissions;
    } else if (has(f, tcp_flag::kAck) && dir == Direction::ToClient && !fourwhs_) {
      // A SYN/ACK with another ISN: the later one is taken (Suricata queues them).
      init_stream(Direction::ToClient, p.tcp.seq, false);
      sv.syn_seen = true;
    } else {
      r.invalid = true;
    }
    return;
  }
  if (!has(f, tcp_flag::kAck)) {
    r.invalid = true;
    return;
  }
  if (fourwhs_) {
    // The server's ACK of the client's SYN/ACK completes a 4-way handshake.
    if (dir != Direction::ToClient || p.tcp.seq != sv.next_seq || p.tcp.ack != cl.next_seq) {
      r.invalid = true;
      return;
    }
  } else {
    Direction sender = dir;
    if (dir == Direction::ToClient && !midstream_synack_) {
      r.invalid = true;  // ACK in the wrong direction
      return;
    }
    const TcpStreamState& s = streams_[index(sender)];
    const TcpStreamState& o = streams_[index(opposite(sender))];
    const bool ack_ok = p.tcp.ack == o.next_seq;
    const bool seq_ok = p.tcp.seq == s.next_seq ||
                        (seq_gt(p.tcp.seq, s.next_seq) &&
                         seq_leq(p.tcp.seq, s.next_seq + std::max<uint32_t>(o.window, 65535)));
    if (!(ack_ok && seq_ok)) {
      // Right seq with a wrong ack is Suricata's evasion case: not accepted either.
      r.invalid = true;
      return;
    }
  }
  set_state(TcpState::kEstablished);
  // Suricata: the packet closing the handshake is "established" only if it carries data.
  if (p.payload_len > 0) flow.pkt_established = true;
  handle_open(p, dir, r);
}

void TcpSession::handle_open(const Packet& p, Direction dir, StreamPacketResult& r) {
  const uint8_t f = p.tcp.flags;
  auto& c = shared_->counters;
  if (state_ == TcpState::kClosed) {
    r.invalid = true;
    return;
  }
  if (has(f, tcp_flag::kRst)) {
    handle_rst(p, dir, r);
    return;
  }
  if (has(f, tcp_flag::kSyn)) {
    const TcpStreamState& s = streams_[index(dir)];
    if (s.syn_seen && p.tcp.seq == s.isn) {
      r.retransmission = true;
      ++c.retransmissions;
    } else {
      r.invalid = true;
    }
    return;
  }
  if (has(f, tcp_flag::kAck) && !midstream_) {
    // Suricata's StreamTcpValidateAck: an ACK beyond what the receiver could have been sent
    // (last ACK + its window) is invalid and the packet is not used.
    const TcpStreamState& o = streams_[index(opposite(dir))];
    const TcpStreamState& me = streams_[index(dir)];
    const uint32_t win = std::max<uint32_t>(static_cast<uint32_t>(p.tcp.window) << me.wscale, 65535);
    const uint32_t from = o.has_ack && seq_gt(o.last_ack, o.next_seq) ? o.last_ack : o.next_seq;
    if (seq_gt(p.tcp.ack, from + win)) {
      r.invalid = true;
      return;
    }
  }
  handle_ack(p, dir);
  handle_data(p, dir, r);
  if (has(f, tcp_flag::kFin)) {
    TcpStreamState& s = streams_[index(dir)];
    if (!s.fin_seen) {
      s.fin_seen = true;
      s.fin_seq = p.tcp.seq + p.payload_len;
      ++c.fin;
      const TcpStreamState& o = streams_[index(opposite(dir))];
      if (!o.fin_seen) first_fin_ = dir;
    }
    if (s.next_seq == s.fin_seq) s.next_seq = s.fin_seq + 1;
  }
  update_close_state();
}

StreamPacketResult TcpSession::on_packet(Flow& flow, const Packet& p, Direction dir) {
  StreamPacketResult r;
  r.tracked = true;
  buffers_[0].begin_packet();
  buffers_[1].begin_packet();
  const TcpState before = state_;
  switch (state_) {
    case TcpState::kNone:
      handle_none(flow, p, dir, r);
      set_policies(flow);
      break;
    case TcpState::kSynSent: handle_syn_sent(p, dir, r); break;
    case TcpState::kSynRecv: handle_syn_recv(flow, p, dir, r); break;
    default: handle_open(p, dir, r); break;
  }
  if (r.invalid) ++shared_->counters.invalid;
  for (size_t d = 0; d < 2; ++d) {
    const TcpStreamState& s = streams_[d];
    StreamBuffer& b = buffers_[d];
    if (s.fin_seen && !b.eof_) {
      const uint64_t fin_off = offset_of(static_cast<Direction>(d), s.fin_seq);
      if (fin_off != UINT64_MAX && b.contiguous_end() >= fin_off && b.ooo_.empty()) b.eof_ = true;
    }
    // Move the sequence reference along so offsets survive 32-bit wrap-around.
    const uint64_t off = offset_of(static_cast<Direction>(d), s.next_seq);
    if (off != UINT64_MAX && off > ref_off_[d]) {
      ref_off_[d] = off;
      ref_seq_[d] = s.next_seq;
    }
  }
  r.dir = dir;
  r.state_changed = state_ != before;
  return r;
}

// ---- StreamTracker ---------------------------------------------------------------------------

StreamTracker::StreamTracker(StreamConfig config) : shared_(std::make_shared<StreamShared>()) {
  shared_->cfg = config;
}

namespace {
// Which first packets open a session (Suricata's StreamTcpPacketStateNone).
bool starts_session(const StreamConfig& cfg, const Packet& p) {
  const uint8_t f = p.tcp.flags;
  if (has(f, tcp_flag::kRst)) return false;
  if (has(f, tcp_flag::kFin)) return cfg.midstream && p.payload_len > 0 && has(f, tcp_flag::kAck);
  if (has(f, tcp_flag::kSyn) && has(f, tcp_flag::kAck)) return cfg.midstream;
  if (has(f, tcp_flag::kSyn)) return true;
  if (has(f, tcp_flag::kAck)) return cfg.midstream;
  return false;
}
}  // namespace

StreamPacketResult StreamTracker::on_packet(Flow& flow, const Packet& p, Direction dir) {
  StreamPacketResult r;
  r.dir = dir;
  if (!p.is_tcp()) return r;
  auto& c = shared_->counters;
  if (p.checksum_bad) {
    ++c.checksum_ignored;
    return r;
  }
  if (!flow.tcp) {
    if (!starts_session(shared_->cfg, p)) {
      ++c.no_session;
      return r;
    }
    flow.tcp = std::make_unique<TcpSession>(shared_);
    ++c.sessions;
  }
  r = flow.tcp->on_packet(flow, p, dir);
  const TcpState st = flow.tcp->state();
  if (st >= TcpState::kEstablished) flow.established = true;
  flow.state = flow_state_of(st);
  return r;
}

void StreamTracker::finish(Flow& flow) {
  if (flow.tcp) flow.tcp->finish();
}

}  // namespace vigil::sensor
