// Console API latency (issue 6): fills a store with --alerts alerts (3 tenants, 1 in 10 secret,
// spread over 30 days), starts the console on loopback and times the alert queue over real HTTP
// (keep-alive client, bearer token of an analyst whose clearance hides the secret ones), p50/p99
// per query shape. Baseline in the same run: the same store query with the same policy filter,
// without HTTP, JSON or redaction.
//
//   console_bench [--alerts N] [--queries Q] [--dir PATH]     (the target: 1,000,000, p99 <= 100 ms)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <random>
#include <string>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "bench_store.h"
#include "percentile.h"
#include "vigil/console/console.h"
#include "vigil/policy/password.h"

using namespace vigil;
using Clock = std::chrono::steady_clock;

namespace {
using vigil::bench::percentile;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }
}  // namespace

int main(int argc, char** argv) {
  auto bs = vigil::bench::open_bench_store(argc, argv, 100000, 300, "console-bench");
  if (!bs) return 1;
  const size_t alerts = bs->alerts, queries = bs->queries;
  const std::string& dir = bs->dir;
  auto& store = *bs->store;
  const int64_t span = 30LL * 86400 * 1000000, t0 = core::Timestamp::now().usec - span;
  const char* tenants[] = {"mof", "hanoi", "moh"};
  std::mt19937_64 rng(42);
  auto load_start = Clock::now();
  store::CommitBatch b;
  std::vector<core::IpAddress> sample_ips;
  for (size_t i = 0; i < alerts; ++i) {
    core::Alert a;
    int64_t t = t0 + static_cast<int64_t>(rng() % static_cast<uint64_t>(span));
    a.id = {t, rng()};
    a.tenant = tenants[rng() % 3];
    a.sensor = "s1";
    a.rule = "aggregate";
    a.severity = static_cast<uint8_t>(1 + rng() % 4);
    a.gid = 1;
    a.sid = 2000000 + static_cast<uint32_t>(rng() % 500);
    a.signature = "ET BENCH signature " + std::to_string(a.sid);
    a.flow.src_ip = core::IpAddress::v4(0xcb007100u + static_cast<uint32_t>(rng() % 50000));
    a.flow.dst_ip = core::IpAddress::v4(0x0a140000u + static_cast<uint32_t>(rng() % 2000));
    a.flow.src_port = 40000;
    a.flow.dst_port = 80;
    a.flow.proto = 6;
    a.first_seen.usec = a.last_seen.usec = t;
    a.count = 1;
    a.level = rng() % 10 == 0 ? "secret" : "internal";
    a.status = static_cast<core::AlertStatus>(rng() % 4);
    if (sample_ips.size() < 64 && rng() % 100 == 0) sample_ips.push_back(a.flow.src_ip);
    b.put_alert(a, nullptr);
    if (b.count() >= 20000) {
      if (auto s = store.commit(b); !s) return std::fprintf(stderr, "%s\n", s.error().to_string().c_str()), 1;
      b.clear();
    }
  }
  if (auto s = store.commit(b); !s) return std::fprintf(stderr, "%s\n", s.error().to_string().c_str()), 1;
  double load_s = ms_since(load_start) / 1000;

  std::string token = policy::random_token();
  std::string yaml = "version: 1\ntenants:\n  - name: soc\n  - name: mof\n  - name: hanoi\n  - name: moh\nusers:\n"
                     "  - name: analyst\n    tenant: soc\n    scope: [\"*\"]\n    role: analyst\n    clearance: confidential\n"
                     "    api_tokens: [\"" + policy::sha256_hex(token) + "\"]\n";
  auto pol = policy::Policy::parse(yaml, "bench-policy.yaml");
  if (!pol) return std::fprintf(stderr, "%s\n", pol.error().to_string().c_str()), 1;
  console::ConsoleConfig cfg;
  cfg.listen_port = 0;
  std::mutex mu;
  console::Backend backend;
  backend.store = &store;
  backend.write = [&](const std::function<core::Status(store::Store&)>& fn) {
    std::lock_guard lock(mu);
    return fn(store);
  };
  auto con = console::Console::create(cfg, backend, std::make_shared<policy::PolicyHolder>(*pol));
  if (!con) return std::fprintf(stderr, "%s\n", con.error().to_string().c_str()), 1;
  if (auto s = (*con)->start(); !s) return std::fprintf(stderr, "%s\n", s.error().to_string().c_str()), 1;
  httplib::Client cli("127.0.0.1", (*con)->port());
  cli.set_keep_alive(true);
  cli.set_tcp_nodelay(true);
  httplib::Headers auth{{"Authorization", "Bearer " + token}};
  const auto* user = (*pol)->find_user("analyst");

  struct Shape {
    const char* name;
    std::function<std::string(size_t)> path;  // request i -> path
    std::function<store::AlertQuery(size_t)> baseline;
  };
  auto visible = [&](const core::Alert& a) { return (*pol)->may(*user, policy::Action::kList, policy::view_of(a)).allow; };
  std::vector<std::string> cursors;  // collected from the first shape, to page deep
  std::vector<Shape> shapes = {
      {"queue first page (50 newest)", [](size_t) { return std::string("/api/v1/alerts?limit=50"); },
       [&](size_t) { store::AlertQuery q; q.limit = 50; q.newest_first = true; q.filter = visible; return q; }},
      {"queue page by cursor (deep)",
       [&](size_t i) { return "/api/v1/alerts?limit=50&cursor=" + cursors[i % cursors.size()]; },
       [&](size_t i) { store::AlertQuery q; q.limit = 50; q.newest_first = true; q.filter = visible; q.cursor = core::RecordId::parse(cursors[i % cursors.size()]); return q; }},
      {"tenant + status new", [&](size_t i) { return std::string("/api/v1/alerts?limit=50&status=new&tenant=") + tenants[i % 3]; },
       [&](size_t i) { store::AlertQuery q; q.limit = 50; q.newest_first = true; q.filter = visible; q.tenant = tenants[i % 3]; q.status = core::AlertStatus::kNew; return q; }},
      {"search by source IP", [&](size_t i) { return "/api/v1/alerts?limit=50&q=" + sample_ips[i % sample_ips.size()].to_string(); },
       [&](size_t i) { store::AlertQuery q; q.limit = 50; q.newest_first = true; q.filter = visible; q.ip = sample_ips[i % sample_ips.size()]; return q; }},
      {"severity 1, last 24 h",
       [&](size_t) { return "/api/v1/alerts?limit=50&severity=1&from=" + std::to_string(core::Timestamp::now().seconds() - 86400); },
       [&](size_t) { store::AlertQuery q; q.limit = 50; q.newest_first = true; q.filter = visible; q.max_severity = 1; q.from = core::Timestamp{core::Timestamp::now().usec - 86400000000LL}; return q; }},
  };
  // Cursors spread through the whole queue: walk pages of 500 from the newest.
  {
    std::string cursor;
    for (size_t page = 0; page < 2000 && cursors.size() < 64; ++page) {
      auto r = cli.Get(("/api/v1/alerts?limit=500" + (cursor.empty() ? "" : "&cursor=" + cursor)).c_str(), auth);
      if (!r || r->status != 200) return std::fprintf(stderr, "walk failed\n"), 1;
      auto j = nlohmann::json::parse(r->body);
      if (j["next_cursor"].is_null()) break;
      cursor = j["next_cursor"];
      if (page % std::max<size_t>(1, alerts / 500 / 64) == 0) cursors.push_back(cursor);
    }
    if (cursors.empty()) cursors.push_back(core::RecordId{core::Timestamp::now().usec, 0}.to_string());
  }
  if (sample_ips.empty()) sample_ips.push_back(core::IpAddress::v4(0xcb007100u));

  std::printf("console_bench: %zu alerts loaded in %.1f s (%s); %zu queries per shape\n", alerts, load_s, dir.c_str(), queries);
  std::printf("%-32s %10s %10s %12s %12s %8s\n", "query", "api p50", "api p99", "store p50", "store p99", "rows");
  bool ok = true;
  for (auto& s : shapes) {
    std::vector<double> api, base;
    size_t rows = 0;
    for (size_t i = 0; i < queries; ++i) {
      auto q = s.baseline(i);
      auto t = Clock::now();
      auto r = store.query_alerts(q);
      base.push_back(ms_since(t));
      if (!r) return std::fprintf(stderr, "%s\n", r.error().to_string().c_str()), 1;
      auto path = s.path(i);
      t = Clock::now();
      auto res = cli.Get(path.c_str(), auth);
      api.push_back(ms_since(t));
      if (!res || res->status != 200) return std::fprintf(stderr, "%s -> %d\n", path.c_str(), res ? res->status : -1), 1;
      auto j = nlohmann::json::parse(res->body, nullptr, false);
      if (j.is_discarded() || j["alerts"].size() != r->size()) {
        std::fprintf(stderr, "%s: API returned %zu alerts, store %zu\n", path.c_str(), j["alerts"].size(), r->size());
        return 1;
      }
      rows += r->size();
    }
    double p99 = percentile(api, 0.99);
    ok &= p99 <= 100.0;
    std::printf("%-32s %8.2f ms %8.2f ms %10.2f ms %10.2f ms %8.1f\n", s.name, percentile(api, 0.5), p99, percentile(base, 0.5), percentile(base, 0.99),
                static_cast<double>(rows) / static_cast<double>(queries));
  }
  std::printf("target api p99 <= 100 ms: %s\n", ok ? "met" : "NOT met");
  (*con)->stop();
  return 0;
}
