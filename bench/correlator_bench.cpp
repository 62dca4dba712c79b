// Correlator ingest benchmark (issue 4), all in one run on this machine:
//
//   1. ingest: a CURVE DEALER sends encoded batches to the real correlator (IngestServer +
//      Pipeline + synced RocksDB commits) and counts acknowledged events/s;
//   2. baseline "raw RocksDB": the same event records written through vigil_store commits
//      (synced, same store options), grouped like the correlator's commits in this run (its mean
//      batches per commit; --raw-group N to fix it), no decoding, no correlation, no alerts;
//      only the commit calls are timed;
//   3. baseline "raw ZeroMQ": the same batches over the same CURVE DEALER/ROUTER pair, acked on
//      arrival without decoding or storing;
//   4. latency: batches paced at --rate events/s; time from sending a batch to its ack (by then
//      every event in it is durable and its alerts written), p50/p99.
//
//   correlator_bench [--events N] [--batch B] [--window W] [--rate EPS] [--latency-seconds S] [--raw-group G]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <thread>

#include <pthread.h>
#include <zmq.h>

#include "percentile.h"
#include "vigil/core/codec.h"
#include "vigil/correlator/pipeline.h"
#include "vigil/correlator/server.h"
#include "vigil/store/store.h"

using namespace vigil;
using Clock = std::chrono::steady_clock;

namespace {

struct Opts {
  size_t events = 200000;
  size_t batch = 1000;
  size_t window = 16;
  size_t rate = 20000;
  double latency_seconds = 3;
  size_t raw_group = 0;  // batches per raw-RocksDB commit; 0 = the correlator's mean in this run
};

core::Event make_event(uint64_t i, int64_t t) {
  core::Event e;
  e.id = i + 1;
  e.time.usec = t;
  e.kind = i % 4 == 3 ? core::EventKind::kFlow : core::EventKind::kAlert;
  e.flow.src_ip = core::IpAddress::v4(0x0a000000u + static_cast<uint32_t>(i % 500));
  e.flow.dst_ip = core::IpAddress::v4(0xc0a80000u + static_cast<uint32_t>(i % 20));
  e.flow.src_port = static_cast<uint16_t>(1024 + i % 60000);
  e.flow.dst_port = 443;
  e.flow.proto = 6;
  e.community_id = "1:bench";
  if (e.kind == core::EventKind::kAlert) {
    e.alert = {1, 2200000u + static_cast<uint32_t>(i % 40), 1, "ET BENCH signature", "Misc activity", 2, "allowed"};
  }
  return e;
}

std::vector<std::string> make_batches(const Opts& o, const std::string& sensor, uint64_t first_seq, int64_t t0) {
  std::vector<std::string> out;
  uint64_t seq = first_seq;
  for (size_t i = 0; i < o.events; i += o.batch) {
    core::EventBatch b;
    b.sensor_id = sensor;
    b.seq = seq++;
    for (size_t k = i; k < std::min(o.events, i + o.batch); ++k) b.events.push_back(make_event(k, t0 + static_cast<int64_t>(k) * 10));
    out.push_back(*core::encode_batch(b));
  }
  return out;
}

struct Keys {
  char server_pub[41], server_sec[41], client_pub[41], client_sec[41];
  Keys() {
    zmq_curve_keypair(server_pub, server_sec);
    zmq_curve_keypair(client_pub, client_sec);
  }
};

void* dealer(void* ctx, const Keys& k, const std::string& ep) {
  void* s = zmq_socket(ctx, ZMQ_DEALER);
  int zero = 0, hwm = 100000;
  zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
  zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
  zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, k.server_pub, 40);
  zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, k.client_pub, 40);
  zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, k.client_sec, 40);
  zmq_connect(s, ep.c_str());
  return s;
}

// Sends every batch with at most `window` unacknowledged; returns seconds, fills per-batch latency.
double pump(void* s, const std::vector<std::string>& batches, size_t window, double pace_batches_per_s,
            std::vector<double>* latencies_ms) {
  std::vector<Clock::time_point> sent(batches.size());
  size_t next = 0, acked = 0;
  auto t0 = Clock::now();
  char buf[512];
  while (acked < batches.size()) {
    while (next < batches.size() && next - acked < window) {
      if (pace_batches_per_s > 0) {
        auto due = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(next / pace_batches_per_s));
        if (Clock::now() < due) break;
      }
      sent[next] = Clock::now();
      zmq_send(s, batches[next].data(), batches[next].size(), 0);
      ++next;
    }
    zmq_pollitem_t it{s, 0, ZMQ_POLLIN, 0};
    zmq_poll(&it, 1, 1);
    while (zmq_recv(s, buf, sizeof buf, ZMQ_DONTWAIT) >= 0) {
      if (latencies_ms) latencies_ms->push_back(std::chrono::duration<double, std::milli>(Clock::now() - sent[acked]).count());
      ++acked;
    }
  }
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

using vigil::bench::percentile;

// The real correlator on a thread: config -> store -> pipeline -> IngestServer.
struct Correlator {
  std::atomic<bool> stop{false};
  std::atomic<bool> ready{false};
  std::thread thread;
  std::string endpoint;
  correlator::IngestCounters counters;

  Correlator(const Keys& k, const std::string& dir) {
    thread = std::thread([this, &k, dir] {
      pthread_setname_np(pthread_self(), "vigil-pipeline");  // for perf/top
      auto cfg = std::make_shared<correlator::CorrelatorConfig>();
      cfg->listen = "ipc://" + dir + "/corr.sock";
      cfg->data_dir = dir;
      cfg->server_public_key = k.server_pub;
      cfg->server_secret_key = k.server_sec;
      cfg->sensors.push_back({"bench-sensor", k.client_pub, "bench"});
      auto store = store::Store::open({dir + "/db"});
      auto rules = correlator::load_rules({});
      auto intel = correlator::ThreatIntel::load({}, {}, {});
      if (!store || !rules || !intel) std::abort();
      correlator::Pipeline p(**store, cfg, *rules, *intel);
      if (!p.start()) std::abort();
      auto server = correlator::IngestServer::bind(cfg);
      if (!server) {
        std::fprintf(stderr, "%s\n", server.error().to_string().c_str());
        std::abort();
      }
      endpoint = (*server)->endpoint();
      ready = true;
      (void)(*server)->run(p, stop, [] {});
      counters = p.counters();
    });
    while (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~Correlator() {
    stop = true;
    if (thread.joinable()) thread.join();
  }
};

}  // namespace

int main(int argc, char** argv) {
  Opts o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    double v = std::strtod(argv[i + 1], nullptr);
    if (k == "--events") o.events = static_cast<size_t>(v);
    else if (k == "--batch") o.batch = std::max<size_t>(1, static_cast<size_t>(v));
    else if (k == "--window") o.window = std::max<size_t>(1, static_cast<size_t>(v));
    else if (k == "--rate") o.rate = static_cast<size_t>(v);
    else if (k == "--latency-seconds") o.latency_seconds = v;
    else if (k == "--raw-group") o.raw_group = static_cast<size_t>(v);
  }
  std::random_device rd;
  auto root = std::filesystem::temp_directory_path() / ("vigil-corr-bench-" + std::to_string(rd()));
  std::filesystem::create_directories(root);
  Keys keys;
  const int64_t t0 = 1767225600000000LL;
  auto batches = make_batches(o, "bench-sensor", 1, t0);
  const double n = static_cast<double>(o.events);
  std::printf("correlator_bench: %zu events in batches of %zu, window %zu, synced commits, CURVE\n", o.events, o.batch, o.window);

  // 1. Full ingest.
  double ingest_s = 0;
  uint64_t ingest_commits = 0;
  {
    auto dir = (root / "ingest").string();
    std::filesystem::create_directories(dir);
    Correlator c(keys, dir);
    void* ctx = zmq_ctx_new();
    void* s = dealer(ctx, keys, c.endpoint);
    ingest_s = pump(s, batches, o.window, 0, nullptr);
    zmq_close(s);
    zmq_ctx_term(ctx);
    c.stop = true;
    c.thread.join();
    const auto& k = c.counters;
    ingest_commits = k.commits;
    std::printf("ingest: %llu commits (%.1f batches, %.0f KB each); pipeline thread: decode %.2f s, correlate %.2f s, "
                "alert encoding %.2f s, RocksDB write+fsync %.2f s of %.2f s\n",
                static_cast<unsigned long long>(k.commits), k.commits ? double(k.batches_stored) / double(k.commits) : 0.0,
                k.commits ? double(k.commit_bytes) / 1024.0 / double(k.commits) : 0.0, double(k.usec_decode) / 1e6,
                double(k.usec_correlate) / 1e6, double(k.usec_flush) / 1e6, double(k.usec_commit) / 1e6, ingest_s);
  }

  // 2. Raw RocksDB: the same event records (as the correlator stores them: tenant label, no
  //    intel), the same store options (synced, ZSTD WAL), grouped like the correlator's commits
  //    (its mean batches per commit in this run, or --raw-group), no wire decoding, no
  //    correlation, no alerts. Timed: building the store batch (record encoding) and the commit
  //    (the baseline), and the commit alone (RocksDB write + fsync, printed beside it).
  double rocks_s = 0, rocks_commit_s = 0;
  size_t raw_group = o.raw_group;
  if (raw_group == 0) {
    raw_group = ingest_commits ? static_cast<size_t>(std::lround(double(batches.size()) / double(ingest_commits))) : 1;
    raw_group = std::max<size_t>(1, raw_group);
  }
  {
    auto store = store::Store::open({(root / "raw").string()});
    if (!store) return 1;
    std::vector<core::EventBatch> decoded;
    for (const auto& bytes : batches) decoded.push_back(*core::decode_batch(bytes));
    store::CommitBatch cb;
    for (size_t i = 0; i < decoded.size(); i += raw_group) {
      auto t0 = Clock::now();
      cb.clear();
      for (size_t k = i; k < std::min(decoded.size(), i + raw_group); ++k) {
        for (auto& e : decoded[k].events) {
          core::StoredEvent se;
          se.sensor = decoded[k].sensor_id;
          se.tenant = "bench";
          se.event = std::move(e);
          cb.put_event(se);
        }
        cb.set_high_water_mark(decoded[k].sensor_id, decoded[k].seq);
      }
      auto t = Clock::now();
      if (!(*store)->commit(cb)) return 1;
      rocks_s += std::chrono::duration<double>(Clock::now() - t0).count();
      rocks_commit_s += std::chrono::duration<double>(Clock::now() - t).count();
    }
  }

  // 3. Raw ZeroMQ pass-through: ack on arrival.
  double zmq_s = 0;
  {
    void* ctx = zmq_ctx_new();
    void* zap = zmq_socket(ctx, ZMQ_REP);
    zmq_bind(zap, "inproc://zeromq.zap.01");
    std::atomic<bool> stop{false};
    std::string ep = "ipc://" + (root / "raw.sock").string();
    void* router = zmq_socket(ctx, ZMQ_ROUTER);
    int one = 1, zero = 0;
    zmq_setsockopt(router, ZMQ_CURVE_SERVER, &one, sizeof one);
    zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(router, ZMQ_CURVE_SECRETKEY, keys.server_sec, 40);
    zmq_bind(router, ep.c_str());
    std::thread server([&] {
      std::string ack = core::encode_ack({"bench-sensor", 1, core::AckStatus::kOk, ""});
      while (!stop) {
        zmq_pollitem_t items[] = {{router, 0, ZMQ_POLLIN, 0}, {zap, 0, ZMQ_POLLIN, 0}};
        zmq_poll(items, 2, 10);
        if (items[1].revents & ZMQ_POLLIN) {  // accept any key: this is the baseline
          std::vector<std::string> f;
          for (int more = 1; more;) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            zmq_msg_recv(&m, zap, 0);
            f.emplace_back(static_cast<char*>(zmq_msg_data(&m)), zmq_msg_size(&m));
            more = zmq_msg_more(&m);
            zmq_msg_close(&m);
          }
          const char* reply[] = {"1.0", f[1].c_str(), "200", "OK", "bench-sensor", ""};
          for (int i = 0; i < 6; ++i) zmq_send(zap, reply[i], std::strlen(reply[i]), i < 5 ? ZMQ_SNDMORE : 0);
        }
        while (items[0].revents & ZMQ_POLLIN) {
          zmq_msg_t id, body;
          zmq_msg_init(&id);
          zmq_msg_init(&body);
          if (zmq_msg_recv(&id, router, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&id);
            zmq_msg_close(&body);
            break;
          }
          zmq_msg_recv(&body, router, 0);
          zmq_msg_send(&id, router, ZMQ_SNDMORE);
          zmq_send(router, ack.data(), ack.size(), 0);
          zmq_msg_close(&body);
        }
      }
    });
    void* s = dealer(ctx, keys, ep);
    zmq_s = pump(s, batches, o.window, 0, nullptr);
    stop = true;
    server.join();
    zmq_close(s);
    zmq_close(router);
    zmq_close(zap);
    zmq_ctx_term(ctx);
  }

  double ingest_rate = n / ingest_s, rocks_rate = n / rocks_s, zmq_rate = n / zmq_s;
  double slower = std::min(rocks_rate, zmq_rate);
  std::printf("ingest (decode+label+correlate+synced commit): %10.0f events/s\n", ingest_rate);
  std::printf("baseline raw RocksDB (same records, synced, %zu batches per commit): %10.0f events/s "
              "(RocksDB write+fsync alone: %.0f events/s)\n",
              raw_group, rocks_rate, n / rocks_commit_s);
  std::printf("baseline raw ZeroMQ pass-through (CURVE):      %10.0f events/s\n", zmq_rate);
  std::printf("ingest / slower baseline: %.0f%% (target >= 50%%), target >= 200000 events/s: %s\n",
              100.0 * ingest_rate / slower, ingest_rate >= 200000 ? "met" : "NOT met");

  // 4. Latency at a paced rate (fresh correlator and sensor id so seqs start at 1).
  {
    Opts lo = o;
    lo.batch = std::max<size_t>(1, o.rate / 200);  // a batch every 5 ms
    lo.events = static_cast<size_t>(static_cast<double>(o.rate) * o.latency_seconds);
    auto lb = make_batches(lo, "bench-sensor", 1, t0);
    auto dir = (root / "latency").string();
    std::filesystem::create_directories(dir);
    Correlator c(keys, dir);
    void* ctx = zmq_ctx_new();
    void* s = dealer(ctx, keys, c.endpoint);
    std::vector<double> lat;
    double secs = pump(s, lb, 1000, static_cast<double>(o.rate) / static_cast<double>(lo.batch), &lat);
    zmq_close(s);
    zmq_ctx_term(ctx);
    c.stop = true;
    c.thread.join();
    const auto& k = c.counters;
    std::printf("latency run: %llu commits (%.1f batches each, at most %llu), commit thread %.2f s (mean %.1f ms, max %.1f ms)\n",
                static_cast<unsigned long long>(k.commits), k.commits ? double(k.batches_stored) / double(k.commits) : 0.0,
                static_cast<unsigned long long>(k.max_batches_in_commit), double(k.usec_commit) / 1e6,
                k.commits ? double(k.usec_commit) / 1e3 / double(k.commits) : 0.0, double(k.usec_commit_max) / 1e3);
    std::printf("event-to-alert latency at %zu events/s (%zu-event batches every 5 ms, %.1f s): p50 %.2f ms, p99 %.2f ms "
                "(target p99 <= 50 ms)\n",
                static_cast<size_t>(static_cast<double>(lo.events) / secs), lo.batch, secs, percentile(lat, 0.5),
                percentile(lat, 0.99));
  }
  std::error_code ec;
  std::filesystem::remove_all(root, ec);
  return 0;
}
