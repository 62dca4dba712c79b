// Alert query latency (issue 4): fills a store with --alerts alerts spread over 30 days, 20
// tenants and 50,000 source addresses, then times --queries queries "one day + source or
// destination IP + tenant" and "one hour + tenant + severity", p50/p99.
//
//   store_query_bench [--alerts N] [--queries Q] [--dir PATH]   (the target is 10,000,000)
//
// With --dir, the store is kept, and a later run with the same --dir and --alerts queries it
// without loading again (loading 10 M alerts takes minutes; the queries take seconds).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>

#include "bench_store.h"
#include "percentile.h"
#include "vigil/store/store.h"

using namespace vigil;
using Clock = std::chrono::steady_clock;

namespace {
using vigil::bench::percentile;
}  // namespace

int main(int argc, char** argv) {
  auto bs = vigil::bench::open_bench_store(argc, argv, 200000, 2000, "query-bench");
  if (!bs) return 1;
  const size_t alerts = bs->alerts, queries = bs->queries;
  const std::string& dir = bs->dir;
  const bool temp = bs->temp;
  auto& store = *bs->store;
  const int64_t t0 = 1767225600000000LL, span = 30LL * 86400 * 1000000;
  const uint32_t kSources = 50000, kTenants = 20;
  std::mt19937_64 rng(42);
  auto load_start = Clock::now();
  store::CommitBatch b;
  const std::string loaded_key = "bench/loaded_alerts";
  auto loaded = store.get_meta(loaded_key);
  const bool reuse = !temp && loaded && *loaded && **loaded == std::to_string(alerts);
  if (reuse) {
    std::printf("store_query_bench: reusing the %zu alerts loaded earlier into %s\n", alerts, dir.c_str());
  } else if (!temp && loaded && *loaded) {
    std::fprintf(stderr, "store_query_bench: %s holds %s alerts, not %zu: use another --dir\n", dir.c_str(),
                 (*loaded)->c_str(), alerts);
    return 2;
  }
  for (size_t i = 0; i < (reuse ? 0 : alerts); ++i) {
    core::Alert a;
    int64_t t = t0 + static_cast<int64_t>(rng() % static_cast<uint64_t>(span));
    a.id = {t, rng()};
    a.tenant = "tenant-" + std::to_string(rng() % kTenants);
    a.sensor = "s1";
    a.rule = "aggregate";
    a.severity = static_cast<uint8_t>(1 + rng() % 4);
    a.gid = 1;
    a.sid = 2000000 + static_cast<uint32_t>(rng() % 500);
    a.signature = "ET BENCH signature";
    a.flow.src_ip = core::IpAddress::v4(0x0a000000u + static_cast<uint32_t>(rng() % kSources));
    a.flow.dst_ip = core::IpAddress::v4(0xc0a80000u + static_cast<uint32_t>(rng() % 1000));
    a.flow.proto = 6;
    a.first_seen = a.last_seen = a.updated = {t};
    a.count = 1;
    b.put_alert(a, nullptr);
    if (b.count() >= 20000) {
      if (!store.commit(b)) return 1;
      b.clear();
    }
  }
  if (!reuse) {
    b.put_meta(loaded_key, std::to_string(alerts));
    if (!store.commit(b)) return 1;
    double load_s = std::chrono::duration<double>(Clock::now() - load_start).count();
    std::printf("store_query_bench: %zu alerts loaded in %.1f s (%.0f alerts/s)\n", alerts, load_s,
                static_cast<double>(alerts) / load_s);
  }

  std::mt19937_64 qrng(7);  // the query stream, the same whether the store was loaded now or before
  std::vector<double> ip_lat, sev_lat;
  size_t ip_rows = 0, sev_rows = 0;
  uint64_t max_scanned = 0;
  for (size_t q = 0; q < queries; ++q) {
    store::AlertQuery a;
    a.from.usec = t0 + static_cast<int64_t>(qrng() % static_cast<uint64_t>(span - 86400LL * 1000000));
    a.to.usec = a.from.usec + 86400LL * 1000000;
    a.ip = core::IpAddress::v4(0x0a000000u + static_cast<uint32_t>(qrng() % kSources));
    a.tenant = "tenant-" + std::to_string(qrng() % kTenants);
    store::QueryStats stats;
    auto t = Clock::now();
    auto r = store.query_alerts(a, &stats);
    ip_lat.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
    if (!r) return 1;
    ip_rows += r->size();
    max_scanned = std::max(max_scanned, stats.index_entries);

    store::AlertQuery s;
    s.from.usec = t0 + static_cast<int64_t>(qrng() % static_cast<uint64_t>(span - 3600LL * 1000000));
    s.to.usec = s.from.usec + 3600LL * 1000000;
    s.tenant = "tenant-" + std::to_string(qrng() % kTenants);
    s.max_severity = 1;
    s.limit = 100;
    t = Clock::now();
    auto r2 = store.query_alerts(s, &stats);
    sev_lat.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
    if (!r2) return 1;
    sev_rows += r2->size();
  }
  std::printf("time range (1 day) + IP + tenant: p50 %.3f ms, p99 %.3f ms over %zu queries (%zu rows, at most %lu index "
              "entries read by one query; target p99 <= 50 ms)\n",
              percentile(ip_lat, 0.5), percentile(ip_lat, 0.99), queries, ip_rows, static_cast<unsigned long>(max_scanned));
  std::printf("time range (1 hour) + tenant + severity 1, limit 100: p50 %.3f ms, p99 %.3f ms (%zu rows)\n",
              percentile(sev_lat, 0.5), percentile(sev_lat, 0.99), sev_rows);
  return 0;
}
