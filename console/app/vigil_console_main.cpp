// vigil-console: the analyst console as its own process.
//
//   vigil-console check -c console.yaml              validate the config, the policy and rule files
//   vigil-console -c console.yaml                    with `control:` in console.yaml: the full
//                                                    console, reading the correlator's store as a
//                                                    RocksDB secondary and changing it through the
//                                                    correlator's control interface
//   vigil-console -c console.yaml --store DIR        without `control:`: serve a store read-only
//                                                    (review, audits): every change answers 503
//
// The console inside vigil-correlator (correlator.yaml: `console:`) is the standalone mode.
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>

#include "vigil/console/console.h"
#include "vigil/console/control.h"
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
  app.add_option("--store", store_dir,
                 "the correlator's store directory (data_dir/db); overrides control.store, or without control: "
                 "serve it read-only");
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
              << " rule files" << (config->control_endpoint.empty() ? "" : ", control " + config->control_endpoint)
              << ")\n";
    return 0;
  }
  bool control = !config->control_endpoint.empty();
  if (!store_dir.empty()) config->store_path = store_dir;
  if (config->store_path.empty()) {
    return fail("--store DIR is required without control: in " + config_path +
                " (or run the console inside vigil-correlator: `console:` in correlator.yaml)");
  }

  store::StoreOptions so;
  so.path = config->store_path;
  std::string temp_secondary;
  if (control) {
    // A secondary follows the running correlator (Store::catch_up); it keeps its own files.
    so.secondary_path = config->secondary_dir;
    if (so.secondary_path.empty()) {
      std::string tmpl = (std::filesystem::temp_directory_path() / "vigil-console-secondary.XXXXXX").string();
      if (!::mkdtemp(tmpl.data())) return fail("cannot create a temp dir for the secondary store (set control.secondary_dir)");
      so.secondary_path = temp_secondary = tmpl;
    } else {
      std::error_code ec;
      std::filesystem::create_directories(so.secondary_path, ec);
    }
  } else {
    so.read_only = true;
  }
  auto st = store::Store::open(so);
  if (!st) return fail(st.error().to_string());
  store::Store* store = st->get();

  std::unique_ptr<console::ControlClient> client;
  std::unique_ptr<console::StoreFollower> follower;
  console::Backend backend;
  backend.store = store;
  if (control) {
    console::ControlClientOptions co;
    co.endpoint = config->control_endpoint;
    co.server_public_key = config->control_server_public_key;
    co.public_key = config->control_public_key;
    co.secret_key = config->control_secret_key;
    co.timeout_ms = config->control_timeout_ms;
    auto c = console::ControlClient::connect(co);
    if (!c) return fail(c.error().to_string());
    client = std::move(*c);
    // The secondary catches up on the follower's thread, at most every 200 ms while the console
    // is read, and when the correlator pushes ids (reads never wait for it).
    follower = std::make_unique<console::StoreFollower>(*store, std::chrono::milliseconds(200));
    auto* cl = client.get();
    auto* fo = follower.get();
    // A change goes to the correlator; then the secondary catches up so the analyst sees it.
    backend.request = [cl, fo](const console::Request& r) {
      auto reply = cl->call(r);
      fo->refresh();
      return reply;
    };
    backend.reading = [fo] { fo->note_read(); };
  } else {
    if (!config->feeds_file.empty()) {
      // The feeds write (audit entries, feed records, uploads): only the standalone mode serves them.
      std::cerr << "vigil-console: feeds: not served by a read-only console (run it inside vigil-correlator)\n";
      config->feeds_file.clear();
    }
    backend.write = [](const std::function<core::Status(store::Store&)>&) -> core::Status {
      return core::make_error("this console serves a read-only store: changes go through the correlator");
    };
  }
  // The console loads the policy itself and watches the file (a changed one is swapped in).
  auto con = console::Console::create(*config, backend);
  if (!con) return fail(con.error().to_string());
  if (client) {
    // The live queue: the correlator pushes the ids of the alerts it wrote; the follower catches
    // up, reads them back and hands them to the browsers' queues like the in-process console.
    auto* cons = con->get();
    auto* fo = follower.get();
    fo->start([cons](const std::vector<core::Alert>& alerts) { cons->on_alerts(alerts); });
    client->on_push([fo](const std::vector<core::RecordId>& ids) { fo->queue(ids); });
  }
  if (auto s = (*con)->start(); !s) return fail(s.error().to_string());
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  if (control) {
    std::cout << "console: " << (*con)->url() << " (store " << config->store_path << " as a secondary, changes through "
              << config->control_endpoint << ")" << std::endl;
  } else {
    std::cout << "console: " << (*con)->url() << " (read-only store " << config->store_path << ")" << std::endl;
  }
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  (*con)->stop();
  if (client) {
    auto n = client->counters();
    core::logger("console")->info("control: {} requests, {} answered 503 (correlator unavailable; {} timeouts), {} pushes",
                                  n.requests, n.unavailable, n.timeouts, n.pushes);
    client->on_push(nullptr);
    auto f = follower->stats();
    core::logger("console")->info("store: {} catch-ups ({} failed), mean {} us, max {} us", f.catch_ups, f.failures,
                                  f.catch_ups ? f.total_usec / f.catch_ups : 0, f.max_usec);
  }
  client.reset();
  follower.reset();
  con->reset();
  st->reset();
  if (!temp_secondary.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(temp_secondary, ec);
  }
  return 0;
}
