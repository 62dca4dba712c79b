#include "vigil/correlator/service.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>

#include "content.h"
#include "vigil/core/log.h"
#include "vigil/correlator/correlator.h"

namespace vigil::correlator {

using core::make_error;
using nlohmann::json;

core::Status check_config(const CorrelatorConfig& config, std::ostream& out) {
  auto content = load_content(config);
  if (!content) return content.error();
  out << config.source << ": OK (" << config.sensors.size() << " sensors, " << config.tenants.size() << " tenants, "
      << content->first->rules.size() << " correlation rules, " << content->second->entries() << " intel entries)\n";
  if (!config.policy_file.empty()) {
    auto p = policy::Policy::load(config.policy_file);
    if (!p) return p.error();
    out << config.policy_file << ": OK (" << (*p)->tenants().size() << " tenants, " << (*p)->assets().size() << " assets, "
        << (*p)->users().size() << " users)\n";
  }
  return {};
}

core::Status run_correlator(const CorrelatorConfig& cfg, RunFlags& flags) {
  auto c = Correlator::create(cfg);
  if (!c) return c.error();
  return (*c)->run(flags);
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
  // The protocol records (flow, http, dns, tls) of the flows its events came from.
  std::set<std::pair<std::string, uint64_t>> flows;
  for (const auto& e : *events) {
    evs.push_back(core::to_json(e));
    if (e.event.flow_id && flows.size() < 64) flows.emplace(e.sensor, e.event.flow_id);
  }
  json recs = json::array();
  for (const auto& [sensor, flow_id] : flows) {
    auto r = store.flow_records(sensor, flow_id);
    if (!r) return r.error();
    for (const auto& e : *r) recs.push_back(core::to_json(e));
  }
  out << json{{"alert", j}, {"events", evs}, {"records", recs}}.dump() << "\n";
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
  // One audit entry per kind of change, all in the alert's commit (before/after hashes filled in
  // by the store). Note text is not copied into the log: the entry points at the alert.
  std::vector<store::AuditEntry> audit;
  auto entry = [&](const char* action, std::string reason) {
    store::AuditEntry e;
    e.actor = ch.actor;
    e.source = "cli";
    e.action = action;
    e.reason = std::move(reason);
    audit.push_back(std::move(e));
  };
  if (ch.status) {
    entry("alert.status", std::string(core::to_string(*ch.status)) + (ch.verdict.empty() ? "" : " verdict=" + ch.verdict));
  } else if (!ch.verdict.empty()) {
    entry("alert.verdict", ch.verdict);
  }
  if (ch.assignee) entry("alert.assign", *ch.assignee);
  if (!ch.note.empty()) entry("alert.note", "note added");
  return store.update_alert(
      *id,
      [&](core::Alert& a) {
        if (ch.status) a.status = *ch.status;
        if (!ch.verdict.empty()) a.verdict = ch.verdict;
        if (ch.assignee) a.assignee = *ch.assignee;
        if (!ch.note.empty()) a.notes.push_back({core::Timestamp::now(), ch.actor, ch.note});
      },
      std::move(audit));
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
    store::AuditEntry e;
    e.actor = actor;
    e.source = "cli";
    e.action = "alert.escalate";
    e.object = a.id.to_string();
    e.before_hash = store::audit::record_hash(before);
    e.after_hash = store::audit::record_hash(a);
    e.reason = "into incident " + inc.id.to_string();
    b.append_audit(std::move(e));
  }
  b.put_incident(inc, {now, actor, "created", "escalated by hand: " + std::to_string(ids.size()) + " alerts"}, 1);
  store::AuditEntry created;
  created.actor = actor;
  created.source = "cli";
  created.action = "incident.create";
  created.object = inc.id.to_string();
  created.after_hash = store::audit::record_hash(inc);
  created.reason = "escalated by hand: " + std::to_string(ids.size()) + " alerts";
  b.append_audit(std::move(created));
  if (auto st = store.commit(b); !st) return st.error();
  return inc.id;
}

}  // namespace vigil::correlator
