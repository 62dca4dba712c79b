#include "vigil/correlator/service.h"

#include <chrono>
#include <filesystem>
#include <fstream>

#include "vigil/core/log.h"
#include "vigil/correlator/pipeline.h"
#include "vigil/correlator/server.h"

namespace vigil::correlator {

using core::make_error;
using nlohmann::json;

namespace {

core::Result<std::pair<std::shared_ptr<const RuleSet>, std::shared_ptr<const ThreatIntel>>> load_content(
    const CorrelatorConfig& c) {
  auto rules = load_rules(c.rule_files);
  if (!rules) return rules.error();
  auto intel = ThreatIntel::load(c.intel_ip_files, c.intel_domain_files, c.intel_hash_files);
  if (!intel) return intel.error();
  return std::make_pair(*rules, *intel);
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

core::Status check_config(const CorrelatorConfig& config, std::ostream& out) {
  auto content = load_content(config);
  if (!content) return content.error();
  out << config.source << ": OK (" << config.sensors.size() << " sensors, " << config.tenants.size() << " tenants, "
      << content->first->rules.size() << " correlation rules, " << content->second->entries() << " intel entries)\n";
  return {};
}

core::Status run_correlator(const CorrelatorConfig& cfg, RunFlags& flags) {
  auto log = core::logger("correlator");
  auto config = std::make_shared<const CorrelatorConfig>(cfg);
  auto content = load_content(*config);
  if (!content) return content.error();
  store::StoreOptions so;
  so.path = (std::filesystem::path(config->data_dir) / "db").string();
  so.sync = config->sync;
  auto store = store::Store::open(so);
  if (!store) return store.error();
  Pipeline pipeline(**store, config, content->first, content->second);
  if (auto st = pipeline.start(); !st) return st;
  auto server = IngestServer::bind(config);
  if (!server) return server.error();
  log->info("listening on {} for {} sensors; store {}", (*server)->endpoint(), config->sensors.size(), so.path);

  using Clock = std::chrono::steady_clock;
  auto next_stats = Clock::now();
  auto next_retention = Clock::now();
  auto stats_json = [&]() {
    const auto& ic = pipeline.counters();
    const auto& ec = pipeline.engine_counters();
    const auto& tc = (*server)->counters();
    return json{{"endpoint", (*server)->endpoint()},
                {"batches_received", ic.batches_received},
                {"batches_stored", ic.batches_stored},
                {"batches_duplicate", ic.batches_duplicate},
                {"batches_malformed", ic.batches_malformed},
                {"batches_sensor_mismatch", ic.batches_sensor_mismatch},
                {"batches_out_of_order", ic.batches_out_of_order},
                {"events_stored", ic.events_stored},
                {"commits", ic.commits},
                {"commit_failures", ic.commit_failures},
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
                {"alerts_published", tc.alerts_published}};
  };
  auto tick = [&]() {
    if (flags.reload.exchange(false)) {
      auto fresh = load_content(*config);
      if (!fresh) {
        log->error("reload failed, keeping the current rules and lists: {}", fresh.error().to_string());
      } else {
        pipeline.reload(fresh->first, fresh->second);
        log->info("reloaded {} correlation rules and {} intel entries", fresh->first->rules.size(), fresh->second->entries());
      }
    }
    if (flags.backup.exchange(false)) {
      auto dir = std::filesystem::path(config->data_dir) / "backups" /
                 std::to_string(core::Timestamp::now().usec / 1000000);
      std::error_code ec;
      std::filesystem::create_directories(dir.parent_path(), ec);
      if (auto st = (*store)->checkpoint(dir.string()); !st) log->error("backup failed: {}", st.error().to_string());
      else log->info("backup written to {}", dir.string());
    }
    auto now = Clock::now();
    if (now >= next_retention) {
      store::RetentionPolicy p;
      p.alert_max_age_usec = config->alert_retention_usec;
      for (int k = 0; k < core::kEventKindCount; ++k) p.event_max_age_usec[k] = config->event_retention_usec[k];
      if (auto st = (*store)->apply_retention(p, core::Timestamp::now()); !st) log->error("retention: {}", st.error().to_string());
      next_retention = now + std::chrono::seconds(config->retention_interval_sec);
    }
    if (now >= next_stats) {
      write_stats(config->stats_file, stats_json());
      next_stats = now + std::chrono::seconds(1);
    }
  };
  tick();
  auto st = (*server)->run(pipeline, flags.stop, tick);
  write_stats(config->stats_file, stats_json());
  log->info("stopped: {}", stats_json().dump());
  return st;
}

core::Status print_alerts(const store::Store& store, const store::AlertQuery& q, std::ostream& out) {
  auto r = store.query_alerts(q);
  if (!r) return r.error();
  for (const auto& a : *r) out << core::to_json(a).dump() << "\n";
  return {};
}

core::Status print_alert_with_events(const store::Store& store, const std::string& id_text, std::ostream& out) {
  auto id = core::RecordId::parse(id_text);
  if (!id) return make_error("not an alert id: '" + id_text + "'");
  auto a = store.get_alert(*id);
  if (!a) return a.error();
  if (!a->has_value()) return make_error("no alert " + id_text);
  auto events = store.get_events((*a)->events);
  if (!events) return events.error();
  json j = core::to_json(**a);
  json evs = json::array();
  for (const auto& e : *events) evs.push_back(core::to_json(e));
  out << json{{"alert", j}, {"events", evs}}.dump() << "\n";
  return {};
}

core::Status print_incident(const store::Store& store, const std::string& id_text, std::ostream& out) {
  auto id = core::RecordId::parse(id_text);
  if (!id) return make_error("not an incident id: '" + id_text + "'");
  auto inc = store.get_incident(*id);
  if (!inc) return inc.error();
  if (!inc->has_value()) return make_error("no incident " + id_text);
  out << json{{"incident", core::to_json(**inc)}}.dump() << "\n";
  auto h = store.incident_history(*id);
  if (!h) return h.error();
  for (const auto& c : *h) out << json{{"history", core::to_json(c)}}.dump() << "\n";
  return {};
}

core::Status print_incidents(const store::Store& store, core::Timestamp from, core::Timestamp to, size_t limit,
                             std::ostream& out) {
  auto r = store.list_incidents(from, to, limit);
  if (!r) return r.error();
  for (const auto& i : *r) out << core::to_json(i).dump() << "\n";
  return {};
}

core::Status change_alert(store::Store& store, const std::string& id_text, const AlertChange& ch) {
  auto id = core::RecordId::parse(id_text);
  if (!id) return make_error("not an alert id: '" + id_text + "'");
  if (ch.status == core::AlertStatus::kClosed && ch.verdict.empty()) return make_error("closing an alert needs a verdict");
  return store.update_alert(*id, [&](core::Alert& a) {
    if (ch.status) a.status = *ch.status;
    if (!ch.verdict.empty()) a.verdict = ch.verdict;
    if (ch.assignee) a.assignee = *ch.assignee;
    if (!ch.note.empty()) a.notes.push_back({core::Timestamp::now(), ch.actor, ch.note});
  });
}

core::Result<core::RecordId> escalate_alerts(store::Store& store, const std::vector<std::string>& ids,
                                             const std::string& title, const std::string& actor) {
  if (ids.empty()) return make_error("name at least one alert");
  std::vector<core::Alert> alerts;
  for (const auto& t : ids) {
    auto id = core::RecordId::parse(t);
    if (!id) return make_error("not an alert id: '" + t + "'");
    auto a = store.get_alert(*id);
    if (!a) return a.error();
    if (!a->has_value()) return make_error("no alert " + t);
    alerts.push_back(**a);
  }
  auto now = core::Timestamp::now();
  core::Incident inc;
  inc.id = core::RecordId{now.usec, core::fnv1a64("manual-incident|" + title + "|" + ids.front())};
  inc.tenant = alerts.front().tenant;
  inc.title = title;
  inc.severity = alerts.front().severity;
  inc.created = inc.updated = now;
  store::CommitBatch b;
  for (auto& a : alerts) {
    inc.alerts.push_back(a.id);
    inc.severity = std::min(inc.severity, a.severity);
    core::Alert before = a;
    a.incident = inc.id.to_string();
    a.updated = now;
    b.put_alert(a, &before);
  }
  b.put_incident(inc, {now, actor, "created", "escalated by hand: " + std::to_string(ids.size()) + " alerts"}, 1);
  if (auto st = store.commit(b); !st) return st.error();
  return inc.id;
}

}  // namespace vigil::correlator
