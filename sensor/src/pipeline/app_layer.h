// The worker's application layer: picks a parser per flow by content (app::detect_app_proto),
// feeds it in-order stream bytes (TCP) or datagrams (UDP), and exposes the transactions a packet
// updated to detection as AppTxViews. It also writes the protocol EVE records (http, dns, tls)
// and supplies the app-layer object attached to alerts.
//
// Direction: request-side buffers are inspected on packets to the server, response-side ones on
// packets to the client, each on the packet that completed them.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "vigil/core/event.h"
#include "vigil/sensor/config.h"
#include "vigil/sensor/detect.h"
#include "vigil/sensor/eve.h"
#include "vigil/sensor/flow.h"
#include "vigil/sensor/stream.h"

namespace vigil::sensor {

namespace app {
class HttpTx;
class TlsState;
}  // namespace app

struct AppCounters {
  uint64_t flows_http = 0, flows_dns = 0, flows_tls = 0, flows_failed = 0;
  uint64_t http_txs = 0, dns_txs = 0, tls_sessions = 0;
  uint64_t records = 0;
  uint64_t records_shipped = 0;  // http/dns/tls records handed to the shipper
};

class AppLayer {
 public:
  AppLayer(const SensorConfig& cfg, EveWriter* eve);
  ~AppLayer();

  // Feeds what `p` brought to the flow's parser (creating it once the protocol is known) and
  // fills `txs` with views of the transactions it updated in `dir`. Views stay valid until the
  // next call for any flow.
  void on_packet(Flow& f, const Packet& p, Direction dir, TcpSession* tcp,
                 std::vector<const AppTxView*>& txs);
  // After detection of the packet: writes protocol records that are complete and frees them.
  void after_packet(Flow& f, const Packet& p);
  // The flow is ending: hands the parser what the stream still holds (holes given up on), closes
  // it, and fills views of every live transaction per direction for a last detection pass
  // (bodies delimited by the connection close complete only now). Views stay valid until the
  // next call for any flow.
  void finish_flow(Flow& f, TcpSession* tcp, std::vector<const AppTxView*>& to_server,
                   std::vector<const AppTxView*>& to_client);
  // The flow ends (after finish_flow and its detection pass): logs what is left.
  void on_flow_end(Flow& f);

  // The app-layer object for an alert that matched `tx` (or the flow's TLS state): key
  // ("http", "dns", "tls") and the object as JSON text. Returns false when there is none.
  bool alert_metadata(const Flow& f, const AppTxView* tx, std::string& key, std::string& json) const;

  // Applied to the JSON text of every http record and alert app-layer object before it leaves
  // (the classification detectors mask identifiers in URLs and headers).
  void set_redactor(std::function<void(std::string&)> fn) { redact_ = std::move(fn); }

  // Ships http/dns/tls records (the same, redacted, objects as EVE's) as events of their kind
  // when the kind is listed in correlator.records. `ship` must be thread-safe (EventShipper).
  void set_shipper(std::function<void(core::Event&&)> ship) { ship_ = std::move(ship); }

  [[nodiscard]] const AppCounters& counters() const { return counters_; }
  void add_stats(Json& stats) const;

 private:
  bool alert_object(const Flow& f, const AppTxView* tx, std::string& key, std::string& json) const;
  void log_http(const Flow& f, const app::HttpTx& tx, core::Timestamp ts);
  void log_tls(const Flow& f, const app::TlsState& state, core::Timestamp ts);
  void ship_record(const Flow& f, core::Timestamp ts, core::EventKind kind, std::string obj);
  // Adds a finished flow's parser counters to the totals.
  void accumulate(FlowExtension& app_ext);
  // Feeds the parser the in-order bytes of `dir` not handed over yet.
  void feed_stream(Flow& f, TcpSession& tcp, Direction dir, core::Timestamp ts);
  struct Impl;
  std::unique_ptr<Impl> impl_;
  const SensorConfig& cfg_;
  EveWriter* eve_;
  AppCounters counters_;
  std::function<void(std::string&)> redact_;
  std::function<void(core::Event&&)> ship_;
};

}  // namespace vigil::sensor
