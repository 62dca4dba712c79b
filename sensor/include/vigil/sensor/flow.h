// Flow table: one per worker thread, keyed by the normalised 5-tuple (+ VLAN ids and VNI).
//
// Threading: a FlowTable and every Flow in it belong to the worker thread that owns the table;
// nothing here locks. The reader thread must dispatch both directions of a flow to the same
// worker (hash the FlowKey: `FlowKeyHash` is symmetric by construction).
//
// Ownership: the table owns its Flows. A `Flow*` returned by `get_or_create` stays valid until
// the flow is expired, evicted or flushed; the table calls the end callback first, so the caller
// can emit the flow record and flush stream data, and the pointer must not be kept after that.
// Flow objects are recycled, so creating flows allocates only until the pool reaches its peak.
//
// Errors: none are reported through exceptions. `get_or_create` returns nullptr only when the
// table is full and no flow may be evicted (counted in `FlowCounters::memcap_hits`).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "vigil/core/ip.h"
#include "vigil/core/time.h"
#include "vigil/sensor/packet.h"

namespace vigil::sensor {

class TcpSession;

enum class Direction : uint8_t { ToServer = 0, ToClient = 1 };

[[nodiscard]] constexpr Direction opposite(Direction d) {
  return d == Direction::ToServer ? Direction::ToClient : Direction::ToServer;
}
[[nodiscard]] constexpr size_t index(Direction d) { return static_cast<size_t>(d); }

// The normalised identity of a flow: both directions of a conversation give the same key.
// Endpoint "a" is the smaller (address, port) pair. For ICMP the ports hold the echo id on
// both sides (so request and reply meet), or 0 for types without one.
struct FlowKey {
  std::array<uint8_t, 16> addr_a{};
  std::array<uint8_t, 16> addr_b{};
  uint16_t port_a = 0;
  uint16_t port_b = 0;
  uint16_t vlan[2] = {0, 0};
  uint32_t vni = 0;
  uint8_t proto = 0;
  uint8_t ip_version = 0;

  // Builds the key of a decoded IP packet.
  static FlowKey from_packet(const Packet& p);
  friend bool operator==(const FlowKey&, const FlowKey&) = default;
};

// 64-bit hash of a key; the same for both directions because the key is normalised.
[[nodiscard]] uint64_t flow_key_hash(const FlowKey& key);

struct FlowKeyHash {
  size_t operator()(const FlowKey& k) const { return static_cast<size_t>(flow_key_hash(k)); }
};

// Per-flow state other components hang on a flow (detection, app-layer). Destroyed with the flow.
struct FlowExtension {
  virtual ~FlowExtension() = default;
};

// Suricata's flow states, used to pick the timeout.
enum class FlowState : uint8_t { kNew = 0, kEstablished = 1, kClosed = 2 };

// Why a flow left the table, handed to the end callback.
enum class FlowEndReason : uint8_t {
  kTimeout,   // idle longer than its protocol/state timeout
  kEvicted,   // removed to make room (table full)
  kReused,    // TCP: a new SYN reused the tuple of a closed session
  kShutdown,  // flush_all at the end of the capture
};
[[nodiscard]] std::string_view to_string(FlowEndReason r);

struct Flow {
  Flow();
  ~Flow();
  Flow(const Flow&) = delete;
  Flow& operator=(const Flow&) = delete;

  // EVE flow_id: non-zero, fits 51 bits (JSON-safe, positive as int64), from hash and a counter.
  uint64_t id = 0;
  FlowKey key;
  uint64_t hash = 0;

  // Client = sender of the first packet (for TCP: the SYN sender; a midstream pickup on a SYN/ACK
  // swaps the roles as Suricata does).
  core::IpAddress client_ip;
  core::IpAddress server_ip;
  uint16_t client_port = 0;
  uint16_t server_port = 0;
  uint8_t proto = 0;
  uint8_t ip_version = 0;

  core::Timestamp first_ts;
  core::Timestamp last_ts;
  uint64_t packets[2] = {0, 0};  // indexed by Direction
  uint64_t bytes[2] = {0, 0};    // captured bytes, indexed by Direction

  FlowState state = FlowState::kNew;
  // Suricata's `flow:established`: TCP once the session reached ESTABLISHED (3-way handshake done
  // or midstream pickup); other protocols once packets were seen in both directions.
  bool established = false;
  // `flow:established` for the packet being processed: the value of `established` before the
  // packet's own stream update, as Suricata evaluates it (the ACK closing the handshake is not
  // established unless it carries data). Set by get_or_create and the stream tracker.
  bool pkt_established = false;
  bool seen[2] = {false, false};  // a packet was seen in that direction

  uint8_t app_proto = 0;  // set by the app-layer; 0 = unknown

  std::unique_ptr<TcpSession> tcp;  // TCP tracking, created by StreamTracker
  std::unique_ptr<FlowExtension> detect;
  std::unique_ptr<FlowExtension> app;

  // Direction of a packet of this flow.
  [[nodiscard]] Direction direction_of(const Packet& p) const;
  // Swaps client and server with their counters (Suricata's FlowSwap for a midstream SYN/ACK).
  void swap_direction();

 private:
  friend class FlowTable;
  void reset();
  uint32_t lru_prev_ = 0;  // slot index + 1, 0 = none
  uint32_t lru_next_ = 0;
  uint32_t slot_ = 0;      // own index in the table's flow pool
};

// Timeouts in seconds for one protocol: flows idle longer than this are expired.
struct FlowTimeouts {
  uint32_t new_s = 30;
  uint32_t established_s = 300;
  uint32_t closed_s = 0;
};

struct FlowConfig {
  // Upper bound on live flows; the pool and hash index are sized for it.
  uint32_t max_flows = 65536;
  // Memory bound in bytes for the flow pool (sizeof(Flow) each); 0 = only max_flows applies.
  uint64_t memcap = 0;
  // When full, the least recently seen flow is evicted if idle at least this long (0 = always).
  uint32_t evict_min_idle_s = 0;
  // Suricata's suricata.yaml defaults (flow-timeouts).
  FlowTimeouts default_timeouts{30, 300, 0};
  FlowTimeouts tcp_timeouts{60, 600, 60};
  FlowTimeouts udp_timeouts{30, 300, 0};
  FlowTimeouts icmp_timeouts{30, 300, 0};
};

struct FlowCounters {
  uint64_t created = 0;
  uint64_t active = 0;          // gauge
  uint64_t timed_out = 0;
  uint64_t evicted = 0;         // removed to make room for a new flow
  uint64_t memcap_hits = 0;     // table full and nothing evictable: packet got no flow
  uint64_t reused = 0;          // TCP tuple reuse ended the previous flow
  uint64_t flushed = 0;         // ended by flush_all
  uint64_t no_flow = 0;         // packets without IP/L4 information (not tracked)
};

// Called before a flow is destroyed. The flow may be read and its extensions moved out.
using FlowEndCallback = std::function<void(Flow&, FlowEndReason)>;

class FlowTable {
 public:
  explicit FlowTable(FlowConfig config);
  ~FlowTable();
  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;

  // Callback used when get_or_create evicts or ends a flow (eviction, TCP reuse). Optional.
  void set_end_callback(FlowEndCallback cb) { end_cb_ = std::move(cb); }

  // Finds or creates the flow of a decoded packet, updates its timestamps, per-direction
  // counters, seen flags and, for non-TCP flows, `established`. `dir_out` is the packet's
  // direction, `created_out` whether the flow is new. Returns nullptr when the packet has no IP
  // layer (counted in no_flow) or the table is full and nothing may be evicted (memcap_hits).
  Flow* get_or_create(const Packet& p, Direction& dir_out, bool& created_out);

  // Ends every flow idle longer than its timeout at `now` (packet time), calling `cb` first.
  // Cost is proportional to the number of flows idle longer than the smallest timeout.
  void expire(core::Timestamp now, const FlowEndCallback& cb);

  // Visits every live flow (no removal).
  void for_each(const std::function<void(Flow&)>& fn);

  // Ends every flow (end of capture), oldest first, calling `cb` first.
  void flush_all(const FlowEndCallback& cb);

  [[nodiscard]] size_t size() const { return live_; }
  [[nodiscard]] uint32_t capacity() const { return cap_; }
  [[nodiscard]] const FlowCounters& counters() const { return counters_; }
  [[nodiscard]] const FlowConfig& config() const { return config_; }

  // Timeout in seconds that applies to the flow in its current state.
  [[nodiscard]] uint32_t timeout_for(const Flow& f) const;

 private:
  struct Slot {
    uint64_t hash = 0;
    uint32_t flow = 0;  // pool index + 1; 0 = empty
  };

  Flow* find(const FlowKey& key, uint64_t hash);
  Flow* allocate();
  void index_insert(Flow* f);
  void index_erase(Flow* f);
  void lru_unlink(Flow* f);
  void lru_push_back(Flow* f);
  void end_flow(Flow* f, FlowEndReason reason, const FlowEndCallback* cb);
  bool tcp_reuse(const Flow& f, const Packet& p, Direction dir) const;

  FlowConfig config_;
  FlowEndCallback end_cb_;
  FlowCounters counters_;
  uint32_t cap_ = 0;
  std::vector<std::unique_ptr<Flow>> pool_;  // every Flow ever allocated
  std::vector<uint32_t> free_;               // pool indexes of recycled flows
  std::vector<Slot> slots_;                  // open addressing, linear probing
  uint64_t mask_ = 0;
  size_t live_ = 0;
  uint32_t lru_head_ = 0;  // least recently seen (pool index + 1)
  uint32_t lru_tail_ = 0;
  uint64_t id_counter_ = 0;
};

}  // namespace vigil::sensor
