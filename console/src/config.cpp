#include <charconv>
#include <filesystem>

#include "vigil/console/console.h"
#include "vigil/core/config.h"
#include "vigil/core/curve_keys.h"

namespace vigil::console {

namespace {

std::string resolve(const std::string& base_file, const std::string& p) {
  if (p.empty() || std::filesystem::path(p).is_absolute()) return p;
  return (std::filesystem::path(base_file).parent_path() / p).string();
}

// "90s", "15m", "8h", "30d", plain seconds.
std::optional<int64_t> duration_usec(const std::string& text) {
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || ptr == text.data() || n < 0) return std::nullopt;
  std::string unit(ptr, static_cast<size_t>(text.data() + text.size() - ptr));
  int64_t mult = 0;
  if (unit.empty() || unit == "s") mult = 1'000'000;
  else if (unit == "m") mult = 60'000'000;
  else if (unit == "h") mult = 3'600'000'000;
  else if (unit == "d") mult = 86'400'000'000;
  else return std::nullopt;
  return n * mult;
}

}  // namespace

core::Result<ConsoleConfig> load_console_config(const std::string& path) {
  auto root = core::load_yaml_file(path);
  if (!root) return root.error();
  core::ConfigReader r(*root, path);
  ConsoleConfig c;
  c.source = path;
  std::string listen = r.get_string("listen", "127.0.0.1:8443");
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return core::make_error("listen: expected HOST:PORT, got '" + listen + "'", path);
  c.listen_host = listen.substr(0, colon);
  if (c.listen_host.size() > 2 && c.listen_host.front() == '[') c.listen_host = c.listen_host.substr(1, c.listen_host.size() - 2);
  int port = -1;
  auto ps = listen.substr(colon + 1);
  auto [p, ec] = std::from_chars(ps.data(), ps.data() + ps.size(), port);
  if (ec != std::errc() || p != ps.data() + ps.size() || port < 0 || port > 65535) {
    return core::make_error("listen: bad port in '" + listen + "'", path);
  }
  c.listen_port = port;
  c.tls_cert_file = resolve(path, r.get_string("tls.cert_file", ""));
  c.tls_key_file = resolve(path, r.get_string("tls.key_file", ""));
  if (c.tls_cert_file.empty() != c.tls_key_file.empty()) {
    return core::make_error("tls: set both cert_file and key_file, or neither", path);
  }
  c.policy_file = resolve(path, r.get_string("policy", ""));
  if (c.policy_file.empty()) return core::make_error("policy: required (the users and their rights)", path);
  c.web_root = resolve(path, r.get_string("web_root", ""));
  for (auto& f : r.get_string_list("rules")) c.rule_files.push_back(resolve(path, f));
  for (auto [key, slot] : {std::pair{"session.ttl", &c.session_ttl_usec}, std::pair{"session.idle", &c.session_idle_usec},
                           std::pair{"login.window", &c.login_window_usec}}) {
    if (!r.has(key)) continue;
    auto text = r.get_string(key, "");
    auto d = duration_usec(text);
    if (!d || *d == 0) return core::make_error(std::string(key) + ": expected a duration like 30m or 8h, got '" + text + "'", path);
    *slot = *d;
  }
  c.max_login_failures = static_cast<int>(r.get_int("login.max_failures", c.max_login_failures, 1, 1000));
  c.threads = static_cast<int>(r.get_int("threads", c.threads, 2, 1024));
  c.max_page = static_cast<size_t>(r.get_int("max_page", static_cast<int64_t>(c.max_page), 1, 100000));
  c.max_scan = static_cast<uint64_t>(r.get_int("max_scan", static_cast<int64_t>(c.max_scan), 1000, INT64_MAX));
  c.feeds_file = resolve(path, r.get_string("feeds", ""));
  // control: a separate console reaching the correlator's request interface.
  if (r.has("control")) {
    c.control_endpoint = r.get_string("control.endpoint", "");
    if (c.control_endpoint.empty()) return core::make_error("required (the correlator's control.listen)", path + ": key 'control.endpoint'");
    c.control_server_public_key = r.get_string("control.server_public_key", "");
    auto server_file = resolve(path, r.get_string("control.server_public_key_file", ""));
    if (!server_file.empty()) {
      auto k = core::read_curve_key_file(server_file);
      if (!k) return core::make_error(k.error().to_string(), path + ": key 'control.server_public_key_file'");
      c.control_server_public_key = k->public_key;
    }
    if (c.control_server_public_key.size() != 40) {
      return core::make_error("expected the correlator's 40-character Z85 public key (or server_public_key_file)",
                              path + ": key 'control.server_public_key'");
    }
    auto key_file = resolve(path, r.get_string("control.key_file", ""));
    if (key_file.empty()) return core::make_error("required: this console's key pair from vigil-keygen", path + ": key 'control.key_file'");
    auto k = core::read_curve_key_file(key_file);
    if (!k) return core::make_error(k.error().to_string(), path + ": key 'control.key_file'");
    if (k->secret_key.empty()) return core::make_error("the key file has no secret key", path + ": key 'control.key_file'");
    c.control_public_key = k->public_key;
    c.control_secret_key = k->secret_key;
    if (r.has("control.timeout")) {
      auto text = r.get_string("control.timeout", "");
      std::optional<int64_t> ms;
      if (text.size() > 2 && text.compare(text.size() - 2, 2, "ms") == 0) {
        // "500ms": the number read as plain seconds by duration_usec, so usec / 1e6 is the count.
        if (auto v = duration_usec(text.substr(0, text.size() - 2))) ms = *v / 1'000'000;
      } else if (auto v = duration_usec(text)) {
        ms = *v / 1000;
      }
      if (!ms || *ms < 100 || *ms > 600'000) {
        return core::make_error("expected a duration from 100ms to 10m, got '" + text + "'", path + ": key 'control.timeout'");
      }
      c.control_timeout_ms = static_cast<int>(*ms);
    }
    c.store_path = resolve(path, r.get_string("control.store", ""));
    if (c.store_path.empty()) {
      return core::make_error("required: the correlator's store directory (data_dir/db), read as a secondary",
                              path + ": key 'control.store'");
    }
    c.secondary_dir = resolve(path, r.get_string("control.secondary_dir", ""));
  }
  c.log_level = r.get_string("log_level", c.log_level);
  if (auto st = r.finish(); !st) return st.error();
  if (!c.control_endpoint.empty() && !c.feeds_file.empty()) {
    return core::make_error("the agency feeds are served only by the console inside vigil-correlator (standalone "
                            "mode); remove feeds: from a separate console (control:)", path + ": key 'feeds'");
  }
  return c;
}

}  // namespace vigil::console
