#include <catch2/catch.hpp>

#include <fstream>

#include "feeds/feeds_test_util.h"
#include "vigil/feeds/misp.h"
#include "vigil/feeds/stix.h"

using namespace vigil;
using namespace vigil::feeds;
using nlohmann::json;

namespace {

json indicator(IndicatorType t, const std::string& v, int64_t created, Tlp tlp) {
  Indicator i;
  i.type = t;
  i.value = v;
  i.created.usec = created;
  i.modified.usec = created + 1000000;
  i.tlp = tlp;
  return stix::to_stix(i, "Vigil SOC");
}

}  // namespace

TEST_CASE("MISP feed: manifest, events per day with attributes, hashes.csv, tlp tags", "[feeds][misp]") {
  int64_t day1 = 1795500000000000, day2 = day1 + 86400000000;
  std::vector<json> objs = {stix::marking_definition(Tlp::kGreen),
                            indicator(IndicatorType::kIpv4, "203.0.113.5", day1, Tlp::kGreen),
                            indicator(IndicatorType::kDomain, "evil.example", day1 + 5, Tlp::kGreen),
                            indicator(IndicatorType::kSha256, std::string(64, 'a'), day2, Tlp::kGreen)};
  auto feed = build_misp_feed(objs, "Vigil SOC", "c1");
  REQUIRE(feed.events.size() == 2);
  REQUIRE(feed.manifest.size() == 2);
  for (const auto& [uuid, m] : feed.manifest.items()) {
    CHECK(feed.events.count(uuid) == 1);
    for (const char* k : {"Orgc", "Tag", "info", "date", "analysis", "threat_level_id", "timestamp"}) CHECK(m.contains(k));
    CHECK(m["Tag"][0]["name"] == "tlp:green");
    CHECK(m["Orgc"]["name"] == "Vigil SOC");
  }
  const auto& e1 = feed.events.at(stix::uuid5("misp-event|c1|2026-11-24"))["Event"];
  REQUIRE(e1["Attribute"].size() == 2);
  CHECK(e1["Attribute"][0]["type"] == "ip-dst");
  CHECK(e1["Attribute"][0]["value"] == "203.0.113.5");
  CHECK(e1["Attribute"][1]["type"] == "domain");
  CHECK(e1["Attribute"][0]["to_ids"] == true);
  const auto& e2 = feed.events.at(stix::uuid5("misp-event|c1|2026-11-25"))["Event"];
  CHECK(e2["Attribute"][0]["type"] == "sha256");
  // hashes.csv: md5(value),event uuid — md5("203.0.113.5") computed independently.
  CHECK_THAT(feed.hashes_csv, Catch::Contains("," + e1["uuid"].get<std::string>()));
  CHECK(std::count(feed.hashes_csv.begin(), feed.hashes_csv.end(), '\n') == 3);
  // Rebuilding gives the same uuids.
  CHECK(build_misp_feed(objs, "Vigil SOC", "c1").manifest == feed.manifest);
  // An amber attribute makes its event amber.
  objs.push_back(indicator(IndicatorType::kIpv4, "203.0.113.6", day1 + 9, Tlp::kAmber));
  auto f2 = build_misp_feed(objs, "Vigil SOC", "c1");
  CHECK(f2.manifest[e1["uuid"].get<std::string>()]["Tag"][0]["name"] == "tlp:amber");

  test::TempDir dir;
  REQUIRE(write_misp_feed(feed, (dir.path / "out").string()).ok());
  CHECK(std::filesystem::exists(dir.path / "out" / "manifest.json"));
  CHECK(std::filesystem::exists(dir.path / "out" / "hashes.csv"));
  CHECK(std::filesystem::exists(dir.path / "out" / (e1["uuid"].get<std::string>() + ".json")));
}
