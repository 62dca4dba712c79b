// The correlator's control interface (DESIGN §8): how a separate vigil-console changes the store
// the correlator owns, and hears of the alerts it writes.
//
//   vigil-console  DEALER ──CURVE──▶ ROUTER  vigil-correlator (control.listen, own thread)
//     {"id": 7, "op": "alert.action", "actor": "analyst", "source": ..., "params": {...}}
//     ◀── {"id": 7, "status": 200, "body": {...}, "changed": [alert ids]}
//     {"op": "ping"} every second (registers the console for pushes; no answer)
//     ◀── {"push": "alerts", "ids": [...]}   ids of alerts the correlator wrote (ingest and changes)
//
// The server admits only the client keys listed in correlator.yaml (control.clients) through
// core::ZapHandler; refusals are counted and logged. Each request is handed to the executor
// (vigil-correlator: Correlator::write(execute) with the correlator's policy) and answered with
// the request id echoed. Malformed requests get an error reply (status 400) and are counted.
//
// The client never queues a change for later: with no connection a request answers 503 at once
// ("correlator unavailable at <endpoint>"), and one not answered within the timeout answers 503
// too (the change may still have been applied: the reply says so). Reads never need it.
//
// Threading: each side owns its ZeroMQ sockets on one thread of its own. ControlServer::announce
// and ControlClient::call may be called from any thread; call blocks its caller (an HTTP worker)
// until the reply or the timeout. The push callback runs on the client's thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "vigil/console/request.h"
#include "vigil/core/result.h"
#include "vigil/store/store.h"

namespace vigil::console {

struct ControlServerOptions {
  std::string listen;                         // ipc://... or tcp://127.0.0.1:PORT (port 0 = any)
  std::string server_public_key, server_secret_key;  // Z85 (the correlator's key pair)
  std::map<std::string, std::string> clients;  // Z85 public key -> client id (audit source)
  std::string source;                          // config file, for errors
};

struct ControlServerCounters {
  uint64_t requests = 0;       // well-formed requests executed
  uint64_t failed = 0;         // of those, answered with status >= 500
  uint64_t malformed = 0;      // not JSON, missing fields, extra frames: answered 400
  uint64_t pushes = 0;         // push messages sent (one per console per batch of ids)
  uint64_t auth_accepted = 0;  // CURVE handshakes admitted by the ZAP handler
  uint64_t auth_refused = 0;   // refused (unknown key, or not CURVE)
  uint64_t consoles = 0;       // consoles currently registered for pushes
};

class ControlServer {
 public:
  // Runs one request where writes are allowed; `client` is the ZAP id of the console.
  using Executor = std::function<Reply(const Request& request, const std::string& client)>;

  // Binds the ROUTER (errors name options.source and the key) and starts the server thread.
  static core::Result<std::unique_ptr<ControlServer>> start(const ControlServerOptions& options, Executor executor);
  ~ControlServer();  // stops the thread
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Ids of alerts the correlator wrote: pushed to every registered console. Any thread; never
  // blocks (queued for the server thread, bounded: the oldest are dropped past 100000 ids).
  void announce(const std::vector<core::RecordId>& ids);

  [[nodiscard]] std::string endpoint() const;  // the bound endpoint (real port for tcp://...:0)
  [[nodiscard]] ControlServerCounters counters() const;

  struct Impl;

 private:
  explicit ControlServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct ControlClientOptions {
  std::string endpoint;
  std::string server_public_key;       // Z85 (the correlator's)
  std::string public_key, secret_key;  // Z85 (this console's, listed in correlator.yaml)
  int timeout_ms = 5000;
};

struct ControlClientCounters {
  uint64_t requests = 0;     // calls made
  uint64_t unavailable = 0;  // answered 503 here: not connected, or no answer in time
  uint64_t timeouts = 0;     // of those, no answer in time
  uint64_t pushes = 0;       // push messages received
  uint64_t malformed = 0;    // unreadable messages from the server (ignored)
};

class ControlClient {
 public:
  // Creates the socket and starts connecting (in the background: a correlator that is down is
  // not an error here; calls answer 503 until it is up).
  static core::Result<std::unique_ptr<ControlClient>> connect(const ControlClientOptions& options);
  ~ControlClient();
  ControlClient(const ControlClient&) = delete;
  ControlClient& operator=(const ControlClient&) = delete;

  // Sends the request and waits for its reply; 503 when the correlator is unavailable.
  Reply call(const Request& request);
  // Ids of alerts the correlator wrote (on the client's thread; keep it short). Any time.
  void on_push(std::function<void(const std::vector<core::RecordId>&)> fn);

  [[nodiscard]] const std::string& endpoint() const;
  [[nodiscard]] ControlClientCounters counters() const;

  struct Impl;

 private:
  explicit ControlClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Keeps a store opened as a RocksDB secondary (StoreOptions::secondary_path) close behind the
// correlator. Store::catch_up() replays what the primary wrote since the last call and costs tens
// of ms, so reads never wait for it and an idle console does not spend CPU on it: start() runs a
// thread that catches up at most every `interval` when the console was read since the last
// catch-up (note_read), and at once when alert ids are queued (the correlator's push), then reads
// those alerts and hands them to `on_alerts` (the console's live queues). refresh() catches up on
// the caller's thread (after a change, so the analyst reads it back at once). Any thread.
class StoreFollower {
 public:
  StoreFollower(store::Store& store, std::chrono::milliseconds interval);
  ~StoreFollower();  // stops the thread
  StoreFollower(const StoreFollower&) = delete;
  StoreFollower& operator=(const StoreFollower&) = delete;

  void start(std::function<void(const std::vector<core::Alert>&)> on_alerts);
  void stop();
  // Alerts the correlator wrote: read after the next catch-up (bounded: past 100000 queued ids
  // the oldest are dropped; the browsers' queues are best-effort, a reload shows everything).
  void queue(const std::vector<core::RecordId>& ids);
  void refresh();
  // The console served a request: catch up within `interval` (never blocks).
  void note_read();

  struct Stats {
    uint64_t catch_ups = 0, failures = 0;
    uint64_t total_usec = 0, max_usec = 0;  // time spent in Store::catch_up
  };
  [[nodiscard]] Stats stats() const;

 private:
  void run();
  store::Store& store_;
  std::chrono::milliseconds interval_;
  std::mutex catch_up_mu_;  // one catch-up at a time
  mutable std::mutex mu_;   // guards below
  std::condition_variable cv_;
  std::vector<core::RecordId> pending_;
  bool stopping_ = false;
  bool wanted_ = false;
  Stats stats_;
  std::function<void(const std::vector<core::Alert>&)> on_alerts_;
  std::thread thread_;
};

}  // namespace vigil::console
