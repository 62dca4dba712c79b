// Ingest → label → enrich → correlate → persist for received batches (DESIGN §5).
//
// Each batch is decoded, checked against the sender's authenticated sensor id and deduplicated
// by (sensor_id, seq) against the persisted high-water mark; its events run through the engine
// and go into the *open* commit. A commit holds everything — events, alerts, incidents, window
// state and the new high-water marks — and is applied as one synced RocksDB write on the
// pipeline's commit thread, so the next commit is prepared (decode, label, correlate, encode)
// while the previous one is written and fsynced. At most one commit is in flight; the open one
// grows meanwhile (up to the caller's limit), so a backlog makes larger group commits and an
// idle pipeline commits each batch at once.
//
// Invariants: an OK ack is returned only once its commit is durable; commits are applied in
// order. A failed commit returns RETRY for every batch in it *and* in the open commit built on
// top of it (which is discarded), and reloads the engine and high-water marks from the store,
// so nothing half-done survives. A batch whose seq is in a commit not yet durable is answered
// RETRY (not DUPLICATE): if that commit failed, the sensor must still hold it.
//
// Not thread-safe: one thread (the correlator's main loop) calls every method; the commit
// thread is internal and touches only the commit it was handed and the store.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
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
  uint64_t batches_in_flight_resent = 0;  // seq already in a commit not yet durable: RETRY
  uint64_t events_stored = 0;
  uint64_t commits = 0;
  uint64_t commit_failures = 0;
  uint64_t commit_bytes = 0;  // WriteBatch payload bytes of successful commits
  uint64_t max_batches_in_commit = 0;
  // Where the time goes (microseconds, summed). Pipeline thread: decode, correlate, flush.
  uint64_t usec_decode = 0;     // wire decode and checks
  uint64_t usec_correlate = 0;  // label, enrich, correlate, event encoding
  uint64_t usec_flush = 0;      // alert/state encoding into the commit (part of it in prepare())
  uint64_t usec_flush_critical = 0;  // the part in start_commit(), while the commit thread waits
  uint64_t usec_commit = 0;     // commit thread: RocksDB write + WAL fsync
  uint64_t usec_commit_max = 0;  // the slowest single commit
};

class Pipeline {
 public:
  Pipeline(store::Store& store, std::shared_ptr<const CorrelatorConfig> config, std::shared_ptr<const RuleSet> rules,
           std::shared_ptr<const ThreatIntel> intel);
  // Waits for the commit in flight (its result is dropped: its batches were not acknowledged).
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Restores the engine's windows from the store. Call once before ingest()/add(), and only
  // while no commit is in flight.
  core::Status start();

  // Synchronous form (tests, tools): adds every batch, commits, waits. One ack per input, in
  // order. Must not be mixed with a pending asynchronous commit.
  std::vector<core::BatchAck> ingest(std::vector<IncomingBatch>& batches);

  // ---- Asynchronous form (IngestServer) ----
  // The caller's handle for one batch, returned with its ack.
  using Tag = uint64_t;
  // Takes one batch into the open commit, or answers it at once (malformed, impostor,
  // duplicate, out of order, in flight): then returns the ack.
  std::optional<core::BatchAck> add(IncomingBatch& batch, Tag tag);
  // Batches in the open commit (not yet handed to the commit thread).
  [[nodiscard]] size_t open_batches() const { return open_.tags.size(); }
  // True while a commit is being written (its completion not yet taken).
  [[nodiscard]] bool committing() const { return in_flight_ != nullptr; }
  // Encodes the engine's changed alerts and state into the open commit now, while the commit
  // in flight is written (call it when there is nothing else to do), so that start_commit() has
  // little left to encode. An alert changed again before start_commit() is written again.
  void prepare();
  // True when the open commit holds everything the engine changed (nothing added since).
  [[nodiscard]] bool prepared() const { return open_.tags.empty() || prepared_; }
  // Hands the open commit (with the engine's changed alerts and state) to the commit thread.
  // Requires !committing() and open_batches() > 0.
  void start_commit();
  // Readable (an eventfd) when the commit in flight has finished.
  [[nodiscard]] int completion_fd() const { return done_fd_; }
  struct Completed {
    std::vector<std::pair<Tag, core::BatchAck>> acks;  // OK, or RETRY for all when it failed
    bool ok = false;
  };
  // The finished commit's acks, or nullopt when none has finished. With `wait`, blocks until the
  // commit in flight finishes (nullopt only when none is in flight). After a failure the open
  // commit's batches are answered RETRY in the same result and the engine is reloaded.
  std::optional<Completed> take_completed(bool wait = false);

  void reload(std::shared_ptr<const RuleSet> rules, std::shared_ptr<const ThreatIntel> intel);
  // The policy labelling events and classifying alerts from the next ingest on (null = none).
  void set_policy(std::shared_ptr<const policy::Policy> policy) { engine_.set_policy(std::move(policy)); }

  // See Engine::refresh_alerts: alerts changed in the store by someone else between commits.
  core::Status refresh_alerts(const std::vector<core::RecordId>& ids) { return engine_.refresh_alerts(store_, ids); }

  // Alerts written by the last commit whose completion was taken (for publishing).
  [[nodiscard]] const std::vector<core::Alert>& changed_alerts() const { return changed_; }
  [[nodiscard]] const IngestCounters& counters() const { return counters_; }
  [[nodiscard]] const EngineCounters& engine_counters() const { return engine_.counters(); }

 private:
  // Everything one commit carries besides the store batch.
  struct Commit {
    store::CommitBatch batch;
    std::vector<Tag> tags;                               // its batches, in arrival order
    std::vector<uint64_t> seqs;                          // their seqs
    std::vector<std::string> sensors;                    // their sensor ids
    std::unordered_map<std::string, uint64_t> marks;     // high-water marks it makes durable
    std::vector<core::Alert> changed;                    // alerts it writes
    uint64_t events = 0;
    size_t bytes = 0;
    int flushes = 0;  // engine flushes into it (prepare + start_commit)
    core::Status result;
    uint64_t usec = 0;
    void reset();
  };

  core::Result<uint64_t> durable_hwm(const std::string& sensor);
  void commit_loop();
  std::vector<std::pair<Tag, core::BatchAck>> retry_all(Commit& c, const char* reason);

  store::Store& store_;
  std::shared_ptr<const CorrelatorConfig> config_;
  Engine engine_;
  std::unordered_map<std::string, uint64_t> hwm_;        // durable high-water marks
  std::unordered_map<std::string, uint64_t> expected_;   // including commits not yet durable
  std::unique_ptr<Commit> in_flight_;                    // handed to the commit thread
  Commit open_;                                          // being filled
  std::unique_ptr<Commit> spare_;                        // reused allocations
  bool prepared_ = false;                                // open_ flushed, nothing added since
  std::vector<core::Alert> changed_;
  IngestCounters counters_;
  std::shared_ptr<spdlog::logger> log_;

  // Commit thread.
  std::mutex mu_;
  std::condition_variable cv_;
  Commit* job_ = nullptr;   // guarded by mu_: handed over, not yet done
  bool job_done_ = false;   // guarded by mu_
  bool quit_ = false;       // guarded by mu_
  int done_fd_ = -1;
  std::thread committer_;
};

}  // namespace vigil::correlator
