// vigil-feeds: the agency feeds without the console.
//
//   vigil-feeds misp-export --data-dir DIR --out DIR [--config feeds.yaml] [--tlp green|clear]
//   vigil-feeds sync        --data-dir DIR [--config feeds.yaml] [--policy policy.yaml]
//   vigil-feeds release     --data-dir DIR --key KEY --actor NAME
//   vigil-feeds share       --data-dir DIR --key KEY --user NAME --actor NAME
//   vigil-feeds serve       --data-dir DIR --policy policy.yaml [--config feeds.yaml]
//                           [--listen 127.0.0.1:8470] [--port-file FILE]
//   vigil-feeds subscribe   --endpoint EP --server-key FEEDS.pub --key AGENCY.key [--topic ID]...
//                           [--count N] [--timeout SEC]
//
// subscribe is the agency's side of the live push: one JSON line per message
// ({"topic": <collection id>, "bundle": <STIX bundle>}) on stdout; exit 0 after --count messages
// (or at --timeout when no count is given), 3 when the timeout came first.
//
// All but misp-export open the store for writing: run them while no correlator holds it (the
// correlator's own process mounts the same FeedService instead, see feeds/README.md).
#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

#include <CLI/CLI.hpp>
#include <httplib.h>

#include "vigil/core/curve_keys.h"
#include "vigil/core/log.h"
#include "vigil/feeds/http_routes.h"
#include "vigil/feeds/misp.h"
#include "vigil/feeds/push.h"
#include "vigil/feeds/service.h"
#include "vigil/store/store.h"

using namespace vigil;

namespace {

httplib::Server* g_server = nullptr;
std::atomic<bool> g_stop{false};

void on_signal(int) {
  g_stop = true;
  if (g_server) g_server->stop();
}

int fail(const std::string& what) {
  std::cerr << "vigil-feeds: " << what << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Vigil agency threat feeds: TAXII 2.1, MISP feed, live push"};
  app.require_subcommand(1);
  std::string data_dir, out_dir, config_path, policy_path, tlp = "green", key, user, actor, listen = "127.0.0.1:8470", port_file;
  auto* misp = app.add_subcommand("misp-export", "write the MISP feed of an agencies collection into a directory");
  auto* sync = app.add_subcommand("sync", "turn confirmed alerts and incidents in the store into feed records");
  auto* release = app.add_subcommand("release", "release an indicator as TLP:CLEAR (by hand)");
  auto* share = app.add_subcommand("share", "share an item as TLP:RED with a named user (by hand)");
  auto* serve = app.add_subcommand("serve", "standalone TAXII/MISP server over the store (no correlator running)");
  for (auto* s : {misp, sync, release, share, serve}) {
    s->add_option("--data-dir", data_dir, "the correlator's data_dir (the store is DIR/db)")->required();
    s->add_option("--config", config_path, "feeds.yaml");
  }
  misp->add_option("--out", out_dir, "output directory")->required();
  misp->add_option("--tlp", tlp, "clear or green (the agencies collections)");
  sync->add_option("--policy", policy_path, "policy.yaml (tenant networks: which addresses are victims)");
  release->add_option("--key", key, "record key, e.g. i|ipv4|203.0.113.5")->required();
  release->add_option("--actor", actor, "who releases it (audited)")->required();
  share->add_option("--key", key, "record key")->required();
  share->add_option("--user", user, "recipient user name")->required();
  share->add_option("--actor", actor, "who shares it (audited)")->required();
  serve->add_option("--policy", policy_path, "policy.yaml (users and API tokens)")->required();
  serve->add_option("--listen", listen, "HOST:PORT (port 0 picks one)");
  serve->add_option("--port-file", port_file, "write the bound port here");
  auto* subscribe = app.add_subcommand("subscribe", "receive the live push feed as an agency (JSON lines)");
  std::string endpoint, server_key_file, key_file;
  std::vector<std::string> topics;
  uint64_t count = 0;
  double timeout_sec = 0;
  subscribe->add_option("--endpoint", endpoint, "the feed's push endpoint, e.g. tcp://soc.example:7460")->required();
  subscribe->add_option("--server-key", server_key_file, "the feed's public key file (vigil-keygen .pub)")->required();
  subscribe->add_option("--key", key_file, "this agency's key pair (vigil-keygen .key)")->required();
  subscribe->add_option("--topic", topics, "collection id to receive (repeatable; default: all)");
  subscribe->add_option("--count", count, "stop after this many messages (default: run on)");
  subscribe->add_option("--timeout", timeout_sec, "give up after this many seconds (default: never)");
  CLI11_PARSE(app, argc, argv);

  if (subscribe->parsed()) {
    auto server = core::read_curve_key_file(server_key_file);
    if (!server) return fail(server.error().to_string());
    auto mine = core::read_curve_key_file(key_file);
    if (!mine) return fail(mine.error().to_string());
    if (mine->secret_key.empty()) return fail(key_file + ": no secret key (give the .key file, not the .pub)");
    auto sub = feeds::PushSubscriber::connect({endpoint, server->public_key, mine->public_key, mine->secret_key, topics});
    if (!sub) return fail(sub.error().to_string());
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(timeout_sec * 1000));
    uint64_t got = 0;
    while (!g_stop.load() && (count == 0 || got < count)) {
      if (timeout_sec > 0 && std::chrono::steady_clock::now() >= deadline) break;
      auto m = (*sub)->receive(std::chrono::milliseconds(100));
      if (!m) return fail(m.error().to_string());
      if (!m->has_value()) continue;
      auto bundle = nlohmann::json::parse((*m)->body, nullptr, false);
      nlohmann::json line = {{"topic", (*m)->topic}};
      if (bundle.is_discarded()) {
        line["error"] = "body is not JSON";
      } else {
        line["bundle"] = std::move(bundle);
      }
      std::cout << line.dump() << std::endl;
      ++got;
    }
    if (count > 0 && got < count) {
      std::cerr << "vigil-feeds: timed out after " << got << " of " << count << " messages\n";
      return 3;
    }
    return 0;
  }

  feeds::FeedConfig config;
  if (!config_path.empty()) {
    auto c = feeds::load_feed_config(config_path);
    if (!c) return fail(c.error().to_string());
    config = *c;
  }
  store::StoreOptions so;
  so.path = (std::filesystem::path(data_dir) / "db").string();
  so.read_only = misp->parsed();
  auto st = store::Store::open(so);
  if (!st) return fail(st.error().to_string());
  store::Store& s = **st;

  std::shared_ptr<policy::PolicyHolder> holder;
  if (!policy_path.empty()) {
    auto p = policy::Policy::load(policy_path);
    if (!p) return fail(p.error().to_string());
    holder = std::make_shared<policy::PolicyHolder>(*p);
  }
  std::mutex write_mu;
  feeds::FeedService::Writer writer = [&](const std::function<core::Status(store::Store&)>& fn) {
    std::lock_guard lock(write_mu);
    return fn(s);
  };
  feeds::FeedService svc(config, &s, so.read_only ? feeds::FeedService::Writer() : writer,
                         holder ? feeds::users_from_policy(holder) : feeds::FeedService::UserLookup(),
                         holder ? feeds::internal_from_policy(holder) : feeds::IsInternal());

  if (holder) svc.set_tenant_tlp(feeds::tenant_tlp_from_policy(holder));
  if (misp->parsed()) {
    auto t = policy::parse_tlp(tlp);
    if (!t || *t > policy::Tlp::kGreen) return fail("--tlp must be clear or green");
    feeds::Audience a{*t, "agencies", ""};
    auto objs = svc.collection_objects(a);
    if (!objs) return fail(objs.error().to_string());
    std::vector<nlohmann::json> list;
    for (auto& [at, o] : *objs) list.push_back(std::move(o));
    auto feed = feeds::build_misp_feed(list, config.soc_name, feeds::collection_id(a));
    if (auto w = feeds::write_misp_feed(feed, out_dir); !w) return fail(w.error().to_string());
    std::cout << "wrote " << feed.events.size() << " events to " << out_dir << "\n";
    return 0;
  }
  if (auto i = svc.init(s); !i) return fail(i.error().to_string());
  if (sync->parsed()) {
    if (auto r = svc.sync(s, core::Timestamp{INT64_MIN}, core::Timestamp{INT64_MAX}); !r) return fail(r.error().to_string());
    std::cout << "feed records written: " << svc.counters().records_written << "\n";
    return 0;
  }
  if (release->parsed()) {
    if (auto r = svc.release(s, key, actor); !r) return fail(r.error().to_string());
    return 0;
  }
  if (share->parsed()) {
    if (auto r = svc.share(s, key, user, actor); !r) return fail(r.error().to_string());
    return 0;
  }

  // serve
  std::unique_ptr<feeds::PushFeed> push;
  if (!config.push_endpoint.empty()) {
    auto keys = core::read_curve_key_file(config.push_key_file);
    if (!keys) return fail(keys.error().to_string());
    auto p = feeds::PushFeed::bind({config.push_endpoint, keys->public_key, keys->secret_key, config.push_subscribers});
    if (!p) return fail(p.error().to_string());
    push = std::move(*p);
    svc.on_published([&push](const std::vector<feeds::Published>& items) { push->publish(items); });
    std::cout << "push feed on " << push->endpoint() << "\n";
  }
  {
    std::lock_guard lock(write_mu);
    if (auto r = svc.sync(s, core::Timestamp{INT64_MIN}, core::Timestamp{INT64_MAX}); !r) return fail(r.error().to_string());
  }
  httplib::Server server;
  feeds::register_routes(server, svc);
  g_server = &server;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return fail("--listen must be HOST:PORT");
  std::string host = listen.substr(0, colon);
  int port = std::atoi(listen.substr(colon + 1).c_str());
  if (port == 0) {
    port = server.bind_to_any_port(host);
  } else if (!server.bind_to_port(host, port)) {
    port = -1;
  }
  if (port <= 0) return fail("cannot listen on " + listen);
  if (!port_file.empty()) std::ofstream(port_file) << port << "\n";
  std::cout << "TAXII 2.1 at http://" << host << ":" << port << "/taxii2/" << std::endl;
  std::thread syncer([&] {
    while (!g_stop.load()) {
      for (int i = 0; i < config.sync_interval_sec * 10 && !g_stop.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      std::lock_guard lock(write_mu);
      if (auto r = svc.sync(s, core::Timestamp{INT64_MIN}, core::Timestamp{INT64_MAX}); !r) {
        core::logger("feeds")->error("sync: {}", r.error().to_string());
      }
    }
  });
  server.listen_after_bind();
  g_stop = true;
  syncer.join();
  return 0;
}
