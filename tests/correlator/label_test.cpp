// The label stage with a policy: tenant from the policy's networks and VLANs, asset and TLP labels
// on stored events, alert and incident levels as the highest of their events' with reasons, and a
// policy swap taking effect for later events.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>

#include "support/temp_dir.h"
#include "vigil/core/codec.h"
#include "vigil/correlator/config.h"
#include "vigil/correlator/pipeline.h"
#include "vigil/correlator/rules.h"
#include "vigil/policy/policy.h"

using namespace vigil;
using namespace vigil::correlator;
using core::IpAddress;

namespace {

using Dir = vigil::test_support::TempDir;

const char* kPolicy = R"(
tenants:
  - {name: bo-tai-chinh, networks: [10.20.0.0/16], default_tlp: amber}
  - {name: tinh-hanoi, networks: [10.10.0.0/16], vlans: [100], default_tlp: amber+strict}
assets:
  - {name: portal, tenant: bo-tai-chinh, networks: [10.20.10.10], sys_level: 2}
  - {name: tax-db, tenant: bo-tai-chinh, networks: [10.20.10.20], sys_level: 4, importance: core}
)";

const char* kRules = R"(
filters:
  scan: {kind: alert, category: "Attempted Information Leak"}
correlations:
  - id: burst
    title: Burst of scans
    type: event_count
    rules: [scan]
    group-by: [src_ip]
    timespan: 60s
    condition: {gte: 3}
    escalate: true
)";

core::Event ev(uint64_t id, int64_t sec, const char* dst, uint32_t sid = 7, const char* cat = "x") {
  core::Event e;
  e.id = id;
  e.time.usec = 1'700'000'000'000'000 + sec * 1'000'000;
  e.kind = core::EventKind::kAlert;
  e.flow.src_ip = *IpAddress::parse("203.0.113.66");
  e.flow.dst_ip = *IpAddress::parse(dst);
  e.flow.proto = 6;
  e.alert.sid = sid;
  e.alert.msg = "sig " + std::to_string(sid);
  e.alert.category = cat;
  return e;
}

IncomingBatch batch(uint64_t seq, std::vector<core::Event> events) {
  core::EventBatch b;
  b.sensor_id = "s1";
  b.seq = seq;
  b.events = std::move(events);
  return {"s1", *core::encode_batch(b)};
}

std::shared_ptr<const CorrelatorConfig> config() {
  auto c = std::make_shared<CorrelatorConfig>();
  c->sensors.push_back({"s1", std::string(40, 'a'), "sensor-tenant"});
  c->aggregation_window_usec = 60'000'000;
  return c;
}

const core::Alert* find(const std::vector<core::Alert>& all, const std::string& rule, uint32_t sid) {
  for (const auto& a : all) {
    if (a.rule == rule && (sid == 0 || a.sid == sid)) return &a;
  }
  return nullptr;
}

bool has_reason(const std::vector<std::string>& reasons, const std::string& text) {
  return std::find(reasons.begin(), reasons.end(), text) != reasons.end();
}

}  // namespace

TEST_CASE("label stage: policy tenants, asset labels and alert levels from the events", "[correlator][label]") {
  Dir d;
  auto pol = policy::Policy::parse(kPolicy, "p.yaml");
  REQUIRE(pol.ok());
  auto rules = load_rules({d.write("r.yaml", kRules)});
  REQUIRE(rules.ok());
  auto intel = ThreatIntel::load({}, {}, {});
  auto store = store::Store::open({(d.path / "db").string()});
  REQUIRE(store.ok());
  Pipeline p(**store, config(), *rules, *intel);
  p.set_policy(*pol);
  REQUIRE(p.start().ok());

  // 1: the portal (sys_level 2) -> internal; 2: the same flow with sensitive PII -> confidential.
  auto e1 = ev(1, 0, "10.20.10.10");
  auto e2 = ev(2, 1, "10.20.10.10");
  e2.labels.pii = "sensitive";
  // 3: the tax database (sys_level 4, core) -> secret. 4: attacker-to-attacker, VLAN 100 -> Hanoi.
  auto e3 = ev(3, 2, "10.20.10.20", 8);
  auto e4 = ev(4, 3, "198.51.100.9", 9);
  e4.vlan = 100;
  // 5: no policy tenant, no VLAN -> the sensor's tenant.
  auto e5 = ev(5, 4, "198.51.100.9", 10);
  std::vector<IncomingBatch> in{batch(1, {e1, e2, e3, e4, e5})};
  REQUIRE(p.ingest(in)[0].status == core::AckStatus::kOk);

  auto all = (*store)->query_alerts({});
  REQUIRE(all.ok());
  const auto* portal = find(*all, "aggregate", 7);
  REQUIRE(portal != nullptr);
  CHECK(portal->tenant == "bo-tai-chinh");
  CHECK(portal->count == 2);
  CHECK(portal->level == "confidential");
  CHECK(has_reason(portal->level_reasons, "asset portal (10.20.10.10) sys_level 2 -> internal"));
  CHECK(has_reason(portal->level_reasons, "pii sensitive -> confidential"));
  CHECK(portal->labels.pii == "sensitive");
  CHECK(portal->labels.sys_level == 2);
  CHECK(portal->labels.tlp == "amber");
  CHECK(policy::view_of(*portal).level == policy::Level::kConfidential);

  const auto* db = find(*all, "aggregate", 8);
  REQUIRE(db != nullptr);
  CHECK(db->level == "secret");
  CHECK(db->labels.importance == "core");
  CHECK(db->level_reasons.size() == 2);

  const auto* hanoi = find(*all, "aggregate", 9);
  REQUIRE(hanoi != nullptr);
  CHECK(hanoi->tenant == "tinh-hanoi");
  CHECK(hanoi->level == "internal");
  CHECK(hanoi->labels.tlp == "amber+strict");
  CHECK(hanoi->level_reasons == std::vector<std::string>{"default -> internal"});

  const auto* other = find(*all, "aggregate", 10);
  REQUIRE(other != nullptr);
  CHECK(other->tenant == "sensor-tenant");
  CHECK(other->labels.tlp.empty());

  // The stored events carry the labels the policy stamped.
  auto events = (*store)->get_events(db->events);
  REQUIRE(events.ok());
  REQUIRE(events->size() == 1);
  CHECK((*events)[0].tenant == "bo-tai-chinh");
  CHECK((*events)[0].event.labels.sys_level == 4);
  CHECK((*events)[0].event.labels.importance == "core");
  CHECK((*events)[0].event.labels.tlp == "amber");
}

TEST_CASE("label stage: a rule alert and its incident are as high as their highest event", "[correlator][label]") {
  Dir d;
  auto pol = policy::Policy::parse(kPolicy, "p.yaml");
  REQUIRE(pol.ok());
  auto rules = load_rules({d.write("r.yaml", kRules)});
  REQUIRE(rules.ok());
  auto intel = ThreatIntel::load({}, {}, {});
  auto store = store::Store::open({(d.path / "db").string()});
  REQUIRE(store.ok());
  Pipeline p(**store, config(), *rules, *intel);
  p.set_policy(*pol);
  REQUIRE(p.start().ok());

  // Three scans from one source; only the first carried a state-secret stamp.
  auto s1 = ev(1, 0, "198.51.100.1", 20, "Attempted Information Leak");
  s1.labels.secrecy = "suspected-state-secret";
  std::vector<IncomingBatch> in{batch(1, {s1, ev(2, 1, "198.51.100.2", 21, "Attempted Information Leak"),
                                          ev(3, 2, "198.51.100.3", 22, "Attempted Information Leak")})};
  REQUIRE(p.ingest(in)[0].status == core::AckStatus::kOk);
  auto all = (*store)->query_alerts({});
  REQUIRE(all.ok());
  const auto* burst = find(*all, "burst", 0);
  REQUIRE(burst != nullptr);
  CHECK(burst->level == "top-secret");
  CHECK(has_reason(burst->level_reasons, "correlated event s1:1 -> top-secret"));
  REQUIRE_FALSE(burst->incident.empty());
  auto inc = (*store)->get_incident(*core::RecordId::parse(burst->incident));
  REQUIRE((inc.ok() && inc->has_value()));
  CHECK((*inc)->level == "top-secret");
  CHECK(policy::view_of(**inc).level == policy::Level::kTopSecret);

  // The window survives a restart with its events' levels.
  Pipeline p2(**store, config(), *rules, *intel);
  p2.set_policy(*pol);
  REQUIRE(p2.start().ok());
}

TEST_CASE("label stage: a swapped policy applies to later events, and without one levels come from labels", "[correlator][label]") {
  Dir d;
  auto rules = load_rules({});
  auto intel = ThreatIntel::load({}, {}, {});
  auto store = store::Store::open({(d.path / "db").string()});
  REQUIRE(store.ok());
  Pipeline p(**store, config(), *rules, *intel);
  REQUIRE(p.start().ok());

  auto stamped = ev(1, 0, "10.20.10.10", 30);
  stamped.labels.secrecy = "suspected-state-secret";
  std::vector<IncomingBatch> in{batch(1, {ev(2, 0, "10.20.10.20", 31), stamped})};
  REQUIRE(p.ingest(in)[0].status == core::AckStatus::kOk);
  auto all = (*store)->query_alerts({});
  REQUIRE(all.ok());
  REQUIRE(find(*all, "aggregate", 31) != nullptr);
  CHECK(find(*all, "aggregate", 31)->level == "internal");  // no policy: no assets known
  CHECK(find(*all, "aggregate", 31)->tenant == "sensor-tenant");
  CHECK(find(*all, "aggregate", 30)->level == "top-secret");

  auto pol = policy::Policy::parse(kPolicy, "p.yaml");
  REQUIRE(pol.ok());
  p.set_policy(*pol);
  std::vector<IncomingBatch> in2{batch(2, {ev(3, 10, "10.20.10.20", 31)})};
  REQUIRE(p.ingest(in2)[0].status == core::AckStatus::kOk);
  all = (*store)->query_alerts({});
  REQUIRE(all.ok());
  // A new tenant means a new aggregation key: the policy's tenant and level for the new alert,
  // the old alert keeps what it had.
  int seen = 0;
  for (const auto& a : *all) {
    if (a.sid != 31) continue;
    ++seen;
    if (a.tenant == "bo-tai-chinh") CHECK(a.level == "secret");
    else CHECK(a.level == "internal");
  }
  CHECK(seen == 2);
}

TEST_CASE("correlator config: policy key and its retention", "[correlator][config][label]") {
  Dir d;
  d.write("c.key", "public: " + std::string(40, 'a') + "\nsecret: " + std::string(40, 'b') + "\n");
  auto good = load_config(d.write("good.yaml", "server_key_file: c.key\npolicy: policy.yaml\nretention: {interval_seconds: 60}\n"));
  REQUIRE(good.ok());
  CHECK(good->policy_file == (d.path / "policy.yaml").string());
  auto both = load_config(d.write("both.yaml", "server_key_file: c.key\npolicy: policy.yaml\nretention: {alerts: 30d}\n"));
  REQUIRE_FALSE(both.ok());
  CHECK(both.error().to_string().find("both.yaml: key 'retention.alerts'") != std::string::npos);
  auto none = load_config(d.write("none.yaml", "server_key_file: c.key\nretention: {alerts: 30d}\n"));
  REQUIRE(none.ok());
  CHECK(none->policy_file.empty());
}

TEST_CASE("label stage: classification events with a state-secret stamp or sensitive PII become alerts", "[correlator][label]") {
  Dir d;
  auto pol = policy::Policy::parse(kPolicy, "p.yaml");
  REQUIRE(pol.ok());
  auto rules = load_rules({});
  auto intel = ThreatIntel::load({}, {}, {});
  auto store = store::Store::open({(d.path / "db").string()});
  REQUIRE(store.ok());
  Pipeline p(**store, config(), *rules, *intel);
  p.set_policy(*pol);
  REQUIRE(p.start().ok());
  auto cls = [](uint64_t id, int64_t sec, const char* dst, const char* pii, const char* secrecy, std::vector<std::string> tags) {
    auto e = ev(id, sec, dst);
    e.kind = core::EventKind::kClassification;
    e.labels.pii = pii;
    e.labels.secrecy = secrecy;
    e.labels.tags = std::move(tags);
    return e;
  };
  std::vector<IncomingBatch> in{batch(1, {cls(1, 0, "10.20.10.10", "none", "suspected-state-secret", {"state-secret-stamp"}),
                                          cls(2, 1, "10.20.10.10", "none", "suspected-state-secret", {"state-secret-stamp"}),
                                          cls(3, 2, "10.20.1.5", "basic", "none", {"pii", "pii-bulk"}),
                                          cls(4, 3, "10.20.1.6", "basic", "none", {"pii"})})};
  REQUIRE(p.ingest(in)[0].status == core::AckStatus::kOk);
  auto all = (*store)->query_alerts({});
  REQUIRE(all.ok());
  REQUIRE(all->size() == 2);  // the basic identifier alone makes no alert
  const core::Alert* secret = nullptr;
  const core::Alert* bulk = nullptr;
  for (const auto& a : *all) (a.severity == 1 ? secret : bulk) = &a;
  REQUIRE(secret != nullptr);
  REQUIRE(bulk != nullptr);
  CHECK(secret->rule == "classification");
  CHECK(secret->signature == "Suspected state secret in cleartext traffic");
  CHECK(secret->count == 2);
  CHECK(secret->level == "top-secret");
  CHECK(has_reason(secret->level_reasons, "secrecy suspected-state-secret -> top-secret"));
  CHECK(bulk->signature == "Sensitive personal data in cleartext traffic");
  CHECK(bulk->level == "internal");  // bulk but basic identifiers on a level-1 asset
  CHECK(bulk->tenant == "bo-tai-chinh");
}
