#include <catch2/catch.hpp>

#include <string>

#include "sensor/flow/test_packets.h"
#include "vigil/sensor/flow.h"
#include "vigil/sensor/stream.h"

using namespace vigil::sensor;
using vigil::sensor::testing::kClientIp;
using vigil::sensor::testing::kServerIp;
using vigil::sensor::testing::PacketFactory;

namespace {

constexpr uint8_t kSyn = tcp_flag::kSyn, kAck = tcp_flag::kAck, kFin = tcp_flag::kFin,
                  kRst = tcp_flag::kRst, kPsh = tcp_flag::kPsh;

// A client/server conversation driven through a FlowTable and a StreamTracker.
struct Conn {
  explicit Conn(StreamConfig cfg = {}) : tracker(cfg) {}

  StreamPacketResult send(const Packet& p) {
    bool created;
    flow = table.get_or_create(p, dir, created);
    REQUIRE(flow);
    return tracker.on_packet(*flow, p, dir);
  }
  // Client (1.1.1.1:12345) to server (2.2.2.2:8080), or back.
  StreamPacketResult c(uint8_t flags, uint32_t seq, uint32_t ack, std::string_view data = {}) {
    return send(pf.tcp(kClientIp, 12345, kServerIp, 8080, flags, seq, ack, data));
  }
  StreamPacketResult s(uint8_t flags, uint32_t seq, uint32_t ack, std::string_view data = {}) {
    return send(pf.tcp(kServerIp, 8080, kClientIp, 12345, flags, seq, ack, data));
  }
  // The handshake of the conformance captures: client ISN 1, server ISN 1000.
  void handshake() {
    c(kSyn, 1, 0);
    s(kSyn | kAck, 1000, 2);
    c(kAck, 2, 1001);
  }
  const StreamBuffer& to_server() const { return flow->tcp->stream(Direction::ToServer); }
  const StreamBuffer& to_client() const { return flow->tcp->stream(Direction::ToClient); }

  PacketFactory pf;
  FlowTable table{FlowConfig{}};
  StreamTracker tracker;
  Flow* flow = nullptr;
  Direction dir = Direction::ToServer;
};

// Everything readable, with gaps written as "[gap N]".
std::string readable(const StreamBuffer& b) {
  std::string out;
  uint64_t pos = b.base_offset();
  for (StreamChunk ch = b.chunk(pos); !ch.empty(); ch = b.chunk(pos)) {
    if (ch.gap_len) {
      out += "[gap " + std::to_string(ch.gap_len) + "]";
      pos += ch.gap_len;
    } else {
      out.append(reinterpret_cast<const char*>(ch.data.data()), ch.data.size());
      pos += ch.data.size();
    }
  }
  return out;
}

std::string view(std::span<const uint8_t> s) {
  return std::string(reinterpret_cast<const char*>(s.data()), s.size());
}

}  // namespace

TEST_CASE("three-way handshake reaches ESTABLISHED", "[sensor][stream]") {
  Conn k;
  k.c(kSyn, 1, 0);
  REQUIRE(k.flow->tcp);
  CHECK(k.flow->tcp->state() == TcpState::kSynSent);
  CHECK_FALSE(k.flow->established);
  k.s(kSyn | kAck, 1000, 2);
  CHECK(k.flow->tcp->state() == TcpState::kSynRecv);
  CHECK(k.dir == Direction::ToClient);
  auto r = k.c(kAck, 2, 1001);
  CHECK(r.state_changed);
  CHECK(k.flow->tcp->state() == TcpState::kEstablished);
  CHECK(k.flow->established);
  CHECK(k.flow->state == FlowState::kEstablished);
  // Suricata: the bare ACK closing the handshake is not yet "established" for detection.
  CHECK_FALSE(k.flow->pkt_established);
  k.c(kAck | kPsh, 2, 1001, "GET");
  CHECK(k.flow->pkt_established);
  CHECK(view(k.to_server().data()) == "GET");
  CHECK(k.tracker.counters().sessions == 1);
  CHECK(k.tracker.counters().midstream_pickups == 0);
}

TEST_CASE("handshake ACK carrying data is established for that packet", "[sensor][stream]") {
  Conn k;
  k.c(kSyn, 1, 0);
  k.s(kSyn | kAck, 1000, 2);
  k.c(kAck | kPsh, 2, 1001, "hello");
  CHECK(k.flow->pkt_established);
  CHECK(view(k.to_server().data()) == "hello");
}

TEST_CASE("handshake ACK with a wrong ack number is rejected", "[sensor][stream]") {
  Conn k;
  k.c(kSyn, 1, 0);
  k.s(kSyn | kAck, 1000, 2);
  auto r = k.c(kAck, 2, 5000);
  CHECK(r.invalid);
  CHECK(k.flow->tcp->state() == TcpState::kSynRecv);
  CHECK_FALSE(k.flow->established);
}

TEST_CASE("without midstream a flow whose SYN was missed is not tracked", "[sensor][stream]") {
  Conn k;
  auto r = k.c(kAck | kPsh, 100, 900, "GET / HTTP/1.0\r\n");
  CHECK_FALSE(r.tracked);
  CHECK_FALSE(k.flow->tcp);
  k.s(kAck, 900, 117);
  k.c(kAck, 117, 900, "more");
  CHECK_FALSE(k.flow->tcp);
  CHECK_FALSE(k.flow->established);
  CHECK_FALSE(k.flow->pkt_established);
  CHECK(k.tracker.counters().no_session == 3);
}

TEST_CASE("midstream pickup on ACK makes the sender the client", "[sensor][stream]") {
  StreamConfig cfg;
  cfg.midstream = true;
  Conn k(cfg);
  auto r = k.s(kAck | kPsh, 5000, 300, "HTTP/1.1 200 OK\r\n");  // first packet seen: from 2.2.2.2
  CHECK(r.tracked);
  REQUIRE(k.flow->tcp);
  CHECK(k.flow->tcp->midstream());
  CHECK(k.flow->tcp->state() == TcpState::kEstablished);
  CHECK(k.flow->established);
  CHECK_FALSE(k.flow->pkt_established);  // Suricata evaluates the flag before the pickup
  CHECK(k.flow->client_ip == vigil::core::IpAddress::v4(kServerIp));
  CHECK(view(k.to_server().data()) == "HTTP/1.1 200 OK\r\n");
  CHECK(k.tracker.counters().midstream_pickups == 1);
  k.c(kAck, 300, 5017);
  CHECK(k.dir == Direction::ToClient);
  CHECK(k.flow->pkt_established);
  CHECK(k.to_server().acked_end() == 17);
}

TEST_CASE("midstream pickup on SYN/ACK makes the receiver the client", "[sensor][stream]") {
  StreamConfig cfg;
  cfg.midstream = true;
  Conn k(cfg);
  auto r = k.s(kSyn | kAck, 1000, 2);
  CHECK(r.dir == Direction::ToClient);
  CHECK(k.flow->client_ip == vigil::core::IpAddress::v4(kClientIp));
  CHECK(k.flow->client_port == 12345);
  CHECK(k.flow->packets[index(Direction::ToClient)] == 1);
  CHECK(k.flow->packets[index(Direction::ToServer)] == 0);
  CHECK(k.flow->tcp->state() == TcpState::kSynRecv);
  k.c(kAck, 2, 1001);
  CHECK(k.dir == Direction::ToServer);
  CHECK(k.flow->tcp->state() == TcpState::kEstablished);
  k.c(kAck, 2, 1001, "abc");
  CHECK(view(k.to_server().data()) == "abc");
}

TEST_CASE("in-order data is readable at once and new_from marks the new part",
          "[sensor][stream]") {
  Conn k;
  k.handshake();
  k.c(kAck, 2, 1001, "GET ");
  CHECK(k.to_server().new_from() == 0);
  CHECK(k.to_server().contiguous_end() == 4);
  k.c(kAck, 6, 1001, "/ HTTP");
  CHECK(view(k.to_server().data()) == "GET / HTTP");
  CHECK(k.to_server().new_from() == 4);
  CHECK(k.to_server().base_offset() == 0);
  CHECK(k.to_server().acked_end() == 0);
  k.s(kAck, 1001, 12);
  CHECK(k.to_server().acked_end() == 10);
  k.s(kAck, 1001, 12, "HTTP/1.0 200");
  CHECK(view(k.to_client().data()) == "HTTP/1.0 200");
  CHECK(k.tracker.counters().segments == 3);
}

TEST_CASE("out-of-order data waits for the hole to fill", "[sensor][stream]") {
  Conn k;
  k.handshake();
  k.c(kAck, 6, 1001, "WORLD");
  CHECK(k.to_server().contiguous_end() == 0);
  CHECK(k.to_server().ooo_segments() == 1);
  CHECK(k.tracker.counters().out_of_order == 1);
  k.c(kAck, 2, 1001, "HELO");
  CHECK(view(k.to_server().data()) == "HELOWORLD");
  CHECK(k.to_server().ooo_segments() == 0);
  CHECK(k.to_server().new_from() == 0);
  CHECK(k.flow->tcp->seq_state(Direction::ToServer).next_seq == 11);
}

TEST_CASE("exact overlap with different data keeps the original (bsd)", "[sensor][stream]") {
  // eve-payload-01-tcp-exact-overlap: "EVIL" must never be in the stream.
  Conn k;
  k.handshake();
  k.s(kAck, 1001, 2);
  k.c(kAck, 2, 1001, "GOOD");
  auto r = k.c(kAck, 2, 1001, "EVIL");
  CHECK(r.retransmission);
  k.s(kAck, 1001, 6);
  CHECK(readable(k.to_server()) == "GOOD");
  CHECK(k.to_server().rewritten_from() == UINT64_MAX);
  CHECK(k.tracker.counters().overlaps == 1);
  CHECK(k.tracker.counters().overlaps_different == 1);
}

TEST_CASE("exact overlap under old-linux takes the new data", "[sensor][stream]") {
  // eve-payload-02-tcp-exact-overlap-policy-oldlinux: "GOOD" must not be in the stream.
  StreamConfig cfg;
  cfg.policy = OverlapPolicy::kOldLinux;
  Conn k(cfg);
  k.handshake();
  k.c(kAck, 2, 1001, "GOOD");
  k.c(kAck, 2, 1001, "EVIL");
  CHECK(readable(k.to_server()) == "EVIL");
  CHECK(k.to_server().rewritten_from() == 0);
  CHECK(k.tracker.counters().rewrites == 1);
}

TEST_CASE("partial overlap starting inside held data keeps the original", "[sensor][stream]") {
  // eve-overlap-payload-04-partial-overlap: "XXX" must not be in the stream.
  Conn k;
  k.handshake();
  k.c(kAck, 2, 1001, "GOOD");
  k.c(kAck, 3, 1001, "XXX");
  k.s(kAck, 1001, 6);
  CHECK(readable(k.to_server()) == "GOOD");

  StreamConfig last;
  last.policy = OverlapPolicy::kLast;
  Conn l(last);
  l.handshake();
  l.c(kAck, 2, 1001, "GOOD");
  l.c(kAck, 3, 1001, "XXX");
  CHECK(readable(l.to_server()) == "GXXX");
}

TEST_CASE("a segment starting before held out-of-order data wins under bsd", "[sensor][stream]") {
  for (auto [policy, expect] : {std::pair{OverlapPolicy::kBsd, "abcdef"},
                                std::pair{OverlapPolicy::kFirst, "abCDef"}}) {
    StreamConfig cfg;
    cfg.policy = policy;
    Conn k(cfg);
    k.handshake();
    k.c(kAck, 4, 1001, "CD");       // offsets 2..4, out of order
    k.c(kAck, 2, 1001, "abcdef");   // offsets 0..6, starts before it
    CHECK(readable(k.to_server()) == expect);
    CHECK(k.tracker.counters().overlaps_different == 1);
  }
}

TEST_CASE("overlap policy table follows Suricata", "[sensor][stream]") {
  // same start, new longer
  CHECK_FALSE(overlap_use_new(OverlapPolicy::kBsd, 0, 8, 0, 4));
  CHECK(overlap_use_new(OverlapPolicy::kLinux, 0, 8, 0, 4));
  CHECK_FALSE(overlap_use_new(OverlapPolicy::kLinux, 0, 4, 0, 4));
  CHECK(overlap_use_new(OverlapPolicy::kOldLinux, 0, 4, 0, 4));
  CHECK(overlap_use_new(OverlapPolicy::kSolaris, 0, 4, 0, 4));
  // new starts before
  CHECK(overlap_use_new(OverlapPolicy::kWindows, 0, 3, 2, 6));
  CHECK_FALSE(overlap_use_new(OverlapPolicy::kSolaris, 0, 3, 2, 6));
  CHECK(overlap_use_new(OverlapPolicy::kSolaris, 0, 6, 2, 6));
  CHECK_FALSE(overlap_use_new(OverlapPolicy::kFirst, 0, 6, 2, 6));
  CHECK_FALSE(overlap_use_new(OverlapPolicy::kVista, 0, 6, 2, 6));
  // new starts after
  CHECK_FALSE(overlap_use_new(OverlapPolicy::kBsd, 3, 9, 2, 6));
  CHECK(overlap_use_new(OverlapPolicy::kHpux11, 3, 9, 2, 6));
  CHECK(overlap_use_new(OverlapPolicy::kLast, 3, 4, 2, 6));
  CHECK(parse_overlap_policy("old-linux") == OverlapPolicy::kOldLinux);
  CHECK(parse_overlap_policy("windows2k3") == OverlapPolicy::kWindows2k3);
  CHECK_FALSE(parse_overlap_policy("beos"));
}

TEST_CASE("a hole ACKed past becomes a gap and the data after it is released",
          "[sensor][stream]") {
  // eve-overlap-payload-05-gap: VERY, (GOOD missing), DATA; "VERYGOODDATA" never appears.
  Conn k;
  k.handshake();
  k.s(kAck, 1001, 2);
  k.c(kAck, 2, 1001, "VERY");
  k.c(kAck, 10, 1001, "DATA");
  CHECK(readable(k.to_server()) == "VERY");
  CHECK(k.to_server().gap_count() == 0);
  k.s(kAck, 1001, 14);
  CHECK(readable(k.to_server()) == "VERY[gap 4]DATA");
  CHECK(view(k.to_server().data()) == "VERY");
  CHECK(k.to_server().contiguous_end() == 12);
  CHECK(k.to_server().acked_end() == 12);
  CHECK(k.tracker.counters().gaps == 1);
  CHECK(k.tracker.counters().gap_bytes == 4);
  std::array<uint8_t, 6> buf{};
  CHECK_FALSE(k.to_server().copy(2, buf));  // spans the gap
  std::array<uint8_t, 3> tail{};
  REQUIRE(k.to_server().copy(9, tail));
  CHECK(view(tail) == "ATA");
}

TEST_CASE("a leading gap is skipped once ACKed", "[sensor][stream]") {
  // eve-payload-06-tcp-data-leading-gap: data starts 4 bytes after the ISN.
  Conn k;
  k.handshake();
  k.s(kAck, 1001, 2);
  k.c(kAck, 6, 1001, "GOOD");
  k.c(kAck, 10, 1001, "DATA");
  CHECK(k.to_server().contiguous_end() == 0);
  CHECK(readable(k.to_server()).empty());
  k.s(kAck, 1001, 14);
  CHECK(readable(k.to_server()) == "[gap 4]GOODDATA");
  CHECK(view(k.to_server().chunk(4).data) == "GOODDATA");
}

TEST_CASE("retransmitted identical data is counted, not duplicated", "[sensor][stream]") {
  Conn k;
  k.handshake();
  k.c(kAck, 2, 1001, "abcd");
  auto r = k.c(kAck, 2, 1001, "abcd");
  CHECK(r.retransmission);
  CHECK(readable(k.to_server()) == "abcd");
  CHECK(k.tracker.counters().retransmissions == 1);
  CHECK(k.tracker.counters().overlaps_same == 1);
  CHECK(k.tracker.counters().overlaps_different == 0);
  // A retransmission overlapping the end and adding new bytes appends only the new part.
  k.c(kAck, 4, 1001, "cdef");
  CHECK(readable(k.to_server()) == "abcdef");
}

TEST_CASE("FIN handshake closes the session and ends both streams", "[sensor][stream]") {
  Conn k;
  k.handshake();
  k.c(kAck, 2, 1001, "req");
  k.c(kFin | kAck, 5, 1001);
  CHECK(k.flow->tcp->state() == TcpState::kFinWait1);
  CHECK(k.to_server().eof());
  CHECK_FALSE(k.to_client().eof());
  k.s(kAck, 1001, 6);
  CHECK(k.flow->tcp->state() == TcpState::kFinWait2);
  k.s(kFin | kAck, 1001, 6, "resp");
  CHECK(k.flow->tcp->state() == TcpState::kTimeWait);
  CHECK(k.to_client().eof());
  CHECK(view(k.to_client().data()) == "resp");
  k.c(kAck, 6, 1006);
  CHECK(k.flow->tcp->state() == TcpState::kClosed);
  CHECK(k.flow->state == FlowState::kClosed);
  CHECK(k.flow->established);  // stays, as Suricata's state >= ESTABLISHED
  CHECK(k.tracker.counters().fin == 2);
}

TEST_CASE("server-initiated close goes through CLOSE_WAIT and LAST_ACK", "[sensor][stream]") {
  Conn k;
  k.handshake();
  k.s(kFin | kAck, 1001, 2);
  CHECK(k.flow->tcp->state() == TcpState::kCloseWait);
  k.c(kFin | kAck, 2, 1002);
  CHECK(k.flow->tcp->state() == TcpState::kLastAck);
  k.s(kAck, 1002, 3);
  CHECK(k.flow->tcp->state() == TcpState::kClosed);
}

TEST_CASE("RST closes only with the expected sequence number", "[sensor][stream]") {
  Conn k;
  k.handshake();
  k.c(kAck, 2, 1001, "data");
  auto bad = k.s(kRst, 5000, 0);
  CHECK(bad.invalid);
  CHECK(k.flow->tcp->state() == TcpState::kEstablished);
  CHECK(k.tracker.counters().invalid == 1);
  k.s(kRst, 1001, 0);
  CHECK(k.flow->tcp->state() == TcpState::kClosed);
  CHECK(k.tracker.counters().rst == 1);
  CHECK(k.to_server().eof());
  // Data after the reset is not reassembled.
  auto late = k.c(kAck, 6, 1001, "late");
  CHECK(late.invalid);
  CHECK(readable(k.to_server()) == "data");
}

TEST_CASE("TCP Fast Open data on the SYN is reassembled", "[sensor][stream]") {
  Conn k;
  k.c(kSyn, 1, 0, "hello");
  CHECK(k.flow->tcp->fast_open());
  CHECK(view(k.to_server().data()) == "hello");
  k.s(kSyn | kAck, 1000, 7);
  CHECK(k.flow->tcp->state() == TcpState::kSynRecv);
  k.c(kAck, 7, 1001, " world");
  CHECK(k.flow->tcp->state() == TcpState::kEstablished);
  CHECK(view(k.to_server().data()) == "hello world");
}

TEST_CASE("split handshake with two SYNs (4WHS) establishes", "[sensor][stream]") {
  // tcp-split-handshake-01-4whs.
  Conn k;
  k.send(k.pf.tcp(kClientIp, 12345, kServerIp, 80, kSyn, 1000, 0));
  k.send(k.pf.tcp(kServerIp, 80, kClientIp, 12345, kSyn, 3000, 0));
  CHECK(k.flow->tcp->four_way_handshake());
  CHECK(k.flow->tcp->state() == TcpState::kSynSent);
  k.send(k.pf.tcp(kClientIp, 12345, kServerIp, 80, kSyn | kAck, 1000, 3001));
  CHECK(k.flow->tcp->state() == TcpState::kSynRecv);
  k.send(k.pf.tcp(kServerIp, 80, kClientIp, 12345, kAck, 3001, 1001));
  CHECK(k.flow->tcp->state() == TcpState::kEstablished);
  CHECK(k.flow->client_port == 12345);
  k.send(k.pf.tcp(kClientIp, 12345, kServerIp, 80, kAck, 1001, 3001, "EVIL"));
  CHECK(k.flow->pkt_established);
  k.send(k.pf.tcp(kServerIp, 80, kClientIp, 12345, kAck, 3001, 1005));
  CHECK(view(k.to_server().data()) == "EVIL");
  CHECK(k.to_server().acked_end() == 4);
  k.send(k.pf.tcp(kClientIp, 12345, kServerIp, 80, kRst, 1005, 0));
  CHECK(k.flow->tcp->state() == TcpState::kClosed);
}

TEST_CASE("data beyond the reassembly depth is not kept", "[sensor][stream]") {
  StreamConfig cfg;
  cfg.reassembly_depth = 10;
  Conn k(cfg);
  k.handshake();
  k.c(kAck, 2, 1001, "01234567");
  CHECK_FALSE(k.to_server().depth_reached());
  k.c(kAck, 10, 1001, "89abcdef");
  CHECK(view(k.to_server().data()) == "0123456789");
  CHECK(k.to_server().depth_reached());
  k.c(kAck, 18, 1001, "more");
  CHECK(k.to_server().contiguous_end() == 10);
  CHECK(k.tracker.counters().depth_reached == 1);
  CHECK(k.flow->tcp->seq_state(Direction::ToServer).next_seq == 22);
}

TEST_CASE("data is released only when both consumers are done", "[sensor][stream]") {
  Conn k;
  k.handshake();
  k.c(kAck, 2, 1001, "0123456789");
  CHECK(k.tracker.memuse() == 10);
  k.flow->tcp->consume(Direction::ToServer, StreamConsumer::kDetect, 6);
  CHECK(k.to_server().base_offset() == 0);
  CHECK(k.tracker.memuse() == 10);
  k.flow->tcp->consume(Direction::ToServer, StreamConsumer::kApp, 4);
  CHECK(k.to_server().base_offset() == 4);
  CHECK(view(k.to_server().data()) == "456789");
  CHECK(k.tracker.memuse() == 6);
  k.flow->tcp->consume(Direction::ToServer, StreamConsumer::kApp, 10);
  CHECK(k.to_server().base_offset() == 6);
  CHECK(k.to_server().consumer_progress(StreamConsumer::kApp) == 10);
  k.c(kAck, 12, 1001, "ab");
  CHECK(view(k.to_server().data()) == "6789ab");
  CHECK(k.to_server().new_from() == 10);
  // A retransmission of released bytes is trimmed, the rest appended.
  k.c(kAck, 4, 1001, "23456789abcd");
  CHECK(view(k.to_server().data()) == "6789abcd");
  k.flow->tcp->consume(Direction::ToServer, StreamConsumer::kDetect, 14);
  k.flow->tcp->consume(Direction::ToServer, StreamConsumer::kApp, 14);
  CHECK(k.to_server().data().empty());
  CHECK(k.tracker.memuse() == 0);
}

TEST_CASE("releasing across a gap keeps offsets right", "[sensor][stream]") {
  Conn k;
  k.handshake();
  k.c(kAck, 2, 1001, "AAAA");
  k.c(kAck, 10, 1001, "BBBB");
  k.c(kAck, 18, 1001, "CCCC");
  k.s(kAck, 1001, 22);
  CHECK(readable(k.to_server()) == "AAAA[gap 4]BBBB[gap 4]CCCC");
  k.flow->tcp->consume(Direction::ToServer, StreamConsumer::kDetect, 6);
  k.flow->tcp->consume(Direction::ToServer, StreamConsumer::kApp, 6);
  CHECK(readable(k.to_server()) == "[gap 2]BBBB[gap 4]CCCC");
  CHECK(view(k.to_server().chunk(8).data) == "BBBB");
  CHECK(view(k.to_server().chunk(17).data) == "CCC");
}

TEST_CASE("the memcap drops data and counts it", "[sensor][stream]") {
  StreamConfig cfg;
  cfg.memcap = 10;
  Conn k(cfg);
  k.handshake();
  k.c(kAck, 2, 1001, "12345678");
  k.c(kAck, 10, 1001, "abcdefgh");
  CHECK(k.tracker.counters().memcap_drops == 1);
  CHECK(k.tracker.memuse() == 8);
  CHECK(readable(k.to_server()) == "12345678");
  k.flow->tcp->consume(Direction::ToServer, StreamConsumer::kDetect, 8);
  k.flow->tcp->consume(Direction::ToServer, StreamConsumer::kApp, 8);
  CHECK(k.tracker.memuse() == 0);
  k.c(kAck, 18, 1001, "next");
  k.s(kAck, 1001, 22);
  CHECK(readable(k.to_server()) == "[gap 8]next");
}

TEST_CASE("memory is returned when the flow ends", "[sensor][stream]") {
  StreamConfig cfg;
  Conn k(cfg);
  k.handshake();
  k.c(kAck, 2, 1001, "12345678");
  k.c(kAck, 20, 1001, "ooo");
  CHECK(k.tracker.memuse() == 11);
  k.table.flush_all([](Flow&, FlowEndReason) {});
  CHECK(k.tracker.memuse() == 0);
}

TEST_CASE("finish gives up holes so held data is readable", "[sensor][stream]") {
  Conn k;
  k.handshake();
  k.c(kAck, 2, 1001, "head");
  k.c(kAck, 12, 1001, "tail");
  CHECK(readable(k.to_server()) == "head");
  k.tracker.finish(*k.flow);
  CHECK(readable(k.to_server()) == "head[gap 6]tail");
  CHECK(k.to_server().eof());
}

TEST_CASE("packets with bad checksums are ignored", "[sensor][stream]") {
  Conn k;
  k.handshake();
  Packet p = k.pf.tcp(kClientIp, 12345, kServerIp, 8080, kAck, 2, 1001, "EVIL");
  p.checksum_bad = true;
  auto r = k.send(p);
  CHECK_FALSE(r.tracked);
  CHECK(k.to_server().contiguous_end() == 0);
  CHECK(k.tracker.counters().checksum_ignored == 1);
  k.c(kAck, 2, 1001, "GOOD");
  CHECK(view(k.to_server().data()) == "GOOD");
}

TEST_CASE("sequence numbers wrap around", "[sensor][stream]") {
  Conn k;
  const uint32_t isn = 0xfffffff8u;
  k.c(kSyn, isn, 0);
  k.s(kSyn | kAck, 1000, isn + 1);
  k.c(kAck, isn + 1, 1001);
  k.c(kAck, isn + 1, 1001, "0123456789");  // crosses 2^32
  k.c(kAck, isn + 11, 1001, "abc");
  CHECK(view(k.to_server().data()) == "0123456789abc");
  CHECK(k.flow->tcp->seq_state(Direction::ToServer).next_seq == isn + 14);
}

TEST_CASE("a missed ACK with later data still establishes via seq in window",
          "[sensor][stream]") {
  Conn k;
  k.c(kSyn, 1, 0);
  k.s(kSyn | kAck, 1000, 2);
  // First client data segment lost; the next one carries the right ACK.
  k.c(kAck, 6, 1001, "later");
  CHECK(k.flow->tcp->state() == TcpState::kEstablished);
  CHECK(k.to_server().contiguous_end() == 0);
  k.c(kAck, 2, 1001, "firs");
  CHECK(view(k.to_server().data()) == "firslater");
}

TEST_CASE("an ACK far beyond the window is rejected", "[sensor][stream]") {
  Conn k;
  k.handshake();
  k.c(kAck, 2, 1001, "HOLD");
  auto r = k.s(kAck, 1001, 2 + 10'000'000);
  CHECK(r.invalid);
  CHECK(k.to_server().acked_end() == 0);
  CHECK(k.to_server().gap_count() == 0);
  k.s(kAck, 1001, 6);
  CHECK(k.to_server().acked_end() == 4);
}

TEST_CASE("host-os-policy picks the receiver's policy per direction", "[sensor][stream]") {
  // eve-payload-02-tcp-exact-overlap-policy-oldlinux: windows for 0.0.0.0/0, old-linux for the
  // server 2.2.2.2.
  StreamConfig cfg;
  REQUIRE(cfg.add_host_policy("windows", "0.0.0.0/0"));
  REQUIRE(cfg.add_host_policy("old-linux", "2.2.2.2"));
  CHECK_FALSE(cfg.add_host_policy("beos", "1.2.3.4"));
  CHECK_FALSE(cfg.add_host_policy("linux", "not-an-ip"));
  CHECK(cfg.policy_for(vigil::core::IpAddress::v4(kServerIp)) == OverlapPolicy::kOldLinux);
  CHECK(cfg.policy_for(vigil::core::IpAddress::v4(kClientIp)) == OverlapPolicy::kWindows);
  Conn k(cfg);
  k.handshake();
  CHECK(k.to_server().policy() == OverlapPolicy::kOldLinux);
  CHECK(k.to_client().policy() == OverlapPolicy::kWindows);
  k.c(kAck, 2, 1001, "GOOD");
  k.c(kAck, 2, 1001, "EVIL");
  CHECK(readable(k.to_server()) == "EVIL");
  k.s(kAck, 1001, 6, "GOOD");
  k.s(kAck, 1001, 6, "EVIL");
  CHECK(readable(k.to_client()) == "GOOD");
}
