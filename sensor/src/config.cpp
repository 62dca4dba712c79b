#include "vigil/sensor/config.h"

#include <algorithm>

#include "vigil/core/config.h"
#include "vigil/core/ip.h"

namespace vigil::sensor {

namespace {
core::Result<rules::Action> parse_action(const std::string& s) {
  if (s == "pass") return rules::Action::Pass;
  if (s == "drop") return rules::Action::Drop;
  if (s == "reject") return rules::Action::Reject;
  if (s == "alert") return rules::Action::Alert;
  return core::make_error("unknown action '" + s + "' (pass, drop, reject, alert)");
}
}  // namespace

core::Status parse_sensor_config(const YAML::Node& root, const std::string& source, SensorConfig& out) {
  core::ConfigReader r(root, source);

  out.default_rule_path = r.get_string("default-rule-path", out.default_rule_path);
  if (r.has("rule-files")) out.rule_files = r.get_string_list("rule-files");
  out.classification_file = r.get_string("classification-file", out.classification_file);

  for (const char* group : {"address-groups", "port-groups"}) {
    std::string key = std::string("vars.") + group;
    YAML::Node n = r.get_node(key);
    if (!n.IsDefined() || n.IsNull()) continue;
    if (!n.IsMap()) return core::make_error("expected a mapping of NAME: value", source + ": key '" + key + "'");
    auto& dest = std::string(group) == "address-groups" ? out.vars.address_groups : out.vars.port_groups;
    for (const auto& kv : n) {
      if (!kv.second.IsScalar()) {
        return core::make_error("expected a string", source + ": key '" + key + "." + kv.first.Scalar() + "'");
      }
      dest[kv.first.Scalar()] = kv.second.Scalar();
    }
  }

  out.packet_alert_max = static_cast<uint32_t>(r.get_int("packet-alert-max", out.packet_alert_max, 1, 1000));
  if (r.has("action-order")) {
    std::vector<rules::Action> order;
    for (const auto& a : r.get_string_list("action-order")) {
      auto act = parse_action(a);
      if (!act.ok()) return core::make_error(act.error().message, source + ": key 'action-order'");
      order.push_back(*act);
    }
    out.action_order = order;
  }

  out.workers = static_cast<unsigned>(r.get_int("workers", out.workers, 0, 1024));
  out.checksum_validation = r.get_bool("checksum-validation", out.checksum_validation);
  out.defrag_memcap = r.get_size("defrag.memcap", out.defrag_memcap);
  out.defrag_timeout = static_cast<uint32_t>(r.get_int("defrag.timeout", out.defrag_timeout, 1, 3600));

  out.flow_memcap = r.get_size("flow.memcap", out.flow_memcap);
  out.stream_midstream = r.get_bool("stream.midstream", out.stream_midstream);
  out.stream_memcap = r.get_size("stream.memcap", out.stream_memcap);
  out.reassembly_depth = r.get_size("stream.reassembly.depth", out.reassembly_depth);
  out.reassembly_memcap = r.get_size("stream.reassembly.memcap", out.reassembly_memcap);

  static const char* kPolicies[] = {"first", "last", "bsd", "bsd-right", "linux", "old-linux",
                                    "solaris", "old-solaris", "hpux10", "hpux11", "irix",
                                    "macos", "windows", "windows2k3", "vista"};
  for (const char* pol : kPolicies) {
    for (const auto& addr : r.get_string_list(std::string("host-os-policy.") + pol)) {
      if (!core::Cidr::parse(addr)) {
        return core::make_error("not an address or CIDR block: '" + addr + "'",
                                source + ": key 'host-os-policy." + pol + "'");
      }
      out.host_os_policy.emplace_back(pol, addr);
    }
  }
  static const char* kExceptionPolicies[] = {"auto", "ignore", "bypass", "pass-packet", "pass-flow",
                                             "drop-packet", "drop-flow", "reject"};
  auto check_policy = [&](const std::string& key, std::string& dest) -> core::Status {
    std::string v = r.get_string(key, dest);
    if (!v.empty() && std::find(std::begin(kExceptionPolicies), std::end(kExceptionPolicies), v) ==
                          std::end(kExceptionPolicies)) {
      return core::make_error("unknown exception policy '" + v +
                                  "' (auto, ignore, bypass, pass-packet, pass-flow, drop-packet, "
                                  "drop-flow, reject)",
                              source + ": key '" + key + "'");
    }
    dest = v;
    return {};
  };
  if (auto st = check_policy("exception-policy", out.exception_policy); !st.ok()) return st;
  if (auto st = check_policy("stream.midstream-policy", out.midstream_policy); !st.ok()) return st;

  const std::string http = "app-layer.protocols.http.";
  out.http_enabled = r.get_bool(http + "enabled", out.http_enabled);
  out.http_request_body_limit = r.get_size(http + "libhtp.default-config.request-body-limit", out.http_request_body_limit);
  out.http_response_body_limit = r.get_size(http + "libhtp.default-config.response-body-limit", out.http_response_body_limit);
  out.http_decompress_layer_limit = static_cast<uint32_t>(r.get_int(
      http + "libhtp.default-config.response-body-decompress-layer-limit", out.http_decompress_layer_limit, 0, 16));
  out.dns_enabled = r.get_bool("app-layer.protocols.dns.enabled", out.dns_enabled);
  out.tls_enabled = r.get_bool("app-layer.protocols.tls.enabled", out.tls_enabled);

  out.eve_enabled = r.get_bool("outputs.eve.enabled", out.eve_enabled);
  out.eve_filename = r.get_string("outputs.eve.filename", out.eve_filename);
  if (r.has("outputs.eve.types")) {
    out.eve_types = r.get_string_list("outputs.eve.types");
    for (const auto& t : out.eve_types) {
      static const char* known[] = {"alert", "http", "dns", "tls", "flow", "classification", "stats"};
      if (std::find(std::begin(known), std::end(known), t) == std::end(known)) {
        return core::make_error("unknown event type '" + t + "' (alert, http, dns, tls, flow, classification, stats)",
                                source + ": key 'outputs.eve.types'");
      }
    }
  }
  out.stats_decoder_events = r.get_bool("stats.decoder-events", out.stats_decoder_events);
  out.log_level = r.get_string("logging.level", out.log_level);

  out.correlator_endpoint = r.get_string("correlator.endpoint", out.correlator_endpoint);
  out.sensor_id = r.get_string("correlator.sensor-id", out.sensor_id);
  out.sensor_key_file = r.get_string("correlator.key-file", out.sensor_key_file);
  out.correlator_public_key_file =
      r.get_string("correlator.server-public-key-file", out.correlator_public_key_file);
  out.spool_dir = r.get_string("correlator.spool-dir", out.spool_dir);
  out.spool_max = r.get_size("correlator.spool-max", out.spool_max);
  out.drain_seconds = static_cast<uint32_t>(r.get_int("correlator.drain-seconds", out.drain_seconds, 0, 3600));
  if (r.has("correlator.records")) {
    out.ship_records = r.get_string_list("correlator.records");
    for (const auto& t : out.ship_records) {
      static const char* known[] = {"flow", "http", "dns", "tls"};
      if (std::find(std::begin(known), std::end(known), t) == std::end(known)) {
        return core::make_error("unknown record type '" + t + "' (flow, http, dns, tls)",
                                source + ": key 'correlator.records'");
      }
    }
  }

  out.classification_enabled = r.get_bool("classification.enabled", out.classification_enabled);
  out.classification_pack = r.get_string("classification.pack", out.classification_pack);
  out.classification_key_file = r.get_string("classification.key-file", out.classification_key_file);
  out.classification_bulk_threshold = static_cast<uint32_t>(
      r.get_int("classification.bulk-threshold", out.classification_bulk_threshold, 1, 1000000));
  out.classification_max_values =
      static_cast<uint32_t>(r.get_int("classification.max-values", out.classification_max_values, 0, 1000));
  out.classification_drop_secret_payload =
      r.get_bool("classification.drop-secret-payload", out.classification_drop_secret_payload);

  return r.finish();
}

}  // namespace vigil::sensor
