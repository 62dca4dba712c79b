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
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
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
// correlator: refresh() calls Store::catch_up() at most every `min_interval`, or at once when
// forced (after a change, before reading it back). Any thread.
class StoreFollower {
 public:
  StoreFollower(store::Store& store, std::chrono::milliseconds min_interval);
  void refresh(bool force = false);
  [[nodiscard]] uint64_t catch_ups() const { return catch_ups_.load(); }
  [[nodiscard]] uint64_t failures() const { return failures_.load(); }

 private:
  store::Store& store_;
  std::chrono::milliseconds min_interval_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point last_{};
  std::atomic<uint64_t> catch_ups_{0}, failures_{0};
};

}  // namespace vigil::console
