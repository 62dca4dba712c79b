// The policy engine: a table of users (each role and clearance) × records (each level, tenant and
// TLP) × actions, with the expected decision and the rule that decides it; load errors naming
// their key; tenant and asset lookup; classification; redaction; view_of(alert).
#include <catch2/catch.hpp>

#include <map>
#include <random>

#include "vigil/policy/password.h"
#include "vigil/policy/policy.h"

using namespace vigil;
using namespace vigil::policy;
using Catch::Matchers::Contains;

namespace {

const char* kPolicy = R"(
version: 1
tenants:
  - name: soc
    display_name: National SOC
  - name: bo-tai-chinh
    display_name: Ministry of Finance
    networks: [10.10.0.0/16]
    vlans: [110]
  - name: mof-branch
    networks: [10.10.99.0/24]
  - name: tinh-hanoi
    networks: [10.20.0.0/16, "2001:db8:20::/48"]
    vnis: [5020]
    default_tlp: amber+strict
assets:
  - name: mof-tax-db
    tenant: bo-tai-chinh
    networks: [10.10.5.0/24]
    sys_level: 4
    importance: core
  - name: mof-tax-db-replica
    tenant: bo-tai-chinh
    networks: [10.10.5.7]
    sys_level: 3
  - name: hanoi-portal
    tenant: tinh-hanoi
    networks: [10.20.1.0/24]
    sys_level: 2
    importance: important
sensors:
  - id: dc1-core
    level: confidential
users:
  - {name: analyst, tenant: soc, scope: ["*"], role: analyst, clearance: confidential}
  - {name: analyst-ts, tenant: soc, scope: ["*"], role: analyst, clearance: top-secret, may_unmask: true}
  - {name: lead, tenant: soc, scope: ["*"], role: lead, clearance: secret, may_unmask: true}
  - {name: hn-analyst, tenant: tinh-hanoi, role: analyst, clearance: secret}
  - {name: agency-mof, tenant: bo-tai-chinh, role: agency, clearance: confidential, may_unmask: true}
  - {name: auditor, tenant: soc, scope: ["*"], role: auditor, clearance: secret}
  - {name: admin, tenant: soc, scope: ["*"], role: admin, clearance: secret}
  - {name: admin-ts, tenant: soc, scope: ["*"], role: admin, clearance: top-secret, may_unmask: true,
     api_tokens: [ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad]}
retention:
  alerts: {public: 30d, internal: 365d, confidential: 2y, secret: 5y, top-secret: forever}
  events: {internal: 90d}
  protocol: 30d
  incidents: 730d
  audit: forever
)";

std::shared_ptr<const Policy> demo() {
  auto p = Policy::parse(kPolicy, "test-policy.yaml");
  if (!p) FAIL(p.error().to_string());
  return *p;
}

core::IpAddress ip(const char* s) { return *core::IpAddress::parse(s); }

std::string load_error(const std::string& yaml) {
  auto p = Policy::parse(yaml, "policy.yaml");
  if (p) return "(loaded)";
  return p.error().to_string();
}

}  // namespace

TEST_CASE("may: users of each role and clearance against records of each level, tenant and TLP", "[policy][table]") {
  auto p = demo();
  const std::map<std::string, RecordView> records{
      {"mof-internal", {"alert", "bo-tai-chinh", Level::kInternal, Tlp::kAmber, {}, true}},
      {"mof-secret", {"alert", "bo-tai-chinh", Level::kSecret, Tlp::kAmber, {}, false}},
      {"mof-topsecret", {"alert", "bo-tai-chinh", Level::kTopSecret, Tlp::kRed, {}, false}},
      {"mof-conf-red", {"alert", "bo-tai-chinh", Level::kConfidential, Tlp::kRed, {}, true}},
      {"hn-internal", {"alert", "tinh-hanoi", Level::kInternal, Tlp::kAmber, {}, false}},
      {"hn-strict-shared", {"alert", "tinh-hanoi", Level::kInternal, Tlp::kAmberStrict, {"bo-tai-chinh"}, false}},
      {"hn-green-shared", {"alert", "tinh-hanoi", Level::kInternal, Tlp::kGreen, {"bo-tai-chinh"}, true}},
      {"attacker-public", {"indicator", "", Level::kPublic, Tlp::kClear, {}, false}},
  };
  // Expected per action (list, count, read, update, unmask, export): '+' allowed, otherwise the
  // letter of the rule that denies: r role, s scope, t tlp, c clearance, x top-secret, u unmask.
  struct Row {
    const char* user;
    const char* record;
    const char* expect;
  };
  const Row table[] = {
      {"analyst", "mof-internal", "++++ur"},     {"analyst", "mof-secret", "cccccr"},
      {"analyst", "mof-topsecret", "cccccr"},    {"analyst", "mof-conf-red", "++++ur"},
      {"analyst", "hn-internal", "++++ur"},      {"analyst", "attacker-public", "++++ur"},
      {"analyst-ts", "mof-internal", "+++++r"},  {"analyst-ts", "mof-secret", "+++++r"},
      {"analyst-ts", "mof-topsecret", "+++++r"}, {"analyst-ts", "attacker-public", "+++++r"},
      {"lead", "mof-internal", "++++++"},        {"lead", "mof-secret", "++++++"},
      {"lead", "mof-topsecret", "cccccc"},       {"lead", "mof-conf-red", "++++++"},
      {"lead", "hn-strict-shared", "++++++"},    {"hn-analyst", "mof-internal", "sssssr"},
      {"hn-analyst", "mof-secret", "sssssr"},    {"hn-analyst", "hn-internal", "++++ur"},
      {"hn-analyst", "hn-strict-shared", "++++ur"}, {"hn-analyst", "attacker-public", "++++ur"},
      {"agency-mof", "mof-internal", "+++r+r"},  {"agency-mof", "mof-secret", "cccrcr"},
      {"agency-mof", "mof-topsecret", "cccrcr"}, {"agency-mof", "mof-conf-red", "+++r+r"},
      {"agency-mof", "hn-internal", "sssrsr"},   {"agency-mof", "hn-strict-shared", "tttrtr"},
      {"agency-mof", "hn-green-shared", "+++rur"}, {"agency-mof", "attacker-public", "sssrsr"},
      {"auditor", "mof-internal", "+++rr+"},     {"auditor", "mof-secret", "+++rr+"},
      {"auditor", "mof-topsecret", "cccrrc"},    {"auditor", "attacker-public", "+++rr+"},
      {"auditor", "hn-strict-shared", "+++rr+"}, {"admin", "mof-internal", "++++u+"},
      {"admin", "mof-secret", "++++u+"},         {"admin", "mof-topsecret", "cccccc"},
      {"admin-ts", "mof-topsecret", "+++++x"},   {"admin-ts", "hn-internal", "++++++"},
  };
  const Action actions[] = {Action::kList, Action::kCount, Action::kRead, Action::kUpdate, Action::kUnmask, Action::kExport};
  const std::map<char, std::string> rules{{'r', "role"}, {'s', "scope"}, {'t', "tlp"},
                                          {'c', "clearance"}, {'x', "top-secret"}, {'u', "unmask"}};
  size_t checked = 0;
  for (const auto& row : table) {
    const User* u = p->find_user(row.user);
    REQUIRE(u != nullptr);
    const RecordView& r = records.at(row.record);
    for (size_t i = 0; i < 6; ++i) {
      Decision d = p->may(*u, actions[i], r);
      INFO(row.user << " " << to_string(actions[i]) << " " << row.record << " -> " << (d.allow ? "allow" : "deny") << " ["
                    << d.rule << "] " << d.reason);
      const char want = row.expect[i];
      CHECK(d.allow == (want == '+'));
      CHECK(d.rule == (want == '+' ? std::string("allow") : rules.at(want)));
      CHECK_FALSE(d.reason.empty());
      ++checked;
    }
  }
  CHECK(checked == std::size(table) * 6);
}

TEST_CASE("may: note, audit and admin actions by role", "[policy]") {
  auto p = demo();
  RecordView r{"alert", "bo-tai-chinh", Level::kInternal, Tlp::kAmber, {}, false};
  CHECK(p->may(*p->find_user("analyst"), Action::kNote, r).allow);
  CHECK_FALSE(p->may(*p->find_user("analyst"), Action::kAudit, r).allow);
  CHECK(p->may(*p->find_user("auditor"), Action::kAudit, r).allow);
  CHECK_FALSE(p->may(*p->find_user("auditor"), Action::kNote, r).allow);
  CHECK_FALSE(p->may(*p->find_user("lead"), Action::kAdmin, r).allow);
  CHECK(p->may(*p->find_user("admin"), Action::kAdmin, r).allow);
  CHECK_FALSE(p->may(*p->find_user("agency-mof"), Action::kNote, r).allow);
  auto d = p->may(*p->find_user("analyst"), Action::kRead, {"alert", "bo-tai-chinh", Level::kSecret, Tlp::kAmber, {}, false});
  CHECK(d.reason == "clearance confidential < secret");
}

TEST_CASE("load errors name the file and the key", "[policy][load]") {
  const std::string users = "tenants: [{name: soc}, {name: mof, networks: [10.10.0.0/16]}]\nusers:\n";
  struct Case {
    std::string yaml;
    std::string where;
  };
  const Case cases[] = {
      {"tenant: []\n", "policy.yaml: tenant: unknown key"},
      {"version: 2\n", "policy.yaml: version"},
      {users + "  - {name: a, tenant: soc, role: analyst}\n  - {name: b, tenant: soc, role: lead, clearance: secrt}\n",
       "policy.yaml: users[1].clearance: unknown level 'secrt'"},
      {users + "  - {name: a, tenant: soc, role: analist}\n", "policy.yaml: users[0].role: unknown role 'analist'"},
      {users + "  - {name: a, tenant: soc}\n", "policy.yaml: users[0].role: missing"},
      {users + "  - {name: a, tenant: nowhere, role: analyst}\n", "policy.yaml: users[0].tenant: unknown tenant 'nowhere'"},
      {users + "  - {name: a, tenant: soc, role: analyst, scope: [soc, mfo]}\n", "policy.yaml: users[0].scope[1]: unknown tenant 'mfo'"},
      {users + "  - {name: a, tenant: mof, role: agency, scope: ['*']}\n", "policy.yaml: users[0].scope[0]"},
      {users + "  - {name: a, tenant: soc, role: analyst, passwrd: x}\n", "policy.yaml: users[0].passwrd: unknown key"},
      {users + "  - {name: a, tenant: soc, role: analyst, password_hash: 'md5$abc'}\n", "policy.yaml: users[0].password_hash"},
      {users + "  - {name: a, tenant: soc, role: analyst, api_tokens: [abc]}\n", "policy.yaml: users[0].api_tokens[0]"},
      {users + "  - {name: a, tenant: soc, role: analyst, may_unmask: perhaps}\n", "policy.yaml: users[0].may_unmask"},
      {users + "  - {name: a, tenant: soc, role: analyst}\n  - {name: a, tenant: soc, role: lead}\n",
       "policy.yaml: users[1].name: duplicate user 'a'"},
      {"tenants: [{name: a, networks: [10.0.0.0/8, 10.300.0.0/16]}]\n", "policy.yaml: tenants[0].networks[1]: not a CIDR"},
      {"tenants: [{name: a, vlans: [10]}, {name: b, vlans: [10]}]\n", "policy.yaml: tenants[1].vlans[0]: VLAN 10 already belongs to tenant 'a'"},
      {"tenants: [{name: a, vnis: [99999999]}]\n", "policy.yaml: tenants[0].vnis[0]"},
      {"tenants: [{name: a, default_tlp: pink}]\n", "policy.yaml: tenants[0].default_tlp: unknown TLP 'pink'"},
      {"tenants: [{name: a}, {name: a}]\n", "policy.yaml: tenants[1].name: duplicate tenant 'a'"},
      {"assets: [{name: db, networks: [10.1.0.0/16], sys_level: 6}]\n", "policy.yaml: assets[0].sys_level"},
      {"assets: [{name: db, networks: [10.1.0.0/16], importance: vital}]\n", "policy.yaml: assets[0].importance: unknown importance 'vital'"},
      {"assets: [{name: db}]\n", "policy.yaml: assets[0].networks: missing"},
      {"assets: [{name: db, tenant: x, networks: [10.1.0.0/16]}]\n", "policy.yaml: assets[0].tenant: unknown tenant 'x'"},
      {"sensors: [{id: s1, level: high}]\n", "policy.yaml: sensors[0].level: unknown level 'high'"},
      {"retention: {incidents: 365d}\n", "policy.yaml: retention.incidents: must be at least 730d"},
      {"retention: {audit: 700d}\n", "policy.yaml: retention.audit: must be at least 730d"},
      {"retention: {alerts: {secrt: 30d}}\n", "policy.yaml: retention.alerts.secrt: unknown key"},
      {"retention: {alerts: {secret: 30 days}}\n", "policy.yaml: retention.alerts.secret: expected a duration"},
      {"users: {name: a}\n", "policy.yaml: users: expected a list"},
      {"tenants: [{name: a\n", "policy.yaml:"},
  };
  for (const auto& c : cases) {
    INFO(c.yaml);
    CHECK_THAT(load_error(c.yaml), Contains(c.where));
  }
  CHECK(load_error("") == "policy.yaml: empty policy");
  auto missing = Policy::load("/nonexistent/policy.yaml");
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.error().to_string(), Contains("/nonexistent/policy.yaml"));
}

TEST_CASE("retention: durations per level and the 24-month floor", "[policy][load]") {
  auto p = demo();
  const auto& r = p->retention();
  constexpr int64_t kDay = 86'400'000'000LL;
  CHECK(r.alert_usec[0] == 30 * kDay);
  CHECK(r.alert_usec[1] == 365 * kDay);
  CHECK(r.alert_usec[2] == 730 * kDay);
  CHECK(r.alert_usec[3] == 5 * 365 * kDay);
  CHECK(r.alert_usec[4] == 0);
  CHECK(r.event_usec[1] == 90 * kDay);
  CHECK(r.event_usec[2] == 0);
  CHECK(r.protocol_usec == 30 * kDay);
  CHECK(r.incident_usec == 730 * kDay);
  CHECK(r.audit_usec == 0);
}

TEST_CASE("tenant_for: VNI and VLAN win over addresses, the most specific block wins", "[policy]") {
  auto p = demo();
  CHECK(p->tenant_for(ip("10.10.1.1"), 0, 0) == "bo-tai-chinh");
  CHECK(p->tenant_for(ip("10.10.99.4"), 0, 0) == "mof-branch");
  CHECK(p->tenant_for(ip("10.20.3.3"), 0, 0) == "tinh-hanoi");
  CHECK(p->tenant_for(ip("2001:db8:20::5"), 0, 0) == "tinh-hanoi");
  CHECK(p->tenant_for(ip("2001:db8:21::5"), 0, 0).empty());
  CHECK(p->tenant_for(ip("203.0.113.5"), 0, 0).empty());
  CHECK(p->tenant_for(ip("10.20.3.3"), 110, 0) == "bo-tai-chinh");   // VLAN beats the address
  CHECK(p->tenant_for(ip("10.10.1.1"), 110, 5020) == "tinh-hanoi");  // VNI beats VLAN
  CHECK(p->tenant_for(ip("203.0.113.5"), 111, 5021).empty());
  REQUIRE(p->find_tenant("tinh-hanoi") != nullptr);
  CHECK(p->find_tenant("tinh-hanoi")->default_tlp == Tlp::kAmberStrict);
  CHECK(p->find_tenant("bo-tai-chinh")->display_name == "Ministry of Finance");
}

TEST_CASE("asset_for: the most specific asset", "[policy]") {
  auto p = demo();
  REQUIRE(p->asset_for(ip("10.10.5.1")) != nullptr);
  CHECK(p->asset_for(ip("10.10.5.1"))->name == "mof-tax-db");
  CHECK(p->asset_for(ip("10.10.5.7"))->name == "mof-tax-db-replica");
  CHECK(p->asset_for(ip("10.10.6.1")) == nullptr);
  CHECK(p->sensor_level("dc1-core") == Level::kConfidential);
  CHECK_FALSE(p->sensor_level("other").has_value());
}

TEST_CASE("classify: highest contribution wins, each leaves a reason", "[policy][classify]") {
  auto p = demo();
  core::FlowTuple outside{ip("203.0.113.5"), ip("198.51.100.7"), 4444, 80, 6};
  core::EventLabels none;

  auto c = p->classify(none, outside, std::nullopt);
  CHECK(c.level == Level::kInternal);
  CHECK(c.reasons == std::vector<std::string>{"default -> internal"});

  c = p->classify(none, outside, Level::kConfidential);
  CHECK(c.level == Level::kConfidential);
  CHECK(c.reasons == std::vector<std::string>{"sensor level confidential -> confidential"});

  core::FlowTuple to_db{ip("203.0.113.5"), ip("10.10.5.1"), 4444, 1433, 6};
  c = p->classify(none, to_db, std::nullopt);
  CHECK(c.level == Level::kSecret);
  CHECK(c.reasons == std::vector<std::string>{"asset mof-tax-db (10.10.5.1) sys_level 4 -> secret",
                                              "asset mof-tax-db importance core -> secret"});

  core::FlowTuple portal{ip("10.20.1.9"), ip("203.0.113.5"), 443, 5555, 6};
  c = p->classify(none, portal, std::nullopt);
  CHECK(c.level == Level::kConfidential);
  CHECK(c.reasons.size() == 2);

  core::EventLabels pii;
  pii.pii = "basic";
  CHECK(p->classify(pii, outside, std::nullopt).level == Level::kInternal);
  CHECK(p->classify(pii, outside, std::nullopt).reasons == std::vector<std::string>{"pii basic -> internal"});
  pii.pii = "sensitive";
  CHECK(p->classify(pii, outside, std::nullopt).level == Level::kConfidential);
  core::EventLabels tagged;
  tagged.tags = {"pii-sensitive"};
  CHECK(p->classify(tagged, outside, std::nullopt).level == Level::kConfidential);

  core::EventLabels stamp;
  stamp.secrecy = "suspected-state-secret";
  c = p->classify(stamp, to_db, Level::kConfidential);
  CHECK(c.level == Level::kTopSecret);
  CHECK(c.reasons.size() == 4);
  CHECK(c.reasons.back() == "secrecy suspected-state-secret -> top-secret");

  // Labels stamped upstream count only above what the assets already gave.
  core::EventLabels labelled;
  labelled.sys_level = 4;
  labelled.importance = "core";
  CHECK(p->classify(labelled, to_db, std::nullopt).reasons.size() == 2);
  labelled.sys_level = 5;
  CHECK(p->classify(labelled, outside, std::nullopt).level == Level::kSecret);
  CHECK(p->classify(labelled, outside, std::nullopt).reasons.size() == 2);
}

TEST_CASE("redact: victim addresses out of scope, payload above clearance, clear PII", "[policy][redact]") {
  auto p = demo();
  auto record = nlohmann::json::parse(R"({
    "tenant": "tinh-hanoi", "level": "internal",
    "flow": {"src_ip": "203.0.113.5", "dest_ip": "10.20.1.9"},
    "related": ["10.10.1.1", "10.20.7.7", "not-an-ip", "1.2"],
    "events": [
      {"level": "secret", "payload": "c2VjcmV0", "app_json": "{}", "flow": {"dest_ip": "10.20.1.9"}},
      {"level": "internal", "payload": "b2s=", "pii": {"masked": "0912***678", "hmac": "ab12", "clear": "0912345678"}}
    ]})");

  auto agency = record;
  p->redact(*p->find_user("agency-mof"), agency, true);
  CHECK(agency["flow"]["src_ip"] == "203.0.113.5");  // the attacker stays
  CHECK(agency["flow"]["dest_ip"] == "redacted");    // Hanoi's victim is not Finance's business
  CHECK(agency["related"][0] == "10.10.1.1");        // Finance's own address stays
  CHECK(agency["related"][1] == "redacted");
  CHECK(agency["related"][2] == "not-an-ip");
  CHECK(agency["related"][3] == "1.2");
  CHECK_FALSE(agency["events"][0].contains("payload"));  // secret > confidential clearance
  CHECK_FALSE(agency["events"][0].contains("app_json"));
  CHECK(agency["events"][1]["payload"] == "b2s=");
  CHECK(agency["events"][1]["pii"]["clear"] == "0912345678");  // unmasked, and may unmask

  auto analyst = record;
  p->redact(*p->find_user("analyst"), analyst, true);  // asked, but lacks the permission
  CHECK(analyst["flow"]["dest_ip"] == "10.20.1.9");
  CHECK(analyst["related"][1] == "10.20.7.7");
  CHECK_FALSE(analyst["events"][0].contains("payload"));
  CHECK_FALSE(analyst["events"][1]["pii"].contains("clear"));
  CHECK(analyst["events"][1]["pii"]["masked"] == "0912***678");

  auto ts = record;
  p->redact(*p->find_user("analyst-ts"), ts, false);  // may unmask, did not ask
  CHECK(ts["events"][0]["payload"] == "c2VjcmV0");
  CHECK_FALSE(ts["events"][1]["pii"].contains("clear"));

  auto hn = record;
  p->redact(*p->find_user("hn-analyst"), hn, false);
  CHECK(hn["related"][0] == "redacted");  // Finance's address is outside Hanoi's scope
  CHECK(hn["flow"]["dest_ip"] == "10.20.1.9");
}

TEST_CASE("view_of(alert) reads level, tenant, TLP, sharing and PII", "[policy]") {
  core::Alert a;
  a.tenant = "tinh-hanoi";
  a.level = "secret";
  a.labels.tlp = "amber+strict";
  a.labels.pii = "basic";
  a.labels.tags = {"shared:bo-tai-chinh", "other"};
  auto v = view_of(a);
  CHECK(v.kind == "alert");
  CHECK(v.tenant == "tinh-hanoi");
  CHECK(v.level == Level::kSecret);
  CHECK(v.tlp == Tlp::kAmberStrict);
  CHECK(v.shared_with == std::vector<std::string>{"bo-tai-chinh"});
  CHECK(v.has_pii);

  core::Alert plain;
  auto pv = view_of(plain);
  CHECK(pv.level == Level::kInternal);
  CHECK(pv.tlp == Tlp::kAmber);
  CHECK_FALSE(pv.has_pii);
  plain.level = "sekret";  // unknown: handled as the strictest
  plain.labels.tlp = "pink";
  CHECK(view_of(plain).level == Level::kTopSecret);
  CHECK(view_of(plain).tlp == Tlp::kRed);

  core::Incident inc;
  inc.tenant = "bo-tai-chinh";
  inc.level = "confidential";
  CHECK(view_of(inc).level == Level::kConfidential);
  CHECK(view_of(inc).kind == "incident");
}

TEST_CASE("passwords and API tokens", "[policy][password]") {
  auto h = hash_password("vigil-demo");
  REQUIRE(h.ok());
  CHECK(h->rfind("$argon2id$", 0) == 0);
  CHECK(verify_password(*h, "vigil-demo"));
  CHECK_FALSE(verify_password(*h, "vigil-dem0"));
  CHECK_FALSE(verify_password("garbage", "vigil-demo"));
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  auto t = random_token();
  CHECK(t.size() == 64);
  CHECK(t != random_token());
  auto p = demo();
  REQUIRE(p->find_user_by_token_sha256(sha256_hex("abc")) != nullptr);
  CHECK(p->find_user_by_token_sha256(sha256_hex("abc"))->name == "admin-ts");
  CHECK(p->find_user_by_token_sha256(sha256_hex("abd")) == nullptr);
  CHECK(p->find_user_by_token_sha256("") == nullptr);
}

TEST_CASE("the demo policy in deploy/config loads and its analyst's password is vigil-demo", "[policy][demo]") {
  auto p = Policy::load(VIGIL_SOURCE_DIR "/deploy/config/policy.yaml");
  REQUIRE(p.ok());
  for (const char* name : {"analyst", "lead", "director", "auditor", "agency-mof", "admin"}) {
    const User* u = (*p)->find_user(name);
    REQUIRE(u != nullptr);
    CHECK(verify_password(u->password_hash, "vigil-demo"));
  }
  CHECK((*p)->find_user("agency-mof")->role == Role::kAgency);
  // Only the SOC director is cleared for the demo's top-secret (state-secret) alert.
  for (const auto& u : (*p)->users()) CHECK((u.clearance == Level::kTopSecret) == (u.name == "director"));
  // The demo capture's agency (deploy/sample) is the Ministry of Finance.
  CHECK((*p)->tenant_for(ip("10.20.10.10"), 0, 0) == "bo-tai-chinh");
  CHECK((*p)->tenant_for(ip("10.10.1.1"), 0, 0) == "tinh-hanoi");
  REQUIRE((*p)->asset_for(ip("10.20.10.10")) != nullptr);
  CHECK((*p)->asset_for(ip("10.20.10.10"))->name == "mof-portal");
  CHECK((*p)->asset_for(ip("10.20.10.53"))->name == "mof-servers");
  CHECK((*p)->retention().incident_usec == 0);
}

TEST_CASE("PolicyHolder swaps atomically", "[policy]") {
  auto a = demo();
  auto b = Policy::parse("tenants: [{name: x}]\n", "b.yaml");
  REQUIRE(b.ok());
  PolicyHolder holder(a);
  auto snap = holder.get();
  holder.set(*b);
  CHECK(holder.get()->tenants().size() == 1);
  CHECK(snap->tenants().size() == 4);  // an old snapshot stays valid
}

TEST_CASE("asset_for and tenant_for agree with a brute-force longest-prefix match", "[policy][lpm]") {
  std::mt19937 rng(12345);
  std::string y = "tenants:\n  - {name: t4, networks: [10.0.0.0/8]}\n  - {name: t6, networks: ['2001:db8::/32']}\nassets:\n";
  for (int i = 0; i < 400; ++i) {
    int len = 8 + static_cast<int>(rng() % 25);
    uint32_t base = 0x0a000000u | (rng() & 0x00ffffffu);
    if (i % 40 == 0) {
      y += "  - {name: a" + std::to_string(i) + ", networks: ['2001:db8:" + std::to_string(rng() % 4) + "::/" +
           std::to_string(33 + rng() % 31) + "']}\n";
      continue;
    }
    y += "  - {name: a" + std::to_string(i) + ", networks: [" + core::IpAddress::v4(base).to_string() + "/" +
         std::to_string(len) + "]}\n";
  }
  auto p = Policy::parse(y, "lpm.yaml");
  REQUIRE(p.ok());
  auto brute = [&](const core::IpAddress& a) -> const Asset* {
    const Asset* best = nullptr;
    int best_len = -1;
    for (const auto& as : (*p)->assets()) {
      for (const auto& n : as.networks) {
        if (n.base.is_v4() == a.is_v4() && n.prefix > best_len && n.contains(a)) {
          best_len = n.prefix;
          best = &as;
        }
      }
    }
    return best;
  };
  int hits = 0;
  for (int i = 0; i < 5000; ++i) {
    core::IpAddress a = i % 10 == 0 ? *core::IpAddress::parse("2001:db8:" + std::to_string(rng() % 4) + "::" + std::to_string(rng() % 9))
                                    : core::IpAddress::v4(0x0a000000u | (rng() & 0x00ffffffu));
    const Asset* want = brute(a);
    INFO(a.to_string());
    CHECK((*p)->asset_for(a) == want);
    CHECK((*p)->tenant_for(a, 0, 0) == (a.is_v4() ? "t4" : "t6"));
    hits += want != nullptr;
  }
  CHECK(hits > 500);  // the random blocks do cover part of the space
  CHECK((*p)->tenant_for(*core::IpAddress::parse("11.0.0.1"), 0, 0).empty());
}
