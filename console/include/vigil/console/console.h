// vigil-console (DESIGN §8): the analysts', agencies' and auditors' HTTP/JSON API under /api/v1/
// and the web UI (console/web/), served by cpp-httplib (TLS when a certificate is configured).
//
// The console never opens the store for writing. It reads through a `const store::Store&` and
// changes records only through Backend::write, which in the standalone mode is
// Correlator::write (the function runs on the correlator's pipeline thread between two ingest
// commits). Every list, count, read, change and export asks the policy engine; every change and
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
  std::string control;                // reserved: a running correlator's request endpoint (not built; an error when set)
  std::string log_level = "info";
};

// Parses console.yaml strictly (unknown keys are errors naming the file and key). Relative paths
// are relative to the file.
core::Result<ConsoleConfig> load_console_config(const std::string& path);

// How the console reaches the correlator's store.
struct Backend {
  const store::Store* store = nullptr;  // reads, from any thread
  // Runs fn where writes are allowed (the correlator's pipeline thread) and returns its status.
  std::function<core::Status(const std::function<core::Status(store::Store&)>&)> write;
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

  // New or updated alerts (Correlator::subscribe): pushed to the live queues (SSE) of the users
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
