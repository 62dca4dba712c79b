// The correlator's ZeroMQ side (DESIGN §4): a ROUTER socket with CURVE (server keys) and a ZAP
// handler that admits only the sensor public keys listed in the config. An unknown key is
// refused, counted and logged. Each admitted connection carries its sensor id (ZAP User-Id),
// which the pipeline checks against the batch's sensor_id.
//
// run() is the correlator's main loop: it feeds received batches into the Pipeline's open commit
// (up to max_batches_per_commit) while the previous commit is written on the pipeline's commit
// thread, hands the open commit over as soon as that one is durable, sends each batch's ack only
// then, and publishes changed alerts on the optional PUB socket. tick(), subscribers and the
// next commit run between two commits (none in flight). On stop, the open commit is finished
// and acknowledged first. All sockets live on the thread calling run(); nothing here is
// thread-safe except the stop flag.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "vigil/correlator/config.h"
#include "vigil/correlator/pipeline.h"

namespace vigil::correlator {

struct TransportCounters {
  uint64_t auth_accepted = 0;
  uint64_t auth_refused = 0;       // ZAP: unknown public key
  uint64_t handshake_failed = 0;   // no CURVE, wrong server key, protocol errors
  uint64_t frames_malformed = 0;   // wrong frame count
  uint64_t acks_sent = 0;
  uint64_t alerts_published = 0;
  uint64_t alerts_withheld = 0;  // not published: the policy's publishing user may not read them
};

class IngestServer {
 public:
  ~IngestServer();
  IngestServer(const IngestServer&) = delete;
  IngestServer& operator=(const IngestServer&) = delete;

  // Creates the sockets and binds them. Must be called on the thread that will call run().
  static core::Result<std::unique_ptr<IngestServer>> bind(std::shared_ptr<const CorrelatorConfig> config);

  // The bound endpoint (with the real port when the config asked for port 0).
  [[nodiscard]] const std::string& endpoint() const;

  // Loops until `stop` is set. `tick` runs about every 100 ms between batches (reload, stats).
  core::Status run(Pipeline& pipeline, const std::atomic<bool>& stop, const std::function<void()>& tick);

  struct Hooks {
    std::function<void()> tick;  // about every 100 ms between commits, and whenever wake_fd fires
    int wake_fd = -1;            // an eventfd: readable -> drained, then tick() runs at once
    // After every successful commit, with the alerts it wrote (after the PUB socket has them).
    std::function<void(const std::vector<core::Alert>&)> on_commit;
    // The publishing decision for one changed alert: false withholds it from the PUB socket
    // (counted as alerts_withheld); `record` may be redacted in place. Unset: publish all.
    std::function<bool(const core::Alert&, nlohmann::json& record)> publish_filter;
  };
  core::Status run(Pipeline& pipeline, const std::atomic<bool>& stop, const Hooks& hooks);

  [[nodiscard]] const TransportCounters& counters() const;

  struct Impl;

 private:
  explicit IngestServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::correlator
