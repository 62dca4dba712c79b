// execute(): every console change, carried out where writes are allowed. See request.h.
#include "vigil/console/request.h"

#include <set>

#include "audit_bridge.h"

namespace vigil::console {

using json = nlohmann::json;
using policy::Action;

Reply Reply::error(int status, const std::string& message) {
  Reply r;
  r.status = status;
  r.body = json{{"error", message}};
  return r;
}

std::string Reply::error_text() const {
  if (body.is_object() && body.contains("error") && body["error"].is_string()) return body["error"].get<std::string>();
  return {};
}

json to_json(const Request& r) {
  return json{{"op", r.op}, {"actor", r.actor}, {"source", r.source}, {"params", r.params}};
}

core::Result<Request> request_from_json(const json& j) {
  if (!j.is_object()) return core::make_error("request: expected a JSON object");
  Request r;
  for (auto [key, slot] : {std::pair{"op", &r.op}, std::pair{"actor", &r.actor}, std::pair{"source", &r.source}}) {
    if (!j.contains(key) || !j[key].is_string()) return core::make_error(std::string("request: ") + key + ": expected a string");
    *slot = j[key].get<std::string>();
  }
  if (r.op.empty()) return core::make_error("request: op: empty");
  if (j.contains("params")) {
    if (!j["params"].is_object()) return core::make_error("request: params: expected an object");
    r.params = j["params"];
  }
  return r;
}

json to_json(const Reply& r) {
  json ids = json::array();
  for (const auto& a : r.changed) ids.push_back(a.id.to_string());
  if (r.changed.empty()) {
    for (const auto& id : r.changed_ids) ids.push_back(id.to_string());
  }
  return json{{"status", r.status}, {"body", r.body}, {"changed", std::move(ids)}};
}

core::Result<Reply> reply_from_json(const json& j) {
  if (!j.is_object()) return core::make_error("reply: expected a JSON object");
  if (!j.contains("status") || !j["status"].is_number_integer()) return core::make_error("reply: status: expected a number");
  Reply r;
  r.status = j["status"].get<int>();
  if (r.status < 100 || r.status > 599) return core::make_error("reply: status: out of range");
  r.body = j.contains("body") ? j["body"] : json(nullptr);
  if (j.contains("changed")) {
    if (!j["changed"].is_array()) return core::make_error("reply: changed: expected an array");
    for (const auto& v : j["changed"]) {
      auto id = v.is_string() ? core::RecordId::parse(v.get<std::string>()) : std::nullopt;
      if (!id) return core::make_error("reply: changed: expected alert ids");
      r.changed_ids.push_back(*id);
    }
  }
  return r;
}

namespace {

std::string str(const json& params, const char* key) {
  return params.contains(key) && params[key].is_string() ? params[key].get<std::string>() : std::string();
}

struct Actor {
  const policy::User* user = nullptr;
  const policy::Policy* pol = nullptr;
  std::string source;

  [[nodiscard]] policy::Decision decide(Action a, const core::Alert& alert) const {
    return pol->may(*user, a, policy::view_of(alert));
  }
  [[nodiscard]] bool may(Action a, const core::Alert& alert) const { return decide(a, alert).allow; }
  [[nodiscard]] bool may(Action a, const core::Incident& inc) const { return pol->may(*user, a, policy::view_of(inc)).allow; }

  [[nodiscard]] AuditRecord audit(std::string action, std::string object) const {
    AuditRecord r;
    r.actor = user->name;
    r.actor_tenant = user->tenant;
    r.actor_role = std::string(policy::to_string(user->role));
    r.source = source;
    r.action = std::move(action);
    r.object = std::move(object);
    return r;
  }
};

core::Result<Reply> alert_action(store::Store& s, const Actor& c, const json& body) {
  if (!body.contains("ids") || !body["ids"].is_array() || !body.contains("action") || !body["action"].is_string()) {
    return Reply::error(400, "expected {\"ids\": [...], \"action\": ...}");
  }
  std::string action = body["action"];
  std::string assignee = str(body, "assignee"), verdict = str(body, "verdict"), note = str(body, "note"),
              title = str(body, "title");
  static const std::set<std::string> kActions{"acknowledge", "assign", "close", "note", "escalate", "reopen"};
  if (!kActions.count(action)) return Reply::error(400, "action: acknowledge, assign, close, note, escalate or reopen");
  if (action == "close" && verdict.empty()) return Reply::error(400, "closing needs a verdict");
  if (action == "note" && note.empty()) return Reply::error(400, "a note needs text");
  if (action == "escalate" && title.empty()) return Reply::error(400, "escalating needs an incident title");
  if (body["ids"].size() > 10000) return Reply::error(400, "at most 10000 alerts at once");
  std::vector<core::RecordId> ids;
  for (const auto& v : body["ids"]) {
    auto id = v.is_string() ? core::RecordId::parse(v.get<std::string>()) : std::nullopt;
    if (!id) return Reply::error(400, "ids: expected alert ids");
    ids.push_back(*id);
  }
  json updated = json::array(), missing = json::array(), denied = json::array();
  std::string incident_id;
  Action needed = action == "note" ? Action::kNote : Action::kUpdate;
  // Read fresh here, on the writer thread: the pipeline may have changed the alerts since.
  store::CommitBatch b;
  auto now = core::Timestamp::now();
  std::vector<core::Alert> changed;
  for (const auto& id : ids) {
    auto a = s.get_alert(id);
    if (!a) return a.error();
    if (!a->has_value() || !c.may(Action::kRead, **a)) {
      missing.push_back(id.to_string());
      continue;
    }
    core::Alert now_a = **a;
    auto d = c.decide(needed, now_a);
    if (!d.allow) {
      denied.push_back(id.to_string());
      auto r = c.audit("alert." + action, id.to_string());
      r.decision = "deny";
      r.rule = d.rule;
      r.reason = d.reason;
      append_audit(b, r);
      continue;
    }
    if (action == "acknowledge") {
      if (now_a.status == core::AlertStatus::kNew) now_a.status = core::AlertStatus::kAcknowledged;
    } else if (action == "assign") {
      now_a.assignee = assignee;
      if (now_a.status == core::AlertStatus::kNew && !assignee.empty()) now_a.status = core::AlertStatus::kInProgress;
    } else if (action == "close") {
      now_a.status = core::AlertStatus::kClosed;
      now_a.verdict = verdict;
      if (now_a.closed.usec == 0) now_a.closed = now;
    } else if (action == "reopen") {
      now_a.status = core::AlertStatus::kInProgress;
      now_a.closed = {};
    } else if (action == "note") {
      now_a.notes.push_back({now, c.user->name, note});
    } else if (action == "escalate") {
      if (now_a.status != core::AlertStatus::kClosed) now_a.status = core::AlertStatus::kInProgress;
    }
    if (action != "note" && now_a.acknowledged.usec == 0) now_a.acknowledged = now;
    if (!note.empty() && action != "note") now_a.notes.push_back({now, c.user->name, note});
    now_a.updated = now;
    changed.push_back(now_a);
    updated.push_back(id.to_string());
    if (action == "escalate") continue;  // written and audited below, with the incident id
    auto r = c.audit("alert." + action, id.to_string());
    r.before_hash = sha256_hex(core::to_json(**a).dump());
    r.rule = d.rule;
    r.reason = action == "close" ? "verdict " + verdict : action == "assign" ? "assignee " + assignee : note;
    b.put_alert(now_a, &**a);
    r.after_hash = sha256_hex(core::to_json(now_a).dump());
    append_audit(b, r);
  }
  if (action == "escalate" && !changed.empty()) {
    core::Incident inc;
    inc.id = core::RecordId{now.usec, core::fnv1a64("console-incident|" + title + "|" + c.user->name + "|" +
                                                    changed.front().id.to_string())};
    inc.tenant = changed.front().tenant;
    inc.title = title;
    inc.severity = changed.front().severity;
    inc.status = core::AlertStatus::kInProgress;
    inc.assignee = c.user->name;
    inc.created = inc.updated = now;
    policy::Level level = policy::Level::kPublic;
    for (auto& a : changed) {
      inc.alerts.push_back(a.id);
      inc.severity = std::min(inc.severity, a.severity);
      auto l = policy::parse_level(a.level).value_or(policy::Level::kInternal);
      if (l >= level) level = l;
      for (auto& why : a.level_reasons) inc.level_reasons.push_back(why);
    }
    inc.level = std::string(policy::to_string(level));
    if (!note.empty()) inc.notes.push_back({now, c.user->name, note});
    incident_id = inc.id.to_string();
    // The batch so far holds only the audit entries of refused alerts: they stay.
    for (auto& a : changed) {
      auto before = s.get_alert(a.id);
      if (!before || !before->has_value()) return core::make_error("alert vanished during escalation");
      a.incident = incident_id;
      b.put_alert(a, &**before);
      auto r = c.audit("alert.escalate", a.id.to_string());
      r.before_hash = sha256_hex(core::to_json(**before).dump());
      r.after_hash = sha256_hex(core::to_json(a).dump());
      r.reason = "incident " + incident_id;
      append_audit(b, r);
    }
    b.put_incident(inc, {now, c.user->name, "created", "escalated from " + std::to_string(changed.size()) + " alerts: " + title}, 1);
    auto r = c.audit("incident.create", incident_id);
    r.after_hash = sha256_hex(core::to_json(inc).dump());
    r.reason = title;
    append_audit(b, r);
  }
  Reply out;
  if (b.count() > 0) {
    if (auto st = s.commit(b); !st) return st.error();
    out.changed = std::move(changed);
  }
  out.body = json{{"action", action}, {"updated", updated}, {"not_found", missing}, {"denied", denied}};
  out.body["incident"] = incident_id.empty() ? json(nullptr) : json(incident_id);
  return out;
}

core::Result<Reply> incident_action(store::Store& s, const Actor& c, const json& body) {
  if (!body.contains("action") || !body["action"].is_string()) return Reply::error(400, "expected {\"action\": ...}");
  std::string action = body["action"];
  std::string assignee = str(body, "assignee"), verdict = str(body, "verdict"), note = str(body, "note");
  if (action != "acknowledge" && action != "assign" && action != "close" && action != "note") {
    return Reply::error(400, "action: acknowledge, assign, close or note");
  }
  if (action == "close" && verdict.empty()) return Reply::error(400, "closing needs a verdict");
  if (action == "note" && note.empty()) return Reply::error(400, "a note needs text");
  std::string id_text = str(body, "id");
  auto id = core::RecordId::parse(id_text);
  if (!id) return Reply::error(404, "no such incident");
  auto found = s.get_incident(*id);
  if (!found) return found.error();
  if (!found->has_value() || !c.may(Action::kRead, **found)) return Reply::error(404, "no such incident");
  core::Incident inc = **found;
  auto d = c.pol->may(*c.user, action == "note" ? Action::kNote : Action::kUpdate, policy::view_of(inc));
  store::CommitBatch b;
  auto r = c.audit("incident." + action, id_text);
  if (!d.allow) {
    r.decision = "deny";
    r.rule = d.rule;
    r.reason = d.reason;
    append_audit(b, r);
    if (auto st = s.commit(b); !st) return st.error();
    return Reply::error(403, "not allowed: " + d.reason);
  }
  auto now = core::Timestamp::now();
  core::Incident before = inc;
  std::string detail;
  if (action == "acknowledge") {
    if (inc.status == core::AlertStatus::kNew) inc.status = core::AlertStatus::kAcknowledged;
    detail = "acknowledged";
  } else if (action == "assign") {
    inc.assignee = assignee;
    detail = "assigned to " + assignee;
  } else if (action == "close") {
    inc.status = core::AlertStatus::kClosed;
    inc.verdict = verdict;
    detail = "closed: " + verdict;
  } else {
    inc.notes.push_back({now, c.user->name, note});
    detail = note;
  }
  inc.updated = now;
  auto seq = s.next_incident_change_seq(inc.id);
  if (!seq) return seq.error();
  b.put_incident(inc, {now, c.user->name, action, detail}, *seq);
  r.before_hash = sha256_hex(core::to_json(before).dump());
  r.after_hash = sha256_hex(core::to_json(inc).dump());
  r.rule = d.rule;
  r.reason = detail;
  append_audit(b, r);
  if (auto st = s.commit(b); !st) return st.error();
  Reply out;
  out.body = json{{"action", action}, {"incident", id_text}};
  return out;
}

core::Result<Reply> alert_unmask(store::Store& s, const Actor& c, const json& body) {
  auto id = core::RecordId::parse(str(body, "id"));
  if (!id) return Reply::error(404, "no such alert");
  auto a = s.get_alert(*id);
  if (!a) return a.error();
  if (!a->has_value() || !c.may(Action::kRead, **a)) return Reply::error(404, "no such alert");
  std::string reason = str(body, "reason");
  if (reason.size() < 5) return Reply::error(400, "unmasking needs a typed reason (at least 5 characters)");
  auto d = c.decide(Action::kUnmask, **a);
  auto r = c.audit("unmask", id->to_string());
  r.decision = d.allow ? "allow" : "deny";
  r.rule = d.rule;
  r.reason = reason;
  store::CommitBatch b;
  append_audit(b, r);
  if (auto st = s.commit(b); !st) return st.error();
  Reply out;
  out.body = json{{"allow", d.allow}, {"rule", d.rule}, {"reason", d.reason}};
  return out;
}

// An entry on its own. The actor's tenant and role come from the executing policy when the actor
// is one of its users (a console cannot claim another role); otherwise they stay empty.
core::Result<Reply> audit_only(store::Store& s, const policy::Policy& pol, const Request& req) {
  const auto& p = req.params;
  AuditRecord r;
  r.actor = req.actor;
  r.source = req.source;
  r.action = str(p, "action");
  r.object = str(p, "object");
  if (r.action.empty()) return Reply::error(400, "audit: action: required");
  if (p.contains("decision")) {
    r.decision = str(p, "decision");
    if (r.decision != "allow" && r.decision != "deny") return Reply::error(400, "audit: decision: allow or deny");
  }
  r.rule = str(p, "rule");
  r.reason = str(p, "reason");
  if (const auto* u = pol.find_user(req.actor)) {
    r.actor_tenant = u->tenant;
    r.actor_role = std::string(policy::to_string(u->role));
  }
  store::CommitBatch b;
  append_audit(b, r);
  if (auto st = s.commit(b); !st) return st.error();
  Reply out;
  out.body = json{{"ok", true}};
  return out;
}

}  // namespace

core::Result<Reply> execute(store::Store& store, const policy::Policy& policy, const Request& request) {
  try {
    if (request.op == "audit") return audit_only(store, policy, request);
    const auto* user = policy.find_user(request.actor);
    if (!user) return Reply::error(403, "unknown actor '" + request.actor + "'");
    Actor c{user, &policy, request.source};
    const json& p = request.params.is_object() ? request.params : json::object();
    if (request.op == "alert.action") return alert_action(store, c, p);
    if (request.op == "incident.action") return incident_action(store, c, p);
    if (request.op == "alert.unmask") return alert_unmask(store, c, p);
    return Reply::error(400, "unknown op '" + request.op + "'");
  } catch (const std::exception& e) {  // nlohmann::json on a shape the checks above missed
    return Reply::error(400, std::string("bad request: ") + e.what());
  }
}

Reply execute_through(const WriteFn& write, const policy::Policy& policy, const Request& request) {
  if (!write) return Reply::error(503, "this console has no way to change the store");
  Reply out;
  auto st = write([&](store::Store& s) -> core::Status {
    auto r = execute(s, policy, request);
    if (!r) return r.error();
    out = std::move(*r);
    return {};
  });
  if (!st) return Reply::error(500, st.error().to_string());
  return out;
}

}  // namespace vigil::console
