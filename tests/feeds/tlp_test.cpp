#include <catch2/catch.hpp>

#include "feeds/feeds_test_util.h"
#include "vigil/feeds/indicator.h"

using namespace vigil;
using namespace vigil::feeds;
using namespace vigil::feeds::test;

namespace {

std::string describe(const std::vector<Audience>& as) {
  std::string out;
  for (const auto& a : as) {
    if (!out.empty()) out += " ";
    out += std::string(policy::to_string(a.tlp)) + ":" + a.kind + (a.name.empty() ? "" : "/" + a.name);
  }
  return out.empty() ? "none" : out;
}

}  // namespace

TEST_CASE("placement table: alert level / input TLP / release / recipients -> collections", "[feeds][tlp]") {
  struct Row {
    const char* alert_level;
    const char* alert_tlp;
    bool released;
    std::vector<std::string> recipients;
    const char* indicator;  // placements of the attacker indicator
    const char* sighting;   // placements of the sighting at tenant moh
  };
  const Row rows[] = {
      {"internal", "", false, {}, "green:agencies amber+strict:tenant/moh", "amber+strict:tenant/moh"},
      {"public", "", false, {}, "green:agencies amber+strict:tenant/moh", "amber+strict:tenant/moh"},
      {"internal", "", true, {}, "clear:agencies amber+strict:tenant/moh", "amber+strict:tenant/moh"},
      {"internal", "clear", false, {}, "green:agencies amber+strict:tenant/moh", "amber+strict:tenant/moh"},
      {"internal", "amber", true, {}, "amber+strict:tenant/moh", "amber+strict:tenant/moh"},
      {"internal", "amber+strict", false, {}, "amber+strict:tenant/moh", "amber+strict:tenant/moh"},
      {"internal", "red", false, {}, "none", "none"},
      {"internal", "red", false, {"lead1"}, "red:user/lead1", "red:user/lead1"},
      {"confidential", "", false, {}, "none", "none"},
      {"confidential", "", true, {}, "none", "none"},
      {"confidential", "", false, {"lead1", "mof-ciso"}, "red:user/lead1 red:user/mof-ciso", "red:user/lead1 red:user/mof-ciso"},
      {"secret", "green", false, {"lead1"}, "red:user/lead1", "red:user/lead1"},
      {"top-secret", "", false, {"lead1"}, "none", "none"},
      {"top-secret", "", true, {}, "none", "none"},
  };
  for (const auto& row : rows) {
    auto a = make_alert(1, "moh", "203.0.113.5", "10.1.2.3", 1795500000000000);
    a.level = row.alert_level;
    a.labels.tlp = row.alert_tlp;
    auto ex = extract(a, {}, test_internal);
    REQUIRE(ex.indicators.size() == 1);
    REQUIRE(ex.sightings.size() == 1);
    auto& i = ex.indicators[0];
    auto& s = ex.sightings[0];
    i.released = row.released;
    i.recipients = row.recipients;
    s.recipients = row.recipients;
    INFO("level " << row.alert_level << " tlp '" << row.alert_tlp << "' released " << row.released);
    CHECK(describe(placements(i)) == row.indicator);
    CHECK(describe(placements(s)) == row.sighting);
    // Never lower than the input.
    if (auto in = policy::parse_tlp(row.alert_tlp)) {
      CHECK(effective_tlp(i) >= *in);
      CHECK(effective_tlp(s) >= *in);
    }
  }
}

TEST_CASE("a sighting without a tenant goes nowhere; submissions stay with their agency", "[feeds][tlp]") {
  Sighting s;
  s.value = "203.0.113.5";
  CHECK(placements(s).empty());
  Indicator i;
  i.value = "203.0.113.9";
  i.source = "agency:mof";
  i.tlp = Tlp::kAmberStrict;
  CHECK(describe(placements(i)) == "amber+strict:submissions/mof");
  i.level = Level::kTopSecret;
  CHECK(placements(i).empty());
}

TEST_CASE("confirmed: closed true-positive, or escalated into an incident not closed otherwise", "[feeds][tlp]") {
  auto a = make_alert(1, "moh", "203.0.113.5", "10.1.2.3", 1795500000000000);
  CHECK(confirmed(a, nullptr));
  a.verdict = "false-positive";
  CHECK_FALSE(confirmed(a, nullptr));
  a.status = core::AlertStatus::kAcknowledged;
  a.verdict.clear();
  CHECK_FALSE(confirmed(a, nullptr));
  core::Incident inc;
  a.incident = "00000000000000000000000000000001";
  CHECK(confirmed(a, &inc));
  inc.status = core::AlertStatus::kClosed;
  inc.verdict = "benign";
  CHECK_FALSE(confirmed(a, &inc));
  inc.verdict = "true-positive";
  CHECK(confirmed(a, &inc));
  CHECK_FALSE(confirmed(a, nullptr));  // incident not found
}

TEST_CASE("extraction keeps the attacker side only: no tenant, private or special addresses", "[feeds][tlp]") {
  auto a = make_alert(1, "moh", "10.1.2.3", "203.0.113.5", 1795500000000000);
  auto ex = extract(a, {}, test_internal);
  REQUIRE(ex.indicators.size() == 1);
  CHECK(ex.indicators[0].value == "203.0.113.5");
  CHECK(ex.indicators[0].level == Level::kPublic);  // internal alert, no victim data in the indicator
  CHECK(ex.sightings[0].level == Level::kInternal);
  // Tenant-owned public range (198.51.100.0/25) is a victim, not an attacker.
  CHECK(extract(make_alert(2, "moh", "198.51.100.7", "192.168.1.1", 1), {}, test_internal).indicators.empty());
  CHECK(extract(make_alert(3, "moh", "127.0.0.1", "100.64.1.1", 1), {}, test_internal).indicators.empty());
  CHECK(extract(make_alert(4, "moh", "fe80::1", "fd00::1", 1), {}, test_internal).indicators.empty());
  auto v6 = extract(make_alert(5, "moh", "2001:db8::5", "10.1.0.1", 1), {}, test_internal);
  REQUIRE(v6.indicators.size() == 1);
  CHECK(v6.indicators[0].type == IndicatorType::kIpv6);

  // Host names, URLs (query dropped) and hashes only when the server side is the attacker.
  core::StoredEvent out;
  out.event.kind = core::EventKind::kAlert;
  out.event.app_proto = "http";
  out.event.flow.src_ip = ip("10.1.2.3");
  out.event.flow.dst_ip = ip("203.0.113.5");
  out.event.flow.src_port = 50000;
  out.event.flow.dst_port = 80;
  out.event.app_json = R"({"hostname":"Evil.Example.","url":"/drop/x.exe?user=nguyen.van.a@moh.gov.vn","fileinfo":{"sha256":")" +
                       std::string(64, 'A') + R"("}})";
  auto ex2 = extract(a, {out}, test_internal);
  std::vector<std::string> values;
  for (const auto& i : ex2.indicators) values.push_back(std::string(to_string(i.type)) + " " + i.value);
  CHECK(values == std::vector<std::string>{"ipv4 203.0.113.5", "domain evil.example", "url http://evil.example/drop/x.exe",
                                           "sha256 " + std::string(64, 'a')});
  core::StoredEvent in = out;  // an outside client asking a tenant's server: the name is the victim's
  in.event.flow.src_ip = ip("203.0.113.5");
  in.event.flow.dst_ip = ip("10.1.2.3");
  in.event.app_json = R"({"hostname":"portal.moh.gov.vn","url":"/login"})";
  auto ex3 = extract(a, {in}, test_internal);
  REQUIRE(ex3.indicators.size() == 1);
  CHECK(ex3.indicators[0].value == "203.0.113.5");
}

TEST_CASE("merge is idempotent per alert and never lowers level or TLP", "[feeds][tlp]") {
  auto ex1 = extract(make_alert(1, "moh", "203.0.113.5", "10.1.2.3", 1000), {}, test_internal);
  auto ex2 = extract(make_alert(2, "mof", "203.0.113.5", "10.2.2.3", 5000), {}, test_internal);
  Indicator i = ex1.indicators[0];
  CHECK_FALSE(merge(i, ex1.indicators[0]));
  CHECK(merge(i, ex2.indicators[0]));
  CHECK(i.tenants == std::vector<std::string>{"moh", "mof"});
  CHECK(i.first_seen.usec == 1000);
  CHECK(i.last_seen.usec == 5000 + 1000000);
  Sighting s = ex1.sightings[0];
  CHECK_FALSE(merge(s, ex1.sightings[0]));
  CHECK(s.count() == 3);
  auto again = ex1.sightings[0];
  again.refs.begin()->second = 5;  // the same alert grew
  CHECK(merge(s, again));
  CHECK(s.count() == 5);
  Indicator red = ex1.indicators[0];
  red.tlp = Tlp::kRed;
  merge(i, red);
  CHECK(i.tlp == Tlp::kRed);
  merge(i, ex1.indicators[0]);
  CHECK(i.tlp == Tlp::kRed);
}

TEST_CASE("the tenant's default TLP protects its victim data, not the attacker indicator", "[feeds][tlp]") {
  auto a = make_alert(1, "moh", "203.0.113.5", "10.1.2.3", 1795500000000000);
  TenantTlp defaults = [](const std::string& t) -> std::optional<Tlp> {
    if (t == "moh") return Tlp::kAmber;
    return std::nullopt;
  };
  a.labels.tlp = "amber";  // stamped by the correlator from tenants[].default_tlp
  auto ex = extract(a, {}, test_internal, defaults);
  CHECK(effective_tlp(ex.indicators[0]) == Tlp::kGreen);
  CHECK(effective_tlp(ex.sightings[0]) == Tlp::kAmberStrict);
  a.labels.tlp = "red";  // raised above the default: binds the indicator too
  ex = extract(a, {}, test_internal, defaults);
  CHECK(effective_tlp(ex.indicators[0]) == Tlp::kRed);
  CHECK(effective_tlp(ex.sightings[0]) == Tlp::kRed);
  a.labels.tlp = "amber";  // without defaults every alert TLP binds
  CHECK(effective_tlp(extract(a, {}, test_internal).indicators[0]) == Tlp::kAmber);
  a.labels.tlp = "purple";  // unknown: strictest
  CHECK(effective_tlp(extract(a, {}, test_internal, defaults).indicators[0]) == Tlp::kRed);
}
