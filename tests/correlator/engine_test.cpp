#include <catch2/catch.hpp>

#include <sys/resource.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "support/temp_dir.h"
#include "vigil/core/codec.h"
#include "vigil/correlator/config.h"
#include "vigil/correlator/pipeline.h"
#include "vigil/correlator/rules.h"

using namespace vigil;
using namespace vigil::correlator;
using core::EventKind;
using core::IpAddress;

namespace {

using TempDir = vigil::test_support::TempDir;

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

namespace {

// Events that do not compress much (random app-layer text), so a commit of them is large.
std::vector<core::Event> bulky_events(uint64_t first_id, size_t n, std::mt19937_64& rng) {
  std::vector<core::Event> out;
  for (size_t i = 0; i < n; ++i) {
    auto e = alert_event(first_id + i, static_cast<int64_t>(first_id + i), 2000100 + static_cast<uint32_t>(i % 7), "Misc",
                         static_cast<uint32_t>(i % 13));
    std::string junk;
    for (int k = 0; k < 24; ++k) junk += std::to_string(rng());
    e.app_json = "{\"x\":\"" + junk + "\"}";
    out.push_back(std::move(e));
  }
  return out;
}

// The size of the store's newest write-ahead log file.
uintmax_t wal_size(const std::filesystem::path& db) {
  std::filesystem::path newest;
  for (const auto& f : std::filesystem::directory_iterator(db)) {
    if (f.path().extension() == ".log" && (newest.empty() || f.path().filename() > newest.filename())) newest = f.path();
  }
  return newest.empty() ? 0 : std::filesystem::file_size(newest);
}

std::vector<std::string> alert_lines(store::Store& s) {
  store::AlertQuery all;
  auto r = s.query_alerts(all);
  REQUIRE(r.ok());
  std::vector<std::string> out;
  for (const auto& a : *r) out.push_back(core::to_json(a).dump());
  return out;
}

// What a clean run stores: every batch ingested in order, one at a time, into a fresh store.
std::vector<std::string> clean_run(const std::filesystem::path& dir, const std::shared_ptr<const CorrelatorConfig>& config,
                                   const std::shared_ptr<const RuleSet>& rules,
                                   const std::shared_ptr<const ThreatIntel>& intel,
                                   const std::vector<std::vector<core::Event>>& batches) {
  auto store = store::Store::open({dir.string()});
  REQUIRE(store.ok());
  Pipeline p(**store, config, rules, intel);
  REQUIRE(p.start().ok());
  for (uint64_t s = 0; s < batches.size(); ++s) {
    std::vector<IncomingBatch> in{incoming(s + 1, batches[s])};
    REQUIRE(p.ingest(in)[0].status == core::AckStatus::kOk);
  }
  return alert_lines(**store);
}

}  // namespace

TEST_CASE("pipeline: commits overlap preparation; a failed commit answers RETRY for it and the open one, reloads, "
          "and a resend stores everything once",
          "[correlator][pipeline][commit-failure]") {
  TempDir d;
  auto rules = load_rules({d.write("r.yaml", kRules)});
  REQUIRE(rules.ok());
  auto intel = ThreatIntel::load({}, {}, {});
  REQUIRE(intel.ok());
  auto config = test_config();
  std::mt19937_64 rng(42);
  std::vector<std::vector<core::Event>> batches;
  for (uint64_t s = 0; s < 4; ++s) batches.push_back(bulky_events(1 + s * 400, 400, rng));

  const auto clean = clean_run(d.path / "clean", config, *rules, *intel, batches);
  REQUIRE(clean.size() > 10);

  const auto db = d.path / "db";
  {
    auto store = store::Store::open({db.string()});
    REQUIRE(store.ok());
    Pipeline p(**store, config, *rules, *intel);
    REQUIRE(p.start().ok());
    std::vector<IncomingBatch> first{incoming(1, batches[0])};
    REQUIRE(p.ingest(first)[0].status == core::AckStatus::kOk);

    // Seq 2 goes to the commit thread; seq 3 is prepared on top of it meanwhile. A resend of
    // seq 2 while it is in flight is not a duplicate yet (the commit may still fail).
    auto b2 = incoming(2, batches[1]);
    auto b3 = incoming(3, batches[2]);
    auto b2again = incoming(2, batches[1]);
    REQUIRE_FALSE(p.add(b2, 20).has_value());
    REQUIRE(p.open_batches() == 1);
    // The disk "fills up": the process may not grow files past the current WAL (EFBIG), so
    // RocksDB's WAL write fails for real.
    std::signal(SIGXFSZ, SIG_IGN);
    rlimit old{};
    REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
    rlimit tight = old;
    tight.rlim_cur = static_cast<rlim_t>(wal_size(db) + 4096);
    REQUIRE(setrlimit(RLIMIT_FSIZE, &tight) == 0);
    p.start_commit();
    CHECK(p.committing());
    CHECK(p.open_batches() == 0);
    REQUIRE_FALSE(p.add(b3, 30).has_value());
    auto resend = p.add(b2again, 21);
    REQUIRE(resend.has_value());
    CHECK(resend->status == core::AckStatus::kRetry);
    CHECK(p.open_batches() == 1);
    auto done = p.take_completed(true);
    REQUIRE(setrlimit(RLIMIT_FSIZE, &old) == 0);
    REQUIRE(done.has_value());
    CHECK_FALSE(done->ok);
    REQUIRE(done->acks.size() == 2);  // the failed commit's batch and the open one built on it
    for (const auto& [tag, ack] : done->acks) {
      CHECK((tag == 20 || tag == 30));
      CHECK(ack.status == core::AckStatus::kRetry);
    }
    CHECK(p.open_batches() == 0);
    CHECK_FALSE(p.committing());
    CHECK(p.counters().commit_failures == 1);
    CHECK(p.counters().batches_stored == 1);
    // Nothing of seq 2 or 3 is in the store: the high-water mark is still 1.
    auto hwm = (*store)->high_water_mark("s1");
    REQUIRE(hwm.ok());
    CHECK(*hwm == 1);
  }
  // The sensor resends everything from seq 2 to a restarted correlator: stored once, the same
  // alerts as the clean run.
  auto store = store::Store::open({db.string()});
  REQUIRE(store.ok());
  {
    Pipeline p(**store, config, *rules, *intel);
    REQUIRE(p.start().ok());
    std::vector<IncomingBatch> again{incoming(1, batches[0]), incoming(2, batches[1]), incoming(3, batches[2]),
                                     incoming(4, batches[3])};
    auto acks = p.ingest(again);
    CHECK(acks[0].status == core::AckStatus::kDuplicate);
    for (size_t i = 1; i < acks.size(); ++i) CHECK(acks[i].status == core::AckStatus::kOk);
  }
  CHECK(alert_lines(**store) == clean);
  uint64_t events = 0;
  auto ev = (*store)->scan_events(EventKind::kAlert, core::Timestamp{INT64_MIN}, core::Timestamp{INT64_MAX}, 100000);
  REQUIRE(ev.ok());
  events = ev->size();
  CHECK(events == 1600);
}

TEST_CASE("pipeline: prepare() encodes the open commit early; alerts changed again are written and announced once "
          "as last changed",
          "[correlator][pipeline]") {
  TempDir d;
  auto rules = load_rules({d.write("r.yaml", kRules)});
  REQUIRE(rules.ok());
  auto intel = ThreatIntel::load({}, {}, {});
  REQUIRE(intel.ok());
  auto config = test_config();
  std::mt19937_64 rng(7);
  std::vector<std::vector<core::Event>> batches;
  for (uint64_t s = 0; s < 3; ++s) batches.push_back(bulky_events(1 + s * 100, 100, rng));

  const auto clean = clean_run(d.path / "clean", config, *rules, *intel, batches);
  auto store = store::Store::open({(d.path / "db").string()});
  REQUIRE(store.ok());
  Pipeline p(**store, config, *rules, *intel);
  REQUIRE(p.start().ok());
  auto b1 = incoming(1, batches[0]);
  auto b2 = incoming(2, batches[1]);
  auto b3 = incoming(3, batches[2]);
  REQUIRE_FALSE(p.add(b1, 1).has_value());
  CHECK_FALSE(p.prepared());
  p.prepare();
  CHECK(p.prepared());
  REQUIRE_FALSE(p.add(b2, 2).has_value());  // the same alerts again
  CHECK_FALSE(p.prepared());
  p.prepare();
  REQUIRE_FALSE(p.add(b3, 3).has_value());
  p.start_commit();
  auto done = p.take_completed(true);
  REQUIRE(done.has_value());
  REQUIRE(done->ok);
  CHECK(done->acks.size() == 3);
  std::set<core::RecordId> ids;
  for (const auto& a : p.changed_alerts()) CHECK(ids.insert(a.id).second);  // each once
  for (const auto& a : p.changed_alerts()) {
    auto stored = (*store)->get_alert(a.id);
    REQUIRE((stored.ok() && stored->has_value()));
    CHECK(**stored == a);  // announced as last written
  }
  CHECK(alert_lines(**store) == clean);
  CHECK(p.counters().commits == 1);
}
