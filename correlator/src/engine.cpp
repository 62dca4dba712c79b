#include "vigil/correlator/engine.h"

#include <algorithm>

#include "label.h"
#include "vigil/core/log.h"

namespace vigil::correlator {

using core::Alert;
using core::RecordId;
using core::StoredEvent;
using nlohmann::json;

namespace {
constexpr char kSep = '\x1f';
const std::string kAggPrefix = "agg/";
const std::string kRulePrefix = "rule/";
}  // namespace

Engine::Engine(std::shared_ptr<const CorrelatorConfig> config, std::shared_ptr<const RuleSet> rules,
               std::shared_ptr<const ThreatIntel> intel)
    : config_(std::move(config)), rules_(std::move(rules)), intel_(std::move(intel)) {
  for (const auto& s : config_->sensors) sensors_[s.id] = &s;
  set_policy(nullptr);
}

void Engine::set_policy(std::shared_ptr<const policy::Policy> policy) {
  if (!policy) {
    static const auto empty = policy::Policy::parse("version: 1\n", "(no policy)");
    policy = empty.ok() ? *empty : nullptr;
  }
  policy_ = std::move(policy);
}

void Engine::reload(std::shared_ptr<const RuleSet> rules, std::shared_ptr<const ThreatIntel> intel) {
  std::map<std::string, CorrelationType> kept;
  for (const auto& r : rules->rules) kept[r.id] = r.type;
  std::map<std::string, CorrelationType> old;
  for (const auto& r : rules_->rules) old[r.id] = r.type;
  for (auto it = groups_.begin(); it != groups_.end();) {
    std::string id = it->first.substr(0, it->first.find(kSep));
    auto k = kept.find(id);
    auto o = old.find(id);
    if (k == kept.end() || o == old.end() || k->second != o->second) {
      dirty_state_.insert(kRulePrefix + it->first);
      it = groups_.erase(it);
    } else {
      ++it;
    }
  }
  rules_ = std::move(rules);
  intel_ = std::move(intel);
}

std::string Engine::label_tenant(const std::string& sensor, const core::Event& e) const {
  if (policy_) {
    std::string t = policy_->tenant_for(e.flow.dst_ip, e.vlan, e.vni);
    if (t.empty()) t = policy_->tenant_for(e.flow.src_ip, 0, 0);
    if (!t.empty()) return t;
  }
  for (const auto& t : config_->tenants) {
    if (e.vni && std::find(t.vnis.begin(), t.vnis.end(), e.vni) != t.vnis.end()) return t.name;
  }
  for (const auto& t : config_->tenants) {
    if (e.vlan && std::find(t.vlans.begin(), t.vlans.end(), e.vlan) != t.vlans.end()) return t.name;
  }
  for (const auto* ip : {&e.flow.dst_ip, &e.flow.src_ip}) {
    for (const auto& t : config_->tenants) {
      for (const auto& n : t.networks) {
        if (n.contains(*ip)) return t.name;
      }
    }
  }
  auto it = sensors_.find(sensor);
  return it != sensors_.end() ? it->second->tenant : "default";
}

Alert* Engine::alert(const RecordId& id) {
  auto it = alerts_.find(id);
  return it == alerts_.end() ? nullptr : &it->second.now;
}

void Engine::add_event(Alert& a, const StoredEvent& e) {
  ++a.count;
  a.last_seen = std::max(a.last_seen, e.event.time);
  a.updated = a.last_seen;
  if (a.events.size() < core::kMaxEventRefs) a.events.push_back(e.ref());
  if (e.event.kind == core::EventKind::kAlert && e.event.alert.severity && e.event.alert.severity < a.severity) {
    a.severity = e.event.alert.severity;
  }
  for (const auto& t : e.intel) {
    if (std::find(a.intel.begin(), a.intel.end(), t) == a.intel.end()) a.intel.push_back(t);
  }
  merge_labels(a.labels, e.event.labels);
  raise_level(a, current_.level, current_.reasons);
  alerts_[a.id].dirty = true;
  ++counters_.alerts_updated;
}

void Engine::aggregate(const StoredEvent& e, const std::string& key, const std::string& rule, uint8_t severity,
                       const std::string& signature) {
  const int64_t window = config_->aggregation_window_usec;
  if (auto it = agg_.find(key); it != agg_.end()) {
    if (Alert* a = alert(it->second); a && e.event.time.usec <= a->last_seen.usec + window) {
      add_event(*a, e);
      return;
    }
  }
  Alert a;
  a.id = RecordId{e.event.time.usec, core::fnv1a64(key + kSep + e.sensor + kSep + std::to_string(e.event.id))};
  a.tenant = e.tenant;
  a.sensor = e.sensor;
  a.rule = rule;
  a.rule_type = "aggregate";
  a.group = key.substr(key.find('|') + 1);
  a.severity = severity;
  a.signature = signature;
  if (e.event.kind == core::EventKind::kAlert) {
    a.gid = e.event.alert.gid;
    a.sid = e.event.alert.sid;
    a.rev = e.event.alert.rev;
    a.category = e.event.alert.category;
  }
  a.flow = e.event.flow;
  a.community_id = e.event.community_id;
  a.first_seen = a.last_seen = a.updated = e.event.time;
  a.count = 1;
  a.events.push_back(e.ref());
  a.intel = e.intel;
  a.labels = e.event.labels;
  raise_level(a, current_.level, current_.reasons);
  agg_[key] = a.id;
  dirty_state_.insert(kAggPrefix + key);
  alerts_[a.id] = CachedAlert{std::move(a), std::nullopt, true};
  ++counters_.alerts_created;
}

void Engine::escalate(const CorrelationRule& rule, Alert& a) {
  core::Incident inc;
  inc.id = RecordId{a.first_seen.usec, core::fnv1a64("incident" + std::string(1, kSep) + a.id.to_string())};
  inc.tenant = a.tenant;
  inc.title = rule.title + " (" + a.group + ")";
  inc.rule = rule.id;
  inc.severity = a.severity;
  inc.level = a.level;
  inc.level_reasons = a.level_reasons;
  inc.alerts.push_back(a.id);
  inc.created = inc.updated = a.last_seen;
  a.incident = inc.id.to_string();
  core::IncidentChange ch{a.last_seen, "correlator", "created", "rule " + rule.id + " escalated alert " + a.id.to_string()};
  new_incidents_.emplace_back(std::move(inc), std::move(ch));
  ++counters_.incidents_created;
}

void Engine::fire(const CorrelationRule& rule, const std::string& group, GroupState& st, const StoredEvent& e) {
  Alert a;
  const Item& first = st.items.front();
  a.id = RecordId{first.time, core::fnv1a64("rule" + std::string(1, kSep) + rule.id + kSep + group + kSep + first.ref.sensor +
                                            kSep + std::to_string(first.ref.id))};
  a.tenant = e.tenant;
  a.sensor = e.sensor;
  a.rule = rule.id;
  a.rule_type = std::string(to_string(rule.type));
  a.group = group.substr(group.find('|') == std::string::npos ? group.size() : group.find('|') + 1);
  a.severity = rule.severity;
  a.signature = rule.title;
  a.flow = e.event.flow;
  a.community_id = e.event.community_id;
  a.first_seen.usec = first.time;
  a.last_seen = a.updated = e.event.time;
  for (const auto& it : st.items) {
    if (a.events.size() < core::kMaxEventRefs) a.events.push_back(it.ref);
  }
  a.count = st.items.size();
  a.intel = e.intel;
  a.labels = e.event.labels;
  raise_level(a, current_.level, current_.reasons);
  for (const auto& it : st.items) {
    auto l = static_cast<policy::Level>(std::min<uint8_t>(it.level, 4));
    if (l > current_.level) {
      raise_level(a, l, {"correlated event " + it.ref.sensor + ":" + std::to_string(it.ref.id) + " -> " + std::string(policy::to_string(l))});
    }
  }
  if (rule.escalate) escalate(rule, a);
  st.open = a.id;
  st.items.clear();
  alerts_[a.id] = CachedAlert{std::move(a), std::nullopt, true};
  ++counters_.alerts_created;
  ++counters_.rule_alerts;
}

void Engine::correlate(const CorrelationRule& rule, size_t, const StoredEvent& e) {
  // Which of the rule's filters match (temporal rules care about which).
  int matched_step = -1;
  std::vector<int> steps;
  for (size_t i = 0; i < rule.filters.size(); ++i) {
    if (rules_->filters[rule.filters[i]].matches(e)) steps.push_back(static_cast<int>(i));
  }
  if (steps.empty()) return;
  matched_step = steps.front();
  const std::string group = rule.group_key(e);
  const std::string key = rule.id + kSep + group;
  GroupState& st = groups_[key];
  dirty_state_.insert(kRulePrefix + key);
  const int64_t t = e.event.time.usec;
  st.last_time = std::max(st.last_time, t);

  // An alert that fired recently keeps absorbing matching events instead of firing again.
  if (st.open) {
    Alert* a = alert(*st.open);
    if (a && t <= a->last_seen.usec + rule.timespan_usec) {
      add_event(*a, e);
      return;
    }
    st.open.reset();
  }
  Item item{t, e.ref(), matched_step, {}, static_cast<uint8_t>(current_.level)};
  while (!st.items.empty() && st.items.front().time < t - rule.timespan_usec) st.items.pop_front();

  switch (rule.type) {
    case CorrelationType::kEventCount:
      st.items.push_back(item);
      if (st.items.size() >= rule.gte) fire(rule, group, st, e);
      break;
    case CorrelationType::kValueCount: {
      item.value = field_value(*rule.value_field, e);
      st.items.push_back(item);
      std::set<std::string> distinct;
      for (const auto& i : st.items) distinct.insert(i.value);
      if (distinct.size() >= rule.gte) fire(rule, group, st, e);
      // Bound the window: keep one item per value (the latest).
      if (st.items.size() > 4 * rule.gte + 64) {
        std::map<std::string, Item> latest;
        for (auto& i : st.items) latest[i.value] = i;
        st.items.clear();
        for (auto& [v, i] : latest) st.items.push_back(i);
        std::sort(st.items.begin(), st.items.end(), [](const Item& a, const Item& b) { return a.time < b.time; });
      }
      break;
    }
    case CorrelationType::kTemporal: {
      // Keep the latest event per filter; fire when every filter is present in the window.
      for (int s : steps) {
        Item i = item;
        i.step = s;
        st.items.erase(std::remove_if(st.items.begin(), st.items.end(), [s](const Item& x) { return x.step == s; }),
                       st.items.end());
        st.items.push_back(i);
      }
      std::sort(st.items.begin(), st.items.end(), [](const Item& a, const Item& b) { return a.time < b.time; });
      if (st.items.size() >= rule.filters.size()) fire(rule, group, st, e);
      break;
    }
    case CorrelationType::kTemporalOrdered: {
      // Progress through the filters in order; a newer first step replaces a lone first step.
      int next = static_cast<int>(st.items.size());
      if (std::find(steps.begin(), steps.end(), next) != steps.end()) {
        item.step = next;
        st.items.push_back(item);
      } else if (std::find(steps.begin(), steps.end(), 0) != steps.end() && st.items.size() <= 1) {
        st.items.clear();
        item.step = 0;
        st.items.push_back(item);
      }
      if (st.items.size() == rule.filters.size()) fire(rule, group, st, e);
      break;
    }
  }
  if (st.items.empty() && !st.open) {
    // Nothing to remember: the key is deleted from the store at the next flush.
    groups_.erase(key);
  }
}

void Engine::process(StoredEvent& e) {
  ++counters_.events;
  e.tenant = label_tenant(e.sensor, e.event);
  current_ = policy_ ? label_event(*policy_, e) : policy::Classification{};
  if (intel_) intel_->match(e);
  if (!e.intel.empty()) ++counters_.intel_matches;
  stream_time_ = std::max(stream_time_, e.event.time.usec);

  const auto& ev = e.event;
  if (ev.kind == core::EventKind::kAlert) {
    std::string key = e.tenant + "|" + std::to_string(ev.alert.gid) + ":" + std::to_string(ev.alert.sid) + "|" +
                      ev.flow.src_ip.to_string() + "|" + ev.flow.dst_ip.to_string();
    aggregate(e, key, "aggregate", ev.alert.severity ? ev.alert.severity : 3, ev.alert.msg);
  } else if (!e.intel.empty()) {
    std::string key = e.tenant + "|" + e.intel.front() + "|" + ev.flow.src_ip.to_string() + "|" + ev.flow.dst_ip.to_string();
    aggregate(e, key, "intel", 2, "Threat intel match " + e.intel.front());
  } else if (ev.kind == core::EventKind::kClassification) {
    // Classified data in cleartext is itself a finding (DESIGN §6): a suspected state secret is
    // for the agency's secrets officer, sensitive or bulk personal data starts the 72-hour
    // breach assessment (Decree 356/2025). Basic identifiers alone only label the flow.
    const bool secret = ev.labels.secrecy == "suspected-state-secret";
    const bool sensitive = ev.labels.pii == "sensitive" ||
                           std::find(ev.labels.tags.begin(), ev.labels.tags.end(), "pii-bulk") != ev.labels.tags.end();
    if (secret || sensitive) {
      std::string what = secret ? "state-secret" : "personal-data";
      std::string key = e.tenant + "|classification:" + what + "|" + ev.flow.src_ip.to_string() + "|" + ev.flow.dst_ip.to_string();
      aggregate(e, key, "classification", secret ? 1 : 2,
                secret ? "Suspected state secret in cleartext traffic" : "Sensitive personal data in cleartext traffic");
    }
  }
  for (size_t i = 0; i < rules_->rules.size(); ++i) correlate(rules_->rules[i], i, e);
  if (++since_gc_ >= 4096) gc();
}

void Engine::gc() {
  since_gc_ = 0;
  // Forget windows that no event can reopen any more: twice the window behind the newest event
  // time, so late (out-of-order) events still find them.
  const int64_t agg_horizon = stream_time_ - 2 * config_->aggregation_window_usec;
  for (auto it = agg_.begin(); it != agg_.end();) {
    const Alert* a = alert(it->second);
    if (!a || a->last_seen.usec < agg_horizon) {
      dirty_state_.insert(kAggPrefix + it->first);
      it = agg_.erase(it);
    } else {
      ++it;
    }
  }
  std::map<std::string, int64_t> spans;
  for (const auto& r : rules_->rules) spans[r.id] = r.timespan_usec;
  std::set<RecordId> referenced;
  for (const auto& [k, id] : agg_) referenced.insert(id);
  for (auto it = groups_.begin(); it != groups_.end();) {
    auto span = spans[it->first.substr(0, it->first.find(kSep))];
    if (it->second.last_time < stream_time_ - 2 * span) {
      dirty_state_.insert(kRulePrefix + it->first);
      it = groups_.erase(it);
    } else {
      if (it->second.open) referenced.insert(*it->second.open);
      ++it;
    }
  }
  for (auto it = alerts_.begin(); it != alerts_.end();) {
    if (!it->second.dirty && !referenced.count(it->first)) it = alerts_.erase(it);
    else ++it;
  }
}

std::string Engine::encode_group(const GroupState& st) const {
  json items = json::array();
  for (const auto& i : st.items) {
    items.push_back({i.time, static_cast<int>(i.ref.kind), i.ref.sensor, i.ref.id, i.step, i.value, i.level});
  }
  json j{{"items", std::move(items)}, {"last", st.last_time}};
  if (st.open) j["open"] = st.open->to_string();
  return j.dump();
}

std::optional<Engine::GroupState> Engine::decode_group(const std::string& v) const {
  auto j = json::parse(v, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  try {
    GroupState st;
    for (const auto& i : j.at("items")) {
      Item it;
      it.time = i.at(0).get<int64_t>();
      it.ref = {{it.time}, static_cast<core::EventKind>(i.at(1).get<int>()), i.at(2).get<std::string>(), i.at(3).get<uint64_t>()};
      it.step = i.at(4).get<int>();
      it.value = i.at(5).get<std::string>();
      if (i.size() > 6) it.level = i.at(6).get<uint8_t>();
      st.items.push_back(std::move(it));
    }
    st.last_time = j.value("last", int64_t{0});
    if (j.contains("open")) st.open = RecordId::parse(j["open"].get<std::string>());
    return st;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

void Engine::flush_into(store::CommitBatch& batch, std::vector<Alert>* changed) {
  for (auto& [id, c] : alerts_) {
    if (!c.dirty) continue;
    batch.put_alert(c.now, c.stored ? &*c.stored : nullptr);
    if (changed) changed->push_back(c.now);
    c.stored = c.now;
    c.dirty = false;
  }
  for (auto& [inc, change] : new_incidents_) batch.put_incident(inc, change, 1);
  new_incidents_.clear();
  for (const auto& k : dirty_state_) {
    if (k.rfind(kAggPrefix, 0) == 0) {
      auto it = agg_.find(k.substr(kAggPrefix.size()));
      if (it == agg_.end()) batch.delete_state(k);
      else batch.put_state(k, it->second.to_string());
    } else {
      auto it = groups_.find(k.substr(kRulePrefix.size()));
      if (it == groups_.end()) batch.delete_state(k);
      else batch.put_state(k, encode_group(it->second));
    }
  }
  dirty_state_.clear();
}

core::Status Engine::refresh_alerts(const store::Store& store, const std::vector<RecordId>& ids) {
  for (const auto& id : ids) {
    auto it = alerts_.find(id);
    if (it == alerts_.end()) continue;  // not cached: the engine reads it from the store if needed
    auto a = store.get_alert(id);
    if (!a) return a.error();
    if (!a->has_value()) continue;
    const Alert& s = **a;
    Alert& now = it->second.now;
    now.status = s.status;
    now.verdict = s.verdict;
    now.assignee = s.assignee;
    now.notes = s.notes;
    now.incident = s.incident;
    now.acknowledged = s.acknowledged;  // the console's MTTA/MTTR times are analyst-owned too
    now.closed = s.closed;
    it->second.stored = s;
  }
  return {};
}

core::Status Engine::restore(const store::Store& store) {
  agg_.clear();
  groups_.clear();
  alerts_.clear();
  new_incidents_.clear();
  dirty_state_.clear();
  stream_time_ = INT64_MIN;
  std::set<RecordId> wanted;
  bool corrupt = false;
  auto st = store.scan_state([&](const std::string& k, const std::string& v) {
    if (k.rfind(kAggPrefix, 0) == 0) {
      if (auto id = RecordId::parse(v)) {
        agg_[k.substr(kAggPrefix.size())] = *id;
        wanted.insert(*id);
      } else {
        corrupt = true;
      }
    } else if (k.rfind(kRulePrefix, 0) == 0) {
      if (auto g = decode_group(v)) {
        if (g->open) wanted.insert(*g->open);
        stream_time_ = std::max(stream_time_, g->last_time);
        groups_[k.substr(kRulePrefix.size())] = std::move(*g);
      } else {
        corrupt = true;
      }
    }
  });
  if (!st) return st;
  if (corrupt) core::logger("correlator")->warn("skipped corrupt correlation state entries");
  for (const auto& id : wanted) {
    auto a = store.get_alert(id);
    if (!a) return a.error();
    if (!a->has_value()) continue;
    stream_time_ = std::max(stream_time_, (*a)->last_seen.usec);
    alerts_[id] = CachedAlert{**a, **a, false};
  }
  return {};
}

}  // namespace vigil::correlator
