#include <catch2/catch.hpp>

#include <regex>

#include "vigil/feeds/stix.h"

using namespace vigil;
using namespace vigil::feeds;

TEST_CASE("uuid5 follows RFC 4122 (the DNS namespace example) and is stable", "[feeds][stix]") {
  // Python: uuid.uuid5(uuid.NAMESPACE_DNS, "www.example.com")
  CHECK(stix::uuid5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "www.example.com") == "2ed6657d-e927-568b-95e1-2665a8aea6a2");
  CHECK(stix::uuid5("a") == stix::uuid5("a"));
  CHECK(stix::uuid5("a") != stix::uuid5("b"));
  std::regex v5("[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  CHECK(std::regex_match(stix::uuid5("indicator|ipv4|203.0.113.5"), v5));
}

TEST_CASE("STIX timestamps are RFC 3339 UTC with milliseconds and Z", "[feeds][stix]") {
  CHECK(stix_time(core::Timestamp{0}) == "1970-01-01T00:00:00.000Z");
  CHECK(stix_time(core::Timestamp{1795500000123456}) == "2026-11-24T06:00:00.123Z");
  CHECK(taxii_time(1795500000123456) == "2026-11-24T06:00:00.123456Z");
  CHECK(parse_time("2026-11-24T06:00:00.123456Z") == 1795500000123456);
  CHECK(parse_time("2026-11-24T06:00:00Z") == 1795500000000000);
  CHECK(parse_time("2026-11-24T13:00:00.5+07:00") == 1795500000500000);
  CHECK_FALSE(parse_time("2026-11-24 04:00:00Z"));
  CHECK_FALSE(parse_time("2026-13-24T04:00:00Z"));
  CHECK_FALSE(parse_time("2026-11-24T04:00:00"));
}

TEST_CASE("patterns per indicator type, and the accepted subset parses back", "[feeds][stix]") {
  CHECK(stix::pattern(IndicatorType::kIpv4, "203.0.113.5") == "[ipv4-addr:value = '203.0.113.5']");
  CHECK(stix::pattern(IndicatorType::kDomain, "evil.example") == "[domain-name:value = 'evil.example']");
  CHECK(stix::pattern(IndicatorType::kSha256, std::string(64, 'a')) == "[file:hashes.'SHA-256' = '" + std::string(64, 'a') + "']");
  CHECK(stix::pattern(IndicatorType::kUrl, "http://x.example/a'b") == "[url:value = 'http://x.example/a\\'b']");
  for (auto t : {IndicatorType::kIpv4, IndicatorType::kIpv6, IndicatorType::kDomain, IndicatorType::kUrl, IndicatorType::kSha256,
                 IndicatorType::kMd5, IndicatorType::kSha1}) {
    std::string v = t == IndicatorType::kIpv4 ? "203.0.113.5" : t == IndicatorType::kIpv6 ? "2001:db8::1"
                  : t == IndicatorType::kDomain ? "evil.example" : t == IndicatorType::kUrl ? "http://evil.example/x"
                  : t == IndicatorType::kSha256 ? std::string(64, 'b') : t == IndicatorType::kMd5 ? std::string(32, 'c') : std::string(40, 'd');
    auto p = stix::parse_pattern(stix::pattern(t, v));
    REQUIRE(p.ok());
    CHECK(p->first == t);
    CHECK(p->second == v);
  }
  CHECK(stix::parse_pattern("[file:hashes.MD5 = 'D41D8CD98F00B204E9800998ECF8427E']")->second == "d41d8cd98f00b204e9800998ecf8427e");
  CHECK_FALSE(stix::parse_pattern("[ipv4-addr:value = '203.0.113.5'] AND [ipv4-addr:value = '1.2.3.4']").ok());
  CHECK_FALSE(stix::parse_pattern("[ipv4-addr:value != '203.0.113.5']").ok());
  CHECK_FALSE(stix::parse_pattern("[ipv4-addr:value = 'not-an-ip']").ok());
  CHECK_FALSE(stix::parse_pattern("[process:name = 'x']").ok());
  CHECK_FALSE(stix::parse_pattern("ipv4-addr:value = '1.2.3.4'").ok());
}

TEST_CASE("TLP 2.0 marking definitions carry the OASIS ids and extension", "[feeds][stix]") {
  auto g = stix::marking_definition(Tlp::kGreen);
  CHECK(g["id"] == "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb");
  CHECK(g["name"] == "TLP:GREEN");
  CHECK(g["created"] == "2022-10-01T00:00:00.000Z");
  CHECK(g["extensions"]["extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"]["tlp_2_0"] == "green");
  CHECK(g["extensions"]["extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"]["extension_type"] == "property-extension");
  CHECK(stix::marking_id(Tlp::kClear) == "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487");
  CHECK(stix::marking_id(Tlp::kAmber) == "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421");
  CHECK(stix::marking_id(Tlp::kAmberStrict) == "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003");
  CHECK(stix::marking_id(Tlp::kRed) == "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1");
  for (Tlp t : {Tlp::kClear, Tlp::kGreen, Tlp::kAmber, Tlp::kAmberStrict, Tlp::kRed}) {
    CHECK(stix::validate(stix::marking_definition(t)).empty());
  }
}

TEST_CASE("indicator and sighting objects: deterministic ids, markings, no victim outside its own collection", "[feeds][stix]") {
  Indicator i;
  i.type = IndicatorType::kIpv4;
  i.value = "203.0.113.5";
  i.created.usec = 1795500000123456;
  i.modified.usec = 1795500001000000;
  i.first_seen.usec = 1795490000000000;
  auto o = stix::to_stix(i, "Vigil SOC");
  CHECK(stix::validate(o).empty());
  CHECK(o["id"] == stix::to_stix(i, "Vigil SOC")["id"]);
  CHECK(o["id"].get<std::string>().rfind("indicator--", 0) == 0);
  CHECK(o["pattern"] == "[ipv4-addr:value = '203.0.113.5']");
  CHECK(o["pattern_type"] == "stix");
  CHECK(o["created"] == "2026-11-24T06:00:00.123Z");
  CHECK(o["valid_from"] == stix_time(i.first_seen));
  CHECK(o["object_marking_refs"] == nlohmann::json{std::string(stix::marking_id(Tlp::kGreen))});
  CHECK(o["created_by_ref"] == stix::soc_identity_id("Vigil SOC"));
  i.released = true;
  CHECK(stix::to_stix(i, "Vigil SOC")["object_marking_refs"][0] == stix::marking_id(Tlp::kClear));
  i.tlp = Tlp::kAmber;  // an input was amber: releasing never lowers it
  CHECK(stix::to_stix(i, "Vigil SOC")["object_marking_refs"][0] == stix::marking_id(Tlp::kAmber));

  Sighting s;
  s.type = i.type;
  s.value = i.value;
  s.tenant = "moh";
  s.refs = {{"a", 3}, {"b", 4}};
  s.first_seen.usec = 1795490000000000;
  s.last_seen.usec = 1795500000000000;
  s.created = s.modified = i.created;
  auto so = stix::to_stix(s, "Vigil SOC", true);
  CHECK(stix::validate(so).empty());
  CHECK(so["count"] == 7);
  CHECK(so["sighting_of_ref"] == o["id"]);
  CHECK(so["where_sighted_refs"] == nlohmann::json{stix::tenant_identity_id("moh")});
  CHECK(so["object_marking_refs"][0] == stix::marking_id(Tlp::kAmberStrict));
  CHECK_FALSE(stix::to_stix(s, "Vigil SOC", false).contains("where_sighted_refs"));
  auto id = stix::soc_identity("Vigil SOC", core::Timestamp{1664582400000000});
  CHECK(id["sectors"] == nlohmann::json{"government"});
  CHECK(stix::validate(id).empty());
}

TEST_CASE("validate() names what is wrong with a submitted object", "[feeds][stix]") {
  nlohmann::json o = {{"type", "indicator"},
                      {"spec_version", "2.1"},
                      {"id", "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"},
                      {"created", "2026-11-01T00:00:00.000Z"},
                      {"modified", "2026-11-01T00:00:00.000Z"},
                      {"pattern", "[domain-name:value = 'bad.example']"},
                      {"pattern_type", "stix"},
                      {"valid_from", "2026-11-01T00:00:00Z"}};
  CHECK(stix::validate(o).empty());
  auto bad = [&](const char* key, nlohmann::json v) {
    auto c = o;
    c[key] = v;
    return stix::validate(c);
  };
  CHECK_THAT(bad("spec_version", "2.0"), Catch::Contains("spec_version"));
  CHECK_THAT(bad("id", "indicator--nope"), Catch::Contains("id"));
  CHECK_THAT(bad("id", "malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"), Catch::Contains("id"));
  CHECK_THAT(bad("created", "2026-11-01 00:00:00"), Catch::Contains("created"));
  CHECK_THAT(bad("modified", "2025-11-01T00:00:00Z"), Catch::Contains("before created"));
  CHECK_THAT(bad("pattern_type", "sigma"), Catch::Contains("pattern_type"));
  CHECK_THAT(bad("pattern", "[domain-name:value = 'bad example']"), Catch::Contains("pattern"));
  CHECK_THAT(bad("object_marking_refs", nlohmann::json{"identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}), Catch::Contains("marking"));
  auto c = o;
  c.erase("valid_from");
  CHECK_THAT(stix::validate(c), Catch::Contains("valid_from"));
}
