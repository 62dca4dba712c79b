#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>

#include "vigil/core/codec.h"
#include "vigil/correlator/config.h"
#include "vigil/correlator/pipeline.h"
#include "vigil/correlator/rules.h"

using namespace vigil;
using namespace vigil::correlator;
using core::EventKind;
using core::IpAddress;

namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::random_device rd;
    path = std::filesystem::temp_directory_path() / ("vigil-corr-test-" + std::to_string(rd()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    auto p = (path / name).string();
    std::ofstream(p) << text;
    return p;
  }
};

const char* kRules = R"(
filters:
  scan: {kind: alert, category: "Attempted Information Leak"}
  exploit: {kind: alert, signature_id: [2000002]}
correlations:
  - id: scan-then-exploit
    title: Scan then exploit
    type: temporal_ordered
    rules: [scan, exploit]
    group-by: [src_ip]
    timespan: 60s
    severity: 1
    escalate: true
  - id: burst
    title: Burst of scans
    type: event_count
    rules: [scan]
    group-by: [src_ip]
    timespan: 10s
    condition: {gte: 3}
)";

core::Event alert_event(uint64_t id, int64_t sec, uint32_t sid, const std::string& cat, uint32_t src = 1) {
  core::Event e;
  e.id = id;
  e.time.usec = 1'700'000'000'000'000 + sec * 1'000'000;
  e.kind = EventKind::kAlert;
  e.flow.src_ip = IpAddress::v4(0x0a000000 + src);
  e.flow.dst_ip = IpAddress::v4(0xc0a80001);
  e.alert.sid = sid;
  e.alert.msg = "sig " + std::to_string(sid);
  e.alert.category = cat;
  e.alert.severity = 2;
  return e;
}

std::shared_ptr<const CorrelatorConfig> test_config() {
  auto c = std::make_shared<CorrelatorConfig>();
  c->sensors.push_back({"s1", std::string(40, 'a'), "moh"});
  TenantEntry t;
  t.name = "mof";
  t.vlans = {200};
  c->tenants.push_back(t);
  c->aggregation_window_usec = 5'000'000;
  return c;
}

IncomingBatch incoming(uint64_t seq, std::vector<core::Event> events, const std::string& sensor = "s1") {
  core::EventBatch b;
  b.sensor_id = sensor;
  b.seq = seq;
  b.events = std::move(events);
  return {"s1", *core::encode_batch(b)};
}

}  // namespace

TEST_CASE("correlation rules: errors name the file and the key", "[correlator][rules]") {
  TempDir d;
  auto ok = load_rules({d.write("ok.yaml", kRules)});
  REQUIRE(ok.ok());
  CHECK((*ok)->rules.size() == 2);

  auto bad_type = load_rules({d.write("t.yaml", "filters: {a: {kind: alert}}\ncorrelations:\n  - {id: x, type: bogus, rules: [a], timespan: 1m}\n")});
  REQUIRE_FALSE(bad_type.ok());
  CHECK(bad_type.error().to_string().find("t.yaml") != std::string::npos);
  CHECK(bad_type.error().to_string().find("'type'") != std::string::npos);

  auto unknown_key = load_rules({d.write("u.yaml", "filters: {a: {kind: alert}}\ncorrelations:\n  - {id: x, type: event_count, rules: [a], timespan: 1m, groupby: [src_ip]}\n")});
  REQUIRE_FALSE(unknown_key.ok());
  CHECK(unknown_key.error().to_string().find("groupby") != std::string::npos);

  auto bad_filter = load_rules({d.write("f.yaml", "filters: {a: {kind: alarm}}\n")});
  REQUIRE_FALSE(bad_filter.ok());
  CHECK(bad_filter.error().to_string().find("f.yaml: filters.a: key 'kind'") != std::string::npos);

  auto missing = load_rules({d.write("m.yaml", "correlations:\n  - {id: x, type: event_count, rules: [nope], timespan: 1m}\n")});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().to_string().find("unknown filter 'nope'") != std::string::npos);
}

TEST_CASE("correlator config is strict", "[correlator][config]") {
  TempDir d;
  d.write("c.key", "public: " + std::string(40, 'a') + "\nsecret: " + std::string(40, 'b') + "\n");
  auto good = load_config(d.write("good.yaml", "listen: ipc:///tmp/x\nserver_key_file: c.key\nsensors:\n  - {id: s1, public_key: '" +
                                                   std::string(40, 'c') + "', tenant: moh}\naggregation: {window: 90s}\n"));
  INFO((good.ok() ? std::string() : good.error().to_string()));
  REQUIRE(good.ok());
  CHECK(good->aggregation_window_usec == 90'000'000);
  CHECK(good->sensors.size() == 1);
  auto typo = load_config(d.write("typo.yaml", "listen: x\nserver_key_file: c.key\nretension: {alerts: 1d}\n"));
  REQUIRE_FALSE(typo.ok());
  CHECK(typo.error().to_string() == d.path.string() + "/typo.yaml: unknown key 'retension.alerts'");
  auto bad_sensor = load_config(d.write("bs.yaml", "server_key_file: c.key\nsensors:\n  - {id: s1, public_key: short, tenat: x}\n"));
  REQUIRE_FALSE(bad_sensor.ok());
  CHECK(bad_sensor.error().to_string().find("sensors[0]") != std::string::npos);
  CHECK(bad_sensor.error().to_string().find("tenat") != std::string::npos);
  auto bad_dur = load_config(d.write("bd.yaml", "server_key_file: c.key\naggregation: {window: soon}\n"));
  REQUIRE_FALSE(bad_dur.ok());
  CHECK(bad_dur.error().to_string().find("aggregation.window") != std::string::npos);
}

TEST_CASE("pipeline: aggregation, rules, escalation, dedup and restore", "[correlator][pipeline]") {
  TempDir d;
  auto rules = load_rules({d.write("r.yaml", kRules)});
  REQUIRE(rules.ok());
  auto intel = ThreatIntel::load({}, {}, {});
  REQUIRE(intel.ok());
  auto config = test_config();
  auto store = store::Store::open({(d.path / "db").string()});
  REQUIRE(store.ok());

  std::vector<IncomingBatch> in;
  in.push_back(incoming(1, {alert_event(1, 0, 2000001, "Attempted Information Leak"),
                            alert_event(2, 1, 2000001, "Attempted Information Leak")}));
  in.push_back(incoming(2, {alert_event(3, 2, 2000001, "Attempted Information Leak"),
                            alert_event(4, 3, 2000002, "Attempted Administrator Privilege Gain")}));
  {
    Pipeline p(**store, config, *rules, *intel);
    REQUIRE(p.start().ok());
    auto acks = p.ingest(in);
    REQUIRE(acks.size() == 2);
    CHECK(acks[0].status == core::AckStatus::kOk);
    CHECK(acks[1].status == core::AckStatus::kOk);
    // Seq 2 again is a duplicate; seq 4 skips 3 and must wait.
    std::vector<IncomingBatch> again{incoming(2, {alert_event(9, 9, 1, "x")}), incoming(4, {alert_event(10, 9, 1, "x")})};
    auto acks2 = p.ingest(again);
    CHECK(acks2[0].status == core::AckStatus::kDuplicate);
    CHECK(acks2[1].status == core::AckStatus::kRetry);
    CHECK(p.counters().events_stored == 4);
  }
  store::AlertQuery all;
  auto alerts = (*store)->query_alerts(all);
  REQUIRE(alerts.ok());
  int agg = 0, burst = 0, seq = 0;
  for (const auto& a : *alerts) {
    CHECK(a.tenant == "moh");
    if (a.rule == "aggregate" && a.sid == 2000001) {
      ++agg;
      CHECK(a.count == 3);
      CHECK(a.events.size() == 3);
    }
    if (a.rule == "burst") {
      ++burst;
      CHECK(a.count == 3);
    }
    if (a.rule == "scan-then-exploit") {
      ++seq;
      CHECK(!a.incident.empty());
      auto inc = (*store)->get_incident(*core::RecordId::parse(a.incident));
      REQUIRE((inc.ok() && inc->has_value()));
      auto h = (*store)->incident_history((*inc)->id);
      REQUIRE(h.ok());
      CHECK(h->size() == 1);
    }
  }
  CHECK(agg == 1);
  CHECK(burst == 1);
  CHECK(seq == 1);

  // A new pipeline on the same store continues the same windows: the 4th scan joins the burst
  // alert and the aggregate instead of opening new ones.
  {
    Pipeline p(**store, config, *rules, *intel);
    REQUIRE(p.start().ok());
    std::vector<IncomingBatch> more{incoming(3, {alert_event(5, 4, 2000001, "Attempted Information Leak")})};
    CHECK(p.ingest(more)[0].status == core::AckStatus::kOk);
  }
  auto after = (*store)->query_alerts(all);
  REQUIRE(after.ok());
  CHECK(after->size() == alerts->size());
  for (const auto& a : *after) {
    if (a.rule == "aggregate" && a.sid == 2000001) CHECK(a.count == 4);
    if (a.rule == "burst") CHECK(a.count == 4);
  }
}

TEST_CASE("labels: VLAN map beats the sensor's tenant; malformed and impostor batches are refused", "[correlator][pipeline]") {
  TempDir d;
  auto rules = load_rules({});
  auto intel = ThreatIntel::load({d.write("bad.txt", "192.168.0.1\n")}, {}, {});
  REQUIRE(intel.ok());
  auto store = store::Store::open({(d.path / "db").string()});
  REQUIRE(store.ok());
  Pipeline p(**store, test_config(), *rules, *intel);
  REQUIRE(p.start().ok());
  auto e = alert_event(1, 0, 7, "x");
  e.vlan = 200;
  std::vector<IncomingBatch> in{incoming(1, {e}), {"s1", "garbage"}, incoming(2, {e}, "s2")};
  auto acks = p.ingest(in);
  CHECK(acks[0].status == core::AckStatus::kOk);
  CHECK(acks[1].status == core::AckStatus::kRejected);
  CHECK(acks[2].status == core::AckStatus::kRejected);
  CHECK(p.counters().batches_malformed == 1);
  CHECK(p.counters().batches_sensor_mismatch == 1);
  auto alerts = (*store)->query_alerts({});
  REQUIRE(alerts->size() == 1);
  CHECK((*alerts)[0].tenant == "mof");
  CHECK((*alerts)[0].intel == std::vector<std::string>{"ip:bad"});
}
