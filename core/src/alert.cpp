#include "vigil/core/alert.h"

#include <cstdio>

namespace vigil::core {

using nlohmann::json;

namespace {

constexpr std::string_view kStatusNames[] = {"new", "acknowledged", "in-progress", "closed"};

json flow_json(const FlowTuple& f) {
  return json{{"src_ip", f.src_ip.to_string()},
              {"src_port", f.src_port},
              {"dest_ip", f.dst_ip.to_string()},
              {"dest_port", f.dst_port},
              {"proto", f.proto}};
}

FlowTuple flow_from(const json& j) {
  FlowTuple f;
  if (auto ip = IpAddress::parse(j.value("src_ip", ""))) f.src_ip = *ip;
  if (auto ip = IpAddress::parse(j.value("dest_ip", ""))) f.dst_ip = *ip;
  f.src_port = j.value("src_port", uint16_t{0});
  f.dst_port = j.value("dest_port", uint16_t{0});
  f.proto = j.value("proto", uint8_t{0});
  return f;
}

json labels_json(const EventLabels& l) {
  json j = json::object();
  if (l.sys_level) j["sys_level"] = l.sys_level;
  if (!l.importance.empty()) j["importance"] = l.importance;
  if (!l.pii.empty()) j["pii"] = l.pii;
  if (!l.secrecy.empty()) j["secrecy"] = l.secrecy;
  if (!l.tlp.empty()) j["tlp"] = l.tlp;
  if (!l.tags.empty()) j["tags"] = l.tags;
  return j;
}

EventLabels labels_from(const json& j) {
  EventLabels l;
  l.sys_level = j.value("sys_level", uint8_t{0});
  l.importance = j.value("importance", "");
  l.pii = j.value("pii", "");
  l.secrecy = j.value("secrecy", "");
  l.tlp = j.value("tlp", "");
  l.tags = j.value("tags", std::vector<std::string>{});
  return l;
}

json notes_json(const std::vector<Note>& notes) {
  json arr = json::array();
  for (const auto& n : notes) arr.push_back({{"time_usec", n.time.usec}, {"author", n.author}, {"text", n.text}});
  return arr;
}

std::vector<Note> notes_from(const json& j) {
  std::vector<Note> out;
  if (!j.is_array()) return out;
  for (const auto& n : j) out.push_back({{n.value("time_usec", int64_t{0})}, n.value("author", ""), n.value("text", "")});
  return out;
}

AlertStatus status_from(const json& j) {
  return parse_alert_status(j.value("status", "new")).value_or(AlertStatus::kNew);
}

}  // namespace

std::array<uint8_t, 16> RecordId::bytes() const {
  std::array<uint8_t, 16> b{};
  uint64_t t = static_cast<uint64_t>(time_usec) ^ (1ull << 63);
  for (int i = 0; i < 8; ++i) {
    b[static_cast<size_t>(i)] = static_cast<uint8_t>(t >> (56 - 8 * i));
    b[static_cast<size_t>(8 + i)] = static_cast<uint8_t>(hash >> (56 - 8 * i));
  }
  return b;
}

RecordId RecordId::from_bytes(const uint8_t* p) {
  uint64_t t = 0, h = 0;
  for (int i = 0; i < 8; ++i) {
    t = (t << 8) | p[i];
    h = (h << 8) | p[8 + i];
  }
  return {static_cast<int64_t>(t ^ (1ull << 63)), h};
}

std::string RecordId::to_string() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(32);
  for (uint8_t b : bytes()) {
    s += kHex[b >> 4];
    s += kHex[b & 15];
  }
  return s;
}

std::optional<RecordId> RecordId::parse(std::string_view hex) {
  if (hex.size() != 32) return std::nullopt;
  uint8_t b[16];
  for (size_t i = 0; i < 16; ++i) {
    int v = 0;
    for (size_t k = 0; k < 2; ++k) {
      char c = hex[2 * i + k];
      int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
      if (d < 0) return std::nullopt;
      v = v * 16 + d;
    }
    b[i] = static_cast<uint8_t>(v);
  }
  return from_bytes(b);
}

std::string_view to_string(AlertStatus s) {
  auto i = static_cast<size_t>(s);
  return i < std::size(kStatusNames) ? kStatusNames[i] : "new";
}

std::optional<AlertStatus> parse_alert_status(std::string_view text) {
  for (size_t i = 0; i < std::size(kStatusNames); ++i) {
    if (kStatusNames[i] == text) return static_cast<AlertStatus>(i);
  }
  return std::nullopt;
}

uint64_t fnv1a64(std::string_view data, uint64_t seed) {
  uint64_t h = seed;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

json to_json(const Event& e) {
  json j{{"timestamp", format_eve_time(e.time)},
         {"time_usec", e.time.usec},
         {"event_type", std::string(to_string(e.kind))},
         {"event_id", e.id}};
  j.update(flow_json(e.flow));
  if (!e.community_id.empty()) j["community_id"] = e.community_id;
  if (e.flow_id) j["flow_id"] = e.flow_id;
  if (e.vlan) j["vlan"] = e.vlan;
  if (e.vni) j["vni"] = e.vni;
  if (!e.app_proto.empty()) j["app_proto"] = e.app_proto;
  if (e.kind == EventKind::kAlert) {
    j["alert"] = {{"gid", e.alert.gid},           {"signature_id", e.alert.sid}, {"rev", e.alert.rev},
                  {"signature", e.alert.msg},     {"category", e.alert.category},
                  {"severity", e.alert.severity}, {"action", e.alert.action}};
  }
  if (!e.app_json.empty()) {
    json app = json::parse(e.app_json, nullptr, false);
    if (app.is_discarded()) {
      j["app_json"] = e.app_json;
    } else {
      // A protocol record's object goes under its kind ("http": {...}); an alert's under the
      // protocol it was raised on, beside "alert", as EVE puts it.
      const bool alert = e.kind == EventKind::kAlert;
      std::string key = alert ? (e.app_proto.empty() ? std::string("app") : e.app_proto)
                              : std::string(to_string(e.kind));
      j[key] = std::move(app);
    }
  }
  auto labels = labels_json(e.labels);
  if (!labels.empty()) j["labels"] = std::move(labels);
  return j;
}

json to_json(const StoredEvent& e) {
  json j = to_json(e.event);
  j["sensor"] = e.sensor;
  j["tenant"] = e.tenant;
  if (!e.intel.empty()) j["intel"] = e.intel;
  return j;
}

json to_json(const Alert& a) {
  json events = json::array();
  for (const auto& r : a.events) {
    events.push_back({{"time_usec", r.time.usec}, {"kind", std::string(to_string(r.kind))}, {"sensor", r.sensor}, {"id", r.id}});
  }
  json j{{"id", a.id.to_string()},
         {"tenant", a.tenant},
         {"sensor", a.sensor},
         {"rule", a.rule},
         {"rule_type", a.rule_type},
         {"group", a.group},
         {"severity", a.severity},
         {"signature", a.signature},
         {"gid", a.gid},
         {"signature_id", a.sid},
         {"rev", a.rev},
         {"category", a.category},
         {"flow", flow_json(a.flow)},
         {"community_id", a.community_id},
         {"first_seen", format_eve_time(a.first_seen)},
         {"first_seen_usec", a.first_seen.usec},
         {"last_seen", format_eve_time(a.last_seen)},
         {"last_seen_usec", a.last_seen.usec},
         {"count", a.count},
         {"events", std::move(events)},
         {"intel", a.intel},
         {"labels", labels_json(a.labels)},
         {"level", a.level},
         {"level_reasons", a.level_reasons},
         {"status", std::string(to_string(a.status))},
         {"verdict", a.verdict},
         {"assignee", a.assignee},
         {"notes", notes_json(a.notes)},
         {"incident", a.incident},
         {"updated_usec", a.updated.usec},
         {"acknowledged_usec", a.acknowledged.usec},
         {"closed_usec", a.closed.usec}};
  return j;
}

Result<Alert> alert_from_json(const json& j) {
  try {
    Alert a;
    auto id = RecordId::parse(j.at("id").get<std::string>());
    if (!id) return make_error("bad alert id");
    a.id = *id;
    a.tenant = j.value("tenant", "");
    a.sensor = j.value("sensor", "");
    a.rule = j.value("rule", "");
    a.rule_type = j.value("rule_type", "");
    a.group = j.value("group", "");
    a.severity = j.value("severity", uint8_t{3});
    a.signature = j.value("signature", "");
    a.gid = j.value("gid", 0u);
    a.sid = j.value("signature_id", 0u);
    a.rev = j.value("rev", 0u);
    a.category = j.value("category", "");
    if (j.contains("flow")) a.flow = flow_from(j["flow"]);
    a.community_id = j.value("community_id", "");
    a.first_seen.usec = j.value("first_seen_usec", int64_t{0});
    a.last_seen.usec = j.value("last_seen_usec", int64_t{0});
    a.count = j.value("count", uint64_t{0});
    if (j.contains("events")) {
      for (const auto& r : j["events"]) {
        a.events.push_back({{r.value("time_usec", int64_t{0})},
                            parse_event_kind(r.value("kind", "")).value_or(EventKind::kUnknown),
                            r.value("sensor", ""), r.value("id", uint64_t{0})});
      }
    }
    a.intel = j.value("intel", std::vector<std::string>{});
    if (j.contains("labels")) a.labels = labels_from(j["labels"]);
    a.level = j.value("level", "internal");
    a.level_reasons = j.value("level_reasons", std::vector<std::string>{});
    a.status = status_from(j);
    a.verdict = j.value("verdict", "");
    a.assignee = j.value("assignee", "");
    if (j.contains("notes")) a.notes = notes_from(j["notes"]);
    a.incident = j.value("incident", "");
    a.updated.usec = j.value("updated_usec", int64_t{0});
    a.acknowledged.usec = j.value("acknowledged_usec", int64_t{0});
    a.closed.usec = j.value("closed_usec", int64_t{0});
    return a;
  } catch (const json::exception& e) {
    return make_error(std::string("bad alert record: ") + e.what());
  }
}

json to_json(const Incident& i) {
  json alerts = json::array();
  for (const auto& a : i.alerts) alerts.push_back(a.to_string());
  return json{{"id", i.id.to_string()},
              {"tenant", i.tenant},
              {"title", i.title},
              {"rule", i.rule},
              {"severity", i.severity},
              {"level", i.level},
              {"level_reasons", i.level_reasons},
              {"status", std::string(to_string(i.status))},
              {"verdict", i.verdict},
              {"assignee", i.assignee},
              {"alerts", std::move(alerts)},
              {"notes", notes_json(i.notes)},
              {"created", format_eve_time(i.created)},
              {"created_usec", i.created.usec},
              {"updated_usec", i.updated.usec}};
}

Result<Incident> incident_from_json(const json& j) {
  try {
    Incident i;
    auto id = RecordId::parse(j.at("id").get<std::string>());
    if (!id) return make_error("bad incident id");
    i.id = *id;
    i.tenant = j.value("tenant", "");
    i.title = j.value("title", "");
    i.rule = j.value("rule", "");
    i.severity = j.value("severity", uint8_t{3});
    i.level = j.value("level", "internal");
    i.level_reasons = j.value("level_reasons", std::vector<std::string>{});
    i.status = status_from(j);
    i.verdict = j.value("verdict", "");
    i.assignee = j.value("assignee", "");
    for (const auto& a : j.value("alerts", std::vector<std::string>{})) {
      if (auto r = RecordId::parse(a)) i.alerts.push_back(*r);
    }
    if (j.contains("notes")) i.notes = notes_from(j["notes"]);
    i.created.usec = j.value("created_usec", int64_t{0});
    i.updated.usec = j.value("updated_usec", int64_t{0});
    return i;
  } catch (const json::exception& e) {
    return make_error(std::string("bad incident record: ") + e.what());
  }
}

json to_json(const IncidentChange& c) {
  return json{{"time", format_eve_time(c.time)},
              {"time_usec", c.time.usec},
              {"actor", c.actor},
              {"action", c.action},
              {"detail", c.detail}};
}

Result<IncidentChange> incident_change_from_json(const json& j) {
  try {
    return IncidentChange{{j.value("time_usec", int64_t{0})}, j.value("actor", ""), j.value("action", ""),
                          j.value("detail", "")};
  } catch (const json::exception& e) {
    return make_error(std::string("bad incident change: ") + e.what());
  }
}

}  // namespace vigil::core
