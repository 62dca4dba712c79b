#include <catch2/catch.hpp>

#include <set>
#include <vector>

#include "sensor/flow/test_packets.h"
#include "vigil/sensor/flow.h"
#include "vigil/sensor/stream.h"

using namespace vigil::sensor;
using vigil::core::Timestamp;
using vigil::sensor::testing::kClientIp;
using vigil::sensor::testing::kServerIp;
using vigil::sensor::testing::PacketFactory;

namespace {
constexpr uint8_t kSyn = tcp_flag::kSyn, kAck = tcp_flag::kAck, kFin = tcp_flag::kFin;
}

TEST_CASE("flow key is the same for both directions and differs otherwise", "[sensor][flow]") {
  PacketFactory pf;
  const Packet a = pf.udp(kClientIp, 5000, kServerIp, 53);
  const Packet b = pf.udp(kServerIp, 53, kClientIp, 5000);
  const FlowKey ka = FlowKey::from_packet(a), kb = FlowKey::from_packet(b);
  CHECK(ka == kb);
  CHECK(flow_key_hash(ka) == flow_key_hash(kb));

  Packet other_port = pf.udp(kClientIp, 5001, kServerIp, 53);
  CHECK_FALSE(FlowKey::from_packet(other_port) == ka);
  CHECK(flow_key_hash(FlowKey::from_packet(other_port)) != flow_key_hash(ka));

  Packet vlan = a;
  vlan.vlan[0] = 10;
  vlan.vlan_count = 1;
  CHECK_FALSE(FlowKey::from_packet(vlan) == ka);
  Packet vxlan = a;
  vxlan.vni = 42;
  CHECK_FALSE(FlowKey::from_packet(vxlan) == ka);
  Packet tcp = pf.tcp(kClientIp, 5000, kServerIp, 53, kSyn, 1, 0);
  CHECK_FALSE(FlowKey::from_packet(tcp) == ka);
}

TEST_CASE("flow direction, counters and non-TCP establishment", "[sensor][flow]") {
  PacketFactory pf;
  FlowTable table(FlowConfig{});
  Direction dir;
  bool created = false;

  Flow* f = table.get_or_create(pf.udp(kClientIp, 5000, kServerIp, 53, 100, "query"), dir, created);
  REQUIRE(f);
  CHECK(created);
  CHECK(dir == Direction::ToServer);
  CHECK(f->client_ip == vigil::core::IpAddress::v4(kClientIp));
  CHECK(f->client_port == 5000);
  CHECK(f->server_port == 53);
  CHECK_FALSE(f->established);
  CHECK_FALSE(f->pkt_established);
  CHECK(f->id != 0);
  CHECK(f->id < (uint64_t{1} << 51));

  Flow* g = table.get_or_create(pf.udp(kServerIp, 53, kClientIp, 5000, 101, "answer!"), dir, created);
  CHECK(g == f);
  CHECK_FALSE(created);
  CHECK(dir == Direction::ToClient);
  CHECK(f->established);
  CHECK(f->pkt_established);
  CHECK(f->state == FlowState::kEstablished);
  CHECK(f->packets[0] == 1);
  CHECK(f->packets[1] == 1);
  CHECK(f->bytes[0] == 42 + 5);
  CHECK(f->bytes[1] == 42 + 7);
  CHECK(f->first_ts == Timestamp::from_timeval(100, 0));
  CHECK(f->last_ts == Timestamp::from_timeval(101, 0));
  CHECK(table.size() == 1);
  CHECK(table.counters().created == 1);
}

TEST_CASE("ICMP echo request and reply share a flow", "[sensor][flow]") {
  PacketFactory pf;
  FlowTable table(FlowConfig{});
  Direction dir;
  bool created;
  Flow* req = table.get_or_create(pf.icmp_echo(kClientIp, kServerIp, 8, 77), dir, created);
  Flow* rep = table.get_or_create(pf.icmp_echo(kServerIp, kClientIp, 0, 77), dir, created);
  CHECK(req == rep);
  CHECK(dir == Direction::ToClient);
  CHECK(req->established);
  Flow* other = table.get_or_create(pf.icmp_echo(kClientIp, kServerIp, 8, 78), dir, created);
  CHECK(other != req);
}

TEST_CASE("flows expire after their protocol and state timeout", "[sensor][flow]") {
  PacketFactory pf;
  FlowTable table(FlowConfig{});  // udp new 30 est 300, tcp new 60
  Direction dir;
  bool created;
  std::vector<FlowEndReason> reasons;
  std::vector<uint16_t> ports;
  auto cb = [&](Flow& f, FlowEndReason r) {
    reasons.push_back(r);
    ports.push_back(f.client_port);
  };

  table.get_or_create(pf.udp(kClientIp, 1, kServerIp, 53, 1000), dir, created);  // new
  table.get_or_create(pf.udp(kClientIp, 2, kServerIp, 53, 1000), dir, created);  // established
  table.get_or_create(pf.udp(kServerIp, 53, kClientIp, 2, 1000), dir, created);
  table.get_or_create(pf.tcp(kClientIp, 3, kServerIp, 80, kAck, 1, 1), dir, created);  // tcp new

  table.expire(Timestamp::from_timeval(1030, 0), cb);
  CHECK(reasons.empty());  // exactly 30 s idle is not yet over the timeout
  table.expire(Timestamp::from_timeval(1031, 0), cb);
  REQUIRE(ports == std::vector<uint16_t>{1});
  CHECK(reasons[0] == FlowEndReason::kTimeout);
  table.expire(Timestamp::from_timeval(1061, 0), cb);
  CHECK(ports == std::vector<uint16_t>{1, 3});
  table.expire(Timestamp::from_timeval(1299, 0), cb);
  CHECK(ports.size() == 2);
  table.expire(Timestamp::from_timeval(1301, 0), cb);
  CHECK(ports == std::vector<uint16_t>{1, 3, 2});
  CHECK(table.size() == 0);
  CHECK(table.counters().timed_out == 3);
  CHECK(table.counters().active == 0);
}

TEST_CASE("a touched flow is not expired by its old timestamp", "[sensor][flow]") {
  PacketFactory pf;
  FlowTable table(FlowConfig{});
  Direction dir;
  bool created;
  int ended = 0;
  auto cb = [&](Flow&, FlowEndReason) { ++ended; };
  table.get_or_create(pf.udp(kClientIp, 1, kServerIp, 53, 1000), dir, created);
  table.get_or_create(pf.udp(kClientIp, 2, kServerIp, 53, 1010), dir, created);
  table.get_or_create(pf.udp(kClientIp, 1, kServerIp, 53, 1020), dir, created);  // touch 1
  table.expire(Timestamp::from_timeval(1045, 0), cb);
  CHECK(ended == 1);  // port 2 (last seen 1010); port 1 seen at 1020
  CHECK(table.size() == 1);
}

TEST_CASE("a full table evicts the least recently seen flow", "[sensor][flow]") {
  PacketFactory pf;
  FlowConfig cfg;
  cfg.max_flows = 2;
  FlowTable table(cfg);
  std::vector<uint16_t> evicted;
  table.set_end_callback([&](Flow& f, FlowEndReason r) {
    CHECK(r == FlowEndReason::kEvicted);
    evicted.push_back(f.client_port);
  });
  Direction dir;
  bool created;
  table.get_or_create(pf.udp(kClientIp, 1, kServerIp, 53, 1000), dir, created);
  table.get_or_create(pf.udp(kClientIp, 2, kServerIp, 53, 1001), dir, created);
  table.get_or_create(pf.udp(kClientIp, 1, kServerIp, 53, 1002), dir, created);  // 1 is now newer
  Flow* f3 = table.get_or_create(pf.udp(kClientIp, 3, kServerIp, 53, 1003), dir, created);
  REQUIRE(f3);
  CHECK(created);
  CHECK(evicted == std::vector<uint16_t>{2});
  CHECK(table.size() == 2);
  CHECK(table.counters().evicted == 1);

  // Flow 1 is still found (not recreated).
  table.get_or_create(pf.udp(kClientIp, 1, kServerIp, 53, 1004), dir, created);
  CHECK_FALSE(created);
}

TEST_CASE("a full table with nothing evictable returns null and counts", "[sensor][flow]") {
  PacketFactory pf;
  FlowConfig cfg;
  cfg.max_flows = 1;
  cfg.evict_min_idle_s = 10;
  FlowTable table(cfg);
  Direction dir;
  bool created;
  REQUIRE(table.get_or_create(pf.udp(kClientIp, 1, kServerIp, 53, 1000), dir, created));
  CHECK(table.get_or_create(pf.udp(kClientIp, 2, kServerIp, 53, 1005), dir, created) == nullptr);
  CHECK(table.counters().memcap_hits == 1);
  // Idle long enough: evictable.
  CHECK(table.get_or_create(pf.udp(kClientIp, 2, kServerIp, 53, 1011), dir, created) != nullptr);
  CHECK(table.counters().evicted == 1);
}

TEST_CASE("memcap bounds the number of flows", "[sensor][flow]") {
  FlowConfig cfg;
  cfg.max_flows = 1000;
  cfg.memcap = sizeof(Flow) * 5;
  FlowTable table(cfg);
  CHECK(table.capacity() == 5);
}

TEST_CASE("index stays consistent under heavy insert and evict churn", "[sensor][flow]") {
  PacketFactory pf;
  FlowConfig cfg;
  cfg.max_flows = 64;
  FlowTable table(cfg);
  Direction dir;
  bool created;
  std::set<uint64_t> ids;
  for (uint32_t i = 0; i < 5000; ++i) {
    Flow* f = table.get_or_create(
        pf.udp(kClientIp + (i % 97), static_cast<uint16_t>(1000 + i), kServerIp, 53, 1000 + i),
        dir, created);
    REQUIRE(f);
    REQUIRE(created);
    ids.insert(f->id);
  }
  CHECK(ids.size() == 5000);  // flow ids are distinct
  CHECK(table.size() == 64);
  // Every live flow is found again by a packet in the reverse direction.
  std::vector<std::pair<uint32_t, uint16_t>> live;
  table.for_each([&](Flow& f) { live.emplace_back(f.client_ip.v4_host_order(), f.client_port); });
  REQUIRE(live.size() == 64);
  for (auto [ip, port] : live) {
    Flow* f = table.get_or_create(pf.udp(kServerIp, 53, ip, port, 9000), dir, created);
    REQUIRE(f);
    CHECK_FALSE(created);
    CHECK(dir == Direction::ToClient);
  }
  int flushed = 0;
  table.flush_all([&](Flow&, FlowEndReason r) {
    CHECK(r == FlowEndReason::kShutdown);
    ++flushed;
  });
  CHECK(flushed == 64);
  CHECK(table.size() == 0);
}

TEST_CASE("TCP flows use TCP timeouts by session state", "[sensor][flow]") {
  PacketFactory pf;
  FlowTable table(FlowConfig{});
  StreamTracker tracker(StreamConfig{});
  Direction dir;
  bool created;
  auto feed = [&](const Packet& p) {
    Flow* f = table.get_or_create(p, dir, created);
    tracker.on_packet(*f, p, dir);
    return f;
  };
  Flow* f = feed(pf.tcp(kClientIp, 1234, kServerIp, 80, kSyn, 100, 0));
  CHECK(table.timeout_for(*f) == 60);
  feed(pf.tcp(kServerIp, 80, kClientIp, 1234, kSyn | kAck, 500, 101));
  feed(pf.tcp(kClientIp, 1234, kServerIp, 80, kAck, 101, 501));
  CHECK(f->state == FlowState::kEstablished);
  CHECK(table.timeout_for(*f) == 600);
  feed(pf.tcp(kClientIp, 1234, kServerIp, 80, kFin | kAck, 101, 501));
  feed(pf.tcp(kServerIp, 80, kClientIp, 1234, kFin | kAck, 501, 102));
  feed(pf.tcp(kClientIp, 1234, kServerIp, 80, kAck, 102, 502));
  CHECK(f->tcp->state() == TcpState::kClosed);
  CHECK(f->state == FlowState::kClosed);
  CHECK(table.timeout_for(*f) == 60);
}

TEST_CASE("a new SYN on a closed TCP session starts a new flow", "[sensor][flow]") {
  PacketFactory pf;
  FlowTable table(FlowConfig{});
  StreamTracker tracker(StreamConfig{});
  std::vector<FlowEndReason> ended;
  table.set_end_callback([&](Flow&, FlowEndReason r) { ended.push_back(r); });
  Direction dir;
  bool created;
  auto feed = [&](const Packet& p) {
    Flow* f = table.get_or_create(p, dir, created);
    tracker.on_packet(*f, p, dir);
    return f;
  };
  Flow* first = feed(pf.tcp(kClientIp, 1234, kServerIp, 80, kSyn, 100, 0));
  const uint64_t first_id = first->id;
  feed(pf.tcp(kServerIp, 80, kClientIp, 1234, tcp_flag::kRst | kAck, 0, 101));
  REQUIRE(first->tcp->state() == TcpState::kClosed);
  // Same ISN: a retransmitted SYN, not a reuse.
  feed(pf.tcp(kClientIp, 1234, kServerIp, 80, kSyn, 100, 0));
  CHECK(ended.empty());
  Flow* second = feed(pf.tcp(kClientIp, 1234, kServerIp, 80, kSyn, 9000, 0));
  CHECK(created);
  CHECK(ended == std::vector<FlowEndReason>{FlowEndReason::kReused});
  CHECK(second->id != first_id);
  CHECK(second->tcp->state() == TcpState::kSynSent);
  CHECK(table.counters().reused == 1);
}

TEST_CASE("packets without an IP layer get no flow", "[sensor][flow]") {
  FlowTable table(FlowConfig{});
  Packet p;
  Direction dir;
  bool created;
  CHECK(table.get_or_create(p, dir, created) == nullptr);
  CHECK(table.counters().no_flow == 1);
}
