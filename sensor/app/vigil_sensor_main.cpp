// vigil-sensor: reads a capture file or a live interface, matches Suricata-syntax rules and
// writes EVE JSON. Flags follow Suricata's where they overlap.
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>

#include "vigil/core/config.h"
#include "vigil/core/log.h"
#include "vigil/sensor/sensor.h"

namespace {
vigil::sensor::Sensor* g_sensor = nullptr;
void on_signal(int) {
  if (g_sensor) g_sensor->stop();
}
}  // namespace

int main(int argc, char** argv) {
  using namespace vigil;
  CLI::App app{"vigil-sensor: network sensor matching Suricata-syntax rules (EVE JSON out)"};
  std::string read_file, iface, config_file, log_dir = ".", checksum, runmode, log_level;
  std::vector<std::string> exclusive_rules, extra_rules, sets, bpf_words;
  int workers = -1;
  std::string correlator;
  app.add_option("-r", read_file, "Read packets from a pcap or pcapng file");
  app.add_option("-i", iface, "Capture live from an interface");
  app.add_option("-c", config_file, "YAML configuration file (see deploy/config/vigil-sensor.yaml)");
  app.add_option("-S", exclusive_rules, "Rule file to load exclusively (repeatable; ignores the config's rule-files)");
  app.add_option("-s", extra_rules, "Rule file to load in addition to the config's rule-files (repeatable)");
  app.add_option("-l", log_dir, "Output directory for eve.json");
  app.add_option("-k", checksum,
                 "Checksum validation: 'all' or 'none'; default: on, and for -r files turned off when "
                 "over 10% of the first 1000 packets have bad checksums")
      ->check(CLI::IsMember({"all", "none"}));
  app.add_option("--set", sets, "Override a config key: --set stream.midstream=true (repeatable)");
  app.add_option("--workers", workers, "Worker threads (default: one per core)")->check(CLI::Range(1, 1024));
  app.add_option("--runmode", runmode, "Suricata-compatible: 'single' means one worker")
      ->check(CLI::IsMember({"single", "workers", "autofp"}));
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error");
  app.add_option("--correlator", correlator,
                 "Ship events to this correlator (tcp://host:port); keys from the config's correlator.*");
  app.add_option("bpf", bpf_words, "BPF filter expression");
  CLI11_PARSE(app, argc, argv);

  auto log = core::logger("sensor");
  if (read_file.empty() == iface.empty()) {
    std::cerr << "vigil-sensor: give exactly one of -r FILE or -i IFACE (see --help)\n";
    return 2;
  }

  YAML::Node root(YAML::NodeType::Map);
  std::string source = "--set";
  if (!config_file.empty()) {
    auto loaded = core::load_yaml_file(config_file);
    if (!loaded.ok()) {
      std::cerr << "vigil-sensor: " << loaded.error().to_string() << "\n";
      return 2;
    }
    root = *loaded;
    source = config_file;
  }
  for (const auto& s : sets) {
    auto st = core::apply_override(root, s);
    if (!st.ok()) {
      std::cerr << "vigil-sensor: " << st.error().to_string() << "\n";
      return 2;
    }
  }
  sensor::SensorOptions opts;
  if (auto st = sensor::parse_sensor_config(root, source, opts.config); !st.ok()) {
    std::cerr << "vigil-sensor: " << st.error().to_string() << "\n";
    return 2;
  }
  if (!log_level.empty()) opts.config.log_level = log_level;
  if (!core::set_log_level(opts.config.log_level)) {
    std::cerr << "vigil-sensor: unknown log level '" << opts.config.log_level << "'\n";
    return 2;
  }
  if (checksum == "none") opts.config.checksum_validation = false;
  if (checksum == "all") opts.config.checksum_auto = false;
  if (runmode == "single") opts.config.workers = 1;
  if (workers > 0) opts.config.workers = static_cast<unsigned>(workers);
  if (!correlator.empty()) opts.config.correlator_endpoint = correlator;

  if (!exclusive_rules.empty()) {
    opts.rule_files = exclusive_rules;
  } else {
    for (const auto& f : opts.config.rule_files) {
      std::filesystem::path p(f);
      if (p.is_relative() && !opts.config.default_rule_path.empty()) {
        p = std::filesystem::path(opts.config.default_rule_path) / p;
      }
      opts.rule_files.push_back(p.string());
    }
    opts.rule_files.insert(opts.rule_files.end(), extra_rules.begin(), extra_rules.end());
  }
  if (opts.rule_files.empty()) {
    std::cerr << "vigil-sensor: no rules: give -S FILE, -s FILE, or rule-files in the config\n";
    return 2;
  }
  opts.read_file = read_file;
  opts.interface = iface;
  opts.log_dir = log_dir;
  for (const auto& w : bpf_words) opts.bpf += (opts.bpf.empty() ? "" : " ") + w;

  std::error_code ec;
  std::filesystem::create_directories(log_dir, ec);
  if (ec) {
    std::cerr << "vigil-sensor: cannot create log dir " << log_dir << ": " << ec.message() << "\n";
    return 2;
  }

  auto sensor = sensor::Sensor::create(std::move(opts));
  if (!sensor.ok()) {
    std::cerr << "vigil-sensor: " << sensor.error().to_string() << "\n";
    return 1;
  }
  g_sensor = sensor->get();
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  auto st = (*sensor)->run();
  g_sensor = nullptr;
  if (!st.ok()) {
    std::cerr << "vigil-sensor: " << st.error().to_string() << "\n";
    return 1;
  }
  return 0;
}
