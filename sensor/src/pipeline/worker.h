// A worker: the per-thread half of the pipeline. Owns a flow table, the TCP streams and
// app-layer parsers of its flows, a detection thread context and its counters. Every packet of
// a flow reaches the same worker (the reader dispatches by a symmetric flow hash), so nothing
// here is shared or locked except the EVE writer's append.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "vigil/sensor/config.h"
#include "vigil/sensor/detect.h"
#include "vigil/sensor/eve.h"
#include "vigil/sensor/flow.h"
#include "vigil/sensor/packet.h"

namespace vigil::sensor {

class EventShipper;
namespace classify {
class Classifier;
class ClassifyThread;
struct FlowClassification;
}  // namespace classify

struct WorkerCounters {
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint64_t invalid = 0;         // not decoded: counted by the decoder, skipped here
  uint64_t checksum_bad = 0;  // kept out of streams, still inspected
  uint64_t no_flow = 0;
  uint64_t alerts = 0;
  uint64_t flows_logged = 0;
  uint64_t ship_dropped = 0;  // the shipper's queue was full
  uint64_t flows_shipped = 0;  // flow records handed to the shipper (correlator.records)
};

class Worker {
 public:
  // Flows are expired every kExpireIntervalUs of capture time: by the worker itself when it has
  // `own_clock` (a single worker), otherwise when the reader calls expire() on every worker.
  static constexpr int64_t kExpireIntervalUs = 1000000;
  static core::Result<std::unique_ptr<Worker>> create(const SensorConfig& cfg, const DetectEngine& engine,
                                                      EveWriter* eve, bool own_clock,
                                                      EventShipper* shipper = nullptr);
  ~Worker();

  // Runs one decoded packet through flow tracking, streams, app layer and detection.
  void process(Packet& p);
  // Turns on the classification detectors (docs/classification.md); `c` outlives the worker.
  // Call before the first packet.
  core::Status set_classifier(const classify::Classifier* c);

  // Ends flows idle past their timeout at packet time `now`.
  void expire(core::Timestamp now);
  // Ends every flow (end of capture): inspects data still unseen, logs flows.
  void flush();

  [[nodiscard]] const WorkerCounters& counters() const { return counters_; }
  [[nodiscard]] const DetectCounters& detect_counters() const { return detect_->counters(); }
  [[nodiscard]] const FlowCounters& flow_counters() const { return flows_->counters(); }
  // Adds this worker's counters into a stats object (summing with other workers).
  void add_stats(Json& stats) const;

 private:
  Worker(const SensorConfig& cfg, const DetectEngine& engine, EveWriter* eve);
  // Last look at a flow leaving the table: inspect unseen stream data, log the flow record.
  void end_flow(Flow& f, FlowEndReason reason);
  void ship_alert(const Packet& p, const Flow* flow, const DetectPacket& in, const rules::Rule& r,
                  const std::string& app_key, const std::string& app_json);
  // Classification: scans a block of the flow's direction `d` (stream bytes at `offset`, or a
  // datagram when `datagram`), and writes the flow's record at its end.
  void classify_block(Flow& f, int d, std::span<const uint8_t> data, uint64_t offset, bool datagram);
  void classify_stream(Flow& f, TcpSession& tcp, Direction d);
  void classify_flow_end(Flow& f);
  // Runs detection on one (possibly pseudo) packet and writes its alerts.
  void run_detect(const Packet& p, Flow* flow, const DetectPacket& in);
  struct Impl;
  std::unique_ptr<Impl> impl_;
  const SensorConfig& cfg_;
  const DetectEngine& engine_;
  EveWriter* eve_;
  std::unique_ptr<FlowTable> flows_;
  std::unique_ptr<DetectThread> detect_;
  WorkerCounters counters_;
  bool bypass_midstream_ = false;
  bool own_clock_ = true;
  EventShipper* shipper_ = nullptr;  // ships alerts to the correlator when set (thread-safe)
  bool ship_flows_ = false;          // "flow" in correlator.records
  void ship_flow(const Flow& f, FlowEndReason reason);
  bool log_alert_ = false;
  bool log_flow_ = false;
  bool log_classification_ = false;
  const classify::Classifier* classifier_ = nullptr;
  std::unique_ptr<classify::ClassifyThread> classify_;
};

}  // namespace vigil::sensor
