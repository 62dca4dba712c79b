// vigil-sensor configuration: one struct, one parse function, unknown keys rejected by name.
//
// Key names follow Suricata's suricata.yaml where the meaning is the same, so that
// `--set stream.midstream=true` and friends work as Suricata users expect. See
// deploy/config/vigil-sensor.yaml for a commented example of every key.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "vigil/core/result.h"
#include "vigil/rules/parser.h"

namespace vigil::sensor {

struct SensorConfig {
  // Rules.
  std::string default_rule_path;
  std::vector<std::string> rule_files;  // relative to default_rule_path unless absolute
  std::string classification_file;      // empty: built-in classification.config
  rules::Vars vars = rules::Vars::suricata_defaults();

  // Detection.
  uint32_t packet_alert_max = 15;
  std::vector<rules::Action> action_order = {rules::Action::Pass, rules::Action::Drop,
                                             rules::Action::Reject, rules::Action::Alert};

  // Threads: 0 = one per core.
  unsigned workers = 0;

  // Decoding.
  bool checksum_validation = true;  // "-k none" turns it off
  // For capture files: turn validation off when the first 1000 packets have over 10% bad
  // checksums (offloading), as Suricata's pcap-file "auto" mode does. "-k all" disables this.
  bool checksum_auto = true;
  uint64_t defrag_memcap = 32ull << 20;
  uint32_t defrag_timeout = 60;

  // Flows and streams.
  uint64_t flow_memcap = 128ull << 20;
  bool stream_midstream = false;
  uint64_t stream_memcap = 64ull << 20;
  uint64_t reassembly_depth = 1ull << 20;
  uint64_t reassembly_memcap = 256ull << 20;

  // Suricata's host-os-policy: overlap policy name -> addresses of the hosts that reassemble
  // that way (the receiver decides which bytes of overlapping segments count).
  std::vector<std::pair<std::string, std::string>> host_os_policy;

  // Exception policies (Suricata's names). In IDS mode the drop/reject variants act as
  // "ignore"; "bypass" and "pass-flow" stop inspecting the flow. "auto" is "ignore" in IDS mode.
  std::string exception_policy = "auto";
  std::string midstream_policy;  // stream.midstream-policy; empty = exception_policy

  // App layer.
  bool http_enabled = true;
  bool dns_enabled = true;
  bool tls_enabled = true;
  uint64_t http_request_body_limit = 100 * 1024;
  uint64_t http_response_body_limit = 100 * 1024;
  uint32_t http_decompress_layer_limit = 2;

  // Output.
  bool eve_enabled = true;
  std::string eve_filename = "eve.json";
  std::vector<std::string> eve_types = {"alert", "http", "dns", "tls", "flow", "classification", "stats"};
  bool stats_decoder_events = false;

  std::string log_level = "info";

  // Shipping events to a correlator (DESIGN §4). Off while `correlator_endpoint` is empty.
  std::string correlator_endpoint;      // correlator.endpoint, or --correlator
  std::string sensor_id;                // correlator.sensor-id (default: the host name)
  std::string sensor_key_file;          // correlator.key-file: this sensor's pair (vigil-keygen)
  std::string correlator_public_key_file;  // correlator.server-public-key-file
  std::string spool_dir = "spool";      // correlator.spool-dir (relative: under -l)
  uint64_t spool_max = 1ull << 30;      // correlator.spool-max
  uint32_t drain_seconds = 30;          // correlator.drain-seconds: wait at the end of a file
  // correlator.records: protocol records shipped besides alerts and classification findings
  // (analysts pivot on them; the correlator keeps them for a shorter time).
  std::vector<std::string> ship_records = {"flow", "http", "dns", "tls"};

  // Data-classification detectors (docs/classification.md). Off unless enabled with a pack and
  // a key file; the example config (deploy/config/vigil-sensor.yaml) and the demo turn them on.
  bool classification_enabled = false;      // classification.enabled
  std::string classification_pack;          // classification.pack: rules/packs/*.yaml
  std::string classification_key_file;      // classification.key-file: the tenant's HMAC key
  uint32_t classification_bulk_threshold = 10;  // classification.bulk-threshold: distinct ids -> sensitive
  uint32_t classification_max_values = 16;  // classification.max-values: values listed per detector
  // classification.drop-secret-payload: alerts of a flow with a state-secret stamp go out as a
  // metadata stub, without their app-layer object.
  bool classification_drop_secret_payload = true;
};

// Parses `root` (a YAML mapping, possibly with --set overrides applied) into `out`.
// `source` names the document in errors ("vigil-sensor.yaml", "--set").
core::Status parse_sensor_config(const YAML::Node& root, const std::string& source, SensorConfig& out);

}  // namespace vigil::sensor
