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

// A CURVE SUB client; returns frames received within the deadline.
struct Subscriber {
  void* ctx = zmq_ctx_new();
  void* sock = zmq_socket(ctx, ZMQ_SUB);
  Subscriber(const std::string& endpoint, const std::string& server_pub, const KeyPair& me, const std::string& topic) {
    zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server_pub.c_str(), 40);
    zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, me.pub.c_str(), 40);
    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, me.sec.c_str(), 40);
    zmq_setsockopt(sock, ZMQ_SUBSCRIBE, topic.data(), topic.size());
    int zero = 0;
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_connect(sock, endpoint.c_str());
  }
  ~Subscriber() {
    zmq_close(sock);
    zmq_ctx_term(ctx);
  }
  std::vector<std::string> recv(int timeout_ms) {
    zmq_pollitem_t item{sock, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, timeout_ms) <= 0) return {};
    std::vector<std::string> frames;
    for (;;) {
      zmq_msg_t m;
      zmq_msg_init(&m);
      if (zmq_msg_recv(&m, sock, 0) < 0) break;
      frames.emplace_back(static_cast<char*>(zmq_msg_data(&m)), zmq_msg_size(&m));
      bool more = zmq_msg_more(&m);
      zmq_msg_close(&m);
      if (!more) break;
    }
    return frames;
  }
};

Published green_item(const std::string& value) {
  Indicator i;
  i.value = value;
  i.created.usec = 1795500000000000;
  Audience a{Tlp::kGreen, "agencies", ""};
  return {a, collection_id(a), stix::to_stix(i, "Vigil SOC")};
}

}  // namespace

TEST_CASE("push feed over CURVE: a listed agency key receives, an unknown key is refused", "[feeds][push]") {
  KeyPair server, agency, stranger;
  auto feed = PushFeed::bind({"tcp://127.0.0.1:0", server.pub, server.sec, {{agency.pub, "moh-feed"}}});
  REQUIRE(feed.ok());
  std::string topic = collection_id({Tlp::kGreen, "agencies", ""});
  Subscriber good((*feed)->endpoint(), server.pub, agency, topic);
  Subscriber bad((*feed)->endpoint(), server.pub, stranger, topic);

  // PUB drops until the subscription arrives: publish until the listed agency sees a message
  // (bounded), then check what the stranger got.
  std::vector<std::string> got;
  for (int i = 0; i < 100 && got.empty(); ++i) {
    (*feed)->publish({green_item("203.0.113." + std::to_string(i % 250))});
    got = good.recv(50);
  }
  REQUIRE(got.size() == 2);
  CHECK(got[0] == topic);
  auto bundle = json::parse(got[1]);
  CHECK(bundle["type"] == "bundle");
  REQUIRE(bundle["objects"].size() == 1);
  CHECK(stix::validate(bundle["objects"][0]).empty());
  CHECK(bad.recv(300).empty());
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
