#include "vigil/correlator/rules.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include "vigil/core/config.h"
#include "vigil/correlator/config.h"

namespace vigil::correlator {

using core::make_error;

namespace {

struct FieldName {
  const char* name;
  Field field;
};
constexpr FieldName kFields[] = {{"src_ip", Field::kSrcIp},         {"dest_ip", Field::kDstIp},
                                 {"dest_port", Field::kDstPort},     {"signature_id", Field::kSignature},
                                 {"tenant", Field::kTenant},         {"sensor", Field::kSensor},
                                 {"community_id", Field::kCommunityId}};

std::optional<Field> parse_field(const std::string& s) {
  for (const auto& f : kFields) {
    if (s == f.name) return f.field;
  }
  return std::nullopt;
}

template <typename T>
bool parse_uint(const std::string& s, T max, T& out) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > max) return false;
  out = static_cast<T>(v);
  return true;
}

core::Status parse_filter(const std::string& name, const YAML::Node& node, const std::string& where, EventFilter& f) {
  core::ConfigReader r(node, where);
  f.name = name;
  auto key_error = [&](const std::string& key, const std::string& what) {
    return make_error(what, where + ": key '" + key + "'");
  };
  for (const auto& k : r.get_string_list("kind")) {
    auto kind = core::parse_event_kind(k);
    if (!kind) return key_error("kind", "unknown event kind '" + k + "'");
    f.kinds.push_back(*kind);
  }
  for (const auto& s : r.get_string_list("signature_id")) {
    uint32_t v = 0;
    if (!parse_uint(s, UINT32_MAX, v)) return key_error("signature_id", "not a signature id: '" + s + "'");
    f.sids.push_back(v);
  }
  if (r.has("gid")) f.gid = static_cast<uint32_t>(r.get_int("gid", 1, 0, UINT32_MAX));
  f.categories = r.get_string_list("category");
  f.msg_contains = r.get_string("msg_contains", "");
  if (r.has("severity_max")) f.max_severity = static_cast<uint8_t>(r.get_int("severity_max", 4, 1, 255));
  for (const char* key : {"src_ip", "dest_ip"}) {
    for (const auto& s : r.get_string_list(key)) {
      auto c = core::Cidr::parse(s);
      if (!c) {
        auto ip = core::IpAddress::parse(s);
        if (!ip) return key_error(key, "not an address or CIDR block: '" + s + "'");
        c = core::Cidr::parse(s + (ip->is_v4() ? "/32" : "/128"));
        if (!c) return key_error(key, "not an address or CIDR block: '" + s + "'");
      }
      (std::string(key) == "src_ip" ? f.src_nets : f.dst_nets).push_back(*c);
    }
  }
  for (const auto& s : r.get_string_list("dest_port")) {
    uint16_t v = 0;
    if (!parse_uint(s, uint16_t{65535}, v)) return key_error("dest_port", "not a port: '" + s + "'");
    f.dst_ports.push_back(v);
  }
  if (r.has("proto")) {
    std::string p = r.get_string("proto", "");
    uint8_t v = 0;
    if (p == "tcp" || p == "TCP") v = 6;
    else if (p == "udp" || p == "UDP") v = 17;
    else if (p == "icmp" || p == "ICMP") v = 1;
    else if (!parse_uint(p, uint8_t{255}, v)) return key_error("proto", "not a protocol: '" + p + "'");
    f.proto = v;
  }
  f.app_proto = r.get_string("app_proto", "");
  f.tenants = r.get_string_list("tenant");
  if (r.has("intel")) f.intel = r.get_bool("intel", false);
  return r.finish();
}

}  // namespace

std::string_view to_string(CorrelationType t) {
  switch (t) {
    case CorrelationType::kEventCount: return "event_count";
    case CorrelationType::kValueCount: return "value_count";
    case CorrelationType::kTemporal: return "temporal";
    case CorrelationType::kTemporalOrdered: return "temporal_ordered";
  }
  return "event_count";
}

bool EventFilter::matches(const core::StoredEvent& se) const {
  const auto& e = se.event;
  if (!kinds.empty() && std::find(kinds.begin(), kinds.end(), e.kind) == kinds.end()) return false;
  if (!sids.empty() && (e.kind != core::EventKind::kAlert || std::find(sids.begin(), sids.end(), e.alert.sid) == sids.end())) return false;
  if (gid && (e.kind != core::EventKind::kAlert || e.alert.gid != *gid)) return false;
  if (!categories.empty() && std::find(categories.begin(), categories.end(), e.alert.category) == categories.end()) return false;
  if (!msg_contains.empty() && e.alert.msg.find(msg_contains) == std::string::npos) return false;
  if (max_severity && (e.kind != core::EventKind::kAlert || e.alert.severity > *max_severity)) return false;
  auto in = [](const std::vector<core::Cidr>& nets, const core::IpAddress& ip) {
    return std::any_of(nets.begin(), nets.end(), [&](const core::Cidr& c) { return c.contains(ip); });
  };
  if (!src_nets.empty() && !in(src_nets, e.flow.src_ip)) return false;
  if (!dst_nets.empty() && !in(dst_nets, e.flow.dst_ip)) return false;
  if (!dst_ports.empty() && std::find(dst_ports.begin(), dst_ports.end(), e.flow.dst_port) == dst_ports.end()) return false;
  if (proto && e.flow.proto != *proto) return false;
  if (!app_proto.empty() && e.app_proto != app_proto) return false;
  if (!tenants.empty() && std::find(tenants.begin(), tenants.end(), se.tenant) == tenants.end()) return false;
  if (intel && se.intel.empty() == *intel) return false;
  return true;
}

std::string field_value(Field f, const core::StoredEvent& e) {
  switch (f) {
    case Field::kSrcIp: return e.event.flow.src_ip.to_string();
    case Field::kDstIp: return e.event.flow.dst_ip.to_string();
    case Field::kDstPort: return std::to_string(e.event.flow.dst_port);
    case Field::kSignature: return std::to_string(e.event.alert.gid) + ":" + std::to_string(e.event.alert.sid);
    case Field::kTenant: return e.tenant;
    case Field::kSensor: return e.sensor;
    case Field::kCommunityId: return e.event.community_id;
  }
  return {};
}

std::string CorrelationRule::group_key(const core::StoredEvent& e) const {
  // Correlation never crosses tenants: the tenant always leads the key.
  std::string k = e.tenant;
  for (Field f : group_by) {
    k += '|';
    k += field_value(f, e);
  }
  return k;
}

core::Result<std::shared_ptr<const RuleSet>> load_rules(const std::vector<std::string>& files) {
  auto set = std::make_shared<RuleSet>();
  std::map<std::string, size_t> filter_index;
  std::set<std::string> ids;
  std::vector<std::pair<std::string, YAML::Node>> pending;  // correlations, after all filters
  for (const auto& file : files) {
    auto root = core::load_yaml_file(file);
    if (!root) return root.error();
    try {
      for (const auto& kv : *root) {
        std::string top = kv.first.as<std::string>();
        if (top != "filters" && top != "correlations") return make_error("unknown key '" + top + "'", file);
      }
      YAML::Node filters = (*root)["filters"];
      if (filters && !filters.IsMap()) return make_error("expected a map of named filters", file + ": key 'filters'");
      for (const auto& kv : filters) {
        std::string name = kv.first.as<std::string>();
        std::string where = file + ": filters." + name;
        if (filter_index.count(name)) return make_error("filter defined twice", where);
        EventFilter f;
        if (auto st = parse_filter(name, kv.second.IsNull() ? YAML::Node(YAML::NodeType::Map) : kv.second, where, f); !st) return st.error();
        filter_index[name] = set->filters.size();
        set->filters.push_back(std::move(f));
      }
      YAML::Node corr = (*root)["correlations"];
      if (corr && !corr.IsSequence()) return make_error("expected a list", file + ": key 'correlations'");
      size_t i = 0;
      for (const auto& n : corr) pending.emplace_back(file + ": correlations[" + std::to_string(i++) + "]", n);
    } catch (const YAML::Exception& e) {
      return make_error(e.what(), file);
    }
  }
  for (auto& [where_base, node] : pending) {
    std::string file = where_base.substr(0, where_base.find(": correlations["));
    core::ConfigReader r(node, where_base);
    CorrelationRule rule;
    rule.source = file;
    rule.id = r.get_string("id", "");
    std::string where = where_base + (rule.id.empty() ? "" : " (" + rule.id + ")");
    auto err = [&](const std::string& key, const std::string& what) {
      return make_error(what, where + ": key '" + key + "'");
    };
    rule.title = r.get_string("title", rule.id);
    std::string type = r.get_string("type", "");
    auto names = r.get_string_list("rules");
    auto group = r.get_string_list("group-by");
    std::string span = r.get_string("timespan", "");
    rule.gte = static_cast<uint64_t>(r.get_int("condition.gte", 1, 1, 1'000'000));
    std::string vfield = r.get_string("condition.field", "");
    rule.severity = static_cast<uint8_t>(r.get_int("severity", 2, 1, 4));
    rule.escalate = r.get_bool("escalate", false);
    r.ignore("description");
    if (auto st = r.finish(); !st) return make_error(st.error().message, where);
    if (rule.id.empty()) return err("id", "missing");
    if (!ids.insert(rule.id).second) return err("id", "duplicate rule id '" + rule.id + "'");
    if (type == "event_count") rule.type = CorrelationType::kEventCount;
    else if (type == "value_count") rule.type = CorrelationType::kValueCount;
    else if (type == "temporal") rule.type = CorrelationType::kTemporal;
    else if (type == "temporal_ordered") rule.type = CorrelationType::kTemporalOrdered;
    else return err("type", "expected event_count, value_count, temporal or temporal_ordered, got '" + type + "'");
    if (names.empty()) return err("rules", "missing: name at least one filter");
    for (const auto& n : names) {
      auto it = filter_index.find(n);
      if (it == filter_index.end()) return err("rules", "unknown filter '" + n + "'");
      rule.filters.push_back(it->second);
    }
    if ((rule.type == CorrelationType::kTemporal || rule.type == CorrelationType::kTemporalOrdered) && names.size() < 2) {
      return err("rules", "temporal rules need at least two filters");
    }
    for (const auto& g : group) {
      auto f = parse_field(g);
      if (!f) return err("group-by", "unknown field '" + g + "'");
      rule.group_by.push_back(*f);
    }
    auto ts = parse_duration_usec(span);
    if (!ts || *ts <= 0) return err("timespan", "expected a duration such as 60s or 10m, got '" + span + "'");
    rule.timespan_usec = *ts;
    if (rule.type == CorrelationType::kValueCount) {
      auto f = parse_field(vfield);
      if (!f) return err("condition.field", "value_count needs a field to count, got '" + vfield + "'");
      rule.value_field = *f;
    } else if (!vfield.empty()) {
      return err("condition.field", "only value_count rules count a field");
    }
    set->rules.push_back(std::move(rule));
  }
  return std::shared_ptr<const RuleSet>(std::move(set));
}

}  // namespace vigil::correlator
