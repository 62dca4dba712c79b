// Loading the policy YAML strictly: every key is known, every value checked, and the first
// problem comes back naming the file and the key path ("policy.yaml: users[2].clearance: unknown
// level 'secrt'"). yaml-cpp throws; the throw stops here.
#include <algorithm>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "impl.h"

namespace vigil::policy {

using core::make_error;

namespace {

struct Ctx {
  std::string file;
  std::optional<core::Error> err;
  void fail(const std::string& where, const std::string& what) {
    if (!err) err = make_error(what, file + ": " + where);
  }
};

std::string join(const std::string& where, std::string_view key) {
  return where.empty() ? std::string(key) : where + "." + std::string(key);
}
std::string at(const std::string& where, size_t i) { return where + "[" + std::to_string(i) + "]"; }

bool present(const YAML::Node& n) { return n.IsDefined() && !n.IsNull(); }

// A map whose keys must all be in `allowed`.
bool check_map(Ctx& c, const YAML::Node& n, const std::string& where, std::initializer_list<std::string_view> allowed) {
  if (!n.IsMap()) {
    c.fail(where.empty() ? "(top level)" : where, "expected a map");
    return false;
  }
  for (const auto& kv : n) {
    std::string k = kv.first.as<std::string>();
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) c.fail(join(where, k), "unknown key");
  }
  return !c.err;
}

std::optional<std::string> scalar(Ctx& c, const YAML::Node& n, const std::string& where) {
  if (!n.IsScalar()) {
    c.fail(where, "expected a single value");
    return std::nullopt;
  }
  return n.Scalar();
}

std::string get_string(Ctx& c, const YAML::Node& map, const std::string& where, std::string_view key,
                       const std::string& def = {}) {
  YAML::Node n = map[std::string(key)];
  if (!present(n)) return def;
  return scalar(c, n, join(where, key)).value_or(def);
}

std::vector<std::string> get_list(Ctx& c, const YAML::Node& map, const std::string& where, std::string_view key) {
  YAML::Node n = map[std::string(key)];
  std::vector<std::string> out;
  if (!present(n)) return out;
  std::string w = join(where, key);
  if (n.IsScalar()) return {n.Scalar()};
  if (!n.IsSequence()) {
    c.fail(w, "expected a list");
    return out;
  }
  for (size_t i = 0; i < n.size(); ++i) {
    if (auto s = scalar(c, n[i], at(w, i))) out.push_back(*s);
  }
  return out;
}

std::optional<int64_t> to_int(const std::string& s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

int64_t get_int(Ctx& c, const YAML::Node& map, const std::string& where, std::string_view key, int64_t def,
                int64_t min, int64_t max) {
  YAML::Node n = map[std::string(key)];
  if (!present(n)) return def;
  auto s = scalar(c, n, join(where, key));
  if (!s) return def;
  auto v = to_int(*s);
  if (!v || *v < min || *v > max) {
    c.fail(join(where, key), "expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "], got '" + *s + "'");
    return def;
  }
  return *v;
}

bool get_bool(Ctx& c, const YAML::Node& map, const std::string& where, std::string_view key, bool def) {
  YAML::Node n = map[std::string(key)];
  if (!present(n)) return def;
  auto s = scalar(c, n, join(where, key));
  if (!s) return def;
  if (*s == "true" || *s == "yes" || *s == "on") return true;
  if (*s == "false" || *s == "no" || *s == "off") return false;
  c.fail(join(where, key), "expected true or false, got '" + *s + "'");
  return def;
}

Level get_level(Ctx& c, const YAML::Node& map, const std::string& where, std::string_view key, Level def) {
  std::string s = get_string(c, map, where, key);
  if (s.empty()) return def;
  auto l = parse_level(s);
  if (!l) c.fail(join(where, key), "unknown level '" + s + "' (public, internal, confidential, secret, top-secret)");
  return l.value_or(def);
}

// "90d", "12h", "2y", "forever" (0). Units: s, m (minutes), h, d, w, y (365 days).
std::optional<int64_t> parse_duration(const std::string& text) {
  if (text == "forever" || text == "0") return 0;
  int64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || p == text.data() || n <= 0) return std::nullopt;
  std::string unit(p, static_cast<size_t>(text.data() + text.size() - p));
  constexpr int64_t kSec = 1'000'000;
  int64_t mult = 0;
  if (unit == "s") mult = kSec;
  else if (unit == "m") mult = 60 * kSec;
  else if (unit == "h") mult = 3600 * kSec;
  else if (unit == "d") mult = 86400 * kSec;
  else if (unit == "w") mult = 7 * 86400 * kSec;
  else if (unit == "y") mult = 365 * 86400 * kSec;
  else return std::nullopt;
  if (n > INT64_MAX / mult) return std::nullopt;
  return n * mult;
}

int64_t get_duration(Ctx& c, const YAML::Node& map, const std::string& where, std::string_view key, int64_t def) {
  std::string s = get_string(c, map, where, key);
  if (s.empty()) return def;
  auto d = parse_duration(s);
  if (!d) c.fail(join(where, key), "expected a duration such as 90d, 12h, 2y or 'forever', got '" + s + "'");
  return d.value_or(def);
}

bool is_hex64(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char ch) {
           return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
         });
}

bool valid_name(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
           ch == '_' || ch == '.' || ch == '@';
  });
}

std::vector<core::Cidr> get_cidrs(Ctx& c, const YAML::Node& map, const std::string& where, std::string_view key) {
  std::vector<core::Cidr> out;
  auto list = get_list(c, map, where, key);
  for (size_t i = 0; i < list.size(); ++i) {
    auto cidr = core::Cidr::parse(list[i]);
    if (!cidr) {
      // A bare address is a /32 or /128.
      if (auto ip = core::IpAddress::parse(list[i])) cidr = core::Cidr{*ip, ip->is_v4() ? 32 : 128};
    }
    if (!cidr) {
      c.fail(at(join(where, key), i), "not a CIDR block or address: '" + list[i] + "'");
      continue;
    }
    out.push_back(*cidr);
  }
  return out;
}

void parse_tenants(Ctx& c, const YAML::Node& seq, Policy::Impl& p) {
  if (!present(seq)) return;
  if (!seq.IsSequence()) return c.fail("tenants", "expected a list");
  std::map<uint16_t, std::string> vlan_owner;
  std::map<uint32_t, std::string> vni_owner;
  for (size_t i = 0; i < seq.size() && !c.err; ++i) {
    std::string w = at("tenants", i);
    const YAML::Node n = seq[i];
    if (!check_map(c, n, w, {"name", "display_name", "networks", "vlans", "vnis", "default_tlp"})) return;
    Tenant t;
    t.name = get_string(c, n, w, "name");
    if (!valid_name(t.name)) return c.fail(join(w, "name"), t.name.empty() ? "missing" : "not a valid name: '" + t.name + "'");
    if (p.tenant_index.count(t.name)) return c.fail(join(w, "name"), "duplicate tenant '" + t.name + "'");
    t.display_name = get_string(c, n, w, "display_name", t.name);
    t.networks = get_cidrs(c, n, w, "networks");
    auto vlans = get_list(c, n, w, "vlans");
    for (size_t k = 0; k < vlans.size(); ++k) {
      auto v = to_int(vlans[k]);
      if (!v || *v < 1 || *v > 4094) return c.fail(at(join(w, "vlans"), k), "not a VLAN id (1-4094): '" + vlans[k] + "'");
      if (auto [it, fresh] = vlan_owner.emplace(static_cast<uint16_t>(*v), t.name); !fresh) {
        return c.fail(at(join(w, "vlans"), k), "VLAN " + vlans[k] + " already belongs to tenant '" + it->second + "'");
      }
      t.vlans.push_back(static_cast<uint16_t>(*v));
    }
    auto vnis = get_list(c, n, w, "vnis");
    for (size_t k = 0; k < vnis.size(); ++k) {
      auto v = to_int(vnis[k]);
      if (!v || *v < 1 || *v > 0xffffff) return c.fail(at(join(w, "vnis"), k), "not a VXLAN VNI (1-16777215): '" + vnis[k] + "'");
      if (auto [it, fresh] = vni_owner.emplace(static_cast<uint32_t>(*v), t.name); !fresh) {
        return c.fail(at(join(w, "vnis"), k), "VNI " + vnis[k] + " already belongs to tenant '" + it->second + "'");
      }
      t.vnis.push_back(static_cast<uint32_t>(*v));
    }
    std::string tlp = get_string(c, n, w, "default_tlp", "amber");
    auto parsed = parse_tlp(tlp);
    if (!parsed) return c.fail(join(w, "default_tlp"), "unknown TLP '" + tlp + "' (clear, green, amber, amber+strict, red)");
    t.default_tlp = *parsed;
    p.tenant_index[t.name] = p.tenants.size();
    p.tenants.push_back(std::move(t));
  }
  // The same block claimed by two tenants would make ownership depend on file order.
  for (size_t a = 0; a < p.tenants.size() && !c.err; ++a) {
    for (size_t b = a + 1; b < p.tenants.size(); ++b) {
      for (size_t x = 0; x < p.tenants[a].networks.size(); ++x) {
        for (const auto& nb : p.tenants[b].networks) {
          const auto& na = p.tenants[a].networks[x];
          if (na.prefix == nb.prefix && na.base == nb.base) {
            return c.fail(at(join(at("tenants", b), "networks"), 0),
                          "network " + nb.to_string() + " already belongs to tenant '" + p.tenants[a].name + "'");
          }
        }
      }
    }
  }
}

void parse_assets(Ctx& c, const YAML::Node& seq, Policy::Impl& p) {
  if (!present(seq)) return;
  if (!seq.IsSequence()) return c.fail("assets", "expected a list");
  std::set<std::string> names;
  for (size_t i = 0; i < seq.size() && !c.err; ++i) {
    std::string w = at("assets", i);
    const YAML::Node n = seq[i];
    if (!check_map(c, n, w, {"name", "tenant", "networks", "sys_level", "importance"})) return;
    Asset a;
    a.name = get_string(c, n, w, "name");
    if (a.name.empty()) return c.fail(join(w, "name"), "missing");
    if (!names.insert(a.name).second) return c.fail(join(w, "name"), "duplicate asset '" + a.name + "'");
    a.tenant = get_string(c, n, w, "tenant");
    if (!a.tenant.empty() && !p.tenant_index.count(a.tenant)) return c.fail(join(w, "tenant"), "unknown tenant '" + a.tenant + "'");
    a.networks = get_cidrs(c, n, w, "networks");
    if (!c.err && a.networks.empty()) return c.fail(join(w, "networks"), "missing (an asset needs at least one address or block)");
    a.sys_level = static_cast<uint8_t>(get_int(c, n, w, "sys_level", 1, 1, 5));
    a.importance = get_string(c, n, w, "importance", "other");
    if (a.importance != "other" && a.importance != "important" && a.importance != "core") {
      return c.fail(join(w, "importance"), "unknown importance '" + a.importance + "' (other, important, core)");
    }
    p.assets.push_back(std::move(a));
  }
}

void parse_sensors(Ctx& c, const YAML::Node& seq, Policy::Impl& p) {
  if (!present(seq)) return;
  if (!seq.IsSequence()) return c.fail("sensors", "expected a list");
  for (size_t i = 0; i < seq.size() && !c.err; ++i) {
    std::string w = at("sensors", i);
    const YAML::Node n = seq[i];
    if (!check_map(c, n, w, {"id", "level"})) return;
    SensorLevel s;
    s.id = get_string(c, n, w, "id");
    if (s.id.empty()) return c.fail(join(w, "id"), "missing");
    if (!present(n["level"])) return c.fail(join(w, "level"), "missing");
    s.level = get_level(c, n, w, "level", Level::kInternal);
    p.sensors.push_back(std::move(s));
  }
}

void parse_users(Ctx& c, const YAML::Node& seq, Policy::Impl& p) {
  if (!present(seq)) return;
  if (!seq.IsSequence()) return c.fail("users", "expected a list");
  std::set<std::string> names;
  std::set<std::string> tokens;
  for (size_t i = 0; i < seq.size() && !c.err; ++i) {
    std::string w = at("users", i);
    const YAML::Node n = seq[i];
    if (!check_map(c, n, w, {"name", "display_name", "tenant", "scope", "role", "clearance", "may_unmask",
                             "password_hash", "api_tokens"})) {
      return;
    }
    User u;
    u.name = get_string(c, n, w, "name");
    if (!valid_name(u.name)) return c.fail(join(w, "name"), u.name.empty() ? "missing" : "not a valid user name: '" + u.name + "'");
    if (!names.insert(u.name).second) return c.fail(join(w, "name"), "duplicate user '" + u.name + "'");
    u.display_name = get_string(c, n, w, "display_name", u.name);
    u.tenant = get_string(c, n, w, "tenant");
    if (u.tenant.empty()) return c.fail(join(w, "tenant"), "missing");
    if (!p.tenant_index.count(u.tenant)) return c.fail(join(w, "tenant"), "unknown tenant '" + u.tenant + "'");
    std::string role = get_string(c, n, w, "role");
    if (role.empty()) return c.fail(join(w, "role"), "missing");
    auto r = parse_role(role);
    if (!r) return c.fail(join(w, "role"), "unknown role '" + role + "' (analyst, lead, agency, auditor, admin)");
    u.role = *r;
    u.clearance = get_level(c, n, w, "clearance", Level::kInternal);
    u.may_unmask = get_bool(c, n, w, "may_unmask", false);
    u.scope = get_list(c, n, w, "scope");
    if (u.scope.empty()) u.scope.push_back(u.tenant);
    for (size_t k = 0; k < u.scope.size(); ++k) {
      const auto& s = u.scope[k];
      if (s == "*") {
        if (u.role == Role::kAgency) return c.fail(at(join(w, "scope"), k), "an agency user cannot have scope '*'");
        continue;
      }
      if (!p.tenant_index.count(s)) return c.fail(at(join(w, "scope"), k), "unknown tenant '" + s + "'");
    }
    u.password_hash = get_string(c, n, w, "password_hash");
    if (!u.password_hash.empty() && u.password_hash.rfind("$argon2id$", 0) != 0) {
      return c.fail(join(w, "password_hash"), "expected an argon2id hash ($argon2id$...; make one with vigil-policy hash-password)");
    }
    u.api_tokens = get_list(c, n, w, "api_tokens");
    for (size_t k = 0; k < u.api_tokens.size(); ++k) {
      auto& t = u.api_tokens[k];
      std::transform(t.begin(), t.end(), t.begin(), [](char ch) { return static_cast<char>(std::tolower(static_cast<unsigned char>(ch))); });
      if (!is_hex64(t)) return c.fail(at(join(w, "api_tokens"), k), "expected the token's SHA-256 as 64 hex digits");
      if (!tokens.insert(t).second) return c.fail(at(join(w, "api_tokens"), k), "token hash used twice");
    }
    p.users.push_back(std::move(u));
  }
}

void parse_levels(Ctx& c, const YAML::Node& n, const std::string& where, int64_t (&out)[5]) {
  if (!present(n)) return;
  if (!check_map(c, n, where, {"public", "internal", "confidential", "secret", "top-secret"})) return;
  for (int l = 0; l < 5; ++l) out[l] = get_duration(c, n, where, to_string(static_cast<Level>(l)), 0);
}

void parse_retention(Ctx& c, const YAML::Node& n, Policy::Impl& p) {
  if (!present(n)) return;
  if (!check_map(c, n, "retention", {"alerts", "events", "protocol", "incidents", "audit"})) return;
  parse_levels(c, n["alerts"], "retention.alerts", p.retention.alert_usec);
  parse_levels(c, n["events"], "retention.events", p.retention.event_usec);
  p.retention.protocol_usec = get_duration(c, n, "retention", "protocol", 0);
  p.retention.incident_usec = get_duration(c, n, "retention", "incidents", 0);
  p.retention.audit_usec = get_duration(c, n, "retention", "audit", 0);
  for (auto [key, v] : {std::pair{"incidents", p.retention.incident_usec}, std::pair{"audit", p.retention.audit_usec}}) {
    if (v != 0 && v < kLegalFloorUsec) {
      c.fail(join("retention", key), "must be at least 730d (24 months, Law 116/2025) or 'forever'");
    }
  }
}

}  // namespace

core::Result<std::shared_ptr<const Policy>> Policy::parse(const std::string& yaml_text, const std::string& source_name) {
  Ctx c{source_name, std::nullopt};
  auto impl = std::make_unique<Impl>();
  impl->source = source_name;
  try {
    YAML::Node root = YAML::Load(yaml_text);
    if (!present(root)) return make_error("empty policy", source_name);
    if (!check_map(c, root, "", {"version", "tenants", "assets", "sensors", "users", "retention"})) return *c.err;
    int64_t version = get_int(c, root, "", "version", 1, 1, 1);
    (void)version;
    parse_tenants(c, root["tenants"], *impl);
    if (!c.err) parse_assets(c, root["assets"], *impl);
    if (!c.err) parse_sensors(c, root["sensors"], *impl);
    if (!c.err) parse_users(c, root["users"], *impl);
    if (!c.err) parse_retention(c, root["retention"], *impl);
  } catch (const YAML::Exception& e) {
    std::string where = source_name;
    if (!e.mark.is_null()) where += ":" + std::to_string(e.mark.line + 1);
    return make_error(e.msg, where);
  }
  if (c.err) return *c.err;
  for (size_t i = 0; i < impl->tenants.size(); ++i) {
    for (const auto& n : impl->tenants[i].networks) impl->tenant_networks.add(n, i);
  }
  for (size_t i = 0; i < impl->assets.size(); ++i) {
    for (const auto& n : impl->assets[i].networks) impl->asset_networks.add(n, i);
  }
  impl->tenant_networks.finish();
  impl->asset_networks.finish();
  return std::shared_ptr<const Policy>(std::make_shared<Policy>(std::move(impl)));
}

core::Result<std::shared_ptr<const Policy>> Policy::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("cannot open policy file", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return make_error("cannot read policy file", path);
  return parse(ss.str(), path);
}

}  // namespace vigil::policy
