// The decisions: tenant and asset lookup, classification, may() and redact().
#include <algorithm>

#include "impl.h"

namespace vigil::policy {

namespace {

bool contains(const std::vector<std::string>& v, std::string_view s) { return std::find(v.begin(), v.end(), s) != v.end(); }

std::string level_name(Level l) { return std::string(to_string(l)); }

Level level_of_sys(uint8_t sys_level) {
  if (sys_level >= 4) return Level::kSecret;
  if (sys_level == 3) return Level::kConfidential;
  return Level::kInternal;
}

std::optional<Level> level_of_importance(std::string_view importance) {
  if (importance == "core") return Level::kSecret;
  if (importance == "important") return Level::kConfidential;
  return std::nullopt;
}

// What each role may do at all, before scope, TLP and clearance.
bool role_allows(Role role, Action action) {
  switch (role) {
    case Role::kAnalyst:
      return action == Action::kList || action == Action::kCount || action == Action::kRead ||
             action == Action::kUpdate || action == Action::kNote || action == Action::kUnmask;
    case Role::kLead:
      return action != Action::kAudit && action != Action::kAdmin;
    case Role::kAgency:
      return action == Action::kList || action == Action::kCount || action == Action::kRead || action == Action::kUnmask;
    case Role::kAuditor:
      return action == Action::kList || action == Action::kCount || action == Action::kRead ||
             action == Action::kAudit || action == Action::kExport;
    case Role::kAdmin:
      return true;
  }
  return false;
}

Decision deny(std::string rule, std::string reason) { return {false, std::move(rule), std::move(reason)}; }

}  // namespace

std::string PrefixIndex::key(const core::IpAddress& ip, bool v4, int prefix) {
  // IPv4 is stored IPv4-mapped: its prefix counts from bit 96.
  int bits = v4 ? 96 + prefix : prefix;
  std::string k(18, '\0');
  k[0] = v4 ? 4 : 6;
  k[1] = static_cast<char>(prefix);
  const auto& b = ip.bytes();
  for (int i = 0; i < 16; ++i) {
    int keep = std::clamp(bits - 8 * i, 0, 8);
    k[2 + i] = static_cast<char>(keep == 0 ? 0 : b[i] & static_cast<uint8_t>(0xff << (8 - keep)));
  }
  return k;
}

void PrefixIndex::add(const core::Cidr& block, size_t value) {
  map_.emplace(key(block.base, block.base.is_v4(), block.prefix), value);  // the first listed wins
  lengths_.emplace_back(block.base.is_v4(), block.prefix);
}

void PrefixIndex::finish() {
  std::sort(lengths_.begin(), lengths_.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  lengths_.erase(std::unique(lengths_.begin(), lengths_.end()), lengths_.end());
}

std::optional<std::pair<size_t, int>> PrefixIndex::find(const core::IpAddress& ip) const {
  for (const auto& [v4, prefix] : lengths_) {
    if (v4 != ip.is_v4()) continue;
    if (auto it = map_.find(key(ip, v4, prefix)); it != map_.end()) return std::make_pair(it->second, prefix);
  }
  return std::nullopt;
}

Policy::Policy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Policy::~Policy() = default;

const std::vector<Tenant>& Policy::tenants() const { return impl_->tenants; }
const std::vector<Asset>& Policy::assets() const { return impl_->assets; }
const std::vector<User>& Policy::users() const { return impl_->users; }
const Retention& Policy::retention() const { return impl_->retention; }
const std::string& Policy::source() const { return impl_->source; }

const User* Policy::find_user(std::string_view name) const {
  for (const auto& u : impl_->users) {
    if (u.name == name) return &u;
  }
  return nullptr;
}

const User* Policy::find_user_by_token_sha256(std::string_view hex) const {
  if (hex.empty()) return nullptr;
  for (const auto& u : impl_->users) {
    for (const auto& t : u.api_tokens) {
      if (t.size() == hex.size() && std::equal(t.begin(), t.end(), hex.begin(), [](char a, char b) {
            return a == std::tolower(static_cast<unsigned char>(b));
          })) {
        return &u;
      }
    }
  }
  return nullptr;
}

const Tenant* Policy::find_tenant(std::string_view name) const {
  auto it = impl_->tenant_index.find(name);
  return it == impl_->tenant_index.end() ? nullptr : &impl_->tenants[it->second];
}

std::optional<Level> Policy::sensor_level(std::string_view sensor_id) const {
  for (const auto& s : impl_->sensors) {
    if (s.id == sensor_id) return s.level;
  }
  return std::nullopt;
}

std::string Policy::tenant_for(const core::IpAddress& ip, uint16_t vlan, uint32_t vni) const {
  if (vni) {
    for (const auto& t : impl_->tenants) {
      if (std::find(t.vnis.begin(), t.vnis.end(), vni) != t.vnis.end()) return t.name;
    }
  }
  if (vlan) {
    for (const auto& t : impl_->tenants) {
      if (std::find(t.vlans.begin(), t.vlans.end(), vlan) != t.vlans.end()) return t.name;
    }
  }
  auto hit = impl_->tenant_networks.find(ip);
  return hit ? impl_->tenants[hit->first].name : std::string();
}

const Asset* Policy::asset_for(const core::IpAddress& ip) const {
  auto hit = impl_->asset_networks.find(ip);
  return hit ? &impl_->assets[hit->first] : nullptr;
}

Classification Policy::classify(const core::EventLabels& labels, const core::FlowTuple& flow,
                                std::optional<Level> sensor_level) const {
  Classification c;
  c.level = Level::kInternal;
  auto raise = [&c](Level l, std::string reason) {
    c.level = std::max(c.level, l);
    c.reasons.push_back(std::move(reason) + " -> " + level_name(l));
  };
  if (sensor_level) raise(*sensor_level, "sensor level " + level_name(*sensor_level));

  uint8_t asset_sys = 0;
  int asset_importance = 0;  // 0 other, 1 important, 2 core
  const Asset* seen = nullptr;
  for (const auto* ip : {&flow.src_ip, &flow.dst_ip}) {
    const Asset* a = asset_for(*ip);
    if (!a || a == seen) continue;
    seen = a;
    raise(level_of_sys(a->sys_level), "asset " + a->name + " (" + ip->to_string() + ") sys_level " + std::to_string(a->sys_level));
    asset_sys = std::max(asset_sys, a->sys_level);
    if (auto l = level_of_importance(a->importance)) {
      raise(*l, "asset " + a->name + " importance " + a->importance);
      asset_importance = std::max(asset_importance, a->importance == "core" ? 2 : 1);
    }
  }
  // Labels stamped by the sensor or ingest; the asset's own contribution is not counted twice.
  if (labels.sys_level > asset_sys) {
    raise(level_of_sys(labels.sys_level), "label sys_level " + std::to_string(labels.sys_level));
  }
  int label_importance = labels.importance == "core" ? 2 : labels.importance == "important" ? 1 : 0;
  if (label_importance > asset_importance) {
    raise(*level_of_importance(labels.importance), "label importance " + labels.importance);
  }
  bool sensitive = labels.pii == "sensitive" || contains(labels.tags, "pii-sensitive");
  bool basic = labels.pii == "basic" || contains(labels.tags, "pii");
  if (sensitive) raise(Level::kConfidential, "pii sensitive");
  else if (basic) raise(Level::kInternal, "pii basic");
  if (labels.secrecy == "suspected-state-secret") raise(Level::kTopSecret, "secrecy suspected-state-secret");
  if (c.reasons.empty()) c.reasons.push_back("default -> internal");
  return c;
}

Decision Policy::may(const User& user, Action action, const RecordView& record) const {
  const std::string act(to_string(action));
  const std::string role(to_string(user.role));
  if (!role_allows(user.role, action)) return deny("role", "role " + role + " may not " + act);

  // Scope: the owning tenant in the user's scope, or the record shared with the user's tenant.
  // Records without an owner (attacker-only data) are in every scope except an agency's.
  const bool own = !record.tenant.empty() && record.tenant == user.tenant;
  const bool shared = contains(record.shared_with, user.tenant);
  bool in_scope = false;
  if (user.role == Role::kAgency) {
    in_scope = own || shared || (!record.tenant.empty() && contains(user.scope, record.tenant));
  } else {
    in_scope = record.tenant.empty() || own || shared || contains(user.scope, "*") || contains(user.scope, record.tenant);
  }
  if (!in_scope) {
    return deny("scope", "tenant '" + (record.tenant.empty() ? std::string("(none)") : record.tenant) +
                             "' not in the scope of " + user.name + " and not shared with '" + user.tenant + "'");
  }
  // TLP: an agency sees another tenant's records only up to AMBER.
  if (user.role == Role::kAgency && !own && record.tlp >= Tlp::kAmberStrict) {
    return deny("tlp", "TLP:" + std::string(to_string(record.tlp)) + " record of tenant '" + record.tenant +
                           "' is not for other agencies");
  }
  if (record.level > user.clearance) {
    return deny("clearance", "clearance " + level_name(user.clearance) + " < " + level_name(record.level));
  }
  if (record.level == Level::kTopSecret && action == Action::kExport) {
    return deny("top-secret", "top-secret records are never exported");
  }
  if (action == Action::kUnmask) {
    if (!user.may_unmask) return deny("unmask", user.name + " lacks the unmask permission");
    if (user.role == Role::kAgency && !own) return deny("unmask", "an agency unmasks only its own tenant's records");
  }
  return {true, "allow",
          "role " + role + " may " + act + "; tenant '" + record.tenant + "' " + (own ? "own" : shared ? "shared" : "in scope") +
              "; level " + level_name(record.level) + " <= clearance " + level_name(user.clearance)};
}

namespace {

// Payload-carrying fields (EVE names and the stored event's raw app-layer text).
bool is_payload_key(std::string_view k) {
  return k == "payload" || k == "payload_printable" || k == "packet" || k == "packet_info" || k == "app_json" ||
         k == "http_request_body" || k == "http_response_body" || k == "http_request_body_printable" ||
         k == "http_response_body_printable";
}

// Cleartext PII filled in only by an unmask lookup (the sensor never sends clear values).
bool is_clear_pii_key(std::string_view k) {
  return k == "clear" || k == "pii_clear" || (k.size() > 6 && k.substr(k.size() - 6) == "_clear");
}

}  // namespace

void Policy::redact(const User& user, nlohmann::json& record, bool unmasked) const {
  const bool may_unmask = unmasked && user.may_unmask;
  auto in_scope = [&](const std::string& tenant) {
    if (tenant.empty() || tenant == user.tenant) return true;
    if (user.role == Role::kAgency) return contains(user.scope, tenant);
    return contains(user.scope, "*") || contains(user.scope, tenant);
  };
  // Recursive walk; `level` is the nearest enclosing record's level (objects carrying a "level"
  // string, such as alerts, incidents and events, set it for what they hold).
  auto walk = [&](auto& self, nlohmann::json& j, Level level) -> void {
    if (j.is_object()) {
      if (auto it = j.find("level"); it != j.end() && it->is_string()) {
        if (auto l = parse_level(it->get<std::string>())) level = *l;
      }
      const bool drop_payload = level > user.clearance || level == Level::kTopSecret;
      for (auto it = j.begin(); it != j.end();) {
        const std::string& k = it.key();
        if ((drop_payload && is_payload_key(k)) || (!may_unmask && is_clear_pii_key(k))) {
          it = j.erase(it);
          continue;
        }
        self(self, it.value(), level);
        ++it;
      }
    } else if (j.is_array()) {
      for (auto& v : j) self(self, v, level);
    } else if (j.is_string()) {
      // Victim-internal addresses of tenants outside the user's scope are removed.
      const auto& s = j.get_ref<const std::string&>();
      if (s.size() < 2 || s.size() > 45 || (s.find('.') == std::string::npos && s.find(':') == std::string::npos)) return;
      auto ip = core::IpAddress::parse(s);
      if (!ip) return;
      std::string owner = tenant_for(*ip, 0, 0);
      if (!owner.empty() && !in_scope(owner)) j = "redacted";
    }
  };
  walk(walk, record, Level::kInternal);
}

RecordView view_of(const core::Alert& alert) {
  RecordView v;
  v.kind = "alert";
  v.tenant = alert.tenant;
  // An unknown level name is handled as the strictest, never the loosest.
  v.level = parse_level(alert.level).value_or(Level::kTopSecret);
  v.tlp = alert.labels.tlp.empty() ? Tlp::kAmber : parse_tlp(alert.labels.tlp).value_or(Tlp::kRed);
  for (const auto& t : alert.labels.tags) {
    if (t.rfind("shared:", 0) == 0 && t.size() > 7) v.shared_with.push_back(t.substr(7));
  }
  v.has_pii = (!alert.labels.pii.empty() && alert.labels.pii != "none") || contains(alert.labels.tags, "pii") ||
              contains(alert.labels.tags, "pii-sensitive");
  return v;
}

RecordView view_of(const core::Incident& incident) {
  RecordView v;
  v.kind = "incident";
  v.tenant = incident.tenant;
  v.level = parse_level(incident.level).value_or(Level::kTopSecret);
  v.tlp = Tlp::kAmber;
  return v;
}

}  // namespace vigil::policy
