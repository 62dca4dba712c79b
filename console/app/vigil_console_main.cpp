// vigil-console: the analyst console as its own process.
//
//   vigil-console check -c console.yaml              validate the config, the policy and rule files
//   vigil-console -c console.yaml --store DIR        serve a store read-only (review, audits):
//                                                    every change answers 503
//
// The usual deployment runs the console inside vigil-correlator (correlator.yaml: `console:`),
// which is the one process that may change the store.
#include <csignal>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>

#include "vigil/console/console.h"
#include "vigil/core/log.h"
#include "vigil/feeds/service.h"

using namespace vigil;

namespace {
std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }
int fail(const std::string& what) {
  std::cerr << "vigil-console: " << what << "\n";
  return 1;
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vigil-console: analyst console and audit API"};
  app.fallthrough();
  std::string config_path, store_dir;
  app.add_option("-c,--config", config_path, "console.yaml")->required();
  app.add_option("--store", store_dir, "RocksDB directory to serve read-only (the correlator's data_dir/db)");
  auto* check = app.add_subcommand("check", "validate console.yaml, the policy and the rule files");
  CLI11_PARSE(app, argc, argv);

  auto config = console::load_console_config(config_path);
  if (!config) return fail(config.error().to_string());
  if (!core::set_log_level(config->log_level)) return fail(config_path + ": log_level: unknown level");
  auto pol = policy::Policy::load(config->policy_file);
  if (!pol) return fail(pol.error().to_string());
  if (*check) {
    if (!config->feeds_file.empty()) {
      auto fc = feeds::load_feed_config(config->feeds_file);
      if (!fc) return fail(fc.error().to_string());
    }
    std::cout << config_path << ": ok (" << (*pol)->users().size() << " users, " << config->rule_files.size()
              << " rule files)\n";
    return 0;
  }
  if (store_dir.empty()) {
    return fail("--store DIR is required (or run the console inside vigil-correlator: `console:` in correlator.yaml)");
  }
  store::StoreOptions so;
  so.path = store_dir;
  so.read_only = true;
  auto st = store::Store::open(so);
  if (!st) return fail(st.error().to_string());
  if (!config->feeds_file.empty()) {
    // The feeds write (audit entries, feed records, uploads): only the standalone mode serves them.
    std::cerr << "vigil-console: feeds: not served by a read-only console (run it inside vigil-correlator)\n";
    config->feeds_file.clear();
  }
  console::Backend backend;
  backend.store = st->get();
  backend.write = [](const std::function<core::Status(store::Store&)>&) -> core::Status {
    return core::make_error("this console serves a read-only store: changes go through the correlator");
  };
  auto con = console::Console::create(*config, backend, std::make_shared<policy::PolicyHolder>(*pol));
  if (!con) return fail(con.error().to_string());
  if (auto s = (*con)->start(); !s) return fail(s.error().to_string());
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::cout << "console: " << (*con)->url() << " (read-only store " << store_dir << ")" << std::endl;
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  (*con)->stop();
  return 0;
}
