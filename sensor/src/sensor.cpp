#include "vigil/sensor/sensor.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>

#include <sys/resource.h>

#include "pipeline/worker.h"
#include "vigil/core/log.h"
#include "vigil/sensor/capture.h"
#include "vigil/sensor/decode.h"
#include "vigil/sensor/ship.h"
#include "vigil/sensor/classify.h"

#include <unistd.h>

#include "vigil/core/curve_keys.h"

namespace vigil::sensor {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A decoded packet that owns its bytes, for handing to another thread.
struct QueuedPacket {
  Packet pkt;
  std::vector<uint8_t> storage;
  bool tick = false;  // not a packet: capture time reached pkt.ts, expire flows

  static QueuedPacket copy_of(Packet& p) {
    QueuedPacket q;
    q.pkt = p;
    if (p.reassembled) return q;  // bytes already owned by the packet
    q.storage.assign(p.data, p.data + p.caplen);
    const uint8_t* old_base = p.data;
    uint8_t* base = q.storage.data();
    auto rebase = [&](const uint8_t*& ptr) {
      if (ptr) ptr = base + (ptr - old_base);
    };
    q.pkt.data = base;
    rebase(q.pkt.l3);
    rebase(q.pkt.l4);
    rebase(q.pkt.payload);
    return q;
  }
};

// Bounded multi-batch queue between the reader and one worker. Batches amortise the locking.
class BatchQueue {
 public:
  explicit BatchQueue(size_t max_batches) : max_(max_batches) {}
  void push(std::vector<QueuedPacket>&& batch) {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return q_.size() < max_; });
    q_.push_back(std::move(batch));
    not_empty_.notify_one();
  }
  // Returns false when closed and drained.
  bool pop(std::vector<QueuedPacket>& out) {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return !q_.empty() || closed_; });
    if (q_.empty()) return false;
    out = std::move(q_.front());
    q_.pop_front();
    not_full_.notify_one();
    return true;
  }
  void close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    not_empty_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
  std::deque<std::vector<QueuedPacket>> q_;
  size_t max_;
  bool closed_ = false;
};

constexpr size_t kBatch = 64;
// Suricata's checksum "auto" mode for capture files: after this many packets, if more than one
// in kInvalidRatio had a bad checksum, the capture was taken with offloading and validation is
// turned off.
constexpr uint64_t kChecksumSample = 1000;
constexpr uint64_t kInvalidRatio = 10;

}  // namespace

struct Sensor::Impl {
  SensorOptions opts;
  std::shared_ptr<spdlog::logger> log = core::logger("sensor");
  std::unique_ptr<DetectEngine> engine;
  std::unique_ptr<EveWriter> eve;
  std::unique_ptr<PacketSource> source;
  std::unique_ptr<Decoder> decoder;
  std::unique_ptr<EventShipper> shipper;
  std::unique_ptr<classify::Classifier> classifier;  // outlives the workers that use it
  std::vector<std::unique_ptr<Worker>> workers;
  bool checksum_auto = false;
  bool checksum_off = false;

  Json rules_stats;
  std::string eve_path;
};

Sensor::~Sensor() = default;

void Sensor::stop() {
  stop_.store(true, std::memory_order_relaxed);
  if (impl_ && impl_->source) impl_->source->break_loop();
}

core::Result<std::unique_ptr<Sensor>> Sensor::create(SensorOptions opts) {
  std::unique_ptr<Sensor> s(new Sensor());
  s->impl_ = std::make_unique<Impl>();
  Impl& im = *s->impl_;
  im.opts = std::move(opts);
  const SensorConfig& cfg = im.opts.config;

  // Rules: parse, report rejects by file/line/sid/reason, compile.
  rules::ParseContext ctx;
  ctx.vars = cfg.vars;
  if (!cfg.classification_file.empty()) {
    auto cls = rules::load_classifications(cfg.classification_file);
    if (!cls.ok()) return cls.error();
    ctx.classifications = std::move(cls.value());
  }
  auto t0 = std::chrono::steady_clock::now();
  rules::RuleSet set = rules::load_rule_files(im.opts.rule_files, ctx);
  double load_s = seconds_since(t0);
  for (const auto& err : set.rejected) im.log->warn("rule rejected: {}", err.to_string());
  size_t parsed = set.rules.size();

  DetectOptions dopts;
  dopts.packet_alert_max = cfg.packet_alert_max;
  dopts.action_order = cfg.action_order;
  DetectBuildReport report;
  auto t1 = std::chrono::steady_clock::now();
  auto engine = DetectEngine::build(std::move(set.rules), dopts, &report);
  if (!engine.ok()) return engine.error();
  double compile_s = seconds_since(t1);
  for (const auto& err : report.compile.rejected) im.log->warn("rule rejected: {}", err.to_string());
  im.engine = std::move(engine.value());
  size_t failed = set.rejected.size() + report.compile.rejected.size();
  size_t loaded = parsed - report.compile.rejected.size();
  if (loaded == 0 && parsed + set.rejected.size() > 0) {
    return core::make_error("no rule could be loaded (" + std::to_string(failed) + " rejected)");
  }
  im.log->info("{} rules loaded, {} rejected; parse {:.2f} s, compile {:.2f} s", loaded, failed, load_s,
               compile_s);
  im.log->debug("rules without fast pattern met by every packet: tcp {} udp {} icmp {} other {}; "
                "ip-only unindexed: tcp {} udp {} icmp {} other {}",
                report.unfiltered_generic[0], report.unfiltered_generic[1], report.unfiltered_generic[2],
                report.unfiltered_generic[3], report.iponly_generic[0], report.iponly_generic[1],
                report.iponly_generic[2], report.iponly_generic[3]);
  Json by_reason = Json::object();
  for (const auto& [reason, n] : set.rejected_by_reason()) by_reason[reason] = n;
  for (const auto& err : report.compile.rejected) {
    by_reason[err.category] = (by_reason.contains(err.category) ? by_reason[err.category].get<size_t>() : 0) + 1;
  }
  im.rules_stats = {{"rules_loaded", loaded},           {"rules_failed", failed},
                    {"load_seconds", load_s},           {"compile_seconds", compile_s},
                    {"rejected_by_reason", by_reason}, {"hs_database_bytes", report.compile.database_bytes}};

  // Capture.
  if (!im.opts.read_file.empty()) {
    auto src = PacketSource::open_file(im.opts.read_file, im.opts.bpf);
    if (!src.ok()) return src.error();
    im.source = std::move(src.value());
  } else {
    auto src = PacketSource::open_live(im.opts.interface, im.opts.bpf);
    if (!src.ok()) return src.error();
    im.source = std::move(src.value());
  }
  DecoderConfig dc;
  dc.validate_checksums = cfg.checksum_validation;
  dc.defrag_memcap = cfg.defrag_memcap;
  dc.defrag_timeout_sec = cfg.defrag_timeout;
  im.decoder = std::make_unique<Decoder>(dc);
  im.checksum_auto = cfg.checksum_validation && cfg.checksum_auto && !im.opts.read_file.empty();

  // Outputs.
  if (cfg.eve_enabled) {
    im.eve_path = (std::filesystem::path(im.opts.log_dir) / cfg.eve_filename).string();
    auto eve = EveWriter::open(im.eve_path);
    if (!eve.ok()) return eve.error();
    im.eve = std::move(eve.value());
  }

  if (!cfg.correlator_endpoint.empty()) {
    ShipperConfig sc;
    sc.endpoint = cfg.correlator_endpoint;
    sc.sensor_id = cfg.sensor_id;
    if (sc.sensor_id.empty()) {
      char host[256] = {};
      gethostname(host, sizeof host - 1);
      sc.sensor_id = host;
    }
    if (cfg.sensor_key_file.empty() || cfg.correlator_public_key_file.empty()) {
      return core::make_error("shipping to " + cfg.correlator_endpoint +
                              " needs correlator.key-file and correlator.server-public-key-file "
                              "(make them with vigil-keygen)");
    }
    auto own = core::read_curve_key_file(cfg.sensor_key_file);
    if (!own.ok()) return own.error();
    if (own->secret_key.empty()) {
      return core::make_error("has no secret key (give the .key file, not the .pub)", cfg.sensor_key_file);
    }
    auto server = core::read_curve_key_file(cfg.correlator_public_key_file);
    if (!server.ok()) return server.error();
    sc.client_keys = {own->public_key, own->secret_key};
    sc.server_public_key = server->public_key;
    std::filesystem::path spool(cfg.spool_dir);
    if (spool.is_relative()) spool = std::filesystem::path(im.opts.log_dir) / spool;
    sc.spool_dir = spool.string();
    sc.spool_max_bytes = cfg.spool_max;
    auto shipper = EventShipper::start(sc);
    if (!shipper.ok()) return shipper.error();
    im.shipper = std::move(shipper.value());
    im.log->info("shipping events to {} as sensor '{}' (spool {})", sc.endpoint, sc.sensor_id, sc.spool_dir);
  }

  if (cfg.classification_enabled) {
    if (cfg.classification_pack.empty() || cfg.classification_key_file.empty()) {
      return core::make_error("classification.enabled needs classification.pack and classification.key-file");
    }
    auto pack = classify::load_pack(cfg.classification_pack);
    if (!pack.ok()) return pack.error();
    classify::ClassifierConfig cc;
    auto key = classify::load_key_file(cfg.classification_key_file);
    if (!key.ok()) return key.error();
    cc.key = std::move(key.value());
    cc.bulk_threshold = cfg.classification_bulk_threshold;
    cc.max_values = cfg.classification_max_values;
    const size_t ndet = pack->detectors.size();
    const std::string name = pack->name;
    auto c = classify::Classifier::create(std::move(pack.value()), std::move(cc));
    if (!c.ok()) return c.error();
    im.classifier = std::move(c.value());
    im.log->info("classification pack '{}': {} detectors ({})", name, ndet, cfg.classification_pack);
  }

  unsigned n = cfg.workers ? cfg.workers : std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < n; ++i) {
    auto w = Worker::create(cfg, *im.engine, im.eve.get(), /*own_clock=*/n == 1, im.shipper.get());
    if (!w.ok()) return w.error();
    if (im.classifier) {
      if (auto st = w.value()->set_classifier(im.classifier.get()); !st.ok()) return st.error();
    }
    im.workers.push_back(std::move(w.value()));
  }
  // CPU spent before the first packet (rule parsing and Hyperscan compilation mostly), so that
  // throughput can be reported for packet processing alone.
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  im.rules_stats["setup_cpu_seconds"] = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                                        static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  return s;
}

core::Status Sensor::run() {
  Impl& im = *impl_;
  auto t0 = std::chrono::steady_clock::now();
  const size_t n = im.workers.size();
  im.log->info("reading {} with {} worker{}", im.source->name(), n, n == 1 ? "" : "s");

  std::vector<std::thread> threads;
  std::vector<std::vector<QueuedPacket>> pending(n);
  std::deque<BatchQueue> qs;  // a deque: queues hold a mutex and must not move
  if (n > 1) {
    for (size_t i = 0; i < n; ++i) qs.emplace_back(64);
    for (size_t i = 0; i < n; ++i) {
      threads.emplace_back([&, i] {
        std::vector<QueuedPacket> batch;
        while (qs[i].pop(batch)) {
          for (auto& q : batch) {
            if (q.tick) im.workers[i]->expire(q.pkt.ts);
            else im.workers[i]->process(q.pkt);
          }
        }
        im.workers[i]->flush();
      });
    }
  }

  // Flow timeouts follow capture time. With several workers the reader sends every worker a
  // clock tick at the moments a single worker would expire flows, so that flows end the same
  // way whatever the number of workers.
  int64_t last_tick_us = 0;
  auto deliver = [&](Packet& p) {
    if (im.checksum_off) p.checksum_bad = false;
    if (n == 1) {
      im.workers[0]->process(p);
      return;
    }
    bool tick = p.ts.usec - last_tick_us >= Worker::kExpireIntervalUs;
    size_t w = flow_hash(p) % n;
    pending[w].push_back(QueuedPacket::copy_of(p));
    if (tick) {
      last_tick_us = p.ts.usec;
      for (size_t i = 0; i < n; ++i) {
        QueuedPacket t;
        t.tick = true;
        t.pkt.ts = p.ts;
        pending[i].push_back(std::move(t));
      }
    }
    for (size_t i = 0; i < n; ++i) {
      if (pending[i].size() >= kBatch || (tick && !pending[i].empty())) {
        qs[i].push(std::move(pending[i]));
        pending[i] = {};
        pending[i].reserve(kBatch);
      }
    }
  };

  RawPacket raw;
  uint64_t count = 0;
  core::Status result;
  Packet extra;
  while (!stop_.load(std::memory_order_relaxed)) {
    ReadStatus st = im.source->next(raw);
    if (st == ReadStatus::kEnd) break;
    if (st == ReadStatus::kTimeout) continue;
    if (st == ReadStatus::kError) {
      result = core::make_error(im.source->last_error(), im.source->name());
      break;
    }
    Packet p = to_packet(raw, ++count);
    im.decoder->decode(p);
    if (im.checksum_auto && count == kChecksumSample) {
      uint64_t bad = im.decoder->stats().checksum_bad;
      if (bad > kChecksumSample / kInvalidRatio) {
        im.checksum_off = true;
        im.log->warn("{} of the first {} packets have invalid checksums (offloading?): checksum "
                     "validation turned off; use -k none to skip this check", bad, kChecksumSample);
      }
    }
    deliver(p);
    while (im.decoder->take_reassembled(extra)) deliver(extra);
  }

  if (n == 1) {
    im.workers[0]->flush();
  } else {
    for (size_t i = 0; i < n; ++i) {
      if (!pending[i].empty()) qs[i].push(std::move(pending[i]));
      qs[i].close();
    }
    for (auto& t : threads) t.join();
  }
  double wall = seconds_since(t0);

  // Final stats record.
  const auto& ds = im.decoder->stats();
  auto cs = im.source->stats();
  Json stats;
  stats["uptime"] = wall;
  stats["capture"] = {{"packets", cs.packets}, {"bytes", cs.bytes}, {"kernel_packets", cs.kernel_received},
                      {"kernel_drops", cs.kernel_dropped}, {"if_drops", cs.if_dropped}};
  Json dec = {{"pkts", ds.packets},       {"bytes", ds.bytes},         {"decoded", ds.decoded},
              {"invalid", ds.invalid},    {"ipv4", ds.ipv4},           {"ipv6", ds.ipv6},
              {"tcp", ds.tcp},            {"udp", ds.udp},             {"icmpv4", ds.icmpv4},
              {"icmpv6", ds.icmpv6},      {"ethernet", ds.ethernet},   {"vlan", ds.vlan},
              {"gre", ds.gre},            {"vxlan", ds.vxlan},         {"checksum_bad", ds.checksum_bad},
              {"ipv4_fragments", ds.ipv4_fragments}, {"ipv6_fragments", ds.ipv6_fragments},
              {"ipv4_reassembled", ds.ipv4_reassembled}, {"ipv6_reassembled", ds.ipv6_reassembled}};
  Json events = Json::object();
  for (size_t i = 1; i < kDecodeEventCount; ++i) {
    if (ds.events[i]) events[decode_event_name(static_cast<DecodeEvent>(i))] = ds.events[i];
  }
  dec["event"] = events;
  stats["decoder"] = dec;
  for (const auto& w : im.workers) w->add_stats(stats);
  for (auto& [k, v] : im.rules_stats.items()) stats["detect"][k] = v;
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  stats["memory"] = {{"peak_rss_bytes", static_cast<uint64_t>(ru.ru_maxrss) * 1024}};
  final_stats_ = stats;

  if (im.shipper) {
    // An offline run waits a while for the correlator to take what is queued; whatever it does
    // not acknowledge stays in the spool and goes out on the next start.
    im.shipper->flush();
    bool drained = im.shipper->wait_drained(std::chrono::seconds(im.opts.config.drain_seconds));
    auto ss = im.shipper->stats();
    stats["shipper"] = {{"events_submitted", ss.events_submitted}, {"events_dropped", ss.events_dropped},
                        {"batches_sent", ss.batches_sent},       {"batches_acked", ss.batches_acked},
                        {"batches_resent", ss.batches_resent},   {"auth_failures", ss.auth_failures},
                        {"spool_depth", ss.spool_depth},         {"connected", ss.connected}};
    if (!drained) {
      im.log->warn("{} batches not acknowledged by the correlator yet: kept in the spool", ss.spool_depth);
    }
    im.shipper->stop();
  }
  uint64_t alerts = stats["detect"].value("alerts", uint64_t{0});
  if (im.eve) {
    Json rec;
    rec["timestamp"] = core::format_eve_time(core::Timestamp::now());
    rec["event_type"] = "stats";
    rec["stats"] = stats;
    im.eve->write(rec);
    im.eve->flush();
  }
  im.log->info("{} packets, {:.1f} MB in {:.2f} s; {} invalid; {} flows; {} alerts{}{}", ds.packets,
               ds.bytes / 1e6, wall, ds.invalid, stats["flow"].value("total", uint64_t{0}), alerts,
               im.eve ? " -> " : "", im.eve_path);
  return result;
}

}  // namespace vigil::sensor
