// The correlator as an object (contract A): config → store → pipeline → transport, plus the two
// hooks other components (console, feeds) use while it runs.
//
//   auto c = Correlator::create(config);          // opens the store, loads rules and intel lists
//   c->subscribe([](const std::vector<core::Alert>& changed) { ... });
//   std::thread t([&] { (void)c->run(flags); });  // blocks until flags.stop
//   c->write([](store::Store& s) { return s.update_alert(id, ...); });  // from any thread
//
// Threading: run() owns the pipeline thread (sockets, engine, store writes). write() may be
// called from any thread: fn is queued, the pipeline thread is woken (eventfd) and runs it
// between two ingest commits, and write() returns fn's status. Called on the pipeline thread
// itself (e.g. from a subscriber) or while run() is not running, fn runs at once on the caller's
// thread. store() reads are safe from any thread; store writes outside write() are not.
//
// Analyst-owned alert fields (status, verdict, assignee, notes, incident, acknowledged, closed) changed through
// write() are never overwritten by the engine's in-memory copy: after fn, the engine takes them
// (and the stored form of the alert, for index maintenance) from the store.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "vigil/core/alert.h"
#include "vigil/core/log.h"
#include "vigil/core/result.h"
#include "vigil/correlator/config.h"
#include "vigil/correlator/intel.h"
#include "vigil/correlator/pipeline.h"
#include "vigil/correlator/rules.h"
#include "vigil/policy/policy.h"
#include "vigil/store/store.h"

namespace vigil::correlator {

// Set from signal handlers or other threads; read by run() between commits.
struct RunFlags {
  std::atomic<bool> stop{false};
  std::atomic<bool> reload{false};  // rules and intel lists (SIGHUP)
  std::atomic<bool> backup{false};  // checkpoint to data_dir/backups/<epoch> (SIGUSR1)
};

class Correlator {
 public:
  ~Correlator();
  Correlator(const Correlator&) = delete;
  Correlator& operator=(const Correlator&) = delete;

  // Opens the store (data_dir/db), loads rules and intel lists and restores the engine's windows.
  // Errors name the file and key (bad rules) or the store path.
  static core::Result<std::unique_ptr<Correlator>> create(const CorrelatorConfig& config);

  // Binds the listen socket and runs the pipeline until flags.stop (what run_correlator() did).
  // Call once, from the thread that is to be the pipeline thread.
  core::Status run(RunFlags& flags);

  store::Store& store();

  // Runs fn on the pipeline thread between two ingest commits and returns its status: the only
  // way to change alerts/incidents or append audit entries while the correlator runs.
  core::Status write(const std::function<core::Status(store::Store&)>& fn);

  // fn is called on the pipeline thread after each successful ingest commit with the alerts it
  // wrote (new and updated; changes made through write() are not announced). May be called at
  // any time; fn must not block for long (ingest waits for it).
  void subscribe(std::function<void(const std::vector<core::Alert>&)> fn);

  const CorrelatorConfig& config() const;

  // The policy in force (config `policy:`; null without one), swapped on SIGHUP. Any thread; take
  // one snapshot per request.
  std::shared_ptr<const policy::Policy> policy() const { return policy_.get(); }

  // The bound listen endpoint (with the real port for tcp://...:0); empty until run() bound it.
  std::string endpoint() const;
  // Counters as one JSON object (what stats_file holds).
  nlohmann::json stats() const;

 private:
  Correlator() = default;
  struct Job {
    const std::function<core::Status(store::Store&)>* fn;
    std::promise<core::Status> done;
  };
  core::Status execute(const std::function<core::Status(store::Store&)>& fn);
  void drain_jobs();
  void tick(RunFlags& flags);

  std::shared_ptr<const CorrelatorConfig> config_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Pipeline> pipeline_;
  std::shared_ptr<spdlog::logger> log_;
  policy::PolicyHolder policy_{nullptr};
  void load_policy(const char* action);  // pipeline thread: reload + audit entry

  mutable std::mutex mu_;  // guards everything below
  std::deque<Job*> jobs_;
  bool running_ = false;
  std::thread::id pipeline_thread_;
  std::string endpoint_;
  nlohmann::json last_stats_ = nlohmann::json::object();
  std::vector<std::shared_ptr<const std::function<void(const std::vector<core::Alert>&)>>> subscribers_;
  int wake_fd_ = -1;

  // Pipeline-thread state (or the direct caller's while not running).
  std::recursive_mutex exec_mu_;  // held by run() while starting, and by direct write fns
  std::atomic<bool> capturing_{false};
  std::vector<core::RecordId> written_;  // alerts committed by the running write fn
  std::chrono::steady_clock::time_point next_stats_{}, next_retention_{};
};

}  // namespace vigil::correlator
