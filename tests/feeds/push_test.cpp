#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include <zmq.h>

#include "feeds/feeds_test_util.h"
#include "vigil/feeds/push.h"
#include "vigil/feeds/stix.h"

using namespace vigil;
using namespace vigil::feeds;
using nlohmann::json;

namespace {

struct KeyPair {
  std::string pub, sec;
  KeyPair() {
    char p[41], s[41];
    REQUIRE(zmq_curve_keypair(p, s) == 0);
    pub = p;
    sec = s;
  }
};

// The agency side, as vigil-feeds subscribe uses it.
std::unique_ptr<PushSubscriber> subscriber(const std::string& endpoint, const std::string& server_pub, const KeyPair& me,
                                           const std::string& topic) {
  auto s = PushSubscriber::connect({endpoint, server_pub, me.pub, me.sec, {topic}});
  REQUIRE(s.ok());
  return std::move(*s);
}

// {topic, body} of the next message, or empty.
std::vector<std::string> recv(PushSubscriber& s, int timeout_ms) {
  auto m = s.receive(std::chrono::milliseconds(timeout_ms));
  REQUIRE(m.ok());
  if (!m->has_value()) return {};
  return {(*m)->topic, (*m)->body};
}

Published green_item(const std::string& value) {
  Indicator i;
  i.value = value;
  i.created.usec = 1795500000000000;
  Audience a{Tlp::kGreen, "agencies", ""};
  auto o = stix::to_stix(i, "Vigil SOC");
  return {a, collection_id(a), o, {stix::marking_definition(Tlp::kGreen), stix::soc_identity("Vigil SOC", {1664582400000000})}};
}

}  // namespace

TEST_CASE("push feed over CURVE: a listed agency key receives, an unknown key is refused", "[feeds][push]") {
  KeyPair server, agency, stranger;
  auto feed = PushFeed::bind({"tcp://127.0.0.1:0", server.pub, server.sec, {{agency.pub, "moh-feed"}}});
  REQUIRE(feed.ok());
  std::string topic = collection_id({Tlp::kGreen, "agencies", ""});
  auto good = subscriber((*feed)->endpoint(), server.pub, agency, topic);
  auto bad = subscriber((*feed)->endpoint(), server.pub, stranger, topic);

  // PUB drops until the subscription arrives: publish until the listed agency sees a message
  // (bounded), then check what the stranger got.
  std::vector<std::string> got;
  for (int i = 0; i < 100 && got.empty(); ++i) {
    (*feed)->publish({green_item("203.0.113." + std::to_string(i % 250))});
    got = recv(*good, 50);
  }
  REQUIRE(got.size() == 2);
  CHECK(got[0] == topic);
  auto bundle = json::parse(got[1]);
  CHECK(bundle["type"] == "bundle");
  // Self-contained: the marking definition and the source's identity travel with the indicator.
  REQUIRE(bundle["objects"].size() == 3);
  for (const auto& o : bundle["objects"]) CHECK(stix::validate(o) == "");
  const auto& ind = bundle["objects"][2];
  CHECK(ind["type"] == "indicator");
  CHECK(bundle["objects"][0]["id"] == ind["object_marking_refs"][0]);
  CHECK(bundle["objects"][0]["name"] == "TLP:GREEN");
  CHECK(bundle["objects"][1]["id"] == ind["created_by_ref"]);
  CHECK(bundle["objects"][1]["name"] == "Vigil SOC");
  CHECK(recv(*bad, 300).empty());
  auto c = (*feed)->counters();
  CHECK(c.auth_accepted >= 1);
  CHECK(c.auth_refused >= 1);

  // AMBER+STRICT items are never pushed (PUB cannot keep topics apart per subscriber).
  auto amber = green_item("203.0.113.200");
  amber.audience = {Tlp::kAmberStrict, "tenant", "moh"};
  uint64_t skipped = (*feed)->counters().skipped;
  (*feed)->publish({amber});
  CHECK((*feed)->counters().skipped == skipped + 1);
}
