// The detection engine: Suricata rule semantics over decoded packets, TCP streams and
// application-layer transactions.
//
//   DetectEngine  immutable after build(); shared by every worker thread. Holds the compiled
//                 rule set (Hyperscan databases per buffer), Suricata's signature order, flowbit
//                 name ids and per-rule pre-analysis (IP-only, stream/packet requirements).
//   DetectThread  one per worker thread: Hyperscan scratch, candidate buffers. Not thread-safe.
//   DetectFlowState  per-flow detection state (flowbits, raw-stream progress, per-transaction
//                 "already alerted" marks, by_flow thresholds), owned by the flow.
//
// Per packet: candidates = rules without a fast pattern (by protocol group) + rules whose fast
// pattern occurs in the packet payload, the new raw-stream chunk or an updated transaction's
// buffers; candidates are evaluated in Suricata's signature order (action, flowbits setters
// before readers, priority, load order): header, flow, header keywords, flowbit checks,
// payload/stream/buffer inspection, then flowbit actions, thresholds and the per-packet alert
// limit. No exceptions and no allocation in steady state on this path.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "vigil/core/result.h"
#include "vigil/rules/hs/matcher.h"
#include "vigil/rules/parser.h"
#include "vigil/sensor/packet.h"

namespace vigil::sensor {

// A view of one application-layer transaction for detection. Implemented by the app-layer
// adapters; valid for the duration of one DetectThread::inspect call.
class AppTxView {
 public:
  virtual ~AppTxView() = default;
  [[nodiscard]] virtual uint64_t tx_id() const = 0;
  // Instances of buffer `b` in this transaction (0 when absent). Most buffers have one; dns.query
  // has one per query name.
  [[nodiscard]] virtual size_t buffer_count(rules::Buffer b) const = 0;
  [[nodiscard]] virtual std::span<const uint8_t> buffer(rules::Buffer b, size_t i) const = 0;
  // True once the transaction will not change any more in both directions.
  [[nodiscard]] virtual bool complete() const = 0;
  // The negotiated TLS version for tls.version (0x0303 = TLS 1.2), 0 when not TLS.
  [[nodiscard]] virtual uint16_t tls_version() const { return 0; }
};

struct ThresholdEntry {
  int64_t window_start_us = 0;
  uint32_t count = 0;
};

class DetectFlowState {
 public:
  std::vector<uint64_t> flowbits;  // bit per flowbit name id
  uint64_t raw_progress[2] = {0, 0};  // stream offset inspected so far, per direction
  bool seen_direction[2] = {false, false};  // for IP-only rules: first packet per direction
  bool pass = false;  // a pass rule matched: the flow is not inspected any more
  // Rules that alerted on a transaction (once per tx): tx_id -> sorted rule indexes. Only
  // transactions that alerted have an entry; kept for the flow's life because a transaction can
  // be inspected again at the end of the flow.
  std::unordered_map<uint64_t, std::vector<uint32_t>> tx_alerted;
  std::unordered_map<uint32_t, ThresholdEntry> thresholds;  // by_flow state per rule
};

// Everything detection needs to know about one packet. Built by the pipeline.
struct DetectPacket {
  const Packet* pkt = nullptr;
  DetectFlowState* flow = nullptr;  // null when the packet has no flow
  uint64_t flow_id = 0;
  bool to_server = true;    // direction relative to the flow's client
  bool established = false; // Suricata's flow:established
  rules::AppProto app_proto = rules::AppProto::Unknown;
  // The packet's payload was taken into the TCP stream: stream-requiring rules then look at the
  // stream instead of the packet.
  bool stream_added = false;
  // Raw stream data of the packet's direction to inspect now, and the stream offset of its first
  // byte (for offset/depth on the stream). Empty when there is none.
  std::span<const uint8_t> stream;
  uint64_t stream_offset = 0;
  // An end-of-flow pseudo packet: only stream data, no real headers.
  bool pseudo = false;
  // Transactions updated by this packet, in its direction.
  std::span<const AppTxView* const> txs;
};

struct Alert {
  uint32_t rule = 0;            // index into DetectEngine::rules()
  bool stream_match = false;
  const AppTxView* tx = nullptr;  // the transaction the rule matched in, if any
};

struct DetectOptions {
  uint32_t packet_alert_max = 15;  // Suricata's packet-alert-max
  // Suricata's action-order; pass first by default.
  std::vector<rules::Action> action_order = {rules::Action::Pass, rules::Action::Drop,
                                             rules::Action::Reject, rules::Action::Alert};
};

struct DetectBuildReport {
  rules::hs::BuildReport compile;
  size_t rules = 0;
  size_t flowbit_names = 0;
  // Rules without a fast pattern that every packet of a protocol group (tcp, udp, icmp, other)
  // meets because neither a port nor an address narrows them.
  size_t unfiltered_generic[5] = {};
  size_t iponly_generic[5] = {};
};

class DetectThread;
namespace detail {
class IpOnlyIndex;
class PortIndex;
}  // namespace detail

class DetectEngine {
 public:
  static core::Result<std::unique_ptr<DetectEngine>> build(std::vector<rules::Rule> rules,
                                                           const DetectOptions& opts,
                                                           DetectBuildReport* report = nullptr);
  ~DetectEngine();

  [[nodiscard]] const std::vector<rules::Rule>& rules() const { return compiled_->rules(); }
  [[nodiscard]] const rules::hs::CompiledRules& compiled() const { return *compiled_; }
  [[nodiscard]] size_t flowbit_count() const { return flowbit_count_; }
  [[nodiscard]] const DetectOptions& options() const { return opts_; }

  // Per-rule facts computed at build time.
  struct RuleInfo {
    uint32_t order = 0;  // position in Suricata's signature order
    uint8_t proto_mask = 0;
    bool ip_only = false;
    bool require_stream = false;  // payload content inspects the TCP stream first
    bool require_packet = false;  // payload content must (also) inspect the packet
    bool has_payload = false;
    bool has_app_buffers = false;
    std::vector<uint32_t> flowbit_ids;  // parallel to Rule::flowbits names, flattened
    std::vector<uint16_t> tls_versions; // tls.version values as wire codes
  };
  [[nodiscard]] const RuleInfo& info(uint32_t rule) const { return info_[rule]; }

 private:
  friend class DetectThread;
  DetectEngine() = default;

  std::unique_ptr<rules::hs::CompiledRules> compiled_;
  // Payload rules that must see the packet itself even when its bytes went into the TCP stream
  // (dsize, tcp-pkt, flow:no_stream): a second, small database so that such packets are not
  // scanned twice (Suricata keeps separate packet and stream prefilters for the same reason).
  std::unique_ptr<rules::hs::CompiledRules> packet_compiled_;
  std::vector<uint32_t> packet_map_;  // packet_compiled_ index -> compiled_ index
  DetectOptions opts_;
  std::vector<RuleInfo> info_;
  size_t flowbit_count_ = 0;
  // Rules without a fast pattern, per protocol group (see proto_group()): IP-only rules by
  // address, the others by port.
  struct Unfiltered;
  std::unique_ptr<Unfiltered> unfiltered_;
  // Global thresholds (by_src/by_dst/by_both/by_rule) are shared by all workers so that results
  // do not depend on how flows were spread; they are touched only after a rule fully matched.
  mutable std::mutex threshold_mu_;
  mutable std::unordered_map<std::string, ThresholdEntry> thresholds_;
};

struct DetectCounters {
  uint64_t packets = 0;
  uint64_t candidates = 0;
  uint64_t alerts = 0;
  uint64_t suppressed = 0;          // by threshold/detection_filter
  uint64_t alert_limit_hits = 0;    // packet-alert-max reached
  uint64_t scan_errors = 0;
};

class DetectThread {
 public:
  // Fails when the Hyperscan scratch cannot be allocated.
  static core::Result<std::unique_ptr<DetectThread>> create(const DetectEngine& engine);

  // Runs every applicable rule on `in` and appends alerts (in signature order) to `out`.
  void inspect(const DetectPacket& in, std::vector<Alert>& out);

  [[nodiscard]] const DetectCounters& counters() const { return counters_; }
  [[nodiscard]] DetectFlowState make_flow_state() const;

 private:
  DetectThread(const DetectEngine& engine, rules::hs::Scratch scratch);
  bool evaluate(uint32_t rule, const DetectPacket& in, Alert& alert);
  bool match_payload(uint32_t rule, const DetectPacket& in, bool& stream_match);
  bool match_app(uint32_t rule, const DetectPacket& in, const AppTxView*& tx);
  bool threshold_allows(uint32_t rule, const DetectPacket& in);
  void apply_flowbit_actions(uint32_t rule, const DetectPacket& in);

  const DetectEngine& engine_;
  rules::hs::Scratch scratch_;
  std::optional<rules::hs::Scratch> packet_scratch_;
  std::vector<uint32_t> candidates_;
  std::vector<uint32_t> hits_;
  DetectCounters counters_;
};

}  // namespace vigil::sensor
