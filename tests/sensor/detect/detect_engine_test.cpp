// Unit tests for the detection engine (sensor/include/vigil/sensor/detect.h): Suricata's signature
// order, IP-only and address/port indexed rules, packet vs stream payload semantics, flow
// keywords, thresholds and app-layer transactions. Rule sets are built from text and packets are
// decoded Packets filled by hand (tests/sensor/flow/test_packets.h), so every case states exactly
// what the pipeline would hand to DetectThread::inspect.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sensor/flow/test_packets.h"
#include "vigil/rules/parser.h"
#include "vigil/sensor/detect.h"

namespace {

namespace vs = vigil::sensor;
namespace vr = vigil::rules;
using vs::testing::PacketFactory;

constexpr uint32_t ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return (uint32_t{a} << 24) | (uint32_t{b} << 16) | (uint32_t{c} << 8) | d;
}

// One engine and one detection thread over a rule set given as text.
class Harness {
 public:
  explicit Harness(std::string_view text, vs::DetectOptions opts = {}) {
    init(vr::load_rules_from_string(text, vr::ParseContext{}), opts);
  }
  Harness(vr::RuleSet set, vs::DetectOptions opts) { init(std::move(set), opts); }

  // Inspects `in` and returns the sids of the alerts, in the order the engine gave them.
  std::vector<uint32_t> sids(const vs::DetectPacket& in) {
    last_.clear();
    thread_->inspect(in, last_);
    std::vector<uint32_t> out;
    for (const auto& a : last_) out.push_back(engine_->rules()[a.rule].sid);
    return out;
  }
  const std::vector<vs::Alert>& last() const { return last_; }
  vs::DetectFlowState flow() const { return thread_->make_flow_state(); }
  const vs::DetectThread& thread() const { return *thread_; }
  const vs::DetectEngine& engine() const { return *engine_; }

 private:
  void init(vr::RuleSet set, const vs::DetectOptions& opts) {
    for (const auto& e : set.rejected) FAIL("rule rejected: " << e.to_string());
    REQUIRE(!set.rules.empty());
    vs::DetectBuildReport report;
    auto engine = vs::DetectEngine::build(std::move(set.rules), opts, &report);
    REQUIRE(engine.ok());
    for (const auto& e : report.compile.rejected) FAIL("rule not compiled: " << e.to_string());
    engine_ = std::move(engine.value());
    auto thread = vs::DetectThread::create(*engine_);
    REQUIRE(thread.ok());
    thread_ = std::move(thread.value());
  }
  std::unique_ptr<vs::DetectEngine> engine_;
  std::unique_ptr<vs::DetectThread> thread_;
  std::vector<vs::Alert> last_;
};

vs::DetectPacket dp(const vs::Packet& p, vs::DetectFlowState* flow = nullptr, bool to_server = true) {
  vs::DetectPacket in;
  in.pkt = &p;
  in.flow = flow;
  in.to_server = to_server;
  return in;
}

std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

using Sids = std::vector<uint32_t>;

// A decoded IPv6 TCP/UDP packet without payload.
vs::Packet v6_packet(std::string_view src, std::string_view dst, uint8_t proto, uint16_t sport,
                     uint16_t dport, uint8_t flags = vs::tcp_flag::kSyn) {
  vs::Packet p;
  p.ip_version = 6;
  p.src = *vigil::core::IpAddress::parse(src);
  p.dst = *vigil::core::IpAddress::parse(dst);
  p.proto = proto;
  p.has_l4 = true;
  p.decoded = true;
  p.sport = sport;
  p.dport = dport;
  p.tcp.flags = flags;
  p.ttl = 64;
  p.ts = vigil::core::Timestamp::from_timeval(1000, 0);
  return p;
}

constexpr uint32_t kC = vs::testing::kClientIp;  // 1.1.1.1
constexpr uint32_t kS = vs::testing::kServerIp;  // 2.2.2.2
constexpr uint8_t kSyn = vs::tcp_flag::kSyn;
constexpr uint8_t kAck = vs::tcp_flag::kAck;
constexpr uint8_t kPshAck = vs::tcp_flag::kPsh | vs::tcp_flag::kAck;

}  // namespace

// ---- signature order -------------------------------------------------------------------------

TEST_CASE("detect engine: pass rules run before alerts and pass the whole flow",
          "[sensor][detect][order]") {
  const char* rules =
      "alert tcp any any -> any any (msg:\"a\"; content:\"evil\"; sid:1;)\n"
      "pass tcp any any -> any 80 (msg:\"p\"; content:\"evil\"; sid:2;)\n"
      "alert tcp any any -> any any (msg:\"b\"; content:\"other\"; sid:3;)\n";
  PacketFactory pf;
  SECTION("default action-order: pass wins, later packets of the flow are not inspected") {
    Harness h(rules);
    auto flow = h.flow();
    auto p1 = pf.tcp(kC, 40000, kS, 80, kPshAck, 1, 1, "evil");
    CHECK(h.sids(dp(p1, &flow)).empty());
    CHECK(flow.pass);
    auto p2 = pf.tcp(kC, 40000, kS, 80, kPshAck, 5, 1, "other");
    CHECK(h.sids(dp(p2, &flow)).empty());
    // Another flow (port 81: the pass rule does not apply) still alerts on both.
    auto flow2 = h.flow();
    auto p3 = pf.tcp(kC, 40001, kS, 81, kPshAck, 1, 1, "evil other");
    CHECK(h.sids(dp(p3, &flow2)) == Sids{1, 3});
    CHECK_FALSE(flow2.pass);
  }
  SECTION("without a flow a pass rule only ends this packet's inspection") {
    Harness h(rules);
    auto p1 = pf.tcp(kC, 40000, kS, 80, kPshAck, 1, 1, "evil other");
    CHECK(h.sids(dp(p1)).empty());
    auto p2 = pf.tcp(kC, 40000, kS, 80, kPshAck, 1, 1, "other");
    CHECK(h.sids(dp(p2)) == Sids{3});
  }
  SECTION("action-order alert first: the alert fires, then the pass stops the flow") {
    vs::DetectOptions opts;
    opts.action_order = {vr::Action::Alert, vr::Action::Pass, vr::Action::Drop, vr::Action::Reject};
    Harness h(rules, opts);
    auto flow = h.flow();
    auto p1 = pf.tcp(kC, 40000, kS, 80, kPshAck, 1, 1, "evil other");
    // Alerts 1 and 3 come before the pass rule in this order.
    CHECK(h.sids(dp(p1, &flow)) == Sids{1, 3});
    CHECK(flow.pass);
  }
}

TEST_CASE("detect engine: priority orders alerts within an action", "[sensor][detect][order]") {
  Harness h(
      "alert tcp any any -> any any (content:\"x\"; priority:3; sid:1;)\n"
      "alert tcp any any -> any any (content:\"x\"; priority:1; sid:2;)\n"
      "alert tcp any any -> any any (content:\"x\"; priority:2; sid:3;)\n"
      "alert tcp any any -> any any (content:\"x\"; priority:1; sid:4;)\n");
  PacketFactory pf;
  auto p = pf.tcp(kC, 40000, kS, 80, kPshAck, 1, 1, "x");
  CHECK(h.sids(dp(p)) == Sids{2, 4, 3, 1});
}

TEST_CASE("detect engine: flowbit setters run before readers on the same packet",
          "[sensor][detect][order][flowbits]") {
  PacketFactory pf;
  SECTION("suricata-verify detect-flowbits rules on one packet") {
    auto set = vr::load_rule_files({std::string(VIGIL_SHARED_DIR) +
                                    "/conformance/tests/detect-flowbits/test.rules"},
                                   vr::ParseContext{});
    Harness h(std::move(set), vs::DetectOptions{});
    auto flow = h.flow();
    auto p = pf.tcp(kC, 40000, kS, 80, kPshAck, 1, 1, "GET / HTTP/1.0\r\n\r\n");
    // Setters (1, 2, 7), then set+read (8: noalert, sets fb1 again), then readers (3, 5, 6, 9,
    // 11, 12): 1 2 7 alert; 8 re-sets fb1; 5 (fb1|fb5), 9 (fb1), 12 (fb1 & fb2) alert.
    CHECK(h.sids(dp(p, &flow)) == Sids{1, 2, 7, 5, 9, 12});
  }
  SECTION("a reader loaded before its setter still sees the bit") {
    Harness h(
        "alert tcp any any -> any any (flowbits:isset,x; sid:1;)\n"
        "alert tcp any any -> any any (flowbits:isnotset,x; sid:2;)\n"
        "alert tcp any any -> any any (content:\"login\"; flowbits:set,x; sid:3;)\n");
    auto flow = h.flow();
    auto p = pf.tcp(kC, 40000, kS, 80, kPshAck, 1, 1, "login");
    CHECK(h.sids(dp(p, &flow)) == Sids{3, 1});
    // The bit stays set for the rest of the flow.
    auto p2 = pf.tcp(kC, 40000, kS, 80, kPshAck, 6, 1, "other");
    CHECK(h.sids(dp(p2, &flow)) == Sids{1});
    // Without a flow every bit is unset and setting is a no-op.
    CHECK(h.sids(dp(p)) == Sids{3, 2});
  }
  SECTION("toggle and unset") {
    Harness h(
        "alert tcp any any -> any any (content:\"t\"; flowbits:toggle,x; flowbits:noalert; sid:1;)\n"
        "alert tcp any any -> any any (content:\"u\"; flowbits:unset,x; flowbits:noalert; sid:2;)\n"
        "alert tcp any any -> any any (flowbits:isset,x; sid:3;)\n");
    auto flow = h.flow();
    auto t = pf.tcp(kC, 40000, kS, 80, kPshAck, 1, 1, "t");
    auto u = pf.tcp(kC, 40000, kS, 80, kPshAck, 1, 1, "u");
    auto n = pf.tcp(kC, 40000, kS, 80, kPshAck, 1, 1, "n");
    CHECK(h.sids(dp(t, &flow)) == Sids{3});
    CHECK(h.sids(dp(n, &flow)) == Sids{3});
    CHECK(h.sids(dp(t, &flow)).empty());  // toggled off
    CHECK(h.sids(dp(t, &flow)) == Sids{3});
    CHECK(h.sids(dp(u, &flow)).empty());
    CHECK(h.sids(dp(n, &flow)).empty());
  }
}

TEST_CASE("detect engine: packet-alert-max keeps the first N alerts in signature order",
          "[sensor][detect][order]") {
  std::string rules;
  for (int sid = 1; sid <= 6; ++sid) {
    // Priorities reverse the load order so the kept alerts are the highest-priority ones.
    rules += "alert tcp any any -> any any (content:\"m\"; priority:" + std::to_string(7 - sid) +
             "; sid:" + std::to_string(sid) + ";)\n";
  }
  vs::DetectOptions opts;
  opts.packet_alert_max = 4;
  Harness h(rules, opts);
  PacketFactory pf;
  auto p = pf.tcp(kC, 40000, kS, 80, kPshAck, 1, 1, "m");
  CHECK(h.sids(dp(p)) == Sids{6, 5, 4, 3});
  CHECK(h.thread().counters().alert_limit_hits == 2);
  CHECK(h.thread().counters().alerts == 4);
}

// ---- IP-only, address and port indexed rules ---------------------------------------------------

TEST_CASE("detect engine: IP-only rules fire once per flow direction, every packet without a flow",
          "[sensor][detect][iponly]") {
  Harness h(
      "alert ip any any -> any any (msg:\"any\"; sid:1;)\n"
      "alert ip 1.1.1.1 any -> any any (msg:\"from client\"; sid:2;)\n"
      "alert tcp any any -> 1.1.1.1 any (msg:\"to client\"; sid:3;)\n");
  REQUIRE(h.engine().info(0).ip_only);
  REQUIRE(h.engine().info(1).ip_only);
  REQUIRE(h.engine().info(2).ip_only);
  PacketFactory pf;
  auto c1 = pf.tcp(kC, 40000, kS, 80, kSyn, 1, 0);
  auto s1 = pf.tcp(kS, 80, kC, 40000, kSyn | kAck, 9, 2);
  auto c2 = pf.tcp(kC, 40000, kS, 80, kAck, 2, 10);
  auto s2 = pf.tcp(kS, 80, kC, 40000, kAck, 10, 2);
  SECTION("with a flow") {
    auto flow = h.flow();
    CHECK(h.sids(dp(c1, &flow, true)) == Sids{1, 2});
    CHECK(flow.seen_direction[0]);
    CHECK_FALSE(flow.seen_direction[1]);
    CHECK(h.sids(dp(c2, &flow, true)).empty());
    CHECK(h.sids(dp(s1, &flow, false)) == Sids{1, 3});
    CHECK(h.sids(dp(s2, &flow, false)).empty());
    CHECK(h.sids(dp(c2, &flow, true)).empty());
  }
  SECTION("without a flow") {
    for (int i = 0; i < 3; ++i) {
      CHECK(h.sids(dp(c1)) == Sids{1, 2});
      CHECK(h.sids(dp(s1, nullptr, false)) == Sids{1, 3});
    }
  }
  SECTION("a flow whose first packet is towards the client") {
    auto flow = h.flow();
    CHECK(h.sids(dp(s1, &flow, false)) == Sids{1, 3});
    CHECK(h.sids(dp(c1, &flow, true)) == Sids{1, 2});
    CHECK(h.sids(dp(s2, &flow, false)).empty());
  }
}

TEST_CASE("detect engine: address-indexed rules match exactly their addresses",
          "[sensor][detect][address]") {
  Harness h(
      "alert ip [1.2.3.4,5.6.7.8] any -> any any (flowbits:set,x; sid:1;)\n"
      "alert tcp 10.0.0.0/8 any -> any 80 (flags:S; sid:2;)\n"
      "alert ip 192.168.1.0/24 any -> any any (flowbits:set,y; sid:3;)\n"
      "alert ip 192.168.0.0/16 any -> any any (flowbits:set,z; sid:4;)\n"
      "alert ip any any -> 255.255.255.0/24 any (flowbits:set,w; sid:5;)\n"
      "alert ip 0.0.0.0/8 any -> any any (flowbits:set,v; sid:6;)\n"
      "alert ip [1.2.3.4,5.6.7.8] any -> any any (msg:\"ip-only list\"; sid:7;)\n"
      "alert ip !10.0.0.0/8 any -> 8.8.8.8 any (flowbits:set,u; sid:8;)\n");
  REQUIRE_FALSE(h.engine().info(0).ip_only);  // flowbits make them per-packet rules
  REQUIRE(h.engine().info(6).ip_only);
  PacketFactory pf;
  auto tcp_from = [&](uint32_t src, uint32_t dst = ip4(9, 9, 9, 9), uint16_t dport = 80,
                      uint8_t flags = kSyn) { return pf.tcp(src, 40000, dst, dport, flags, 1, 0); };

  // Each packet without a flow so that IP-only rule 7 is evaluated every time.
  CHECK(h.sids(dp(tcp_from(ip4(1, 2, 3, 4)))) == Sids{1, 7});
  CHECK(h.sids(dp(tcp_from(ip4(5, 6, 7, 8)))) == Sids{1, 7});
  CHECK(h.sids(dp(tcp_from(ip4(1, 2, 3, 5)))).empty());
  CHECK(h.sids(dp(tcp_from(ip4(1, 2, 3, 3)))).empty());
  CHECK(h.sids(dp(tcp_from(ip4(5, 6, 7, 7)))).empty());
  CHECK(h.sids(dp(tcp_from(ip4(9, 9, 9, 9), ip4(1, 2, 3, 4))))
            .empty());  // the list is a source list

  CHECK(h.sids(dp(tcp_from(ip4(10, 0, 0, 0)))) == Sids{2});
  CHECK(h.sids(dp(tcp_from(ip4(10, 255, 255, 255)))) == Sids{2});
  CHECK(h.sids(dp(tcp_from(ip4(11, 0, 0, 0)))).empty());
  CHECK(h.sids(dp(tcp_from(ip4(9, 255, 255, 255)))).empty());
  CHECK(h.sids(dp(tcp_from(ip4(10, 1, 1, 1), ip4(9, 9, 9, 9), 81))).empty());
  CHECK(h.sids(dp(tcp_from(ip4(10, 1, 1, 1), ip4(9, 9, 9, 9), 80, kSyn | kAck))).empty());
  auto udp10 = pf.udp(ip4(10, 1, 1, 1), 40000, ip4(9, 9, 9, 9), 80);
  CHECK(h.sids(dp(udp10)).empty());

  // Overlapping ranges cut the index into segments; every boundary belongs to the right side.
  CHECK(h.sids(dp(tcp_from(ip4(192, 168, 1, 0)))) == Sids{3, 4});
  CHECK(h.sids(dp(tcp_from(ip4(192, 168, 1, 255)))) == Sids{3, 4});
  CHECK(h.sids(dp(tcp_from(ip4(192, 168, 0, 255)))) == Sids{4});
  CHECK(h.sids(dp(tcp_from(ip4(192, 168, 2, 0)))) == Sids{4});
  CHECK(h.sids(dp(tcp_from(ip4(192, 168, 255, 255)))) == Sids{4});
  CHECK(h.sids(dp(tcp_from(ip4(192, 169, 0, 0)))).empty());
  CHECK(h.sids(dp(tcp_from(ip4(192, 167, 255, 255)))).empty());

  // The ends of the address space.
  CHECK(h.sids(dp(tcp_from(ip4(9, 9, 9, 9), ip4(255, 255, 255, 255))))== Sids{5});
  CHECK(h.sids(dp(tcp_from(ip4(9, 9, 9, 9), ip4(255, 255, 255, 0)))) == Sids{5});
  CHECK(h.sids(dp(tcp_from(ip4(9, 9, 9, 9), ip4(255, 255, 254, 255)))).empty());
  CHECK(h.sids(dp(tcp_from(ip4(0, 0, 0, 0)))) == Sids{6});
  CHECK(h.sids(dp(tcp_from(ip4(0, 255, 255, 255)))) == Sids{6});
  CHECK(h.sids(dp(tcp_from(ip4(1, 0, 0, 0)))).empty());

  // A negated source with a selective destination.
  CHECK(h.sids(dp(tcp_from(ip4(11, 0, 0, 1), ip4(8, 8, 8, 8), 53, kAck))) == Sids{8});
  CHECK(h.sids(dp(tcp_from(ip4(10, 0, 0, 1), ip4(8, 8, 8, 8), 53, kAck))).empty());
  CHECK(h.sids(dp(tcp_from(ip4(11, 0, 0, 1), ip4(8, 8, 8, 9), 53, kAck))).empty());

  // Address rules that are not IP-only fire on every packet of a flow.
  auto flow = h.flow();
  for (int i = 0; i < 3; ++i) {
    auto p = pf.tcp(ip4(1, 2, 3, 4), 40000, ip4(9, 9, 9, 9), 443, kAck, 1 + i, 1);
    auto got = h.sids(dp(p, &flow));
    CHECK(got == (i == 0 ? Sids{1, 7} : Sids{1}));
  }
}

TEST_CASE("detect engine: bidirectional rules", "[sensor][detect][address]") {
  Harness h(
      "alert tcp 1.1.1.1 1024: <> 2.2.2.2 80 (flowbits:set,b; sid:1;)\n"
      "alert ip 1.1.1.1 any <> 2.2.2.2 any (msg:\"ip-only\"; sid:2;)\n"
      "alert tcp 1.1.1.1 any -> 2.2.2.2 80 (flowbits:set,c; sid:3;)\n");
  PacketFactory pf;
  CHECK(h.sids(dp(pf.tcp(kC, 40000, kS, 80, kAck, 1, 1))) == Sids{1, 3, 2});
  CHECK(h.sids(dp(pf.tcp(kS, 80, kC, 40000, kAck, 1, 1), nullptr, false)) == Sids{1, 2});
  // Ports are swapped with the addresses: 2.2.2.2:40000 -> 1.1.1.1:80 is neither direction.
  CHECK(h.sids(dp(pf.tcp(kS, 40000, kC, 80, kAck, 1, 1))) == Sids{2});
  CHECK(h.sids(dp(pf.tcp(kC, 80, kS, 1000, kAck, 1, 1))) == Sids{2});
  CHECK(h.sids(dp(pf.tcp(ip4(3, 3, 3, 3), 40000, kS, 80, kAck, 1, 1))).empty());
  CHECK(h.sids(dp(pf.tcp(kC, 40000, ip4(3, 3, 3, 3), 80, kAck, 1, 1))).empty());
}

TEST_CASE("detect engine: port-indexed rules", "[sensor][detect][ports]") {
  Harness h(
      "alert tcp any any -> any 8080 (flags:S; sid:1;)\n"
      "alert udp any 53 -> any any (dsize:>0; sid:2;)\n"
      "alert tcp any any -> any [8000:8010,!8005] (flags:S; sid:3;)\n"
      "alert tcp any any -> any 1:1000 (flags:S; sid:4;)\n"
      "alert tcp any any -> any !80 (flags:S; sid:5;)\n"
      "alert udp any any <> any 5000 (dsize:>0; sid:6;)\n");
  PacketFactory pf;
  auto syn = [&](uint16_t dport, uint16_t sport = 40000) {
    return h.sids(dp(pf.tcp(kC, sport, kS, dport, kSyn, 1, 0)));
  };
  CHECK(syn(8080) == Sids{1, 5});
  CHECK(syn(8000) == Sids{3, 5});
  CHECK(syn(8004) == Sids{3, 5});
  CHECK(syn(8005) == Sids{5});
  CHECK(syn(8010) == Sids{3, 5});
  CHECK(syn(8011) == Sids{5});
  CHECK(syn(1) == Sids{4, 5});
  CHECK(syn(1000) == Sids{4, 5});
  CHECK(syn(80) == Sids{4});
  CHECK(syn(0) == Sids{5});
  CHECK(syn(1001) == Sids{5});
  // Source port 8080 is not destination port 8080.
  CHECK(syn(9999, 8080) == Sids{5});

  CHECK(h.sids(dp(pf.udp(kS, 53, kC, 40000, 1000, "resp"))) == Sids{2});
  CHECK(h.sids(dp(pf.udp(kC, 40000, kS, 53, 1000, "query"))).empty());
  CHECK(h.sids(dp(pf.udp(kS, 53, kC, 40000, 1000))).empty());  // dsize:>0
  CHECK(h.sids(dp(pf.udp(kC, 40000, kS, 5000, 1000, "x"))) == Sids{6});
  CHECK(h.sids(dp(pf.udp(kS, 5000, kC, 40000, 1000, "x"))) == Sids{6});
  CHECK(h.sids(dp(pf.udp(kS, 5001, kC, 40000, 1000, "x"))).empty());
  // ICMP has no ports: port rules never apply.
  auto icmp = pf.icmp_echo(kC, kS, 8, 1);
  CHECK(h.sids(dp(icmp)).empty());
}

TEST_CASE("detect engine: IPv6 packets against IPv4-only and IPv6 rules", "[sensor][detect][address]") {
  Harness h(
      "alert ip any any -> any any (msg:\"ip-only any\"; sid:1;)\n"
      "alert ip 10.0.0.0/8 any -> any any (msg:\"v4 only\"; sid:2;)\n"
      "alert ip 2001:db8::/32 any -> any any (msg:\"v6 ip-only\"; sid:3;)\n"
      "alert tcp 2001:db8::/32 any -> any 80 (flags:S; sid:4;)\n"
      "alert tcp [10.0.0.0/8,2001:db8::/32] any -> any any (flowbits:set,v; sid:5;)\n"
      "alert tcp 10.0.0.0/8 any -> any 80 (flags:S; sid:6;)\n"
      "alert tcp any any -> [2001:db8::1,2001:db8::2] any (flowbits:set,d; sid:7;)\n");
  auto in6 = v6_packet("2001:db8::5", "2001:db9::1", 6, 40000, 80);
  CHECK(h.sids(dp(in6)) == Sids{5, 1, 3, 4});
  auto out6 = v6_packet("2001:db9::5", "2001:db8::2", 6, 40000, 80);
  CHECK(h.sids(dp(out6)) == Sids{7, 1});
  auto other6 = v6_packet("2001:db9::5", "2001:db8::3", 6, 40000, 81);
  CHECK(h.sids(dp(other6)) == Sids{1});
  // A v4-mapped address is still an IPv6 packet: 10.0.0.0/8 does not match ::ffff:10.0.0.1.
  auto mapped = v6_packet("::ffff:10.0.0.1", "2001:db9::1", 6, 40000, 80);
  CHECK(h.sids(dp(mapped)) == Sids{1});
  PacketFactory pf;
  CHECK(h.sids(dp(pf.tcp(ip4(10, 0, 0, 1), 40000, kS, 80, kSyn, 1, 0))) == Sids{5, 1, 2, 6});
}

// ---- packet vs stream payload ------------------------------------------------------------------

TEST_CASE("detect engine: payload vs stream semantics", "[sensor][detect][stream]") {
  Harness h(
      "alert tcp any any -> any any (content:\"evil\"; sid:1;)\n"
      "alert tcp-pkt any any -> any any (content:\"evil\"; sid:2;)\n"
      "alert tcp-stream any any -> any any (content:\"evil\"; sid:3;)\n"
      "alert tcp any any -> any any (content:\"evil\"; flow:no_stream; sid:4;)\n");
  PacketFactory pf;
  auto flow = h.flow();
  auto evil = pf.tcp(kC, 40000, kS, 80, kPshAck, 1, 1, "xxevilxx");
  auto plain = pf.tcp(kC, 40000, kS, 80, kPshAck, 1, 1, "nothing");
  const std::string stream_evil = "....evil....";
  const std::string stream_plain = "............";

  SECTION("stream_added: tcp matches the stream span, not the packet alone") {
    auto in = dp(plain, &flow);
    in.stream_added = true;
    in.stream = bytes(stream_evil);
    CHECK(h.sids(in) == Sids{1, 3});
    for (const auto& a : h.last()) CHECK(a.stream_match);

    auto in2 = dp(evil, &flow);
    in2.stream_added = true;
    CHECK(h.sids(in2) == Sids{2, 4});  // packet-only rules see the packet
    for (const auto& a : h.last()) CHECK_FALSE(a.stream_match);

    in2.stream = bytes(stream_plain);
    CHECK(h.sids(in2) == Sids{2, 4});
  }
  SECTION("not stream_added: tcp matches the packet, tcp-stream never does") {
    auto in = dp(evil, &flow);
    CHECK(h.sids(in) == Sids{1, 2, 4});
    for (const auto& a : h.last()) CHECK_FALSE(a.stream_match);
  }
  SECTION("both the packet and stream data: one alert per rule, stream match preferred") {
    auto in = dp(evil, &flow);
    in.stream_added = true;
    in.stream = bytes(stream_evil);
    CHECK(h.sids(in) == Sids{1, 2, 3, 4});
    REQUIRE(h.last().size() == 4);
    CHECK(h.last()[0].stream_match);
    CHECK_FALSE(h.last()[1].stream_match);
    CHECK(h.last()[2].stream_match);
    CHECK_FALSE(h.last()[3].stream_match);
  }
  SECTION("UDP payloads are always packets") {
    auto udp = pf.udp(kC, 40000, kS, 53, 1000, "evil");
    auto in = dp(udp, &flow);
    in.stream_added = true;  // meaningless for UDP; the packet is still inspected
    Harness u("alert udp any any -> any any (content:\"evil\"; sid:9;)\n");
    CHECK(u.sids(in) == Sids{9});
  }
}

TEST_CASE("detect engine: dsize is evaluated on the packet", "[sensor][detect][stream]") {
  Harness h(
      "alert tcp any any -> any any (dsize:4; sid:1;)\n"
      "alert tcp any any -> any any (dsize:>50; content:\"evil\"; sid:2;)\n"
      "alert tcp any any -> any any (dsize:!4; sid:3;)\n"
      "alert tcp any any -> any any (dsize:4; content:\"evil\"; sid:4;)\n");
  PacketFactory pf;
  auto flow = h.flow();
  const std::string big_stream = std::string(100, 'a') + "evil";
  auto p4 = pf.tcp(kC, 40000, kS, 80, kPshAck, 1, 1, "evil");
  auto in = dp(p4, &flow);
  in.stream_added = true;
  in.stream = bytes(big_stream);
  // dsize compares the packet's 4 bytes, never the 104-byte stream chunk.
  CHECK(h.sids(in) == Sids{1, 4});

  auto p5 = pf.tcp(kC, 40000, kS, 80, kPshAck, 1, 1, "evil!");
  CHECK(h.sids(dp(p5, &flow)) == Sids{3});
  // dsize:!N needs a payload: an empty ACK is not "not 4 bytes".
  auto ack = pf.tcp(kC, 40000, kS, 80, kAck, 1, 1);
  CHECK(h.sids(dp(ack, &flow)).empty());
}

TEST_CASE("detect engine: flow:only_stream on a stream packet", "[sensor][detect][stream]") {
  Harness h("alert tcp any any -> any any (content:\"evil\"; flow:only_stream; sid:5;)\n");
  PacketFactory pf;
  auto flow = h.flow();
  auto p = pf.tcp(kC, 40000, kS, 80, kPshAck, 1, 1, "evil");
  const std::string chunk = "..evil..";
  auto in = dp(p, &flow);
  in.stream_added = true;
  CHECK(h.sids(in).empty());  // the packet's own bytes are not enough
  in.stream = bytes(chunk);
  CHECK(h.sids(in) == Sids{5});
  CHECK(h.last().at(0).stream_match);
}

// Suricata 7 detect-flow.c: flow:only_stream sets SIG_FLAG_REQUIRE_STREAM_ONLY, and
// DetectEngineInspectRulePayloadMatches never falls back to the packet payload for such rules,
// whether or not the segment was added to the stream (as for tcp-stream). DetectEngine::build
// leaves require_packet false for it and match_payload refuses the packet fallback.
TEST_CASE("detect engine: flow:only_stream never matches a packet payload",
          "[sensor][detect][stream]") {
  Harness h(
      "alert tcp any any -> any any (content:\"evil\"; flow:only_stream; sid:5;)\n"
      "alert tcp-stream any any -> any any (content:\"evil\"; sid:6;)\n");
  PacketFactory pf;
  auto flow = h.flow();
  auto p = pf.tcp(kC, 40000, kS, 80, kPshAck, 1, 1, "evil");
  CHECK(h.sids(dp(p, &flow)).empty());
}

// Suricata: dsize sets SIG_FLAG_REQUIRE_PACKET (detect-dsize.c), and SigValidate only adds
// SIG_FLAG_REQUIRE_STREAM to TCP payload rules that have neither flag, so "dsize + content" is
// inspected against the packet payload only.
TEST_CASE("detect engine: dsize rules inspect content on the packet only",
          "[sensor][detect][stream]") {
  Harness h("alert tcp any any -> any any (dsize:4; content:\"evil\"; sid:4;)\n");
  PacketFactory pf;
  auto flow = h.flow();
  auto p = pf.tcp(kC, 40000, kS, 80, kPshAck, 1, 1, "abcd");
  const std::string chunk = "abcd....evil";
  auto in = dp(p, &flow);
  in.stream_added = true;
  in.stream = bytes(chunk);
  CHECK(h.sids(in).empty());
}

// Suricata's SigValidate ("TCP: pkt vs stream vs depth/offset"): a TCP payload rule with a
// content using depth or offset gets SIG_FLAG_REQUIRE_PACKET as well as REQUIRE_STREAM, so when
// the stream does not match, the packet payload is inspected even if the segment was added to
// the stream: a packet whose stream block is empty (data not ACKed yet) still matches.
// Known gap: enabling that fallback naively alerts twice for the same bytes (packet, then the
// ACKed stream block), which breaks conformance case bug-5162; it needs Suricata's per-segment
// bookkeeping first.
TEST_CASE("detect engine: depth/offset rules also inspect a stream-added packet",
          "[sensor][detect][stream][!shouldfail]") {
  Harness h("alert tcp any any -> any any (content:\"HDR\"; depth:3; sid:1;)\n");
  PacketFactory pf;
  auto flow = h.flow();
  auto p = pf.tcp(kC, 40000, kS, 80, kPshAck, 1, 1, "HDRxyz");
  auto in = dp(p, &flow);
  in.stream_added = true;
  CHECK(h.sids(in) == Sids{1});
}

// End-of-flow pseudo packets carry only stream data: header keywords (ttl, dsize), IP-only rules
// and rules that inspect neither the stream nor a transaction (flowbits only) never match them.
TEST_CASE("detect engine: pseudo packets serve only stream and transaction rules",
          "[sensor][detect][stream]") {
  Harness h(
      "alert tcp any any -> any any (content:\"evil\"; sid:1;)\n"
      "alert tcp any any -> any any (content:\"evil\"; ttl:<255; sid:2;)\n"
      "alert tcp any any -> any any (content:\"evil\"; dsize:0; sid:3;)\n"
      "alert tcp any any -> any any (msg:\"ip-only\"; sid:4;)\n"
      "alert tcp any any -> any any (content:\"evil\"; flow:established,to_server; sid:5;)\n"
      "alert tcp any any -> any any (flowbits:isnotset,x; sid:6;)\n");
  auto flow = h.flow();
  vs::Packet pseudo;
  pseudo.decoded = true;
  pseudo.has_l4 = true;
  pseudo.proto = 6;
  pseudo.ip_version = 4;
  pseudo.src = vigil::core::IpAddress::v4(kC);
  pseudo.dst = vigil::core::IpAddress::v4(kS);
  pseudo.sport = 40000;
  pseudo.dport = 80;
  const std::string data = "tail evil";
  auto in = dp(pseudo, &flow);
  in.pseudo = true;
  in.stream_added = true;
  in.established = true;
  in.stream = bytes(data);
  CHECK(h.sids(in) == Sids{1, 5});
  for (const auto& a : h.last()) CHECK(a.stream_match);
}

// Current, documented behaviour (sensor/README.md, "Absolute offset/depth count from the start of
// the inspected block"): DetectPacket::stream_offset is not used by detection; CompiledRules::
// inspect sees only the block, so offset/depth count from its first byte wherever it lies in
// the stream. Generic Suricata raw-stream inspection adjusts by the block's stream offset
// (det_ctx->stream_start_offset) and would give only sid 2 here; Vigil follows the re-anchoring
// Suricata does for message-based parsers (conformance case bug-5162). This test pins the
// choice so that a change to it is deliberate.
TEST_CASE("detect engine: stream offset/depth count from the inspected block",
          "[sensor][detect][stream]") {
  Harness h(
      "alert tcp any any -> any any (content:\"HDR\"; depth:3; sid:1;)\n"
      "alert tcp any any -> any any (content:\"HDR\"; offset:1000; depth:3; sid:2;)\n");
  PacketFactory pf;
  auto flow = h.flow();
  auto p = pf.tcp(kC, 40000, kS, 80, kPshAck, 1001, 1, "HDRxyz");
  const std::string chunk = "HDRxyz";
  auto in = dp(p, &flow);
  in.stream_added = true;
  in.stream = bytes(chunk);
  in.stream_offset = 1000;
  CHECK(h.sids(in) == Sids{1});
  in.stream_offset = 0;
  CHECK(h.sids(in) == Sids{1});
}

TEST_CASE("detect engine: stream chunk at offset 0 behaves like a packet for offset/depth",
          "[sensor][detect][stream]") {
  Harness h("alert tcp any any -> any any (content:\"HDR\"; depth:3; sid:1;)\n");
  PacketFactory pf;
  auto flow = h.flow();
  auto p = pf.tcp(kC, 40000, kS, 80, kPshAck, 1, 1, "HDRxyz");
  const std::string good = "HDRxyz", late = "xHDRyz";
  auto in = dp(p, &flow);
  in.stream_added = true;
  in.stream = bytes(good);
  CHECK(h.sids(in) == Sids{1});
  in.stream = bytes(late);
  CHECK(h.sids(in).empty());
}

// ---- flow keywords -----------------------------------------------------------------------------

TEST_CASE("detect engine: flow keywords", "[sensor][detect][flow]") {
  Harness h(
      "alert tcp any any -> any any (content:\"q\"; flow:to_server; sid:1;)\n"
      "alert tcp any any -> any any (content:\"q\"; flow:to_client; sid:2;)\n"
      "alert tcp any any -> any any (content:\"q\"; flow:established; sid:3;)\n"
      "alert tcp any any -> any any (content:\"q\"; flow:not_established; sid:4;)\n"
      "alert tcp any any -> any any (content:\"q\"; flow:established,from_server; sid:5;)\n"
      "alert tcp any any -> any any (content:\"q\"; flow:from_client,not_established; sid:6;)\n");
  PacketFactory pf;
  auto flow = h.flow();
  auto c = pf.tcp(kC, 40000, kS, 80, kPshAck, 1, 1, "q");
  auto s = pf.tcp(kS, 80, kC, 40000, kPshAck, 1, 1, "q");
  auto in = dp(c, &flow, true);
  CHECK(h.sids(in) == Sids{1, 4, 6});
  in.established = true;
  CHECK(h.sids(in) == Sids{1, 3});
  auto back = dp(s, &flow, false);
  CHECK(h.sids(back) == Sids{2, 4});
  back.established = true;
  CHECK(h.sids(back) == Sids{2, 3, 5});
}

// ---- thresholds --------------------------------------------------------------------------------

namespace {

// The shape of suricata-verify's threshold/*/icmp.pcap: one ICMP flow, eight echo requests from
// 192.168.0.89 (two a second) and four replies. Returns the alert count per sid.
std::map<uint32_t, int> run_echo_flow(Harness& h, uint32_t client = ip4(192, 168, 0, 89)) {
  PacketFactory pf;
  const uint32_t server = ip4(192, 168, 0, 1);
  auto flow = h.flow();
  std::map<uint32_t, int> counts;
  for (int sec = 0; sec < 4; ++sec) {
    std::vector<std::pair<vs::Packet, bool>> pkts = {
        {pf.icmp_echo(client, server, 8, 512, 1000 + sec), true},
        {pf.icmp_echo(client, server, 8, 512, 1000 + sec), true},
        {pf.icmp_echo(server, client, 0, 512, 1000 + sec), false},
    };
    for (auto& [p, to_server] : pkts) {
      for (uint32_t sid : h.sids(dp(p, &flow, to_server))) ++counts[sid];
    }
  }
  return counts;
}

std::string shared_rules(const std::string& rel) {
  return std::string(VIGIL_SHARED_DIR) + "/conformance/tests/threshold/" + rel + "/test.rules";
}

}  // namespace

TEST_CASE("detect engine: suricata-verify threshold counts on synthetic echo packets",
          "[sensor][detect][threshold]") {
  // Expected counts from /work/shared/conformance/manifest.jsonl.
  SECTION("threshold-rule-flow") {
    Harness h(vr::load_rule_files({shared_rules("threshold-rule-flow")}, vr::ParseContext{}), {});
    auto c = run_echo_flow(h);
    CHECK(c[1] == 8);
    CHECK(c[2] == 1);
    CHECK(c[3] == 2);
    CHECK(c[4] == 1);
  }
  for (const char* name : {"detection_filter-rule-flow", "detection_filter-rule-hostsrc"}) {
    DYNAMIC_SECTION(name) {
      Harness h(vr::load_rule_files({shared_rules(name)}, vr::ParseContext{}), {});
      auto c = run_echo_flow(h);
      CHECK(c[1] == 8);
      CHECK(c[2] == 7);
      CHECK(c[3] == 6);
      CHECK(c[4] == 4);
      CHECK(c[5] == 1);
      CHECK(c[6] == 0);
      CHECK(h.thread().counters().suppressed == 0u + 1 + 2 + 4 + 7 + 8);
    }
  }
}

TEST_CASE("detect engine: threshold tracking keys", "[sensor][detect][threshold]") {
  SECTION("by_flow state is per flow") {
    Harness h("alert icmp any any -> any any (itype:8; threshold:type limit, track by_flow, count 2, seconds 3600; sid:1;)\n");
    CHECK(run_echo_flow(h)[1] == 2);
    CHECK(run_echo_flow(h)[1] == 2);  // a new flow starts a new count
  }
  SECTION("by_src state is shared by flows from one source, separate per source") {
    Harness h("alert icmp any any -> any any (itype:8; threshold:type limit, track by_src, count 2, seconds 3600; sid:1;)\n");
    CHECK(run_echo_flow(h)[1] == 2);
    CHECK(run_echo_flow(h)[1] == 0);  // same source: the limit is spent
    CHECK(run_echo_flow(h, ip4(192, 168, 0, 90))[1] == 2);
  }
  SECTION("by_dst keys on the destination") {
    Harness h("alert icmp any any -> any any (itype:8; threshold:type limit, track by_dst, count 1, seconds 3600; sid:1;)\n");
    CHECK(run_echo_flow(h)[1] == 1);
    CHECK(run_echo_flow(h, ip4(192, 168, 0, 90))[1] == 0);  // same destination
  }
  SECTION("by_rule counts every match of the rule") {
    Harness h("alert icmp any any -> any any (itype:8; threshold:type limit, track by_rule, count 3, seconds 3600; sid:1;)\n");
    CHECK(run_echo_flow(h)[1] == 3);
    CHECK(run_echo_flow(h, ip4(192, 168, 0, 90))[1] == 0);
  }
  SECTION("threshold every N-th, both once at N") {
    Harness h(
        "alert icmp any any -> any any (itype:8; threshold:type threshold, track by_src, count 3, seconds 3600; sid:1;)\n"
        "alert icmp any any -> any any (itype:8; threshold:type both, track by_src, count 2, seconds 3600; sid:2;)\n"
        "alert icmp any any -> any any (itype:8; threshold:type threshold, track by_flow, count 1, seconds 3600; sid:3;)\n");
    auto c = run_echo_flow(h);
    CHECK(c[1] == 2);  // 3rd and 6th of 8
    CHECK(c[2] == 1);
    CHECK(c[3] == 8);
  }
  SECTION("without a flow by_flow does not suppress") {
    Harness h("alert icmp any any -> any any (itype:8; threshold:type limit, track by_flow, count 1, seconds 3600; sid:1;)\n");
    PacketFactory pf;
    auto p = pf.icmp_echo(kC, kS, 8, 1);
    CHECK(h.sids(dp(p)) == Sids{1});
    CHECK(h.sids(dp(p)) == Sids{1});
  }
}

TEST_CASE("detect engine: threshold and detection_filter windows expire", "[sensor][detect][threshold]") {
  Harness h(
      "alert icmp any any -> any any (itype:8; threshold:type limit, track by_src, count 1, seconds 10; sid:1;)\n"
      "alert icmp any any -> any any (itype:8; detection_filter:track by_src, count 2, seconds 10; sid:2;)\n");
  PacketFactory pf;
  std::vector<Sids> got;
  for (int64_t t : {0, 1, 2, 5, 20, 21, 22}) {
    auto p = pf.icmp_echo(kC, kS, 8, 1, 1000 + t);
    got.push_back(h.sids(dp(p)));
  }
  // limit: first in each window (t=0, t=20). detection_filter: from the 3rd match of a window.
  CHECK(got == std::vector<Sids>{{1}, {}, {2}, {2}, {1}, {}, {2}});
}

// ---- app-layer transactions --------------------------------------------------------------------

namespace {

class FakeTx : public vs::AppTxView {
 public:
  explicit FakeTx(uint64_t id) : id_(id) {}
  FakeTx& add(vr::Buffer b, std::string value) {
    bufs_[b].push_back(std::move(value));
    return *this;
  }
  FakeTx& done() {
    complete_ = true;
    return *this;
  }
  uint64_t tx_id() const override { return id_; }
  size_t buffer_count(vr::Buffer b) const override {
    auto it = bufs_.find(b);
    return it == bufs_.end() ? 0 : it->second.size();
  }
  std::span<const uint8_t> buffer(vr::Buffer b, size_t i) const override {
    return bytes(bufs_.at(b).at(i));
  }
  bool complete() const override { return complete_; }

 private:
  uint64_t id_;
  bool complete_ = false;
  std::map<vr::Buffer, std::vector<std::string>> bufs_;
};

}  // namespace

TEST_CASE("detect engine: app-layer buffers alert once per transaction", "[sensor][detect][app]") {
  Harness h(
      "alert http any any -> any any (http.uri; content:\"/admin\"; sid:1;)\n"
      "alert http any any -> any any (http.method; content:\"POST\"; http.uri; content:\"/login\"; sid:2;)\n"
      "alert dns any any -> any any (dns.query; content:\"evil.example\"; sid:3;)\n"
      "alert tcp any any -> any any (app-layer-protocol:http; sid:4;)\n"
      "alert tcp any any -> any any (app-layer-protocol:!http; sid:5;)\n");
  PacketFactory pf;
  auto p = pf.tcp(kC, 40000, kS, 80, kPshAck, 1, 1, "GET /admin HTTP/1.1\r\n");

  SECTION("once per tx, again for a new tx, marks kept after completion") {
    auto flow = h.flow();
    FakeTx tx1(1);
    tx1.add(vr::Buffer::HttpUri, "/admin/panel").add(vr::Buffer::HttpMethod, "GET");
    const vs::AppTxView* txs[] = {&tx1};
    auto in = dp(p, &flow);
    in.app_proto = vr::AppProto::Http;
    in.txs = txs;
    CHECK(h.sids(in) == Sids{1, 4});
    REQUIRE(h.last().size() == 2);
    CHECK(h.last()[0].tx == &tx1);
    CHECK(h.last()[1].tx == nullptr);
    CHECK(h.sids(in) == Sids{4});  // the same tx again: no second alert
    CHECK(flow.tx_alerted.count(1) == 1);

    FakeTx tx2(2);
    tx2.add(vr::Buffer::HttpUri, "/admin").add(vr::Buffer::HttpMethod, "GET").done();
    const vs::AppTxView* both[] = {&tx1, &tx2};
    in.txs = both;
    CHECK(h.sids(in) == Sids{1, 4});
    REQUIRE(!h.last().empty());
    CHECK(h.last()[0].tx == &tx2);
    // Marks outlive completion: a complete transaction inspected again (end of flow) stays quiet.
    CHECK(flow.tx_alerted.count(2) == 1);
    CHECK(h.sids(in) == Sids{4});
    // Another flow has its own marks.
    auto other = h.flow();
    auto in2 = in;
    in2.flow = &other;
    CHECK(h.sids(in2) == Sids{1, 4});
  }
  SECTION("all buffers of a rule must match in the same tx") {
    auto flow = h.flow();
    FakeTx get(1), post(2);
    get.add(vr::Buffer::HttpMethod, "GET").add(vr::Buffer::HttpUri, "/login");
    post.add(vr::Buffer::HttpMethod, "POST").add(vr::Buffer::HttpUri, "/index");
    const vs::AppTxView* txs[] = {&get, &post};
    auto in = dp(p, &flow);
    in.app_proto = vr::AppProto::Http;
    in.txs = txs;
    CHECK(h.sids(in) == Sids{4});
    FakeTx login(3);
    login.add(vr::Buffer::HttpMethod, "POST").add(vr::Buffer::HttpUri, "/login?u=1");
    const vs::AppTxView* one[] = {&login};
    in.txs = one;
    CHECK(h.sids(in) == Sids{2, 4});
  }
  SECTION("the app protocol is required") {
    auto flow = h.flow();
    FakeTx tx(1);
    tx.add(vr::Buffer::HttpUri, "/admin");
    const vs::AppTxView* txs[] = {&tx};
    auto in = dp(p, &flow);
    in.txs = txs;
    in.app_proto = vr::AppProto::Unknown;
    CHECK(h.sids(in) == Sids{5});
    in.app_proto = vr::AppProto::Tls;
    CHECK(h.sids(in) == Sids{5});
  }
  SECTION("multi-instance dns.query matches any query name") {
    auto udp = pf.udp(kC, 40000, kS, 53, 1000, "dns-bytes");
    auto flow = h.flow();
    FakeTx q(7);
    q.add(vr::Buffer::DnsQuery, "good.example").add(vr::Buffer::DnsQuery, "www.evil.example");
    FakeTx clean(8);
    clean.add(vr::Buffer::DnsQuery, "good.example").add(vr::Buffer::DnsQuery, "evil.exampl");
    const vs::AppTxView* txs[] = {&clean, &q};
    auto in = dp(udp, &flow);
    in.app_proto = vr::AppProto::Dns;
    in.txs = txs;
    // Rule 5 is a tcp rule: this UDP packet never meets it.
    CHECK(h.sids(in) == Sids{3});
    REQUIRE(!h.last().empty());
    CHECK(h.last()[0].tx == &q);
    CHECK(h.sids(in).empty());
  }
}
