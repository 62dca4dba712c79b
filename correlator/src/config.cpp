#include "vigil/correlator/config.h"

#include <charconv>
#include <filesystem>

#include "vigil/core/config.h"
#include "vigil/core/curve_keys.h"

namespace vigil::correlator {

using core::make_error;

std::optional<int64_t> parse_duration_usec(const std::string& text) {
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || ptr == text.data() || n < 0) return std::nullopt;
  std::string unit(ptr, static_cast<size_t>(text.data() + text.size() - ptr));
  int64_t mult = 1'000'000;
  if (unit.empty() || unit == "s") mult = 1'000'000;
  else if (unit == "ms") mult = 1'000;
  else if (unit == "m") mult = 60'000'000;
  else if (unit == "h") mult = 3'600'000'000;
  else if (unit == "d") mult = 86'400'000'000;
  else return std::nullopt;
  return n * mult;
}

namespace {

std::string resolve(const std::string& base_file, const std::string& p) {
  if (p.empty() || std::filesystem::path(p).is_absolute()) return p;
  return (std::filesystem::path(base_file).parent_path() / p).string();
}

// A peer admitted by its CURVE key, as sensors[] and control.clients[] list it: `id` and the
// public key inline (`public_key`) or in a file (`public_key_file`, relative to the config).
struct PeerKey {
  std::string id, public_key, public_key_file;
};

// Reads the three keys (call before the reader's finish(), which rejects unknown ones).
PeerKey read_peer_key(core::ConfigReader& r, const std::string& config_path) {
  PeerKey k;
  k.id = r.get_string("id", "");
  k.public_key = r.get_string("public_key", "");
  k.public_key_file = resolve(config_path, r.get_string("public_key_file", ""));
  return k;
}

// Loads the key file, if any, and checks both; errors name `where` and the key.
core::Status check_peer_key(PeerKey& k, const std::string& where) {
  if (!k.public_key_file.empty()) {
    auto f = core::read_curve_key_file(k.public_key_file);
    if (!f) return make_error(f.error().to_string(), where + ": key 'public_key_file'");
    k.public_key = f->public_key;
  }
  if (k.id.empty()) return make_error("missing", where + ": key 'id'");
  if (k.public_key.size() != 40) return make_error("expected a 40-character Z85 public key", where + ": key 'public_key'");
  return {};
}

}  // namespace

core::Result<CorrelatorConfig> load_config(const std::string& path) {
  auto root = core::load_yaml_file(path);
  if (!root) return root.error();
  CorrelatorConfig c;
  c.source = path;
  core::ConfigReader r(*root, path);
  c.listen = r.get_string("listen", c.listen);
  c.data_dir = resolve(path, r.get_string("data_dir", c.data_dir));
  c.log_level = r.get_string("log_level", c.log_level);
  c.max_batches_per_commit = static_cast<size_t>(r.get_int("commit.max_batches", 64, 1, 4096));
  c.sync = r.get_bool("commit.sync", true);
  c.publish_endpoint = r.get_string("publish.endpoint", "");
  c.publish_as_user = r.get_string("publish.as_user", "");
  c.stats_file = resolve(path, r.get_string("stats_file", ""));
  c.retention_interval_sec = r.get_int("retention.interval_seconds", 3600, 1, 86400 * 7);

  auto duration = [&](const std::string& key, int64_t def) -> int64_t {
    std::string v = r.get_string(key, "");
    if (v.empty()) return def;
    auto d = parse_duration_usec(v);
    if (!d) {
      return -1;
    }
    return *d;
  };
  std::string bad_duration;
  auto checked = [&](const std::string& key, int64_t def) {
    int64_t v = duration(key, def);
    if (v < 0 && bad_duration.empty()) bad_duration = key;
    return v < 0 ? def : v;
  };
  c.aggregation_window_usec = checked("aggregation.window", c.aggregation_window_usec);
  c.alert_retention_usec = checked("retention.alerts", 0);
  for (int k = 1; k < core::kEventKindCount; ++k) {
    auto name = std::string(core::to_string(static_cast<core::EventKind>(k)));
    c.event_retention_usec[k] = checked("retention.events." + name, 0);
  }

  // Server key pair: from a vigil-keygen file, or inline.
  std::string key_file = resolve(path, r.get_string("server_key_file", ""));
  if (!key_file.empty()) {
    auto k = core::read_curve_key_file(key_file);
    if (!k) return make_error(k.error().to_string(), path + ": key 'server_key_file'");
    c.server_public_key = k->public_key;
    c.server_secret_key = k->secret_key;
    if (c.server_secret_key.empty()) return make_error("server key file has no secret key", path + ": key 'server_key_file'");
  }

  c.intel_ip_files = r.get_string_list("intel.ip_files");
  c.intel_domain_files = r.get_string_list("intel.domain_files");
  c.intel_hash_files = r.get_string_list("intel.hash_files");
  c.rule_files = r.get_string_list("rules");
  c.policy_file = resolve(path, r.get_string("policy", ""));
  c.console_file = resolve(path, r.get_string("console", ""));
  for (auto* list : {&c.intel_ip_files, &c.intel_domain_files, &c.intel_hash_files, &c.rule_files}) {
    for (auto& f : *list) f = resolve(path, f);
  }

  c.control_listen = r.get_string("control.listen", "");
  bool has_control = r.has("control");
  YAML::Node control_clients = r.get_node("control.clients");
  // Lists of maps: each element gets its own strict reader.
  YAML::Node sensors = r.get_node("sensors");
  YAML::Node tenants = r.get_node("tenants");
  if (auto st = r.finish(); !st) return st.error();
  if (!bad_duration.empty()) return make_error("expected a duration such as 90s, 15m, 12h or 30d", path + ": key '" + bad_duration + "'");
  if (!c.policy_file.empty()) {
    // One place decides how long records live: the policy's retention per level.
    for (const std::string key : {"retention.alerts", "retention.events"}) {
      if (r.has(key)) return make_error("retention is set per level in the policy (" + c.policy_file + ")", path + ": key '" + key + "'");
    }
  }
  if (c.server_secret_key.empty()) return make_error("missing server_key_file (make one with vigil-keygen)", path);
  if (has_control) {
    if (c.control_listen.empty()) return make_error("required (ipc:///run/vigil/control.sock or tcp://127.0.0.1:7452)", path + ": key 'control.listen'");
    if (c.policy_file.empty()) {
      return make_error("the control interface needs policy: (the correlator decides every console change itself)",
                        path + ": key 'control'");
    }
  }

  try {
    if (sensors.IsDefined() && !sensors.IsNull() && !sensors.IsSequence()) return make_error("expected a list", path + ": key 'sensors'");
    size_t i = 0;
    for (const auto& n : sensors) {
      std::string where = path + ": sensors[" + std::to_string(i++) + "]";
      core::ConfigReader sr(n, where);
      SensorEntry s;
      auto key = read_peer_key(sr, path);
      s.tenant = sr.get_string("tenant", "default");
      if (auto st = sr.finish(); !st) return st.error();
      if (auto st = check_peer_key(key, where); !st) return st.error();
      s.id = key.id;
      s.public_key = key.public_key;
      c.sensors.push_back(std::move(s));
    }
    if (has_control) {
      if (!control_clients.IsDefined() || !control_clients.IsSequence() || control_clients.size() == 0) {
        return make_error("expected a list of {id, public_key or public_key_file}", path + ": key 'control.clients'");
      }
      size_t i = 0;
      for (const auto& n : control_clients) {
        std::string where = path + ": control.clients[" + std::to_string(i++) + "]";
        core::ConfigReader cr(n, where);
        auto key = read_peer_key(cr, path);
        if (auto st = cr.finish(); !st) return st.error();
        if (auto st = check_peer_key(key, where); !st) return st.error();
        ControlClientEntry e{key.id, key.public_key};
        for (const auto& other : c.control_clients) {
          if (other.public_key == e.public_key) return make_error("the same key is listed twice", where + ": key 'public_key'");
        }
        c.control_clients.push_back(std::move(e));
      }
    }
    if (tenants.IsDefined() && !tenants.IsNull() && !tenants.IsSequence()) return make_error("expected a list", path + ": key 'tenants'");
    i = 0;
    for (const auto& n : tenants) {
      std::string where = path + ": tenants[" + std::to_string(i++) + "]";
      core::ConfigReader tr(n, where);
      TenantEntry t;
      t.name = tr.get_string("name", "");
      auto nets = tr.get_string_list("networks");
      auto vlans = tr.get_string_list("vlans");
      auto vnis = tr.get_string_list("vnis");
      if (auto st = tr.finish(); !st) return st.error();
      if (t.name.empty()) return make_error("missing", where + ": key 'name'");
      for (const auto& s : nets) {
        auto cidr = core::Cidr::parse(s);
        if (!cidr) return make_error("not a CIDR block: '" + s + "'", where + ": key 'networks'");
        t.networks.push_back(*cidr);
      }
      for (const auto& s : vlans) {
        int v = -1;
        std::from_chars(s.data(), s.data() + s.size(), v);
        if (v < 0 || v > 4095) return make_error("not a VLAN id: '" + s + "'", where + ": key 'vlans'");
        t.vlans.push_back(static_cast<uint16_t>(v));
      }
      for (const auto& s : vnis) {
        int64_t v = -1;
        std::from_chars(s.data(), s.data() + s.size(), v);
        if (v < 0 || v > 0xffffff) return make_error("not a VXLAN VNI: '" + s + "'", where + ": key 'vnis'");
        t.vnis.push_back(static_cast<uint32_t>(v));
      }
      c.tenants.push_back(std::move(t));
    }
  } catch (const YAML::Exception& e) {
    return make_error(e.what(), path);
  }
  return c;
}

}  // namespace vigil::correlator
