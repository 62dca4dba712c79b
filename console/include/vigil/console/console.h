// vigil-console (DESIGN §8): the analysts', agencies' and auditors' HTTP/JSON API under /api/v1/
// and the web UI (console/web/), served by cpp-httplib (TLS when a certificate is configured).
//
// The console never opens the store for writing. It reads through a `const store::Store&` and
// changes records only as Requests (request.h) carried out by execute() where writes are
// allowed: in the standalone mode inside Correlator::write (the correlator's pipeline thread,
// between two ingest commits), in a separate vigil-console by the correlator it reaches over the
// control socket (control.h), reading the store as a RocksDB secondary. Every list, count, read, change and export asks the policy engine; every change and
// every sensitive read appends an audit entry in the same batch as the change.
//
// Threading: start() runs the HTTP listener on its own thread with a worker pool; handlers read
// the store concurrently. on_alerts() may be called from any thread (the correlator's pipeline
// thread) and only queues: it never blocks on a slow browser.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "vigil/core/alert.h"
#include "vigil/console/request.h"
#include "vigil/core/result.h"
#include "vigil/policy/policy.h"
#include "vigil/store/store.h"

namespace vigil::console {

struct ConsoleConfig {
  std::string source;                 // the file it came from
  std::string listen_host = "127.0.0.1";
  int listen_port = 8443;             // 0 = any free port (tests)
  std::string tls_cert_file;          // both set = HTTPS
  std::string tls_key_file;
  std::string policy_file;            // users, tenants, levels (required)
  std::string web_root;               // the UI's static files; empty = API only
  std::vector<std::string> rule_files;  // Suricata rules, to show an alert's rule text
  int64_t session_ttl_usec = 8ll * 3600 * 1000000;   // absolute lifetime of a session
  int64_t session_idle_usec = 30ll * 60 * 1000000;   // sliding: idle sessions expire
  int max_login_failures = 5;                         // per user (per address: 4x), in the window
  int64_t login_window_usec = 15ll * 60 * 1000000;
  int threads = 16;                   // HTTP workers (each live stream holds one)
  size_t max_page = 500;              // largest page a list returns
  uint64_t max_scan = 200000;         // index entries one list/group/dashboard request may read
  std::string feeds_file;             // feeds.yaml: mount the agency threat feeds (TAXII 2.1, MISP, push;
                                      // vigil_feeds) on this server; empty = off. Standalone mode only.
  // control: a separate console's connection to the correlator's request interface (control.h).
  // Empty endpoint = none (the console runs inside vigil-correlator, or read-only).
  std::string control_endpoint;       // ipc:///run/vigil/control.sock or tcp://127.0.0.1:7452
  std::string control_server_public_key;  // Z85: the correlator's server key
  std::string control_public_key;     // Z85: this console's key pair (listed in correlator.yaml control.clients)
  std::string control_secret_key;
  int control_timeout_ms = 5000;      // a change not answered within this answers 503
  std::string store_path;             // the correlator's store (data_dir/db), read as a RocksDB secondary
  std::string secondary_dir;          // the secondary instance's own files; empty = a temp dir
  std::string log_level = "info";
};

// Parses console.yaml strictly (unknown keys are errors naming the file and key). Relative paths
// are relative to the file.
core::Result<ConsoleConfig> load_console_config(const std::string& path);

// How the console reaches the correlator's store. Every change is a Request (request.h), run by
// execute() where writes are allowed: in the standalone mode through `write` (Correlator::write)
// with this console's policy; in a separate process through `request` (the control socket to the
// correlator, which runs execute() with its own policy).
struct Backend {
  const store::Store* store = nullptr;  // reads, from any thread
  // Standalone: runs fn where writes are allowed (the correlator's pipeline thread) and returns
  // its status. Empty in a separate console (the agency feeds then cannot be served).
  WriteFn write;
  // A separate console: sends the request to the correlator and returns its reply (503 when the
  // correlator is unavailable). Empty = execute_through(write, ...).
  std::function<Reply(const Request&)> request;
  // Optional, standalone: alerts a change made through this console wrote (vigil-correlator
  // pushes their ids to separate consoles over the control interface).
  std::function<void(const std::vector<core::Alert>&)> changed;
  // Optional: called before each API request is served; must not block. A separate console's
  // secondary store then catches up soon (StoreFollower::note_read), and not while nobody reads.
  std::function<void()> reading;
  // Optional: an agency's feed upload rewrote the correlator intel lists (feeds.yaml
  // submissions.intel_dir); the correlator reloads them (RunFlags::reload).
  std::function<void()> intel_changed;
};

class Console {
 public:
  // Loads the policy (config.policy_file) and the rule files. `policy` may be given instead
  // (shared with the correlator, so a reload there is seen here).
  static core::Result<std::unique_ptr<Console>> create(const ConsoleConfig& config, Backend backend,
                                                       std::shared_ptr<policy::PolicyHolder> policy = nullptr);
  ~Console();
  Console(const Console&) = delete;
  Console& operator=(const Console&) = delete;

  // Binds and starts serving on a thread; returns once the socket listens (or failed to bind).
  core::Status start();
  void stop();
  [[nodiscard]] int port() const;  // the bound port (after start)
  [[nodiscard]] std::string url() const;

  // New or updated alerts (Correlator::subscribe, or the control socket's push): pushed to the live queues (SSE) of the users
  // allowed to see each one, redacted for each. With feeds (feeds_file), the confirmed ones also
  // become feed records (FeedService::ingest through Backend::write: at once on the pipeline
  // thread). The console's own changes (closing true-positive, escalating) and the periodic
  // sync (feeds.yaml sync_interval_sec) run FeedService::sync on a thread of the console.
  void on_alerts(const std::vector<core::Alert>& alerts);

  struct Impl;

 private:
  explicit Console(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::console
