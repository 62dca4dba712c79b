// vigil-correlator: receives sensor events, turns them into alerts and incidents, stores them.
//
//   vigil-correlator -c correlator.yaml                 run (SIGHUP reloads rules and intel lists,
//                                                       SIGUSR1 writes a backup, SIGTERM stops)
//   vigil-correlator check -c correlator.yaml           validate config, rules and lists
//   vigil-correlator query alerts -c FILE [filters]     JSON lines; also: alert ID, incident ID,
//                                                       incidents, events --kind K
//   vigil-correlator alert ID -c FILE --status ...      change status / assignee / notes (correlator stopped)
//   vigil-correlator escalate ID... -c FILE --title T   open an incident by hand (correlator stopped)
#include <atomic>
#include <csignal>
#include <iostream>

#include <CLI/CLI.hpp>

#include "vigil/core/log.h"
#include "vigil/correlator/service.h"
#ifdef VIGIL_WITH_CONSOLE
#include "vigil/console/console.h"
#include "vigil/console/control.h"
#include "vigil/correlator/correlator.h"
#endif

using namespace vigil;

namespace {

correlator::RunFlags* g_flags = nullptr;

void on_signal(int sig) {
  if (!g_flags) return;
  if (sig == SIGHUP) g_flags->reload = true;
  else if (sig == SIGUSR1) g_flags->backup = true;
  else g_flags->stop = true;
}

int fail(const std::string& what) {
  std::cerr << "vigil-correlator: " << what << "\n";
  return 1;
}

std::optional<core::Timestamp> parse_time(const std::string& s) { return core::parse_epoch_seconds(s); }

#ifdef VIGIL_WITH_CONSOLE
std::vector<core::RecordId> ids_of(const std::vector<core::Alert>& alerts) {
  std::vector<core::RecordId> ids;
  ids.reserve(alerts.size());
  for (const auto& a : alerts) ids.push_back(a.id);
  return ids;
}

// The console in this process (`console:`, standalone mode) and/or the control interface for
// separate vigil-console processes (`control:`). Both change the store only as console::Request
// values run by console::execute inside Correlator::write; new alerts reach the in-process
// console's live queues (and, with `feeds:` in console.yaml, the agency feeds:
// FeedService::ingest) and the separate consoles (their ids, pushed) through subscribe().
core::Status run_with_console(const correlator::CorrelatorConfig& config, correlator::RunFlags& flags) {
  auto c = correlator::Correlator::create(config);
  if (!c) return c.error();
  auto* corr = c->get();
  console::WriteFn write = [corr](const std::function<core::Status(store::Store&)>& fn) { return corr->write(fn); };

  std::unique_ptr<console::ControlServer> control;
  std::atomic<console::Console*> in_process{nullptr};  // set once the in-process console runs
  if (!config.control_listen.empty()) {
    console::ControlServerOptions o;
    o.listen = config.control_listen;
    o.server_public_key = config.server_public_key;
    o.server_secret_key = config.server_secret_key;
    o.source = config.source;
    for (const auto& e : config.control_clients) o.clients[e.public_key] = e.id;
    // The correlator re-decides every change with ITS policy (required with control:).
    auto srv = console::ControlServer::start(o, [corr, write, &in_process](const console::Request& r, const std::string&) {
      auto pol = corr->policy();
      if (!pol) return console::Reply::error(500, "the correlator has no policy");
      auto reply = console::execute_through(write, *pol, r);
      // What a separate console changed reaches the in-process console's live queues (and feeds).
      if (auto* cons = in_process.load(); cons && !reply.changed.empty()) cons->on_alerts(reply.changed);
      return reply;
    });
    if (!srv) return srv.error();
    control = std::move(*srv);
    auto* ctl = control.get();
    corr->subscribe([ctl](const std::vector<core::Alert>& alerts) { ctl->announce(ids_of(alerts)); });
  }

  std::unique_ptr<console::Console> con;
  if (!config.console_file.empty()) {
    auto cc = console::load_console_config(config.console_file);
    if (!cc) return cc.error();
    console::Backend backend;
    backend.store = &corr->store();
    backend.write = write;
    // With `feeds:` in console.yaml the console also serves the agency feeds; an agency's upload
    // rewrites its intel lists, which the correlator then reloads (as on SIGHUP).
    backend.intel_changed = [&flags] { flags.reload = true; };
    // Changes made here reach the separate consoles too.
    if (auto* ctl = control.get()) backend.changed = [ctl](const std::vector<core::Alert>& a) { ctl->announce(ids_of(a)); };
    auto made = console::Console::create(*cc, backend);
    if (!made) return made.error();
    con = std::move(*made);
    auto* cons = con.get();
    corr->subscribe([cons](const std::vector<core::Alert>& alerts) { cons->on_alerts(alerts); });
    if (auto st = cons->start(); !st) return st;
    in_process = cons;
  }
  auto st = corr->run(flags);
  in_process = nullptr;
  if (con) con->stop();
  if (control) {
    auto n = control->counters();
    core::logger("control")->info("control: {} requests ({} failed), {} malformed, {} consoles admitted, {} refused",
                                  n.requests, n.failed, n.malformed, n.auth_accepted, n.auth_refused);
    control.reset();  // its thread calls Correlator::write: stop it first
  }
  return st;
}
#endif

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vigil-correlator: events to alerts and incidents"};
  app.fallthrough();  // -c may follow the subcommand
  std::string config_path;
  app.add_option("-c,--config", config_path, "correlator.yaml");
  std::string log_level;
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error");

  auto* check = app.add_subcommand("check", "validate the config, rules and intel lists");
  auto* query = app.add_subcommand("query", "print stored records as JSON lines");
  query->require_subcommand(1);
  query->fallthrough();
  std::string from, to, tenant, ip, src, dst, status, assignee;
  uint32_t sid = 0, gid = 1;
  int severity = 0;
  size_t limit = 1000;
  auto* q_alerts = query->add_subcommand("alerts", "alerts in a time range, filtered");
  q_alerts->add_option("--from", from, "first_seen >= (epoch seconds)");
  q_alerts->add_option("--to", to, "first_seen < (epoch seconds)");
  q_alerts->add_option("--tenant", tenant);
  q_alerts->add_option("--ip", ip, "source or destination");
  q_alerts->add_option("--src", src);
  q_alerts->add_option("--dst", dst);
  q_alerts->add_option("--sid", sid, "signature id");
  q_alerts->add_option("--gid", gid, "generator id (default 1)");
  q_alerts->add_option("--status", status, "new, acknowledged, in-progress, closed");
  q_alerts->add_option("--severity", severity, "at least this severe (1 highest)");
  q_alerts->add_option("--assignee", assignee);
  q_alerts->add_option("--limit", limit);
  std::string id;
  auto* q_alert = query->add_subcommand("alert", "one alert with its events");
  q_alert->add_option("id", id)->required();
  auto* q_incident = query->add_subcommand("incident", "one incident and its history");
  q_incident->add_option("id", id)->required();
  auto* q_incidents = query->add_subcommand("incidents", "incidents in a time range");
  q_incidents->add_option("--from", from);
  q_incidents->add_option("--to", to);
  q_incidents->add_option("--limit", limit);

  std::string kind;
  auto* q_events = query->add_subcommand("events", "stored events of one kind in a time range");
  q_events->add_option("--kind", kind, "alert, flow, http, dns, tls, classification")->required();
  q_events->add_option("--from", from);
  q_events->add_option("--to", to);
  q_events->add_option("--limit", limit);

  auto* alert_cmd = app.add_subcommand("alert", "change an alert (run with the correlator stopped)");
  alert_cmd->add_option("id", id)->required();
  std::string verdict, note, actor = "cli";
  std::optional<std::string> new_assignee;
  alert_cmd->add_option("--status", status);
  alert_cmd->add_option("--verdict", verdict);
  alert_cmd->add_option("--assignee", new_assignee);
  alert_cmd->add_option("--note", note);
  alert_cmd->add_option("--actor", actor);
  auto* esc = app.add_subcommand("escalate", "open an incident from alerts (run with the correlator stopped)");
  std::vector<std::string> ids;
  std::string title;
  esc->add_option("ids", ids)->required();
  esc->add_option("--title", title)->required();
  esc->add_option("--actor", actor);

  CLI11_PARSE(app, argc, argv);
  if (config_path.empty()) return fail("-c correlator.yaml is required");
  auto config = correlator::load_config(config_path);
  if (!config) return fail(config.error().to_string());
  if (!core::set_log_level(log_level.empty() ? config->log_level : log_level)) return fail("unknown log level");

  if (*check) {
    auto st = correlator::check_config(*config, std::cout);
    return st ? 0 : fail(st.error().to_string());
  }

  auto open_store = [&](bool read_only) {
    store::StoreOptions so;
    so.path = config->data_dir + "/db";
    so.read_only = read_only;
    return store::Store::open(so);
  };

  if (*query) {
    auto store = open_store(true);
    if (!store) return fail(store.error().to_string());
    core::Status st;
    if (*q_alerts) {
      store::AlertQuery q;
      if (!from.empty()) {
        auto t = parse_time(from);
        if (!t) return fail("--from: expected epoch seconds");
        q.from = *t;
      }
      if (!to.empty()) {
        auto t = parse_time(to);
        if (!t) return fail("--to: expected epoch seconds");
        q.to = *t;
      }
      if (!tenant.empty()) q.tenant = tenant;
      for (auto [text, slot] : {std::pair{&ip, &q.ip}, std::pair{&src, &q.src_ip}, std::pair{&dst, &q.dst_ip}}) {
        if (text->empty()) continue;
        auto a = core::IpAddress::parse(*text);
        if (!a) return fail("not an IP address: " + *text);
        *slot = *a;
      }
      if (sid) q.sid = sid;
      q.gid = gid;
      if (!status.empty()) {
        auto s = core::parse_alert_status(status);
        if (!s) return fail("--status: expected new, acknowledged, in-progress or closed");
        q.status = *s;
      }
      if (severity > 0) q.max_severity = static_cast<uint8_t>(severity);
      if (!assignee.empty()) q.assignee = assignee;
      q.limit = limit;
      st = correlator::print_alerts(**store, q, std::cout);
    } else if (*q_alert) {
      st = correlator::print_alert_with_events(**store, id, std::cout);
    } else if (*q_incident) {
      st = correlator::print_incident(**store, id, std::cout);
    } else if (*q_events) {
      auto k = core::parse_event_kind(kind);
      if (!k) return fail("--kind: unknown event kind '" + kind + "'");
      auto f = from.empty() ? core::Timestamp{INT64_MIN} : parse_time(from).value_or(core::Timestamp{INT64_MIN});
      auto t = to.empty() ? core::Timestamp{INT64_MAX} : parse_time(to).value_or(core::Timestamp{INT64_MAX});
      auto evs = (*store)->scan_events(*k, f, t, limit);
      if (!evs) return fail(evs.error().to_string());
      for (const auto& e : *evs) std::cout << core::to_json(e).dump() << "\n";
    } else if (*q_incidents) {
      auto f = from.empty() ? core::Timestamp{INT64_MIN} : parse_time(from).value_or(core::Timestamp{INT64_MIN});
      auto t = to.empty() ? core::Timestamp{INT64_MAX} : parse_time(to).value_or(core::Timestamp{INT64_MAX});
      st = correlator::print_incidents(**store, f, t, limit, std::cout);
    }
    return st ? 0 : fail(st.error().to_string());
  }

  if (*alert_cmd || *esc) {
    auto store = open_store(false);
    if (!store) return fail(store.error().to_string() + " (is the correlator running?)");
    if (*alert_cmd) {
      correlator::AlertChange ch;
      if (!status.empty()) {
        auto s = core::parse_alert_status(status);
        if (!s) return fail("--status: expected new, acknowledged, in-progress or closed");
        ch.status = *s;
      }
      ch.verdict = verdict;
      ch.assignee = new_assignee;
      ch.note = note;
      ch.actor = actor;
      auto st = correlator::change_alert(**store, id, ch);
      return st ? 0 : fail(st.error().to_string());
    }
    auto inc = correlator::escalate_alerts(**store, ids, title, actor);
    if (!inc) return fail(inc.error().to_string());
    std::cout << inc->to_string() << "\n";
    return 0;
  }

  correlator::RunFlags flags;
  g_flags = &flags;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGHUP, SIGUSR1, SIGTERM, SIGINT}) sigaction(sig, &sa, nullptr);
#ifdef VIGIL_WITH_CONSOLE
  if (!config->console_file.empty() || !config->control_listen.empty()) {
    auto st = run_with_console(*config, flags);
    return st ? 0 : fail(st.error().to_string());
  }
#endif
  if (!config->control_listen.empty()) return fail(config_path + ": key 'control': this vigil-correlator was built without the console library");
  auto st = correlator::run_correlator(*config, flags);
  return st ? 0 : fail(st.error().to_string());
}
