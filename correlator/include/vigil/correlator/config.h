// vigil-correlator configuration (correlator.yaml). Parsed once, strictly: unknown keys are
// errors naming the file and key (vigil::core::ConfigReader). Immutable once parsed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vigil/core/event.h"
#include "vigil/core/ip.h"
#include "vigil/core/result.h"

namespace vigil::correlator {

struct SensorEntry {
  std::string id;
  std::string public_key;  // Z85, 40 characters
  std::string tenant;      // default tenant of its events
};

struct TenantEntry {
  std::string name;
  std::vector<core::Cidr> networks;
  std::vector<uint16_t> vlans;
  std::vector<uint32_t> vnis;
};

// A separate vigil-console admitted to the control interface (control.clients).
struct ControlClientEntry {
  std::string id;          // names the console in the audit log's source
  std::string public_key;  // Z85, 40 characters
};

struct CorrelatorConfig {
  std::string source;  // the file it came from
  std::string listen = "tcp://127.0.0.1:7450";
  std::string data_dir = "/var/lib/vigil/correlator";
  std::string server_public_key;  // Z85
  std::string server_secret_key;  // Z85
  std::vector<SensorEntry> sensors;
  std::vector<TenantEntry> tenants;
  std::vector<std::string> intel_ip_files;
  std::vector<std::string> intel_domain_files;
  std::vector<std::string> intel_hash_files;
  std::vector<std::string> rule_files;
  // Optional policy (docs/policy.md): tenants, assets, sensor levels, retention per level. With
  // it, events are labelled and alerts classified by the policy engine, and its retention
  // replaces retention.alerts / retention.events.* here. Reloaded on SIGHUP.
  std::string policy_file;
  // Optional console.yaml (docs/console.md): vigil-correlator then serves the console's HTTP API
  // and web UI in-process (standalone mode), its changes going through Correlator::write.
  std::string console_file;
  // Optional control interface (docs/console.md): a ZeroMQ ROUTER (CURVE, this server key pair)
  // through which separate vigil-console processes change the store: each request runs as
  // console::execute inside Correlator::write with this correlator's policy (required then).
  // Only the listed client keys are admitted. Empty listen = off.
  std::string control_listen;
  std::vector<ControlClientEntry> control_clients;
  int64_t aggregation_window_usec = 60'000'000;
  int64_t alert_retention_usec = 0;  // 0 = forever
  int64_t event_retention_usec[core::kEventKindCount] = {};
  int64_t retention_interval_sec = 3600;
  size_t max_batches_per_commit = 64;
  bool sync = true;
  std::string publish_endpoint;  // optional ZeroMQ PUB of new and updated alerts (JSON)
  // With a policy: the policy user the PUB publishes as (only what that user may read, redacted
  // for it). Required when both `policy` and `publish.endpoint` are set.
  std::string publish_as_user;
  std::string stats_file;        // optional: counters as JSON, rewritten every second
  std::string log_level = "info";
};

// "90s", "15m", "12h", "30d", plain seconds. nullopt when malformed.
std::optional<int64_t> parse_duration_usec(const std::string& text);

core::Result<CorrelatorConfig> load_config(const std::string& path);

}  // namespace vigil::correlator
