#include <catch2/catch.hpp>

#include "sensor/decode/packet_builder.h"
#include "vigil/sensor/decode.h"

using vigil::sensor::DecodeEvent;
using vigil::sensor::Decoder;
using vigil::sensor::DecoderConfig;
using vigil::sensor::Packet;
namespace tcp_flag = vigil::sensor::tcp_flag;
namespace ip_opt = vigil::sensor::ip_opt;
using vigil::test::Bytes;
using vigil::test::make_packet;
using vigil::test::PacketBuilder;

namespace {

Packet decode(Decoder& d, const Bytes& b, int dlt = 1) {
  Packet p = make_packet(b, dlt);
  d.decode(p);
  return p;
}

uint64_t ev(const Decoder& d, DecodeEvent e) { return d.stats().event(e); }

Bytes syn_v4() {
  vigil::test::TcpOpts o;
  o.flags = tcp_flag::kSyn;
  o.seq = 1000;
  // MSS 1460, SACK permitted, timestamps 7/0, NOP, window scale 7
  o.options = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 7, 0, 0, 0, 0, 1, 3, 3, 7};
  return PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").tcp(40000, 80, o).build();
}

}  // namespace

TEST_CASE("event names follow Suricata's decoder events", "[sensor][decode]") {
  CHECK(std::string(decode_event_name(DecodeEvent::kIpv4TruncPkt)) == "ipv4.trunc_pkt");
  CHECK(std::string(decode_event_name(DecodeEvent::kTcpHlenTooSmall)) == "tcp.hlen_too_small");
  CHECK(std::string(decode_event_name(DecodeEvent::kIpv6TruncExthdr)) == "ipv6.trunc_exthdr");
  CHECK(std::string(decode_event_name(DecodeEvent::kIpv4FragOverlap)) == "ipv4.frag_overlap");
  CHECK(std::string(decode_event_name(DecodeEvent::kCount)) == "unknown");
  for (size_t i = 0; i < vigil::sensor::kDecodeEventCount; ++i) {
    CHECK(decode_event_name(static_cast<DecodeEvent>(i)) != nullptr);
  }
}

TEST_CASE("Ethernet IPv4 TCP SYN with options", "[sensor][decode]") {
  Decoder d;
  Bytes b = syn_v4();
  Packet p = decode(d, b);
  REQUIRE(p.decoded);
  CHECK(p.ip_version == 4);
  CHECK(p.src.to_string() == "10.0.0.1");
  CHECK(p.dst.to_string() == "10.0.0.2");
  CHECK(p.ttl == 64);
  CHECK(p.ip_hdr_len == 20);
  CHECK(p.l3 == b.data() + 14);
  CHECK(p.l3_len == b.size() - 14);
  REQUIRE(p.is_tcp());
  CHECK(p.sport == 40000);
  CHECK(p.dport == 80);
  CHECK(p.tcp.seq == 1000);
  CHECK(p.tcp.flags == tcp_flag::kSyn);
  CHECK(p.tcp.hdr_len == 40);
  CHECK(p.tcp.has_mss);
  CHECK(p.tcp.mss == 1460);
  CHECK(p.tcp.sack_permitted);
  CHECK(p.tcp.has_timestamp);
  CHECK(p.tcp.ts_val == 7);
  CHECK(p.tcp.has_wscale);
  CHECK(p.tcp.wscale == 7);
  CHECK(p.payload_len == 0);
  CHECK_FALSE(p.checksum_bad);
  CHECK(p.decode_event == 0);
  CHECK(d.stats().tcp == 1);
  CHECK(d.stats().decoded == 1);
}

TEST_CASE("UDP, ICMP and ICMPv6 echo", "[sensor][decode]") {
  Decoder d;
  Bytes u = PacketBuilder().eth().ipv4("1.2.3.4", "5.6.7.8").udp(53, 5353).payload("abc").build();
  Packet p = decode(d, u);
  REQUIRE(p.is_udp());
  CHECK(p.sport == 53);
  CHECK(p.dport == 5353);
  CHECK(p.payload_len == 3);
  CHECK(std::string(reinterpret_cast<const char*>(p.payload), 3) == "abc");

  Bytes i = PacketBuilder().eth().ipv4("1.2.3.4", "5.6.7.8").icmp(8, 0, {.id = 7, .seq = 9}).build();
  p = decode(d, i);
  REQUIRE(p.is_icmp());
  CHECK(p.proto == 1);
  CHECK(p.icmp.type == 8);
  CHECK(p.icmp.has_id_seq);
  CHECK(p.icmp.id == 7);
  CHECK(p.icmp.seq == 9);

  Bytes i6 = PacketBuilder().eth().ipv6("2001:db8::1", "ff02::1")
                 .icmp6(128, 0, {.id = 64206, .seq = 47806}).payload("ping").build();
  p = decode(d, i6);
  REQUIRE(p.decoded);
  REQUIRE(p.is_icmp());
  CHECK(p.proto == 58);
  CHECK(p.ip_version == 6);
  CHECK(p.dst.to_string() == "ff02::1");
  CHECK(p.icmp.type == 128);
  CHECK(p.icmp.id == 64206);
  CHECK(p.icmp.seq == 47806);
  CHECK(p.payload_len == 4);
  CHECK_FALSE(p.checksum_bad);
}

TEST_CASE("VLAN and QinQ ids are recorded", "[sensor][decode]") {
  Decoder d;
  Bytes b = PacketBuilder().eth().vlan(100, 0x88A8).vlan(200).ipv4("10.0.0.1", "10.0.0.2")
                .udp(1, 2).build();
  Packet p = decode(d, b);
  REQUIRE(p.decoded);
  CHECK(p.vlan_count == 2);
  CHECK(p.vlan[0] == 100);
  CHECK(p.vlan[1] == 200);
  CHECK(p.is_udp());

  Bytes three = PacketBuilder().eth().vlan(1).vlan(2).vlan(3).ipv4("10.0.0.1", "10.0.0.2")
                    .udp(1, 2).build();
  p = decode(d, three);
  CHECK_FALSE(p.decoded);
  CHECK(ev(d, DecodeEvent::kVlanTooManyLayers) == 1);
}

TEST_CASE("MPLS, PPPoE and NSH carry IP", "[sensor][decode]") {
  Decoder d;
  Packet p = decode(d, PacketBuilder().eth().mpls(100).mpls(200).ipv4("10.0.0.1", "10.0.0.2")
                           .tcp(1, 2).build());
  CHECK(p.decoded);
  CHECK(p.is_tcp());
  CHECK(d.stats().mpls == 1);

  p = decode(d, PacketBuilder().eth().pppoe().ipv6("2001:db8::1", "2001:db8::2").udp(1, 2).build());
  CHECK(p.decoded);
  CHECK(p.is_udp());
  CHECK(p.ip_version == 6);

  p = decode(d, PacketBuilder().eth().nsh().ipv4("10.0.0.1", "10.0.0.2").udp(52377, 52464)
                    .payload("data\n\n").build());
  REQUIRE(p.decoded);
  CHECK(p.sport == 52377);
  CHECK(p.payload_len == 6);
  CHECK(d.stats().nsh == 1);
}

TEST_CASE("other link types", "[sensor][decode]") {
  Decoder d;
  Bytes ip = PacketBuilder().ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build();
  CHECK(decode(d, ip, 12).is_udp());    // DLT_RAW
  CHECK(decode(d, ip, 228).is_udp());   // DLT_IPV4
  Bytes null_le = {2, 0, 0, 0};
  null_le.insert(null_le.end(), ip.begin(), ip.end());
  CHECK(decode(d, null_le, 0).is_udp());  // DLT_NULL, little-endian AF_INET
  Bytes loop = {0, 0, 0, 2};
  loop.insert(loop.end(), ip.begin(), ip.end());
  CHECK(decode(d, loop, 108).is_udp());  // DLT_LOOP
  Bytes sll(14, 0);
  vigil::test::put16(sll, 0x0800);
  sll.insert(sll.end(), ip.begin(), ip.end());
  CHECK(decode(d, sll, 113).is_udp());  // DLT_LINUX_SLL
  Bytes sll2;
  vigil::test::put16(sll2, 0x0800);
  sll2.resize(20, 0);
  sll2.insert(sll2.end(), ip.begin(), ip.end());
  CHECK(decode(d, sll2, 276).is_udp());  // DLT_LINUX_SLL2
  Bytes hdlc = {0x0f, 0x00, 0x08, 0x00};
  hdlc.insert(hdlc.end(), ip.begin(), ip.end());
  CHECK(decode(d, hdlc, 104).is_udp());  // DLT_C_HDLC
  Bytes ppp = {0xff, 0x03, 0x00, 0x21};
  ppp.insert(ppp.end(), ip.begin(), ip.end());
  CHECK(decode(d, ppp, 9).is_udp());  // DLT_PPP

  Packet p = decode(d, ip, 147);  // DLT_USER0: unsupported
  CHECK_FALSE(p.decoded);
  CHECK(ev(d, DecodeEvent::kUnsupportedDatalink) == 1);

  // Not IP at all: not decoded, but not an anomaly either.
  Bytes arp = PacketBuilder().eth(0x0806).payload(Bytes(28, 0)).build();
  p = decode(d, arp);
  CHECK_FALSE(p.decoded);
  CHECK(p.decode_event == 0);
}

TEST_CASE("IPv4 options set ipopts bits", "[sensor][decode]") {
  Decoder d;
  auto with_opts = [&](Bytes opts) {
    vigil::test::Ipv4Opts o;
    o.options = std::move(opts);
    return decode(d, PacketBuilder().eth().ipv4("9.10.11.12", "13.14.15.16", o).tcp(20, 80).build());
  };
  Packet p = with_opts({7, 3, 4, 0});  // RR (empty), EOL
  CHECK(p.decoded);
  CHECK(p.ip_hdr_len == 24);
  CHECK(p.ip_opts == (ip_opt::kRr | ip_opt::kEol | ip_opt::kAny));
  CHECK(with_opts({1, 0, 0, 0}).ip_opts == (ip_opt::kNop | ip_opt::kEol | ip_opt::kAny));
  CHECK(with_opts({131, 11, 4, 1, 2, 3, 4, 5, 6, 7, 8, 0}).ip_opts ==
        (ip_opt::kLsrr | ip_opt::kEol | ip_opt::kAny));
  CHECK(with_opts({137, 3, 4, 0}).ip_opts & ip_opt::kSsrr);
  CHECK(with_opts({68, 4, 5, 0}).ip_opts & ip_opt::kTs);
  CHECK(with_opts({130, 3, 0, 0}).ip_opts & ip_opt::kSec);
  CHECK(with_opts({133, 3, 0, 0}).ip_opts & ip_opt::kEsec);
  CHECK(with_opts({136, 4, 0, 1}).ip_opts == (ip_opt::kSatid | ip_opt::kAny));
  CHECK(with_opts({0, 0, 0, 0}).ip_opts == (ip_opt::kEol | ip_opt::kAny));

  // An option running past the header is counted, and the packet still decodes.
  p = with_opts({7, 9, 4, 0});
  CHECK(p.decoded);
  CHECK(ev(d, DecodeEvent::kIpv4OptMalformed) == 1);
}

TEST_CASE("IPv6 extension headers are walked", "[sensor][decode]") {
  Decoder d;
  Bytes b = PacketBuilder().eth().ipv6("2001:db8::1", "2001:db8::2")
                .ipv6_ext(0).ipv6_ext(43, {0, 0, 0, 0, 0, 0}).ipv6_ext(60).tcp(1, 2).build();
  Packet p = decode(d, b);
  REQUIRE(p.decoded);
  CHECK(p.is_tcp());
  CHECK(p.ip_hdr_len == 40 + 24);
  CHECK(ev(d, DecodeEvent::kIpv6RhType0) == 1);  // routing type 0 is deprecated

  // ESP stops decoding; the packet is IP-decoded without L4.
  Bytes esp = PacketBuilder().eth().ipv6("2001:db8::1", "2001:db8::2", {.next_header = 50})
                  .payload(Bytes(32, 0xee)).build();
  p = decode(d, esp);
  CHECK(p.decoded);
  CHECK(p.proto == 50);
  CHECK_FALSE(p.has_l4);
  CHECK(p.payload_len == 32);

  // Atomic fragment (offset 0, no more fragments): decoded through.
  p = decode(d, PacketBuilder().eth().ipv6("2001:db8::1", "2001:db8::2").ipv6_frag(5, 0, false)
                    .udp(1, 2).build());
  CHECK(p.is_udp());
  CHECK_FALSE(p.is_fragment);
  CHECK(ev(d, DecodeEvent::kIpv6ExthdrUselessFh) == 1);

  // A hop-by-hop header claiming more than the payload holds.
  Bytes trunc = PacketBuilder().eth().ipv6("2001:db8::1", "2001:db8::2")
                    .ipv6_ext(0).tcp(1, 2).build();
  trunc[14 + 40 + 1] = 200;
  p = decode(d, trunc);
  CHECK_FALSE(p.decoded);
  CHECK(ev(d, DecodeEvent::kIpv6TruncExthdr) == 1);
}

TEST_CASE("GRE, VXLAN, IP-in-IP and Teredo are decapsulated", "[sensor][decode]") {
  Decoder d;
  Packet p = decode(d, PacketBuilder().eth().vlan(6).ipv4("1.1.1.2", "1.1.1.1").gre()
                           .ipv4("2.2.2.3", "2.2.2.2").udp(12345, 514).payload("EVIL").build());
  REQUIRE(p.decoded);
  CHECK(p.tunnel_depth == 1);
  CHECK(p.src.to_string() == "2.2.2.3");
  CHECK(p.dport == 514);
  CHECK(p.vlan[0] == 6);

  p = decode(d, PacketBuilder().eth().ipv4("1.1.1.2", "1.1.1.1").gre({.key = 42, .seq = 7})
                    .eth().ipv6("2001:db8::1", "2001:db8::2").tcp(1, 2).build());
  REQUIRE(p.decoded);
  CHECK(p.ip_version == 6);
  CHECK(p.is_tcp());

  // PPTP: enhanced GRE with PPP.
  p = decode(d, PacketBuilder().eth().ipv4("1.1.1.2", "1.1.1.1")
                    .gre({.version = 1, .key = 3, .seq = 1, .ack = 0}).ppp()
                    .ipv4("10.0.0.1", "10.0.0.2").icmp(8, 0).build());
  REQUIRE(p.decoded);
  CHECK(p.is_icmp());
  CHECK(p.tunnel_depth == 1);

  p = decode(d, PacketBuilder().eth().ipv4("1.1.1.2", "1.1.1.1").udp(5555, 4789).vxlan(0x123456)
                    .eth().vlan(7).ipv4("10.1.0.1", "10.1.0.2").tcp(1000, 443).build());
  REQUIRE(p.decoded);
  CHECK(p.vni == 0x123456);
  CHECK(p.vlan_count == 1);
  CHECK(p.vlan[0] == 7);
  CHECK(p.dport == 443);
  CHECK(p.tunnel_depth == 1);

  p = decode(d, PacketBuilder().eth().ipv4("1.1.1.2", "1.1.1.1").ipv6("2001:db8::1", "2001:db8::2")
                    .udp(1, 2).build());
  CHECK(p.is_udp());
  CHECK(p.ip_version == 6);
  p = decode(d, PacketBuilder().eth().ipv6("2001:db8::1", "2001:db8::2").ipv6("2001:db8::3", "2001:db8::4")
                    .ipv4("10.0.0.1", "10.0.0.2").tcp(1, 2).build());
  CHECK(p.is_tcp());
  CHECK(p.tunnel_depth == 2);

  p = decode(d, PacketBuilder().eth().ipv4("1.1.1.2", "1.1.1.1").udp(3544, 40000)
                    .ipv6("2001::1", "2001::2").udp(1, 2).payload("x").build());
  CHECK(p.is_udp());
  CHECK(p.ip_version == 6);
  CHECK(d.stats().teredo == 1);

  // A broken inner packet leaves the outer packet (GRE) as the last good layer.
  Bytes bad = PacketBuilder().eth().ipv4("1.1.1.2", "1.1.1.1").gre().ipv4("2.2.2.3", "2.2.2.2")
                  .udp(1, 2).build();
  bad[14 + 20 + 4] = 0x4f;  // inner IHL 60 > inner length
  p = decode(d, bad);
  CHECK(p.decoded);
  CHECK(p.proto == 47);
  CHECK(p.tunnel_depth == 0);
  CHECK(p.src.to_string() == "1.1.1.2");
  CHECK(ev(d, DecodeEvent::kTunnelInnerInvalid) == 1);
}

TEST_CASE("checksums are verified when asked", "[sensor][decode]") {
  Decoder on;
  Decoder off(DecoderConfig{.validate_checksums = false});
  vigil::test::TcpOpts bad_tcp;
  bad_tcp.bad_checksum = true;
  Bytes b = PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").tcp(1, 2, bad_tcp).payload("x").build();
  Packet p = decode(on, b);
  CHECK(p.decoded);  // a bad checksum is reported, not fatal: the caller decides
  CHECK(p.checksum_bad);
  CHECK(ev(on, DecodeEvent::kTcpChecksumBad) == 1);
  CHECK_FALSE(decode(off, b).checksum_bad);

  vigil::test::Ipv4Opts bad_ip;
  bad_ip.bad_checksum = true;
  CHECK(decode(on, PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2", bad_ip).udp(1, 2).build())
            .checksum_bad);
  CHECK(decode(on, PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").udp(1, 2, {.bad_checksum = true})
                       .payload("odd").build())
            .checksum_bad);
  CHECK_FALSE(decode(on, PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2")
                             .udp(1, 2, {.zero_checksum = true}).build())
                  .checksum_bad);  // IPv4 UDP may omit the checksum
  CHECK(decode(on, PacketBuilder().eth().ipv6("::1", "::2").udp(1, 2, {.zero_checksum = true}).build())
            .checksum_bad);  // IPv6 UDP may not
  CHECK(decode(on, PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").icmp(8, 0, {.bad_checksum = true}).build())
            .checksum_bad);
  CHECK(decode(on, PacketBuilder().eth().ipv6("::1", "::2").icmp6(128, 0, {.bad_checksum = true}).build())
            .checksum_bad);
  // Odd payload lengths sum correctly.
  for (int n = 0; n < 9; ++n) {
    Bytes odd = PacketBuilder().eth().ipv6("2001:db8::1", "2001:db8::2").tcp(5, 6)
                    .payload(Bytes(static_cast<size_t>(n), 0xa5)).build();
    CHECK_FALSE(decode(on, odd).checksum_bad);
  }
  CHECK(on.stats().checksum_bad == 6);
}

TEST_CASE("header length errors are named", "[sensor][decode]") {
  Decoder d;
  vigil::test::Ipv4Opts o;
  o.ihl = 4;
  Packet p = decode(d, PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2", o).udp(1, 2).build());
  CHECK_FALSE(p.decoded);
  CHECK(ev(d, DecodeEvent::kIpv4HlenTooSmall) == 1);

  vigil::test::Ipv4Opts big;
  big.total_len = 500;
  decode(d, PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2", big).udp(1, 2).build());
  CHECK(ev(d, DecodeEvent::kIpv4TruncPkt) == 1);

  vigil::test::TcpOpts t;
  t.data_offset = 3;
  p = decode(d, PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").tcp(1, 2, t).build());
  CHECK_FALSE(p.decoded);
  CHECK_FALSE(p.has_l4);
  CHECK(p.ip_version == 4);  // stopped at the last good layer
  CHECK(ev(d, DecodeEvent::kTcpHlenTooSmall) == 1);

  p = decode(d, PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").udp(1, 2, {.length = 4}).build());
  CHECK_FALSE(p.decoded);
  CHECK(ev(d, DecodeEvent::kUdpHlenInvalid) == 1);

  // Ethernet padding after a short IP packet is not payload.
  Bytes padded = PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).payload("a").build();
  padded.resize(60, 0);
  p = decode(d, padded);
  CHECK(p.decoded);
  CHECK(p.payload_len == 1);
  CHECK(p.l3_len == 29);
}

TEST_CASE("every prefix of a valid packet decodes without crash and names the anomaly",
          "[sensor][decode]") {
  struct Case {
    const char* name;
    Bytes bytes;
  };
  vigil::test::TcpOpts opts;
  opts.options = {2, 4, 5, 0xb4, 1, 3, 3, 2};
  std::vector<Case> cases = {
      {"tcp4", PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").tcp(1, 2, opts).payload("hello").build()},
      {"udp6", PacketBuilder().eth().vlan(3).ipv6("::1", "::2").ipv6_ext(0).udp(1, 2).payload("x").build()},
      {"gre", PacketBuilder().eth().ipv4("1.1.1.1", "1.1.1.2").gre({.key = 1}).ipv4("2.2.2.2", "2.2.2.3").icmp(8, 0).build()},
      {"vxlan", PacketBuilder().eth().ipv4("1.1.1.1", "1.1.1.2").udp(9, 4789).vxlan(5).eth().ipv4("3.3.3.3", "4.4.4.4").tcp(1, 2).build()},
  };
  for (const auto& c : cases) {
    Decoder d;
    Packet full = decode(d, c.bytes);
    REQUIRE(full.decoded);
    for (size_t n = 0; n < c.bytes.size(); ++n) {
      // Copy into an exact-size buffer so ASan sees any read past the prefix.
      Bytes prefix(c.bytes.begin(), c.bytes.begin() + static_cast<long>(n));
      Packet p = make_packet(prefix);
      p.caplen = static_cast<uint32_t>(n);
      d.decode(p);
      INFO(c.name << " prefix " << n);
      // Cutting into an IP datagram is always a named, fatal anomaly: the IP length says more.
      CHECK_FALSE(p.decoded);
      if (n > 0) CHECK(p.decode_event != 0);
    }
    CHECK(d.stats().invalid == c.bytes.size());
  }

  // Specific truncation points name specific events.
  Bytes b = cases[0].bytes;
  auto event_at = [&](size_t n) {
    Decoder d;
    Bytes prefix(b.begin(), b.begin() + static_cast<long>(n));
    Packet p = make_packet(prefix);
    d.decode(p);
    return static_cast<DecodeEvent>(p.decode_event);
  };
  CHECK(event_at(10) == DecodeEvent::kEthernetPktTooSmall);
  CHECK(event_at(14 + 10) == DecodeEvent::kIpv4PktTooSmall);
  CHECK(event_at(14 + 30) == DecodeEvent::kIpv4TruncPkt);
}

TEST_CASE("decode resets fields of a reused Packet", "[sensor][decode]") {
  Decoder d;
  Bytes a = PacketBuilder().eth().vlan(9).ipv4("10.0.0.1", "10.0.0.2").tcp(1, 2).build();
  Bytes b = PacketBuilder().eth().ipv4("10.0.0.3", "10.0.0.4").udp(3, 4).build();
  Packet p = make_packet(a);
  d.decode(p);
  CHECK(p.vlan_count == 1);
  p.data = b.data();
  p.caplen = static_cast<uint32_t>(b.size());
  d.decode(p);
  CHECK(p.vlan_count == 0);
  CHECK(p.is_udp());
  CHECK(p.tcp.seq == 0);
}

TEST_CASE("flow_hash is symmetric and separates flows", "[sensor][decode]") {
  Decoder d;
  Bytes ab = PacketBuilder().eth().vlan(5).ipv4("10.0.0.1", "10.0.0.2").tcp(1234, 80).build();
  Bytes ba = PacketBuilder().eth().vlan(5).ipv4("10.0.0.2", "10.0.0.1").tcp(80, 1234).build();
  Bytes other_port = PacketBuilder().eth().vlan(5).ipv4("10.0.0.1", "10.0.0.2").tcp(1235, 80).build();
  Bytes other_vlan = PacketBuilder().eth().vlan(6).ipv4("10.0.0.1", "10.0.0.2").tcp(1234, 80).build();
  Bytes swapped_ports = PacketBuilder().eth().vlan(5).ipv4("10.0.0.1", "10.0.0.2").tcp(80, 1234).build();
  Packet pab = decode(d, ab), pba = decode(d, ba);
  CHECK(flow_hash(pab) == flow_hash(pba));
  CHECK(flow_hash(pab) != flow_hash(decode(d, other_port)));
  CHECK(flow_hash(pab) != flow_hash(decode(d, other_vlan)));
  CHECK(flow_hash(pab) != flow_hash(decode(d, swapped_ports)));
  Packet none;
  CHECK(flow_hash(none) == 0);
}
