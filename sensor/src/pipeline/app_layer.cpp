#include "app_layer.h"

#include <deque>
#include <set>

#include <nlohmann/json.hpp>

#include "vigil/sensor/app/app_parser.h"
#include "vigil/sensor/app/dns.h"
#include "vigil/sensor/app/http.h"
#include "vigil/sensor/app/tls.h"

namespace vigil::sensor {

using rules::AppProto;
using rules::Buffer;

namespace {

// Protocol detection gives up after this many bytes in a direction without a verdict.
constexpr uint64_t kDetectLimit = 4096;

bool request_side(Buffer b) {
  switch (b) {
    case Buffer::HttpUri: case Buffer::HttpUriRaw: case Buffer::HttpMethod:
    case Buffer::HttpProtocol: case Buffer::HttpRequestLine: case Buffer::HttpHost:
    case Buffer::HttpHostRaw: case Buffer::HttpUserAgent: case Buffer::HttpRequestBody:
    case Buffer::HttpAccept: case Buffer::HttpReferer:
      return true;
    default: return false;
  }
}
bool response_side(Buffer b) {
  switch (b) {
    case Buffer::HttpStatCode: case Buffer::HttpStatMsg: case Buffer::HttpResponseLine:
    case Buffer::HttpResponseBody:
      return true;
    default: return false;
  }
}
bool both_sides(Buffer b) {
  switch (b) {
    case Buffer::HttpHeader: case Buffer::HttpHeaderRaw: case Buffer::HttpCookie:
    case Buffer::HttpContentType: case Buffer::HttpContentLen: case Buffer::HttpStart:
    case Buffer::FileData: case Buffer::HttpConnection:
      return true;
    default: return false;
  }
}

class HttpTxView final : public AppTxView {
 public:
  HttpTxView(const app::HttpTx* tx, bool to_server) : tx_(tx), to_server_(to_server) {}
  uint64_t tx_id() const override { return tx_->id(); }
  size_t buffer_count(Buffer b) const override {
    bool ok = to_server_ ? (request_side(b) || both_sides(b)) : (response_side(b) || both_sides(b));
    return ok && !tx_->buffer(b, to_server_).empty() ? 1 : 0;
  }
  std::span<const uint8_t> buffer(Buffer b, size_t) const override { return tx_->buffer(b, to_server_); }
  bool complete() const override { return tx_->complete(); }
  const app::HttpTx* tx() const { return tx_; }

 private:
  const app::HttpTx* tx_;
  bool to_server_;
};

class DnsTxView final : public AppTxView {
 public:
  DnsTxView(const app::DnsTx* tx, bool to_server) : tx_(tx) {
    // dns.query inspects requests (Suricata 7: to-server only).
    if (to_server && tx->request) queries_ = tx->query_buffers();
  }
  uint64_t tx_id() const override { return tx_->id; }
  size_t buffer_count(Buffer b) const override { return b == Buffer::DnsQuery ? queries_.size() : 0; }
  std::span<const uint8_t> buffer(Buffer b, size_t i) const override { return queries_[i]; }
  bool complete() const override { return tx_->complete(); }
  const app::DnsTx* tx() const { return tx_; }

 private:
  const app::DnsTx* tx_;
  std::vector<std::span<const uint8_t>> queries_;
};

class TlsView final : public AppTxView {
 public:
  explicit TlsView(const app::TlsState* s) : s_(s) {}
  uint64_t tx_id() const override { return 0; }
  size_t buffer_count(Buffer b) const override { return s_->buffer(b).empty() ? 0 : 1; }
  std::span<const uint8_t> buffer(Buffer b, size_t) const override { return s_->buffer(b); }
  bool complete() const override { return s_->handshake_done(); }
  uint16_t tls_version() const override { return s_->version(); }
  const app::TlsState* state() const { return s_; }

 private:
  const app::TlsState* s_;
};

struct FlowAppExt final : FlowExtension {
  AppProto proto = AppProto::Unknown;
  bool detect_failed[2] = {false, false};
  std::unique_ptr<app::AppParser> parser;
  uint64_t progress[2] = {0, 0};  // stream offsets handed to the parser, per direction
  std::set<uint64_t> http_logged;
  std::set<uint64_t> dns_query_logged, dns_answer_logged;
  bool tls_logged = false;
};


}  // namespace

// The parser counters that go into the stats record, each named once.
constexpr std::pair<const char*, uint64_t app::HttpStats::*> kHttpCounters[] = {
    {"requests", &app::HttpStats::requests},
    {"responses", &app::HttpStats::responses},
    {"request_body_truncated", &app::HttpStats::request_body_truncated},
    {"response_body_truncated", &app::HttpStats::response_body_truncated},
    {"compression_bomb", &app::HttpStats::compression_bomb},
    {"decompression_failed", &app::HttpStats::decompression_failed},
    {"too_many_encoding_layers", &app::HttpStats::too_many_encoding_layers},
    {"field_too_long", &app::HttpStats::field_too_long},
    {"too_many_headers", &app::HttpStats::too_many_headers},
    {"invalid_chunk_length", &app::HttpStats::invalid_chunk_length},
    {"invalid_header", &app::HttpStats::invalid_header},
    {"stream_errors", &app::HttpStats::stream_errors},
    {"gaps", &app::HttpStats::gaps},
    {"txs_dropped", &app::HttpStats::txs_dropped},
};
constexpr std::pair<const char*, uint64_t app::DnsStats::*> kDnsCounters[] = {
    {"requests", &app::DnsStats::requests},
    {"responses", &app::DnsStats::responses},
    {"malformed", &app::DnsStats::malformed},
    {"name_too_long", &app::DnsStats::name_too_long},
    {"pointer_loops", &app::DnsStats::pointer_loops},
    {"too_many_records", &app::DnsStats::too_many_records},
    {"unsolicited_responses", &app::DnsStats::unsolicited_responses},
    {"txs_dropped", &app::DnsStats::txs_dropped},
    {"tcp_bad_length", &app::DnsStats::tcp_bad_length},
};
constexpr std::pair<const char*, uint64_t app::TlsStats::*> kTlsCounters[] = {
    {"client_hellos", &app::TlsStats::client_hellos},
    {"server_hellos", &app::TlsStats::server_hellos},
    {"certificates", &app::TlsStats::certificates},
    {"malformed", &app::TlsStats::malformed},
    {"gaps", &app::TlsStats::gaps},
    {"sslv2", &app::TlsStats::sslv2},
};

// Parser counters summed over the flows that ended, for the stats record.
struct ParserTotals {
  app::HttpStats http;
  app::DnsStats dns;
  app::TlsStats tls;
};

struct AppLayer::Impl {
  ParserTotals totals;
  std::shared_ptr<const app::HttpEngine> http;
  app::DnsConfig dns;
  app::TlsConfig tls;
  // Views handed to detection for the current packet; deques keep addresses stable.
  std::deque<HttpTxView> http_views;
  std::deque<DnsTxView> dns_views;
  std::deque<TlsView> tls_views;
  bool log_http = false, log_dns = false, log_tls = false;
  bool ship_http = false, ship_dns = false, ship_tls = false;
};

AppLayer::AppLayer(const SensorConfig& cfg, EveWriter* eve) : impl_(std::make_unique<Impl>()), cfg_(cfg), eve_(eve) {
  app::HttpConfig hc;
  hc.request_body_limit = static_cast<uint32_t>(cfg.http_request_body_limit);
  hc.response_body_limit = static_cast<uint32_t>(cfg.http_response_body_limit);
  hc.response_decompress_layer_limit = static_cast<int>(cfg.http_decompress_layer_limit);
  impl_->http = app::HttpEngine::create(hc);
  for (const auto& t : cfg.eve_types) {
    if (t == "http") impl_->log_http = true;
    if (t == "dns") impl_->log_dns = true;
    if (t == "tls") impl_->log_tls = true;
  }
  for (const auto& t : cfg.ship_records) {
    if (t == "http") impl_->ship_http = true;
    if (t == "dns") impl_->ship_dns = true;
    if (t == "tls") impl_->ship_tls = true;
  }
}

void AppLayer::ship_record(const Flow& f, core::Timestamp ts, core::EventKind kind, std::string obj) {
  // Unique per kind within the sensor across restarts, like the alerts' ids (the event key
  // includes the kind): the process start second above, a shared counter below.
  static std::atomic<uint64_t> next_id{static_cast<uint64_t>(core::Timestamp::now().seconds()) << 32};
  core::Event e;
  e.id = next_id.fetch_add(1, std::memory_order_relaxed);
  e.time = ts;
  e.kind = kind;
  e.flow = {f.client_ip, f.server_ip, f.client_port, f.server_port, f.proto};
  e.flow_id = f.id;
  e.vlan = f.key.vlan[0];
  e.vni = f.key.vni;
  switch (static_cast<AppProto>(f.app_proto)) {
    case AppProto::Http: e.app_proto = "http"; break;
    case AppProto::Dns: e.app_proto = "dns"; break;
    case AppProto::Tls: e.app_proto = "tls"; break;
    default: break;
  }
  e.app_json = std::move(obj);
  ship_(std::move(e));
  ++counters_.records_shipped;
}

AppLayer::~AppLayer() = default;

void AppLayer::on_packet(Flow& f, const Packet& p, Direction dir, TcpSession* tcp,
                         std::vector<const AppTxView*>& txs) {
  Impl& im = *impl_;
  im.http_views.clear();
  im.dns_views.clear();
  im.tls_views.clear();
  if (!f.app) f.app = std::make_unique<FlowAppExt>();
  auto& ext = static_cast<FlowAppExt&>(*f.app);
  const bool to_server = dir == Direction::ToServer;
  const size_t d = index(dir);

  auto create = [&](AppProto proto, bool over_tcp) {
    ext.proto = proto;
    f.app_proto = static_cast<uint8_t>(proto);
    switch (proto) {
      case AppProto::Http:
        if (!cfg_.http_enabled) break;
        ext.parser = std::make_unique<app::HttpParser>(im.http, f.client_port, f.server_port, f.first_ts);
        ++counters_.flows_http;
        break;
      case AppProto::Dns:
        if (!cfg_.dns_enabled) break;
        if (over_tcp) ext.parser = std::make_unique<app::DnsTcpParser>(im.dns);
        else ext.parser = std::make_unique<app::DnsUdpParser>(im.dns);
        ++counters_.flows_dns;
        break;
      case AppProto::Tls:
        if (!cfg_.tls_enabled) break;
        ext.parser = std::make_unique<app::TlsParser>(im.tls);
        ++counters_.flows_tls;
        break;
      default:
        ++counters_.flows_failed;
        break;
    }
  };

  if (p.is_tcp()) {
    if (!tcp) return;
    if (ext.proto == AppProto::Failed || (ext.proto != AppProto::Unknown && !ext.parser)) {
      tcp->consume(dir, StreamConsumer::kApp, tcp->stream(dir).contiguous_end());
      return;
    }
    if (ext.proto == AppProto::Unknown) {
      const StreamBuffer& sb = tcp->stream(dir);
      if (sb.contiguous_end() > 0 && !ext.detect_failed[d]) {
        StreamChunk first = sb.chunk(0);
        AppProto r = first.data.empty() || first.offset != 0
                         ? AppProto::Failed
                         : app::detect_app_proto(first.data, to_server, 6, p.sport, p.dport);
        if (r == AppProto::Unknown && sb.contiguous_end() > kDetectLimit) r = AppProto::Failed;
        if (r == AppProto::Failed) {
          ext.detect_failed[d] = true;
          tcp->consume(dir, StreamConsumer::kApp, sb.contiguous_end());
          ext.progress[d] = sb.contiguous_end();
          const auto& other = tcp->stream(opposite(dir));
          if (ext.detect_failed[1 - d] || other.contiguous_end() > kDetectLimit) create(AppProto::Failed, true);
        } else if (r != AppProto::Unknown) {
          create(r, true);
          // Data already in the other direction goes in first when it came first: a client
          // speaks first in every protocol here, so feed to-server data before to-client.
          ext.progress[1 - d] = ext.detect_failed[1 - d] ? ext.progress[1 - d] : 0;
        }
      }
    }
    if (ext.parser) {
      if (!to_server && ext.progress[0] < tcp->stream(Direction::ToServer).contiguous_end()) {
        feed_stream(f, *tcp, Direction::ToServer, p.ts);
      }
      feed_stream(f, *tcp, dir, p.ts);
    }
  } else if (p.is_udp()) {
    if (ext.proto == AppProto::Unknown) {
      AppProto r = app::detect_app_proto({p.payload, p.payload_len}, to_server, 17, p.sport, p.dport);
      create(r == AppProto::Dns ? AppProto::Dns : AppProto::Failed, false);
    }
    if (ext.parser && p.payload_len) ext.parser->on_data(to_server, {p.payload, p.payload_len}, p.ts);
  } else {
    return;
  }
  if (!ext.parser) return;

  switch (ext.proto) {
    case AppProto::Http: {
      auto* hp = static_cast<app::HttpParser*>(ext.parser.get());
      for (const app::HttpTx* tx : hp->updated_txs()) txs.push_back(&im.http_views.emplace_back(tx, to_server));
      break;
    }
    case AppProto::Dns: {
      auto* dp = static_cast<app::DnsParserBase*>(ext.parser.get());
      for (const app::DnsTx* tx : dp->updated_txs()) txs.push_back(&im.dns_views.emplace_back(tx, to_server));
      break;
    }
    case AppProto::Tls: {
      auto* tp = static_cast<app::TlsParser*>(ext.parser.get());
      if (tp->updated()) txs.push_back(&im.tls_views.emplace_back(&tp->state()));
      break;
    }
    default: break;
  }
}

void AppLayer::feed_stream(Flow& f, TcpSession& tcp, Direction fd, core::Timestamp ts) {
  auto& ext = static_cast<FlowAppExt&>(*f.app);
  const StreamBuffer& sb = tcp.stream(fd);
  uint64_t& prog = ext.progress[index(fd)];
  uint64_t end = sb.contiguous_end();
  while (prog < end) {
    StreamChunk c = sb.chunk(prog);
    if (c.empty()) break;
    if (c.gap_len) {
      ext.parser->on_gap(fd == Direction::ToServer, c.gap_len);
      prog = c.offset + c.gap_len;
    } else {
      ext.parser->on_data(fd == Direction::ToServer, c.data, ts);
      prog = c.offset + c.data.size();
    }
  }
  tcp.consume(fd, StreamConsumer::kApp, prog);
}

void AppLayer::finish_flow(Flow& f, TcpSession* tcp, std::vector<const AppTxView*>& to_server,
                           std::vector<const AppTxView*>& to_client) {
  Impl& im = *impl_;
  im.http_views.clear();
  im.dns_views.clear();
  im.tls_views.clear();
  if (!f.app) return;
  auto& ext = static_cast<FlowAppExt&>(*f.app);
  if (!ext.parser) return;
  // Transactions already complete were inspected when they completed; only those the remaining
  // bytes or the close change get a last pass.
  std::set<uint64_t> done_before;
  bool tls_done_before = false;
  switch (ext.proto) {
    case AppProto::Http:
      for (const auto& tx : static_cast<app::HttpParser&>(*ext.parser).txs()) {
        if (tx->complete()) done_before.insert(tx->id());
      }
      break;
    case AppProto::Dns:
      for (const auto& tx : static_cast<app::DnsParserBase&>(*ext.parser).txs()) {
        if (tx->complete()) done_before.insert(tx->id);
      }
      break;
    case AppProto::Tls:
      tls_done_before = static_cast<app::TlsParser&>(*ext.parser).state().handshake_done();
      break;
    default: break;
  }
  if (tcp) {
    feed_stream(f, *tcp, Direction::ToServer, f.last_ts);
    feed_stream(f, *tcp, Direction::ToClient, f.last_ts);
  }
  ext.parser->on_close();
  switch (ext.proto) {
    case AppProto::Http:
      for (const auto& tx : static_cast<app::HttpParser&>(*ext.parser).txs()) {
        if (done_before.count(tx->id())) continue;
        to_server.push_back(&im.http_views.emplace_back(tx.get(), true));
        to_client.push_back(&im.http_views.emplace_back(tx.get(), false));
      }
      break;
    case AppProto::Dns:
      for (const auto& tx : static_cast<app::DnsParserBase&>(*ext.parser).txs()) {
        if (done_before.count(tx->id)) continue;
        to_server.push_back(&im.dns_views.emplace_back(tx.get(), true));
      }
      break;
    case AppProto::Tls: {
      if (tls_done_before) break;
      const auto* st = &static_cast<app::TlsParser&>(*ext.parser).state();
      to_server.push_back(&im.tls_views.emplace_back(st));
      to_client.push_back(&im.tls_views.emplace_back(st));
      break;
    }
    default: break;
  }
}

namespace {
EveLine flow_head(const Flow& f, core::Timestamp ts, const char* type) {
  EveLine l;
  l.str("timestamp", core::format_eve_time(ts))
      .num("flow_id", f.id)
      .str("event_type", type)
      .str("src_ip", f.client_ip.to_string())
      .num("src_port", f.client_port)
      .str("dest_ip", f.server_ip.to_string())
      .num("dest_port", f.server_port)
      .str("proto", eve_proto_name(f.proto));
  return l;
}

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}
}  // namespace

// Each transaction or session is logged once; the callers keep the "logged" marks.
void AppLayer::log_http(const Flow& f, const app::HttpTx& tx, core::Timestamp ts) {
  ++counters_.http_txs;
  const bool eve = eve_ && impl_->log_http, ship = ship_ && impl_->ship_http;
  if (!eve && !ship) return;
  std::string obj = dump(app::http_eve(tx));
  if (redact_) redact_(obj);
  if (eve) {
    EveLine l = flow_head(f, ts, "http");
    l.num("tx_id", tx.id()).raw("http", obj);
    eve_->write_line(l.finish());
    ++counters_.records;
  }
  if (ship) ship_record(f, ts, core::EventKind::kHttp, std::move(obj));
}

void AppLayer::log_tls(const Flow& f, const app::TlsState& state, core::Timestamp ts) {
  ++counters_.tls_sessions;
  const bool eve = eve_ && impl_->log_tls, ship = ship_ && impl_->ship_tls;
  if (!eve && !ship) return;
  std::string obj = dump(app::tls_eve(state));
  if (eve) {
    EveLine l = flow_head(f, ts, "tls");
    l.raw("tls", obj);
    eve_->write_line(l.finish());
    ++counters_.records;
  }
  if (ship) ship_record(f, ts, core::EventKind::kTls, std::move(obj));
}

void AppLayer::after_packet(Flow& f, const Packet& p) {
  if (!f.app) return;
  auto& ext = static_cast<FlowAppExt&>(*f.app);
  if (!ext.parser) return;
  switch (ext.proto) {
    case AppProto::Http: {
      auto* hp = static_cast<app::HttpParser*>(ext.parser.get());
      for (const app::HttpTx* tx : hp->updated_txs()) {
        if (!tx->complete() || ext.http_logged.count(tx->id())) continue;
        ext.http_logged.insert(tx->id());
        log_http(f, *tx, p.ts);
      }
      hp->release_completed();
      break;
    }
    case AppProto::Dns: {
      auto* dp = static_cast<app::DnsParserBase*>(ext.parser.get());
      for (const app::DnsTx* tx : dp->updated_txs()) {
        if (tx->request && ext.dns_query_logged.insert(tx->id).second) {
          ++counters_.dns_txs;
          const bool eve = eve_ && impl_->log_dns, ship = ship_ && impl_->ship_dns;
          if (eve || ship) {
            for (const auto& q : app::dns_eve_queries(*tx)) {
              std::string obj = dump(q);
              if (eve) {
                EveLine l = flow_head(f, p.ts, "dns");
                l.raw("dns", obj);
                eve_->write_line(l.finish());
                ++counters_.records;
              }
              if (ship) ship_record(f, p.ts, core::EventKind::kDns, std::move(obj));
            }
          }
        }
        const bool eve_a = eve_ && impl_->log_dns, ship_a = ship_ && impl_->ship_dns;
        if (tx->response && (eve_a || ship_a) && ext.dns_answer_logged.insert(tx->id).second) {
          if (auto a = app::dns_eve_answer(*tx)) {
            std::string obj = dump(*a);
            if (eve_a) {
              EveLine l = flow_head(f, p.ts, "dns");
              l.raw("dns", obj);
              eve_->write_line(l.finish());
              ++counters_.records;
            }
            if (ship_a) ship_record(f, p.ts, core::EventKind::kDns, std::move(obj));
          }
        }
      }
      dp->release_completed();
      break;
    }
    case AppProto::Tls: {
      auto* tp = static_cast<app::TlsParser*>(ext.parser.get());
      if (!ext.tls_logged && tp->state().handshake_done()) {
        ext.tls_logged = true;
        log_tls(f, tp->state(), p.ts);
      }
      break;
    }
    default: break;
  }
}

void AppLayer::on_flow_end(Flow& f) {
  if (!f.app) return;
  auto& ext = static_cast<FlowAppExt&>(*f.app);
  if (!ext.parser) return;
  accumulate(ext);
  core::Timestamp ts = f.last_ts;
  switch (ext.proto) {
    case AppProto::Http: {
      auto* hp = static_cast<app::HttpParser*>(ext.parser.get());
      for (const auto& tx : hp->txs()) {
        if (!tx->request_started() || ext.http_logged.count(tx->id())) continue;
        ext.http_logged.insert(tx->id());
        log_http(f, *tx, ts);
      }
      break;
    }
    case AppProto::Tls: {
      auto* tp = static_cast<app::TlsParser*>(ext.parser.get());
      if (!ext.tls_logged && tp->state().client_hello()) {
        ext.tls_logged = true;
        log_tls(f, tp->state(), ts);
      }
      break;
    }
    default: break;
  }
}

bool AppLayer::alert_metadata(const Flow& f, const AppTxView* tx, std::string& key, std::string& value) const {
  bool found = alert_object(f, tx, key, value);
  if (found && redact_) redact_(value);
  return found;
}

bool AppLayer::alert_object(const Flow& f, const AppTxView* tx, std::string& key, std::string& value) const {
  if (tx) {
    if (auto* h = dynamic_cast<const HttpTxView*>(tx)) {
      key = "http";
      value = dump(app::http_eve(*h->tx()));
      return true;
    }
    if (auto* d = dynamic_cast<const DnsTxView*>(tx)) {
      auto qs = app::dns_eve_queries(*d->tx());
      if (qs.empty()) return false;
      key = "dns";
      value = dump(qs.front());
      return true;
    }
  }
  if (!f.app) return false;
  const auto& ext = static_cast<const FlowAppExt&>(*f.app);
  if (ext.proto == AppProto::Tls && ext.parser) {
    key = "tls";
    value = dump(app::tls_eve(static_cast<const app::TlsParser&>(*ext.parser).state()));
    return true;
  }
  return false;
}

void AppLayer::accumulate(FlowExtension& app_ext) {
  auto& ext = static_cast<FlowAppExt&>(app_ext);
  ParserTotals& t = impl_->totals;
  auto sum = [](auto& total, const auto& flow, const auto& fields) {
    for (const auto& [name, field] : fields) total.*field += flow.*field;
  };
  switch (ext.proto) {
    case AppProto::Http: sum(t.http, static_cast<app::HttpParser&>(*ext.parser).stats(), kHttpCounters); break;
    case AppProto::Dns: sum(t.dns, static_cast<app::DnsParserBase&>(*ext.parser).stats(), kDnsCounters); break;
    case AppProto::Tls: sum(t.tls, static_cast<app::TlsParser&>(*ext.parser).stats(), kTlsCounters); break;
    default: break;
  }
}

void AppLayer::add_stats(Json& stats) const {
  auto add = [](Json& obj, const char* k, uint64_t v) {
    obj[k] = (obj.contains(k) ? obj[k].get<uint64_t>() : 0) + v;
  };
  Json& a = stats["app_layer"];
  add(a, "flows_http", counters_.flows_http);
  add(a, "flows_dns", counters_.flows_dns);
  add(a, "flows_tls", counters_.flows_tls);
  add(a, "flows_failed", counters_.flows_failed);
  add(a, "http_txs", counters_.http_txs);
  add(a, "dns_txs", counters_.dns_txs);
  add(a, "tls_sessions", counters_.tls_sessions);
  add(a, "records", counters_.records);
  const ParserTotals& t = impl_->totals;
  auto put = [&](Json& obj, const auto& totals, const auto& fields) {
    for (const auto& [name, field] : fields) add(obj, name, totals.*field);
  };
  put(a["http"], t.http, kHttpCounters);
  put(a["dns"], t.dns, kDnsCounters);
  put(a["tls"], t.tls, kTlsCounters);
}

}  // namespace vigil::sensor
