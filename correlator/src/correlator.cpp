#include "vigil/correlator/correlator.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "content.h"
#include "vigil/correlator/retention.h"
#include "vigil/correlator/server.h"
#include "vigil/store/audit.h"

namespace vigil::correlator {

using core::make_error;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

core::Result<std::pair<std::shared_ptr<const RuleSet>, std::shared_ptr<const ThreatIntel>>> load_content(
    const CorrelatorConfig& c) {
  auto rules = load_rules(c.rule_files);
  if (!rules) return rules.error();
  auto intel = ThreatIntel::load(c.intel_ip_files, c.intel_domain_files, c.intel_hash_files);
  if (!intel) return intel.error();
  return std::make_pair(*rules, *intel);
}

namespace {

// The policy and the hash of the text it came from (for the audit entry of each load).
core::Result<std::pair<std::shared_ptr<const policy::Policy>, std::string>> read_policy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("cannot open policy file", path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto p = policy::Policy::parse(text, path);
  if (!p) return p.error();
  return std::make_pair(*p, store::audit::record_hash(text));
}

void write_stats(const std::string& path, const json& j) {
  if (path.empty()) return;
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.dump() << "\n";
    if (!out) return;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
}

}  // namespace

Correlator::~Correlator() {
  if (store_) store_->set_commit_observer({});
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

core::Result<std::unique_ptr<Correlator>> Correlator::create(const CorrelatorConfig& cfg) {
  std::unique_ptr<Correlator> c(new Correlator());
  c->log_ = core::logger("correlator");
  c->config_ = std::make_shared<const CorrelatorConfig>(cfg);
  auto content = load_content(*c->config_);
  if (!content) return content.error();
  store::StoreOptions so;
  so.path = (std::filesystem::path(c->config_->data_dir) / "db").string();
  so.sync = c->config_->sync;
  auto store = store::Store::open(so);
  if (!store) return store.error();
  c->store_ = std::move(*store);
  c->pipeline_ = std::make_unique<Pipeline>(*c->store_, c->config_, content->first, content->second);
  if (auto st = c->pipeline_->start(); !st) return st.error();
  if (!c->config_->policy_file.empty()) {
    // A bad policy at start is fatal (a bad one on reload keeps the running one).
    auto p = read_policy(c->config_->policy_file);
    if (!p) return p.error();
    c->load_policy("policy.load");
    // The PUB is a publisher like any other: it shows only what its policy user may read.
    if (!c->config_->publish_endpoint.empty()) {
      if (c->config_->publish_as_user.empty()) {
        return make_error("required with a policy: the policy user the alerts are published as",
                          c->config_->source + ": key 'publish.as_user'");
      }
      if (p->first->find_user(c->config_->publish_as_user) == nullptr) {
        return make_error("no such user in " + c->config_->policy_file + ": '" + c->config_->publish_as_user + "'",
                          c->config_->source + ": key 'publish.as_user'");
      }
    }
  }
  c->wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (c->wake_fd_ < 0) return make_error("eventfd failed");
  Correlator* self = c.get();
  c->store_->set_commit_observer([self](const store::CommitBatch& b) {
    if (self->capturing_.load(std::memory_order_relaxed)) {
      self->written_.insert(self->written_.end(), b.alert_ids().begin(), b.alert_ids().end());
    }
  });
  return c;
}

store::Store& Correlator::store() { return *store_; }
const CorrelatorConfig& Correlator::config() const { return *config_; }

std::string Correlator::endpoint() const {
  std::lock_guard lock(mu_);
  return endpoint_;
}

json Correlator::stats() const {
  std::lock_guard lock(mu_);
  return last_stats_;
}

void Correlator::subscribe(std::function<void(const std::vector<core::Alert>&)> fn) {
  std::lock_guard lock(mu_);
  subscribers_.push_back(std::make_shared<const std::function<void(const std::vector<core::Alert>&)>>(std::move(fn)));
}

core::Status Correlator::execute(const std::function<core::Status(store::Store&)>& fn) {
  const bool outer = !capturing_.exchange(true);
  if (outer) written_.clear();
  core::Status st = fn(*store_);
  if (!outer) return st;
  capturing_ = false;
  if (!written_.empty()) {
    if (auto rs = pipeline_->refresh_alerts(written_); !rs) {
      // Cannot tell what the engine holds any more: reload all of it from the store.
      log_->error("cannot re-read changed alerts, reloading correlation state: {}", rs.error().to_string());
      if (auto r2 = pipeline_->start(); !r2) log_->error("cannot reload correlation state: {}", r2.error().to_string());
    }
    written_.clear();
  }
  return st;
}

core::Status Correlator::write(const std::function<core::Status(store::Store&)>& fn) {
  std::unique_lock lock(mu_);
  if (running_) {
    if (std::this_thread::get_id() == pipeline_thread_) {  // a subscriber or a nested write
      lock.unlock();
      return execute(fn);
    }
    Job job{&fn, {}};
    auto done = job.done.get_future();
    jobs_.push_back(&job);
    uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);  // wakes the poll in IngestServer::run
    lock.unlock();
    return done.get();
  }
  lock.unlock();
  std::lock_guard exec(exec_mu_);  // run() cannot start while this is held
  lock.lock();
  if (running_) {  // run() started before we got exec_mu_: queue it after all
    lock.unlock();
    return write(fn);
  }
  lock.unlock();
  return execute(fn);
}

void Correlator::drain_jobs() {
  for (;;) {
    Job* job = nullptr;
    {
      std::lock_guard lock(mu_);
      if (jobs_.empty()) return;
      job = jobs_.front();
      jobs_.pop_front();
    }
    job->done.set_value(execute(*job->fn));
  }
}

void Correlator::load_policy(const char* action) {
  auto p = read_policy(config_->policy_file);
  if (!p) {
    log_->error("policy reload failed, keeping the current policy: {}", p.error().to_string());
    return;
  }
  const auto& pol = *p->first;
  policy_.set(p->first);
  pipeline_->set_policy(p->first);
  store::CommitBatch b;
  store::AuditEntry e;
  e.actor = "correlator";
  e.actor_role = "system";
  e.source = "config";
  e.action = action;
  e.object = "policy";
  e.after_hash = p->second;
  e.decision = "allow";
  e.reason = config_->policy_file + ": " + std::to_string(pol.tenants().size()) + " tenants, " +
             std::to_string(pol.assets().size()) + " assets, " + std::to_string(pol.users().size()) + " users";
  b.append_audit(std::move(e));
  if (auto st = store_->commit(b); !st) log_->error("cannot audit the policy load: {}", st.error().to_string());
  log_->info("{} {}: {} tenants, {} assets, {} users", action, config_->policy_file, pol.tenants().size(),
             pol.assets().size(), pol.users().size());
}

void Correlator::tick(RunFlags& flags) {
  drain_jobs();
  if (flags.reload.exchange(false)) {
    auto fresh = load_content(*config_);
    if (!fresh) {
      log_->error("reload failed, keeping the current rules and lists: {}", fresh.error().to_string());
    } else {
      pipeline_->reload(fresh->first, fresh->second);
      log_->info("reloaded {} correlation rules and {} intel entries", fresh->first->rules.size(), fresh->second->entries());
    }
    if (!config_->policy_file.empty()) load_policy("policy.reload");
  }
  if (flags.backup.exchange(false)) {
    auto dir = std::filesystem::path(config_->data_dir) / "backups" / std::to_string(core::Timestamp::now().usec / 1000000);
    std::error_code ec;
    std::filesystem::create_directories(dir.parent_path(), ec);
    if (auto st = store_->checkpoint(dir.string()); !st) log_->error("backup failed: {}", st.error().to_string());
    else log_->info("backup written to {}", dir.string());
  }
  auto now = Clock::now();
  if (now >= next_retention_) {
    if (auto pol = policy_.get()) {
      auto run = apply_policy_retention(*store_, pol->retention(), core::Timestamp::now());
      if (!run) log_->error("retention: {}", run.error().to_string());
      else if (run->alerts_deleted) log_->info("retention: deleted {} alerts past their level's retention (audited)", run->alerts_deleted);
    } else {
      store::RetentionPolicy p;
      p.alert_max_age_usec = config_->alert_retention_usec;
      for (int k = 0; k < core::kEventKindCount; ++k) p.event_max_age_usec[k] = config_->event_retention_usec[k];
      if (auto st = store_->apply_retention(p, core::Timestamp::now()); !st) log_->error("retention: {}", st.error().to_string());
    }
    next_retention_ = now + std::chrono::seconds(config_->retention_interval_sec);
  }
}

core::Status Correlator::run(RunFlags& flags) {
  {
    std::lock_guard exec(exec_mu_);  // waits for a write fn running directly
    std::lock_guard lock(mu_);
    if (running_) return make_error("Correlator::run called twice");
    running_ = true;
    pipeline_thread_ = std::this_thread::get_id();
  }
  auto finish = [&](core::Status st) {
    {
      std::lock_guard lock(mu_);
      running_ = false;
      pipeline_thread_ = {};
    }
    // Writes queued before running_ went false still wait for an answer.
    std::lock_guard exec(exec_mu_);
    drain_jobs();
    return st;
  };
  auto server = IngestServer::bind(config_);
  if (!server) return finish(server.error());
  {
    std::lock_guard lock(mu_);
    endpoint_ = (*server)->endpoint();
  }
  log_->info("listening on {} for {} sensors; store {}", (*server)->endpoint(), config_->sensors.size(), store_->path());

  auto stats_json = [&]() {
    const auto& ic = pipeline_->counters();
    const auto& ec = pipeline_->engine_counters();
    const auto& tc = (*server)->counters();
    return json{{"endpoint", (*server)->endpoint()},
                {"batches_received", ic.batches_received},
                {"batches_stored", ic.batches_stored},
                {"batches_duplicate", ic.batches_duplicate},
                {"batches_malformed", ic.batches_malformed},
                {"batches_sensor_mismatch", ic.batches_sensor_mismatch},
                {"batches_out_of_order", ic.batches_out_of_order},
                {"batches_in_flight_resent", ic.batches_in_flight_resent},
                {"events_stored", ic.events_stored},
                {"commits", ic.commits},
                {"commit_failures", ic.commit_failures},
                {"max_batches_in_commit", ic.max_batches_in_commit},
                {"alerts_created", ec.alerts_created},
                {"alerts_updated", ec.alerts_updated},
                {"rule_alerts", ec.rule_alerts},
                {"incidents_created", ec.incidents_created},
                {"intel_matches", ec.intel_matches},
                {"auth_accepted", tc.auth_accepted},
                {"auth_refused", tc.auth_refused},
                {"handshake_failed", tc.handshake_failed},
                {"frames_malformed", tc.frames_malformed},
                {"acks_sent", tc.acks_sent},
                {"alerts_published", tc.alerts_published},
                {"alerts_withheld", tc.alerts_withheld}};
  };
  IngestServer::Hooks hooks;
  hooks.wake_fd = wake_fd_;
  hooks.tick = [&]() {
    tick(flags);
    auto now = Clock::now();
    if (now >= next_stats_) {
      auto j = stats_json();
      write_stats(config_->stats_file, j);
      {
        std::lock_guard lock(mu_);
        last_stats_ = std::move(j);
      }
      next_stats_ = now + std::chrono::seconds(1);
    }
  };
  if (!config_->policy_file.empty()) {
    // Decided per alert with the policy current at publish time; a user removed by a reload
    // withholds everything (fail closed).
    hooks.publish_filter = [this](const core::Alert& a, json& record) {
      auto pol = policy_.get();
      const policy::User* user = pol ? pol->find_user(config_->publish_as_user) : nullptr;
      if (user == nullptr || !pol->may(*user, policy::Action::kRead, policy::view_of(a)).allow) return false;
      pol->redact(*user, record);
      return true;
    };
  }
  hooks.on_commit = [&](const std::vector<core::Alert>& changed) {
    std::vector<std::shared_ptr<const std::function<void(const std::vector<core::Alert>&)>>> subs;
    {
      std::lock_guard lock(mu_);
      subs = subscribers_;
    }
    for (const auto& s : subs) (*s)(changed);
  };
  hooks.tick();
  auto st = (*server)->run(*pipeline_, flags.stop, hooks);
  auto j = stats_json();
  write_stats(config_->stats_file, j);
  {
    std::lock_guard lock(mu_);
    last_stats_ = j;
  }
  log_->info("stopped: {}", j.dump());
  return finish(st);
}

}  // namespace vigil::correlator
