// Real captures from the suricata-verify conformance set, read through PacketSource and
// decoded; expected counts cross-checked with `tcpdump -nr`.
#include <catch2/catch.hpp>

#include <functional>
#include <string>
#include <vector>

#include "vigil/sensor/capture.h"
#include "vigil/sensor/decode.h"

using vigil::sensor::Decoder;
using vigil::sensor::DecoderConfig;
using vigil::sensor::Packet;
using vigil::sensor::PacketSource;
using vigil::sensor::RawPacket;
using vigil::sensor::ReadStatus;

namespace {

struct Summary {
  uint64_t packets = 0, decoded = 0, tcp = 0, udp = 0, icmp = 0, checksum_bad = 0;
  uint64_t fragments = 0, reassembled = 0;
  std::vector<Packet> first;  // the first few decoded packets (data not kept)
  int datalink = -1;
};

Summary run(const std::string& rel, DecoderConfig config = {},
            const std::function<void(const Packet&)>& each = {}) {
  auto src = PacketSource::open_file(std::string(VIGIL_SHARED_DIR) + "/conformance/tests/" + rel);
  REQUIRE(src.ok());
  Decoder d(config);
  Summary s;
  s.datalink = (*src)->datalink();
  RawPacket raw;
  auto count = [&](const Packet& p) {
    s.decoded += p.decoded;
    s.tcp += p.is_tcp();
    s.udp += p.is_udp();
    s.icmp += p.is_icmp();
    s.checksum_bad += p.checksum_bad;
    s.fragments += p.is_fragment;
    if (each) each(p);
  };
  while ((*src)->next(raw) == ReadStatus::kOk) {
    Packet p = vigil::sensor::to_packet(raw, ++s.packets);
    d.decode(p);
    count(p);
    Packet r;
    while (d.take_reassembled(r)) {
      ++s.reassembled;
      count(r);
    }
  }
  CHECK((*src)->stats().packets == s.packets);
  return s;
}

}  // namespace

TEST_CASE("decode-nsh-type2: UDP inside NSH", "[sensor][decode][pcap]") {
  std::vector<Packet> seen;
  auto s = run("decode-nsh-type2/input.pcap", {}, [&](const Packet& p) { seen.push_back(p); });
  REQUIRE(s.packets == 1);
  const Packet& p = seen[0];
  CHECK(p.decoded);
  REQUIRE(p.is_udp());
  CHECK(p.src.to_string() == "10.0.0.1");
  CHECK(p.dst.to_string() == "10.0.0.2");
  CHECK(p.sport == 52377);
  CHECK(p.dport == 52464);
  CHECK(p.payload_len == 6);
}

TEST_CASE("ipv6-rsmurf: 1000 ICMPv6 echo requests to ff02::1", "[sensor][decode][pcap]") {
  uint64_t echo_to_multicast = 0;
  auto s = run("ipv6-evasion/ipv6-rsmurf/rsmurf6.pcap", {}, [&](const Packet& p) {
    if (p.is_icmp() && p.icmp.type == 128 && p.dst.to_string() == "ff02::1") ++echo_to_multicast;
  });
  CHECK(s.packets == 1000);
  CHECK(s.decoded == 1000);
  CHECK(s.checksum_bad == 0);
  CHECK(echo_to_multicast == 1000);
}

TEST_CASE("ipv6-malformed-fragments-30: a datagram with a hole is never rebuilt",
          "[sensor][decode][pcap]") {
  uint64_t time_exceeded_reassembly = 0;
  auto s = run("ipv6-evasion/ipv6-malformed-fragments-30/frag-30.pcap", {}, [&](const Packet& p) {
    if (p.is_icmp() && p.icmp.type == 3 && p.icmp.code == 1) ++time_exceeded_reassembly;
  });
  CHECK(s.packets == 56);
  CHECK(s.decoded == 56);
  CHECK(s.fragments == 48);  // tcpdump: 48 "frag (" lines
  CHECK(s.reassembled == 0);
  CHECK(time_exceeded_reassembly == 1);  // what the case's rule alerts on, once
}

TEST_CASE("detect-ipopts: options on DLT_IPV4", "[sensor][decode][pcap]") {
  namespace ip_opt = vigil::sensor::ip_opt;
  std::vector<uint32_t> opts;
  auto s = run("detect-ipopts/input.pcap", {}, [&](const Packet& p) { opts.push_back(p.ip_opts); });
  CHECK(s.datalink == 228);
  REQUIRE(s.packets == 8);
  CHECK(s.tcp == 8);
  const uint32_t a = ip_opt::kAny;
  CHECK(opts[0] == (ip_opt::kRr | ip_opt::kEol | a));
  CHECK(opts[1] == (ip_opt::kLsrr | ip_opt::kEol | a));
  CHECK(opts[2] == (ip_opt::kEol | a));
  CHECK(opts[3] == (ip_opt::kNop | ip_opt::kEol | a));
  CHECK(opts[4] == (ip_opt::kTs | a));
  CHECK((opts[5] & ip_opt::kSec) != 0);
  CHECK(opts[6] == (ip_opt::kSsrr | ip_opt::kEol | a));
  CHECK(opts[7] == (ip_opt::kSatid | a));
}

TEST_CASE("bug-5633-gre-01: UDP in GRE in VLAN", "[sensor][decode][pcap]") {
  std::vector<Packet> seen;
  auto s = run("bug-5633-gre-01/gre-udp.pcap", {.validate_checksums = false},
               [&](const Packet& p) { seen.push_back(p); });
  REQUIRE(s.packets == 3);
  CHECK(s.udp == 3);
  CHECK(seen[0].tunnel_depth == 1);
  CHECK(seen[0].vlan[0] == 6);
  CHECK(seen[0].dst.to_string() == "2.2.2.2");
  CHECK(seen[0].dport == 514);
}

TEST_CASE("other link types in the conformance set", "[sensor][decode][pcap]") {
  auto hdlc = run("decode-chdlc-01/hdlc-http_1tx.pcap");
  CHECK(hdlc.datalink == 104);
  CHECK(hdlc.packets == 17);
  CHECK(hdlc.tcp == 17);
  auto sll = run("tcp-fastopen-05/tfo.pcap");
  CHECK(sll.datalink == 113);
  CHECK(sll.tcp == 16);
  auto null = run("http-async/input.pcap");
  CHECK(null.datalink == 0);
  CHECK(null.tcp == 16);
  auto raw = run("bug-5758/input.pcap");
  CHECK(raw.packets == 41);
  CHECK(raw.tcp == 41);
}
