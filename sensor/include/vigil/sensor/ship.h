// Event shipping to the correlator (DESIGN §4): batches with a per-sensor monotonic seq over a
// ZeroMQ DEALER socket with CURVE, kept in a bounded on-disk spool until the correlator
// acknowledges that they are durable.
//
// Delivery is at-least-once; the correlator drops duplicates by (sensor_id, seq), so the net
// effect is exactly-once storage. A batch leaves the spool only on an OK/DUPLICATE ack (or a
// REJECTED one, which is counted: it will never be accepted). Unacknowledged batches are resent
// in seq order after a reconnect or when an ack is overdue, and survive a sensor restart.
//
// Threading: EventShipper owns one background thread, which alone touches the socket and the
// spool. submit(), flush(), stats() and wait_drained() are thread-safe. Nothing throws.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "vigil/core/event.h"
#include "vigil/core/result.h"

namespace vigil::sensor {

// A CURVE key pair, Z85 text (40 characters each).
struct CurveKeyPair {
  std::string public_key;
  std::string secret_key;
};

// Generates a key pair (libzmq's zmq_curve_keypair).
core::Result<CurveKeyPair> generate_curve_keypair();
// Reads a key file written by vigil-keygen (vigil/core/curve_keys.h). Errors name the file.
core::Result<CurveKeyPair> load_curve_keys(const std::string& path);

struct ShipperConfig {
  std::string endpoint;  // "tcp://host:port" or "ipc:///path"
  std::string sensor_id;
  std::string server_public_key;  // Z85
  CurveKeyPair client_keys;       // Z85
  std::string spool_dir;
  uint64_t spool_max_bytes = 1ull << 30;  // batches beyond this are dropped and counted
  uint64_t segment_bytes = 4ull << 20;
  size_t batch_max_events = 1000;
  std::chrono::milliseconds batch_max_delay{200};
  size_t max_in_flight = 32;  // batches sent and not yet acknowledged
  std::chrono::milliseconds ack_timeout{3000};  // resend everything unacked after this silence
  size_t queue_max_events = 200000;  // submit() refuses (and counts) beyond this
};

struct ShipperStats {
  uint64_t events_submitted = 0;
  uint64_t events_dropped = 0;   // queue or spool full
  uint64_t batches_spooled = 0;  // sealed and written to the spool
  uint64_t batches_sent = 0;     // including resends
  uint64_t batches_resent = 0;
  uint64_t batches_acked = 0;    // OK or DUPLICATE
  uint64_t batches_rejected = 0; // REJECTED by the correlator (dropped from the spool)
  uint64_t retries = 0;          // RETRY acks
  uint64_t auth_failures = 0;    // CURVE handshakes the correlator refused
  uint64_t spool_depth = 0;      // batches in the spool not yet acknowledged
  uint64_t spool_bytes = 0;
  uint64_t last_acked_seq = 0;
  uint64_t next_seq = 0;
  bool connected = false;
};

class EventShipper {
 public:
  ~EventShipper();  // stops the thread; unacknowledged batches stay in the spool
  EventShipper(const EventShipper&) = delete;
  EventShipper& operator=(const EventShipper&) = delete;

  // Opens (recovering) the spool and starts the shipping thread. Fails on a bad config or an
  // unreadable spool directory.
  static core::Result<std::unique_ptr<EventShipper>> start(const ShipperConfig& config);

  // Queues an event for the next batch. Returns false (and counts a drop) when the queue is full.
  bool submit(core::Event event);
  // Seals the partial batch now instead of waiting for batch_max_delay.
  void flush();
  // Waits until everything submitted so far is acknowledged (spool empty) or the timeout ends.
  bool wait_drained(std::chrono::milliseconds timeout);
  [[nodiscard]] ShipperStats stats() const;
  // Stops the thread (idempotent). Unacknowledged batches remain spooled for the next start.
  void stop();

  struct Impl;

 private:
  explicit EventShipper(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::sensor
