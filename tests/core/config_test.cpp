#include <catch2/catch.hpp>

#include "vigil/core/config.h"
#include "vigil/core/time.h"

using namespace vigil::core;

TEST_CASE("--set overrides create nested keys", "[core][config]") {
  YAML::Node root(YAML::NodeType::Map);
  REQUIRE(apply_override(root, "stream.midstream=true").ok());
  REQUIRE(apply_override(root, "stream.reassembly.depth=1mb").ok());
  ConfigReader r(root, "test");
  CHECK(r.get_bool("stream.midstream", false));
  CHECK(r.get_size("stream.reassembly.depth", 0) == 1024 * 1024);
  CHECK(r.finish().ok());

  auto bad = apply_override(root, "novalue");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().to_string().find("KEY=VALUE") != std::string::npos);
}

TEST_CASE("unknown and mistyped keys are named", "[core][config]") {
  YAML::Node root = YAML::Load("stream:\n  midstrem: true\n  depth: abc\n");
  {
    ConfigReader r(root, "sensor.yaml");
    r.get_bool("stream.midstream", false);
    r.get_size("stream.depth", 0);
    auto st = r.finish();
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().to_string().find("stream.depth") != std::string::npos);
  }
  {
    ConfigReader r(root, "sensor.yaml");
    r.get_bool("stream.midstream", false);
    r.ignore("stream.depth");
    auto st = r.finish();
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().to_string() == "sensor.yaml: unknown key 'stream.midstrem'");
  }
}

TEST_CASE("sizes and EVE timestamps", "[core][config]") {
  CHECK(parse_size("64kb") == 65536u);
  CHECK(parse_size("2 MB") == 2u * 1024 * 1024);
  CHECK(parse_size("100") == 100u);
  CHECK_FALSE(parse_size("12parsecs"));
  CHECK(format_eve_time(Timestamp::from_timeval(1453227512, 123456)) ==
        "2016-01-19T18:18:32.123456+0000");
}
