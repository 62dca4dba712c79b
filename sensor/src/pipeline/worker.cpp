#include "worker.h"

#include <atomic>

#include "vigil/core/log.h"
#include "vigil/sensor/stream.h"
#include "app_layer.h"
#include "vigil/core/event.h"
#include "vigil/sensor/ship.h"
#include "vigil/sensor/classify.h"

namespace vigil::sensor {

namespace {

// Per-flow state the worker hangs on Flow::detect.
struct FlowDetectExt final : FlowExtension {
  DetectFlowState state;
  bool alerted = false;
  std::unique_ptr<classify::FlowClassification> cls;  // when the classifier is on and saw bytes
};

// The flow's classification findings, or null.
const classify::FlowClassification* flow_cls(const Flow* f) {
  if (!f || !f->detect) return nullptr;
  return static_cast<const FlowDetectExt*>(f->detect.get())->cls.get();
}

// The labels stamped on a flow's alerts and records (core::EventLabels' names).
std::string labels_json(const classify::FlowClassification& fc) {
  nlohmann::ordered_json j;
  j["pii"] = fc.pii();
  j["secrecy"] = fc.secrecy();
  j["tags"] = fc.tags();
  return j.dump();
}

const char* app_proto_name(rules::AppProto a) {
  switch (a) {
    case rules::AppProto::Http: return "http";
    case rules::AppProto::Dns: return "dns";
    case rules::AppProto::Tls: return "tls";
    case rules::AppProto::Failed: return "failed";
    case rules::AppProto::Unknown: break;
  }
  return nullptr;
}

const char* state_name(FlowState s) {
  switch (s) {
    case FlowState::kNew: return "new";
    case FlowState::kEstablished: return "established";
    case FlowState::kClosed: return "closed";
  }
  return "new";
}

}  // namespace

struct Worker::Impl {
  std::vector<Alert> alerts;
  int64_t last_expire_us = 0;
  std::unique_ptr<StreamTracker> streams;
  std::unique_ptr<AppLayer> app;
  std::vector<const AppTxView*> txs;
};

namespace {
// The next raw-stream block of direction `d` to inspect: from the detection progress up to
// `end` (ACKed data, or everything at end of flow), skipping gaps. Returns the block's offset.
uint64_t raw_block(const TcpSession& s, Direction d, uint64_t progress, uint64_t end,
                   std::span<const uint8_t>& out) {
  const StreamBuffer& sb = s.stream(d);
  uint64_t from = std::max(progress, sb.base_offset());
  out = {};
  while (from < end) {
    StreamChunk c = sb.chunk(from);
    if (c.empty()) break;
    if (c.gap_len) {
      from = c.offset + c.gap_len;
      continue;
    }
    uint64_t len = std::min<uint64_t>(c.data.size(), end - c.offset);
    out = c.data.first(len);
    return c.offset;
  }
  return from;
}

// The fields every per-flow EVE record starts with (flow, classification): time, flow id, type,
// the tuple in client -> server order, proto and app_proto.
void flow_record_head(EveLine& l, const Flow& f, core::Timestamp ts, const char* event_type) {
  l.str("timestamp", core::format_eve_time(ts))
      .num("flow_id", f.id)
      .str("event_type", event_type)
      .str("src_ip", f.client_ip.to_string());
  bool ports = f.proto == 6 || f.proto == 17 || f.proto == 132;
  if (ports) l.num("src_port", f.client_port);
  l.str("dest_ip", f.server_ip.to_string());
  if (ports) l.num("dest_port", f.server_port);
  l.str("proto", eve_proto_name(f.proto));
  if (const char* ap = app_proto_name(static_cast<rules::AppProto>(f.app_proto))) l.str("app_proto", ap);
}
}  // namespace

core::Result<std::unique_ptr<Worker>> Worker::create(const SensorConfig& cfg, const DetectEngine& engine,
                                                     EveWriter* eve, bool own_clock, EventShipper* shipper) {
  std::unique_ptr<Worker> w(new Worker(cfg, engine, eve));
  w->own_clock_ = own_clock;
  w->shipper_ = shipper;
  if (shipper) {
    Worker* self = w.get();
    w->impl_->app->set_shipper([self](core::Event&& e) {
      if (!self->shipper_->submit(std::move(e))) ++self->counters_.ship_dropped;
    });
    w->ship_flows_ = std::find(cfg.ship_records.begin(), cfg.ship_records.end(), "flow") != cfg.ship_records.end();
  }
  auto dt = DetectThread::create(engine);
  if (!dt.ok()) return dt.error();
  w->detect_ = std::move(dt.value());
  return w;
}

Worker::Worker(const SensorConfig& cfg, const DetectEngine& engine, EveWriter* eve)
    : impl_(std::make_unique<Impl>()), cfg_(cfg), engine_(engine), eve_(eve) {
  FlowConfig fc;
  uint64_t per_flow = sizeof(Flow) + 512;  // flow, detection state and bookkeeping
  fc.max_flows = static_cast<uint32_t>(std::max<uint64_t>(1024, cfg.flow_memcap / per_flow));
  flows_ = std::make_unique<FlowTable>(fc);
  const std::string& mp = cfg.midstream_policy.empty() ? cfg.exception_policy : cfg.midstream_policy;
  bypass_midstream_ = mp == "bypass" || mp == "pass-flow";
  for (const auto& t : cfg.eve_types) {
    if (t == "alert") log_alert_ = true;
    if (t == "flow") log_flow_ = true;
    if (t == "classification") log_classification_ = true;
  }
  StreamConfig sc;
  sc.midstream = cfg.stream_midstream;
  sc.reassembly_depth = cfg.reassembly_depth;
  sc.memcap = cfg.reassembly_memcap;
  // Names and addresses were validated when the config was parsed.
  for (const auto& [policy, addr] : cfg.host_os_policy) (void)sc.add_host_policy(policy, addr);
  impl_->streams = std::make_unique<StreamTracker>(sc);
  impl_->app = std::make_unique<AppLayer>(cfg, eve);
  impl_->alerts.reserve(64);
}

Worker::~Worker() = default;

core::Status Worker::set_classifier(const classify::Classifier* c) {
  classifier_ = c;
  classify_.reset();
  if (!c) return {};
  auto t = classify::ClassifyThread::create(*c);
  if (!t.ok()) return t.error();
  classify_ = std::move(t.value());
  impl_->app->set_redactor([this](std::string& json) { classify_->redact(json); });
  return {};
}

void Worker::classify_block(Flow& f, int d, std::span<const uint8_t> data, uint64_t offset, bool datagram) {
  auto* ext = static_cast<FlowDetectExt*>(f.detect.get());
  if (!ext || data.empty()) return;
  if (!ext->cls) ext->cls = std::make_unique<classify::FlowClassification>();
  classify::FlowClassification& fc = *ext->cls;
  if (datagram) {
    classify_->scan_datagram(fc, d, data);
    return;
  }
  if (offset != fc.consumed[d]) {
    // A gap in the stream (or bytes skipped): what waited before it is decided now.
    classify_->finish(fc, d);
    fc.consumed[d] = offset;
  }
  classify_->scan(fc, d, data);
}

void Worker::classify_stream(Flow& f, TcpSession& tcp, Direction d) {
  auto* ext = static_cast<FlowDetectExt*>(f.detect.get());
  if (!ext) return;
  const StreamBuffer& sb = tcp.stream(d);
  const uint64_t end = sb.contiguous_end();
  uint64_t from = ext->cls ? ext->cls->consumed[index(d)] : 0;
  while (from < end) {
    StreamChunk c = sb.chunk(from);
    if (c.empty()) break;
    if (c.gap_len) {
      from = c.offset + c.gap_len;
      continue;
    }
    // classify_block decides what waited before a jump (a gap, or bytes already released).
    classify_block(f, index(d), c.data, c.offset, false);
    from = c.offset + c.data.size();
  }
}

void Worker::classify_flow_end(Flow& f) {
  auto* ext = static_cast<FlowDetectExt*>(f.detect.get());
  if (!classify_ || !ext || !ext->cls) return;
  classify::FlowClassification& fc = *ext->cls;
  classify_->finish(fc, 0);
  classify_->finish(fc, 1);
  if (!fc.any()) return;
  auto& cc = classify_->counters();
  if (fc.basic || fc.sensitive) ++cc.flows_pii;
  if (fc.sensitive) ++cc.flows_sensitive;
  if (fc.secret) ++cc.flows_secret;
  const std::string body = classifier_->to_json(fc).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (eve_ && log_classification_) {
    EveLine l;
    flow_record_head(l, f, f.last_ts, "classification");
    l.raw("classification", body);
    eve_->write_line(l.finish());
    ++cc.records;
  }
  if (shipper_) {
    core::Event e;
    static std::atomic<uint64_t> next_id{(static_cast<uint64_t>(core::Timestamp::now().seconds()) << 32) |
                                         0x80000000u};
    e.id = next_id.fetch_add(1, std::memory_order_relaxed);
    e.time = f.last_ts;
    e.kind = core::EventKind::kClassification;
    e.flow = {f.client_ip, f.server_ip, f.client_port, f.server_port, f.proto};
    e.flow_id = f.id;
    if (const char* ap = app_proto_name(static_cast<rules::AppProto>(f.app_proto))) e.app_proto = ap;
    e.app_json = body;
    e.labels.pii = fc.pii();
    e.labels.secrecy = fc.secrecy();
    e.labels.tags = fc.tags();
    if (!shipper_->submit(std::move(e))) ++counters_.ship_dropped;
  }
}

void Worker::process(Packet& p) {
  ++counters_.packets;
  counters_.bytes += p.caplen;
  if (!p.decoded) {
    ++counters_.invalid;
    return;
  }
  // A packet with a bad checksum (validation on) is kept out of the TCP stream, as the
  // receiver would discard it, but detection still sees its payload, as in Suricata.
  if (p.checksum_bad) ++counters_.checksum_bad;

  Direction dir = Direction::ToServer;
  bool created = false;
  Flow* flow = flows_->get_or_create(p, dir, created);
  FlowDetectExt* ext = nullptr;
  if (flow) {
    if (!flow->detect) {
      auto e = std::make_unique<FlowDetectExt>();
      e->state = detect_->make_flow_state();
      flow->detect = std::move(e);
    }
    ext = static_cast<FlowDetectExt*>(flow->detect.get());
  } else {
    ++counters_.no_flow;
  }

  DetectPacket in;
  in.pkt = &p;
  TcpSession* tcp = nullptr;
  uint64_t raw_end = 0;
  if (flow) {
    if (p.is_tcp()) {
      StreamPacketResult sr = impl_->streams->on_packet(*flow, p, dir);
      dir = sr.dir;
      tcp = flow->tcp.get();
      in.stream_added = tcp && sr.tracked && !sr.invalid && p.payload_len > 0;
      // A midstream pickup is an exception: with a bypass/pass-flow policy the flow is not
      // inspected at all (IDS mode turns the drop variants into "ignore").
      if (tcp && tcp->midstream() && bypass_midstream_) ext->state.pass = true;
    }
    in.flow = &ext->state;
    in.flow_id = flow->id;
    in.to_server = dir == Direction::ToServer;
    in.established = flow->pkt_established;
    if (!ext->state.pass) {
      impl_->txs.clear();
      impl_->app->on_packet(*flow, p, dir, tcp, impl_->txs);
      in.txs = impl_->txs;
    } else if (tcp) {
      // A passed flow is not inspected any more: let its stream memory go.
      uint64_t end = tcp->stream(dir).contiguous_end();
      tcp->consume(dir, StreamConsumer::kApp, end);
      tcp->consume(dir, StreamConsumer::kDetect, end);
    }
    in.app_proto = static_cast<rules::AppProto>(flow->app_proto);
    if (tcp) {
      // Suricata's IDS mode inspects the raw stream of the packet's own direction up to what
      // the receiver has ACKed.
      raw_end = tcp->stream(dir).acked_end();
      in.stream_offset = raw_block(*tcp, dir, ext->state.raw_progress[index(dir)], raw_end, in.stream);
    }
    // Classification sees each in-order stream byte once, as soon as it is in order (as the
    // app layer does, not waiting for the ACK as raw-stream detection does), before the packet's
    // alerts are written so that they carry what it found.
    // TLS is encrypted past the handshake: nothing cleartext to find.
    if (classify_ && !ext->state.pass && flow->app_proto != static_cast<uint8_t>(rules::AppProto::Tls)) {
      if (tcp) {
        classify_stream(*flow, *tcp, dir);
      } else if (p.is_udp() && p.payload_len) {
        classify_block(*flow, index(dir), {p.payload, p.payload_len}, 0, true);
      }
    }
  }
  run_detect(p, flow, in);
  if (flow) impl_->app->after_packet(*flow, p);
  if (tcp) {
    uint64_t& progress = ext->state.raw_progress[index(dir)];
    progress = in.stream.empty() ? std::max(progress, in.stream_offset) : in.stream_offset + in.stream.size();
    tcp->consume(dir, StreamConsumer::kDetect, progress);
  }

  // Flow timeouts run on packet time, at most once a second of capture time.
  if (own_clock_ && p.ts.usec - impl_->last_expire_us >= kExpireIntervalUs) {
    impl_->last_expire_us = p.ts.usec;
    expire(p.ts);
  }
}

void Worker::run_detect(const Packet& p, Flow* flow, const DetectPacket& in) {
  auto* ext = flow ? static_cast<FlowDetectExt*>(flow->detect.get()) : nullptr;
  auto& alerts = impl_->alerts;
  alerts.clear();
  detect_->inspect(in, alerts);
  if (!alerts.empty()) {
    if (ext) ext->alerted = true;
    counters_.alerts += alerts.size();
    const bool write_eve = eve_ && log_alert_;
    if (write_eve || shipper_) {
      const auto& rules = engine_.rules();
      for (const Alert& a : alerts) {
        const rules::Rule& r = rules[a.rule];
        EveLine l = eve_packet_line(p, "alert", in.flow_id);
        if (flow) l.str("direction", in.to_server ? "to_server" : "to_client");
        l.begin("alert")
            .str("action", "allowed")
            .num("gid", r.gid)
            .num("signature_id", r.sid)
            .num("rev", r.rev)
            .str("signature", r.msg)
            .str("category", r.category)
            .num("severity", static_cast<uint64_t>(r.priority))
            .end();
        if (const char* ap = app_proto_name(in.app_proto)) l.str("app_proto", ap);
        // A flow with a state-secret stamp: the alert is a metadata stub, without the app-layer
        // object (DESIGN §6, top-secret).
        const classify::FlowClassification* fc = flow_cls(flow);
        const bool stub = fc && fc->secret && cfg_.classification_drop_secret_payload;
        std::string key, meta;
        if (flow && !stub && impl_->app->alert_metadata(*flow, a.tx, key, meta)) l.raw(key, meta);
        if (fc && fc->any()) l.raw("labels", labels_json(*fc));
        if (flow) {
          l.begin("flow")
              .num("pkts_toserver", flow->packets[0])
              .num("pkts_toclient", flow->packets[1])
              .num("bytes_toserver", flow->bytes[0])
              .num("bytes_toclient", flow->bytes[1])
              .str("start", core::format_eve_time(flow->first_ts))
              .end();
        }
        if (write_eve) eve_->write_line(l.finish());
        if (shipper_) ship_alert(p, flow, in, r, key, meta);
      }
    }
  }
}

void Worker::ship_alert(const Packet& p, const Flow* flow, const DetectPacket& in, const rules::Rule& r,
                        const std::string& app_key, const std::string& app_json) {
  // Unique within the sensor across restarts: the process start second above, a counter shared
  // by the workers below (2^32 events per run).
  static std::atomic<uint64_t> next_id{static_cast<uint64_t>(core::Timestamp::now().seconds()) << 32};
  core::Event e;
  e.id = next_id.fetch_add(1, std::memory_order_relaxed);
  e.time = p.ts;
  e.kind = core::EventKind::kAlert;
  e.flow = {p.src, p.dst, p.sport, p.dport, p.proto};
  e.flow_id = in.flow_id;
  e.vlan = p.vlan_count ? p.vlan[0] : 0;
  e.vni = p.vni;
  if (const char* ap = app_proto_name(in.app_proto)) e.app_proto = ap;
  e.alert = {r.gid, r.sid, r.rev, r.msg, r.category, static_cast<uint8_t>(r.priority), "allowed"};
  // The bare app-layer object (core/event.h); e.app_proto says which protocol it belongs to.
  if (!app_key.empty()) e.app_json = app_json;
  if (const classify::FlowClassification* fc = flow_cls(flow); fc && fc->any()) {
    e.labels.pii = fc->pii();
    e.labels.secrecy = fc->secrecy();
    e.labels.tags = fc->tags();
  }
  if (!shipper_->submit(std::move(e))) ++counters_.ship_dropped;
}

void Worker::ship_flow(const Flow& f, FlowEndReason reason) {
  static std::atomic<uint64_t> next_id{static_cast<uint64_t>(core::Timestamp::now().seconds()) << 32};
  auto* fext = static_cast<FlowDetectExt*>(f.detect.get());
  nlohmann::json obj{{"pkts_toserver", f.packets[0]},
                     {"pkts_toclient", f.packets[1]},
                     {"bytes_toserver", f.bytes[0]},
                     {"bytes_toclient", f.bytes[1]},
                     {"start", core::format_eve_time(f.first_ts)},
                     {"end", core::format_eve_time(f.last_ts)},
                     {"age", std::max<int64_t>(0, f.last_ts.seconds() - f.first_ts.seconds())},
                     {"state", state_name(f.state)},
                     {"reason", to_string(reason)},
                     {"alerted", fext && fext->alerted}};
  core::Event e;
  e.id = next_id.fetch_add(1, std::memory_order_relaxed);
  e.time = f.first_ts;  // EVE's flow record time: the flow's start
  e.kind = core::EventKind::kFlow;
  e.flow = {f.client_ip, f.server_ip, f.client_port, f.server_port, f.proto};
  e.flow_id = f.id;
  e.vlan = f.key.vlan[0];
  e.vni = f.key.vni;
  if (const char* ap = app_proto_name(static_cast<rules::AppProto>(f.app_proto))) e.app_proto = ap;
  e.app_json = obj.dump();
  if (!shipper_->submit(std::move(e))) ++counters_.ship_dropped;
  ++counters_.flows_shipped;
}

void Worker::expire(core::Timestamp now) {
  flows_->expire(now, [this](Flow& f, FlowEndReason reason) { end_flow(f, reason); });
}

void Worker::flush() {
  flows_->flush_all([this](Flow& f, FlowEndReason reason) { end_flow(f, reason); });
}

void Worker::end_flow(Flow& f, FlowEndReason reason) {
  // Like Suricata's end-of-flow pseudo packets: inspect stream data not yet inspected (unACKed
  // data included) once per direction, together with the transactions the close completed.
  auto* ext = static_cast<FlowDetectExt*>(f.detect.get());
  if (ext && !ext->state.pass) {
    if (f.tcp) impl_->streams->finish(f);
    if (classify_ && f.tcp && f.app_proto != static_cast<uint8_t>(rules::AppProto::Tls)) {
      classify_stream(f, *f.tcp, Direction::ToServer);
      classify_stream(f, *f.tcp, Direction::ToClient);
    }
    std::vector<const AppTxView*> txs[2];
    impl_->app->finish_flow(f, f.tcp.get(), txs[0], txs[1]);
    for (Direction d : {Direction::ToServer, Direction::ToClient}) {
      bool ts = d == Direction::ToServer;
      Packet pseudo;
      pseudo.decoded = true;
      pseudo.has_l4 = true;
      pseudo.proto = f.proto;
      pseudo.ip_version = f.ip_version;
      pseudo.src = ts ? f.client_ip : f.server_ip;
      pseudo.dst = ts ? f.server_ip : f.client_ip;
      pseudo.sport = ts ? f.client_port : f.server_port;
      pseudo.dport = ts ? f.server_port : f.client_port;
      pseudo.ts = f.last_ts;
      DetectPacket in;
      in.pkt = &pseudo;
      in.flow = &ext->state;
      in.flow_id = f.id;
      in.to_server = ts;
      in.established = f.established;
      in.app_proto = static_cast<rules::AppProto>(f.app_proto);
      in.stream_added = f.tcp != nullptr;
      in.pseudo = true;
      in.txs = txs[index(d)];
      uint64_t end = f.tcp ? f.tcp->stream(d).contiguous_end() : 0;
      uint64_t& progress = ext->state.raw_progress[index(d)];
      bool first = true;
      while (first || progress < end) {
        in.stream = {};
        if (f.tcp && progress < end) in.stream_offset = raw_block(*f.tcp, d, progress, end, in.stream);
        if (in.stream.empty() && in.txs.empty()) break;
        run_detect(pseudo, &f, in);
        if (in.stream.empty()) break;
        progress = in.stream_offset + in.stream.size();
        in.txs = {};  // transactions once per direction
        first = false;
      }
    }
  }
  classify_flow_end(f);
  impl_->app->on_flow_end(f);
  if (shipper_ && ship_flows_) ship_flow(f, reason);
  if (!eve_ || !log_flow_) return;
  ++counters_.flows_logged;
  EveLine l;
  flow_record_head(l, f, f.first_ts, "flow");
  auto* fext = static_cast<FlowDetectExt*>(f.detect.get());
  l.begin("flow")
      .num("pkts_toserver", f.packets[0])
      .num("pkts_toclient", f.packets[1])
      .num("bytes_toserver", f.bytes[0])
      .num("bytes_toclient", f.bytes[1])
      .str("start", core::format_eve_time(f.first_ts))
      .str("end", core::format_eve_time(f.last_ts))
      .num("age", static_cast<uint64_t>(std::max<int64_t>(0, f.last_ts.seconds() - f.first_ts.seconds())))
      .str("state", state_name(f.state))
      .str("reason", to_string(reason))
      .boolean("alerted", fext && fext->alerted)
      .end();
  eve_->write_line(l.finish());
}

void Worker::add_stats(Json& stats) const {
  auto add = [](Json& obj, const char* key, uint64_t v) {
    obj[key] = (obj.contains(key) ? obj[key].get<uint64_t>() : 0) + v;
  };
  Json& d = stats["detect"];
  add(d, "alerts", counters_.alerts);
  add(d, "candidates", detect_->counters().candidates);
  add(d, "suppressed", detect_->counters().suppressed);
  add(d, "alert_queue_overflow", detect_->counters().alert_limit_hits);
  add(d, "scan_errors", detect_->counters().scan_errors);
  Json& fl = stats["flow"];
  const auto& fc = flows_->counters();
  add(fl, "total", fc.created);
  add(fl, "timed_out", fc.timed_out);
  add(fl, "evicted", fc.evicted);
  add(fl, "memcap_hits", fc.memcap_hits);
  add(fl, "logged", counters_.flows_logged);
  impl_->app->add_stats(stats);
  Json& w = stats["worker"];
  add(w, "packets", counters_.packets);
  add(w, "checksum_bad", counters_.checksum_bad);
  add(w, "no_flow", counters_.no_flow);
  add(w, "ship_dropped", counters_.ship_dropped);
  if (classify_) {
    const auto& cc = classify_->counters();
    Json& c = stats["classification"];
    add(c, "bytes", cc.bytes);
    add(c, "bytes_skipped", cc.bytes_skipped);
    add(c, "candidates", cc.candidates);
    add(c, "confirmed", cc.confirmed);
    add(c, "rejected", cc.rejected);
    add(c, "scan_errors", cc.scan_errors);
    add(c, "flows_pii", cc.flows_pii);
    add(c, "flows_pii_sensitive", cc.flows_sensitive);
    add(c, "flows_state_secret", cc.flows_secret);
    add(c, "records", cc.records);
    add(c, "redacted", cc.redacted);
  }
}

}  // namespace vigil::sensor
