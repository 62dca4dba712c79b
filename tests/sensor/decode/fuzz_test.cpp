// Random and mutated input must never crash the decoder (run under -DVIGIL_SANITIZE=ON too).
#include <catch2/catch.hpp>

#include <random>

#include "sensor/decode/packet_builder.h"
#include "vigil/sensor/decode.h"

using vigil::sensor::Decoder;
using vigil::sensor::Packet;
using vigil::test::Bytes;
using vigil::test::PacketBuilder;

namespace {

std::vector<Bytes> seeds() {
  vigil::test::TcpOpts t;
  t.options = {2, 4, 5, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 3, 3, 7};
  vigil::test::Ipv4Opts o;
  o.options = {7, 7, 4, 1, 2, 3, 4, 0};
  vigil::test::Ipv4Opts frag;
  frag.mf = true;
  return {
      PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2", o).tcp(1, 2, t).payload("GET / HTTP/1.1").build(),
      PacketBuilder().eth().vlan(1).vlan(2).ipv6("::1", "::2").ipv6_ext(0).ipv6_ext(43).ipv6_ext(60).udp(1, 2).payload("x").build(),
      PacketBuilder().eth().ipv4("1.1.1.1", "1.1.1.2").gre({.key = 1, .seq = 2, .checksum = true}).eth().ipv4("2.2.2.2", "2.2.2.3").icmp(8, 0).build(),
      PacketBuilder().eth().ipv4("1.1.1.1", "1.1.1.2").udp(9, 4789).vxlan(5).eth().ipv6("::3", "::4").icmp6(128, 0).build(),
      PacketBuilder().eth().mpls(3).mpls(4).ipv4("1.1.1.1", "1.1.1.2").ipv6("::1", "::2").tcp(1, 2).build(),
      PacketBuilder().eth().pppoe().ipv4("1.1.1.1", "1.1.1.2").gre({.version = 1, .key = 1, .seq = 1}).ppp().ipv4("3.3.3.3", "4.4.4.4").udp(1, 2).build(),
      PacketBuilder().eth().nsh().ipv4("10.0.0.1", "10.0.0.2").udp(3544, 3544).ipv6("::1", "::2").udp(1, 2).build(),
      PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2", frag).payload(Bytes(64, 7)).build(),
      PacketBuilder().eth().ipv6("::1", "::2").ipv6_frag(1, 0, true, 6).payload(Bytes(64, 7)).build(),
      PacketBuilder().eth().ipv6("::1", "::2").ipv6_frag(1, 64, false, 6).payload(Bytes(8, 7)).build(),
  };
}

}  // namespace

TEST_CASE("decoder survives random and mutated packets", "[sensor][decode][fuzz]") {
  std::mt19937 rng(20240601);  // deterministic
  Decoder d(vigil::sensor::DecoderConfig{.defrag_memcap = 1 << 20});
  const auto base = seeds();
  const int dlts[] = {1, 12, 0, 108, 113, 276, 9, 104, 228, 229};
  uint64_t reassembled = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    Bytes buf;
    if (iter % 4 == 0) {
      buf.resize(rng() % 200);
      for (auto& b : buf) b = static_cast<uint8_t>(rng());
    } else {
      buf = base[rng() % base.size()];
      const int flips = 1 + static_cast<int>(rng() % 6);
      for (int f = 0; f < flips; ++f) {
        switch (rng() % 4) {
          case 0: buf[rng() % buf.size()] = static_cast<uint8_t>(rng()); break;
          case 1: buf[rng() % buf.size()] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
          case 2: buf.resize(rng() % (buf.size() + 1)); break;
          default: {  // small values in length-like places matter most
            size_t at = rng() % buf.size();
            buf[at] = static_cast<uint8_t>(rng() % 4 == 0 ? 0xff : rng() % 16);
          }
        }
        if (buf.empty()) break;
      }
    }
    Bytes exact(buf);  // exact-size heap buffer so ASan catches over-reads
    Packet p = vigil::test::make_packet(exact, iter % 8 == 0 ? dlts[rng() % 10] : 1,
                                        static_cast<uint64_t>(iter), int64_t{iter} * 1000);
    d.decode(p);
    if (p.decoded) {
      // The contract: payload lies within the captured bytes.
      REQUIRE(p.payload_len <= p.caplen);
      if (p.payload_len > 0) {
        REQUIRE(p.payload >= exact.data());
        REQUIRE(p.payload + p.payload_len <= exact.data() + exact.size());
      }
      (void)flow_hash(p);
    }
    Packet r;
    while (d.take_reassembled(r)) {
      ++reassembled;
      REQUIRE(r.is_reassembled);
      (void)flow_hash(r);
    }
  }
  CHECK(d.stats().packets == 20000);
  CHECK(d.stats().invalid > 0);
  CHECK(d.stats().decoded > 0);
}
