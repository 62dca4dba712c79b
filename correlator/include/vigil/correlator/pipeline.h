// Ingest → label → enrich → correlate → persist for groups of received batches (DESIGN §5).
//
// ingest() decodes each batch, checks it against the sender's authenticated sensor id, drops
// duplicates by (sensor_id, seq) against the persisted high-water mark, runs the engine and
// commits everything — events, alerts, incidents, window state and the new high-water marks —
// in one synced RocksDB write. Only then are OK acks returned. A failed commit returns RETRY for
// every batch and reloads the engine from the store, so nothing half-done survives.
//
// Not thread-safe: one thread (the correlator's main loop) calls it.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "vigil/core/event.h"
#include "vigil/core/log.h"
#include "vigil/correlator/engine.h"
#include "vigil/store/store.h"

namespace vigil::correlator {

struct IncomingBatch {
  std::string peer_sensor;  // the sensor id its CURVE key authenticated as
  std::string bytes;
};

struct IngestCounters {
  uint64_t batches_received = 0;
  uint64_t batches_stored = 0;
  uint64_t batches_duplicate = 0;
  uint64_t batches_malformed = 0;
  uint64_t batches_sensor_mismatch = 0;
  uint64_t batches_out_of_order = 0;
  uint64_t events_stored = 0;
  uint64_t commits = 0;
  uint64_t commit_failures = 0;
  uint64_t commit_bytes = 0;  // WriteBatch payload bytes of successful commits
  // Where the pipeline thread's time goes (microseconds, summed over all ingest calls).
  uint64_t usec_decode = 0;     // wire decode and checks
  uint64_t usec_correlate = 0;  // label, enrich, correlate, event encoding
  uint64_t usec_flush = 0;      // alert/state encoding into the commit
  uint64_t usec_commit = 0;     // RocksDB write + WAL fsync
};

class Pipeline {
 public:
  Pipeline(store::Store& store, std::shared_ptr<const CorrelatorConfig> config, std::shared_ptr<const RuleSet> rules,
           std::shared_ptr<const ThreatIntel> intel);

  // Restores the engine's windows from the store. Call once before ingest().
  core::Status start();

  // One ack per input, in order.
  std::vector<core::BatchAck> ingest(std::vector<IncomingBatch>& batches);

  void reload(std::shared_ptr<const RuleSet> rules, std::shared_ptr<const ThreatIntel> intel);
  // The policy labelling events and classifying alerts from the next ingest on (null = none).
  void set_policy(std::shared_ptr<const policy::Policy> policy) { engine_.set_policy(std::move(policy)); }

  // See Engine::refresh_alerts: alerts changed in the store by someone else between commits.
  core::Status refresh_alerts(const std::vector<core::RecordId>& ids) { return engine_.refresh_alerts(store_, ids); }

  // Alerts written by the last successful ingest (for publishing).
  [[nodiscard]] const std::vector<core::Alert>& changed_alerts() const { return changed_; }
  [[nodiscard]] const IngestCounters& counters() const { return counters_; }
  [[nodiscard]] const EngineCounters& engine_counters() const { return engine_.counters(); }

 private:
  core::Result<uint64_t> hwm(const std::string& sensor);

  store::Store& store_;
  std::shared_ptr<const CorrelatorConfig> config_;
  Engine engine_;
  std::unordered_map<std::string, uint64_t> hwm_;  // durable high-water marks
  store::CommitBatch batch_;
  std::vector<core::Alert> changed_;
  IngestCounters counters_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace vigil::correlator
