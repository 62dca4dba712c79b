// TCP session tracking and stream reassembly (Suricata's stream engine, simplified).
//
// Threading: a StreamTracker belongs to one worker thread, like its FlowTable; sessions hang on
// flows of that table. Nothing locks.
//
// Ownership: `Flow::tcp` owns the session; each session holds a shared reference to its
// tracker's config, memory accounting and counters, so flows may outlive the tracker safely.
//
// Data model: each direction has a StreamBuffer of the bytes that sender sent, addressed by a
// 64-bit stream offset (0 = first byte after the SYN, or the first byte seen on a midstream
// pickup). In-order bytes are readable at once; out-of-order segments wait until the hole before
// them fills, or until the receiver ACKs past the hole, which then becomes a recorded gap.
// Overlapping data is resolved by the OS policy exactly where Suricata's list policy applies
// (default bsd: the original data wins unless the new segment starts before it).
//
// Consumers: two independent readers (detection raw-stream, app-layer) each report how far they
// no longer need data with `TcpSession::consume`; bytes below the minimum are released.
//
// Errors: none through exceptions. Malformed or out-of-state packets are counted and ignored.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "vigil/sensor/flow.h"
#include "vigil/sensor/packet.h"

namespace vigil::sensor {

// Suricata's TCP states, in Suricata's order (comparisons like `>= kEstablished` are meaningful
// the way Suricata uses them).
enum class TcpState : uint8_t {
  kNone = 0,
  kSynSent,
  kSynRecv,
  kEstablished,
  kFinWait1,
  kFinWait2,
  kTimeWait,
  kLastAck,
  kCloseWait,
  kClosing,
  kClosed,
};
[[nodiscard]] std::string_view to_string(TcpState s);

// Target-based overlap resolution (Suricata's stream.reassembly host-os-policy names).
enum class OverlapPolicy : uint8_t {
  kFirst,
  kLast,
  kBsd,  // Suricata's default
  kLinux,
  kOldLinux,
  kSolaris,
  kHpux10,
  kHpux11,
  kIrix,
  kMacos,
  kWindows,
  kWindows2k3,
  kVista,
};
// Accepts Suricata's names ("bsd", "linux", "old-linux", "windows", "first", ...).
[[nodiscard]] std::optional<OverlapPolicy> parse_overlap_policy(std::string_view name);

// True when, for a new segment [s, e) overlapping an existing one [ls, le), the policy keeps the
// new data for the overlapping bytes (Suricata's DoHandleDataOverlap, IDS mode).
[[nodiscard]] bool overlap_use_new(OverlapPolicy policy, uint64_t s, uint64_t e, uint64_t ls,
                                   uint64_t le);

// Suricata's host-os-policy entry: the policy of the hosts in `net` when they receive data.
struct HostOsPolicy {
  core::Cidr net;
  OverlapPolicy policy = OverlapPolicy::kBsd;
};

enum class StreamConsumer : uint8_t { kDetect = 0, kApp = 1 };
inline constexpr size_t kStreamConsumers = 2;

struct StreamConfig {
  bool midstream = false;                 // stream.midstream
  uint64_t reassembly_depth = 1u << 20;   // stream.reassembly.depth; 0 = unlimited
  uint64_t memcap = 256ull << 20;         // stream.reassembly.memcap, per tracker (bytes held)
  OverlapPolicy policy = OverlapPolicy::kBsd;  // for receivers not in host_policies
  std::vector<HostOsPolicy> host_policies;     // longest prefix wins
  // Data carried by a SYN is reassembled (TCP Fast Open). Suricata requires the TFO option;
  // the decoder does not report it, so any SYN payload is taken.
  bool syn_data = true;
  // Consumers that must release data before it is freed (bit per StreamConsumer).
  uint8_t consumer_mask = 0x3;
  // Out-of-order segments more than this far beyond the in-order end are dropped (counted).
  uint64_t max_ooo_distance = 16u << 20;

  // Adds a host-os-policy entry from Suricata's names: `policy_name` as in
  // parse_overlap_policy, `address` an address or CIDR. False when either does not parse.
  [[nodiscard]] bool add_host_policy(std::string_view policy_name, std::string_view address);
  // The policy of a receiving host.
  [[nodiscard]] OverlapPolicy policy_for(const core::IpAddress& receiver) const;
};

struct StreamCounters {
  uint64_t sessions = 0;
  uint64_t midstream_pickups = 0;
  uint64_t no_session = 0;         // TCP packets of flows without a session (start not seen)
  uint64_t checksum_ignored = 0;   // packets with bad checksums, not tracked
  uint64_t invalid = 0;            // packets that do not fit the session state
  uint64_t segments = 0;           // data-carrying segments handed to reassembly
  uint64_t retransmissions = 0;    // segments entirely before the next expected sequence
  uint64_t out_of_order = 0;       // segments stored beyond a hole
  uint64_t overlaps = 0;           // segments overlapping held data
  uint64_t overlaps_same = 0;      // ... with identical bytes
  uint64_t overlaps_different = 0; // ... with different bytes
  uint64_t rewrites = 0;           // in-order bytes replaced by the policy (already readable)
  uint64_t gaps = 0;               // holes given up on
  uint64_t gap_bytes = 0;
  uint64_t depth_reached = 0;      // streams that hit the reassembly depth
  uint64_t memcap_drops = 0;       // segments (or parts) not stored because of the memcap
  uint64_t reuse = 0;              // sessions restarted by a SYN on a closed session
  uint64_t rst = 0;
  uint64_t fin = 0;
};

// Configuration, memory accounting and counters shared by a tracker and its sessions.
struct StreamShared {
  StreamConfig cfg;
  uint64_t used = 0;  // bytes held by all buffers, bounded by cfg.memcap
  StreamCounters counters;
};

// One piece of a stream: data, or a hole of `gap_len` bytes at `offset` (then `data` is empty).
struct StreamChunk {
  std::span<const uint8_t> data;
  uint64_t offset = 0;
  uint64_t gap_len = 0;
  [[nodiscard]] bool empty() const { return data.empty() && gap_len == 0; }
};

// The reassembled bytes of one direction. Spans returned by data() and chunk() stay valid until
// the next call that changes the session (on_packet, consume, finish).
class StreamBuffer {
 public:
  StreamBuffer() = default;
  ~StreamBuffer();
  StreamBuffer(const StreamBuffer&) = delete;
  StreamBuffer& operator=(const StreamBuffer&) = delete;

  // Stream offset of the first byte still held (everything below was released).
  [[nodiscard]] uint64_t base_offset() const { return base_off_; }
  // End of the in-order data (holes given up on count as passed).
  [[nodiscard]] uint64_t contiguous_end() const { return contig_end_; }
  // contiguous_end() before the last packet of this direction: [new_from, contiguous_end) is new.
  [[nodiscard]] uint64_t new_from() const { return new_from_; }
  // In-order data acknowledged by the receiver (<= contiguous_end). Suricata's IDS mode hands
  // app-layer and raw inspection only ACKed data.
  [[nodiscard]] uint64_t acked_end() const { return acked_end_ < contig_end_ ? acked_end_ : contig_end_; }
  // In-order bytes from base_offset() up to the first gap or contiguous_end().
  [[nodiscard]] std::span<const uint8_t> data() const { return chunk(base_off_).data; }
  // The piece starting at `from` (clamped to base_offset()): bytes up to the next gap or the
  // contiguous end, or the gap itself. Empty when from >= contiguous_end().
  [[nodiscard]] StreamChunk chunk(uint64_t from) const;
  // Bytes at [from, from + out.size()) if all held and gap-free; false otherwise.
  [[nodiscard]] bool copy(uint64_t from, std::span<uint8_t> out) const;

  // Lowest offset whose already-readable bytes were replaced by the last packet (overlap
  // policy), or UINT64_MAX. Consumers that inspect before ACK may want to rescan from here.
  [[nodiscard]] uint64_t rewritten_from() const { return rewritten_from_; }
  [[nodiscard]] bool depth_reached() const { return depth_reached_; }
  // The sender's FIN (or an RST/flush) ended this stream and all data before it is in order.
  [[nodiscard]] bool eof() const { return eof_; }
  [[nodiscard]] uint64_t gap_count() const { return gap_count_; }
  [[nodiscard]] size_t ooo_segments() const { return ooo_.size(); }
  // Bytes held (in-order + out-of-order).
  [[nodiscard]] uint64_t held_bytes() const;
  [[nodiscard]] uint64_t consumer_progress(StreamConsumer c) const {
    return progress_[static_cast<size_t>(c)];
  }
  // Overlap policy of the receiving host.
  [[nodiscard]] OverlapPolicy policy() const { return policy_; }

 private:
  friend class TcpSession;
  friend class StreamTracker;
  struct Gap {
    uint64_t off;
    uint64_t len;
  };
  struct SegRec {
    uint64_t off;
    uint64_t len;
  };
  struct OooSeg {
    uint64_t off;
    std::vector<uint8_t> data;
  };

  void init(std::shared_ptr<StreamShared> shared);
  // Inserts a segment [off, off + len). Returns false if nothing new was stored.
  void insert(uint64_t off, const uint8_t* data, uint64_t len);
  void begin_packet() {
    new_from_ = contig_end_;
    rewritten_from_ = UINT64_MAX;
  }
  void set_acked(uint64_t off) {
    if (off > acked_end_) acked_end_ = off;
  }
  // Gives up on holes before `off`: they become gaps and held out-of-order data behind them
  // becomes readable.
  void skip_holes_to(uint64_t off);
  // Gives up on every hole (end of the stream).
  void finish();
  void consume(StreamConsumer c, uint64_t upto);
  void release(uint64_t upto);
  size_t pos_of(uint64_t off) const;
  void append(uint64_t off, const uint8_t* data, uint64_t len, uint64_t seg_s, uint64_t seg_e);
  void overlap_contiguous(uint64_t s, uint64_t e, const uint8_t* data, uint64_t seg_s,
                          uint64_t seg_e);
  void insert_beyond(uint64_t s, uint64_t e, const uint8_t* data, uint64_t seg_s, uint64_t seg_e);
  void promote();
  bool charge(uint64_t n);
  void uncharge(uint64_t n);

  std::vector<uint8_t> buf_;  // in-order bytes; buf_[head_] is at base_off_ (gaps take no room)
  size_t head_ = 0;
  uint64_t base_off_ = 0;
  uint64_t contig_end_ = 0;
  uint64_t new_from_ = 0;
  uint64_t acked_end_ = 0;
  uint64_t rewritten_from_ = UINT64_MAX;
  std::vector<Gap> gaps_;       // holes inside [base_off_, contig_end_)
  std::vector<SegRec> segs_;    // segment bounds of held in-order data (for the overlap policy)
  size_t seg_head_ = 0;
  std::vector<OooSeg> ooo_;     // disjoint, sorted, all beyond contig_end_
  uint64_t progress_[kStreamConsumers] = {0, 0};
  uint64_t gap_count_ = 0;
  uint64_t held_ = 0;
  bool depth_reached_ = false;
  bool eof_ = false;
  OverlapPolicy policy_ = OverlapPolicy::kBsd;
  std::shared_ptr<StreamShared> shared_;
};

// Sequence state of one direction (the sender's view, as Suricata's TcpStream).
struct TcpStreamState {
  uint32_t isn = 0;
  uint32_t base_seq = 0;   // sequence number of stream offset 0
  uint32_t next_seq = 0;   // next expected sequence number from this sender
  uint32_t last_ack = 0;   // highest ACK the receiver sent for this sender's data
  uint32_t window = 0;     // window advertised by this sender (scaled)
  uint8_t wscale = 0;
  bool syn_seen = false;
  bool fin_seen = false;
  bool fin_acked = false;
  bool rst_seen = false;
  bool has_ack = false;    // last_ack is meaningful
  uint32_t fin_seq = 0;    // sequence number of the FIN
};

struct StreamPacketResult {
  Direction dir = Direction::ToServer;  // may differ from the input after a midstream SYN/ACK swap
  bool tracked = false;        // the packet went through a TCP session
  bool invalid = false;        // out of state, ignored by the session
  bool retransmission = false;
  bool state_changed = false;
};

class TcpSession {
 public:
  explicit TcpSession(std::shared_ptr<StreamShared> shared);
  ~TcpSession();
  TcpSession(const TcpSession&) = delete;
  TcpSession& operator=(const TcpSession&) = delete;

  [[nodiscard]] TcpState state() const { return state_; }
  [[nodiscard]] bool midstream() const { return midstream_; }
  [[nodiscard]] bool four_way_handshake() const { return fourwhs_; }
  [[nodiscard]] bool fast_open() const { return tfo_; }
  // Bytes sent in direction d (ToServer: the client's bytes).
  [[nodiscard]] const StreamBuffer& stream(Direction d) const { return buffers_[index(d)]; }
  [[nodiscard]] const TcpStreamState& seq_state(Direction d) const { return streams_[index(d)]; }

  // Consumer `c` no longer needs bytes of direction d below `upto`; they are freed once every
  // consumer in the config's mask has released them.
  void consume(Direction d, StreamConsumer c, uint64_t upto) { buffers_[index(d)].consume(c, upto); }

  // Handles one packet of the session's flow; called by StreamTracker.
  StreamPacketResult on_packet(Flow& flow, const Packet& p, Direction dir);
  // End of the flow or of the capture: gives up on holes so all held data becomes readable.
  void finish();

 private:
  friend class StreamTracker;
  void handle_none(Flow& flow, const Packet& p, Direction& dir, StreamPacketResult& r);
  void handle_syn_sent(const Packet& p, Direction dir, StreamPacketResult& r);
  void handle_syn_recv(Flow& flow, const Packet& p, Direction dir, StreamPacketResult& r);
  void handle_open(const Packet& p, Direction dir, StreamPacketResult& r);
  bool rst_valid(const Packet& p, Direction dir) const;
  void handle_rst(const Packet& p, Direction dir, StreamPacketResult& r);
  void handle_data(const Packet& p, Direction dir, StreamPacketResult& r);
  void handle_ack(const Packet& p, Direction dir);
  void update_close_state();
  void set_policies(const Flow& flow);
  void set_state(TcpState s);
  uint64_t offset_of(Direction d, uint32_t seq) const;
  void init_stream(Direction d, uint32_t isn, bool data_after_isn);

  TcpState state_ = TcpState::kNone;
  bool midstream_ = false;
  bool fourwhs_ = false;
  bool tfo_ = false;
  bool midstream_synack_ = false;
  bool syn_had_wscale_ = false;
  Direction first_fin_ = Direction::ToServer;
  TcpStreamState streams_[2];
  StreamBuffer buffers_[2];
  // Sequence number and stream offset of a reference point per direction: offsets are computed
  // relative to it so 32-bit wrap-around is handled over long streams.
  uint32_t ref_seq_[2] = {0, 0};
  uint64_t ref_off_[2] = {0, 0};
  std::shared_ptr<StreamShared> shared_;
};

class StreamTracker {
 public:
  explicit StreamTracker(StreamConfig config);

  // Feeds a TCP packet of `flow` (direction from FlowTable::get_or_create). Creates the session
  // on a SYN, or on any packet when midstream is enabled; updates flow.state, flow.established
  // and flow.pkt_established. Packets with checksum_bad are ignored (counted). Non-TCP packets
  // are ignored.
  StreamPacketResult on_packet(Flow& flow, const Packet& p, Direction dir);

  // Gives up on holes of both directions (call before the flow ends).
  void finish(Flow& flow);

  [[nodiscard]] const StreamCounters& counters() const { return shared_->counters; }
  [[nodiscard]] const StreamConfig& config() const { return shared_->cfg; }
  [[nodiscard]] uint64_t memuse() const { return shared_->used; }

 private:
  std::shared_ptr<StreamShared> shared_;
};

}  // namespace vigil::sensor
