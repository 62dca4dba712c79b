#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "sensor/decode/packet_builder.h"
#include "vigil/sensor/decode.h"

using vigil::sensor::DecodeEvent;
using vigil::sensor::Decoder;
using vigil::sensor::DecoderConfig;
using vigil::sensor::Packet;
using vigil::test::Bytes;
using vigil::test::make_packet;
using vigil::test::PacketBuilder;

namespace {

Bytes udp_datagram_v4(size_t payload_len) {
  Bytes data(payload_len);
  for (size_t i = 0; i < payload_len; ++i) data[i] = static_cast<uint8_t>('a' + i % 26);
  vigil::test::Ipv4Opts o;
  o.id = 0x4242;
  return PacketBuilder().ipv4("192.168.1.1", "192.168.1.2", o).udp(5000, 53).payload(data).build();
}

// Feeds `frames` (Ethernet) in order; returns the reassembled packets that came out.
std::vector<Packet> feed(Decoder& d, const std::vector<Bytes>& frames, int64_t usec_step = 1000) {
  std::vector<Packet> out;
  int64_t t = 1'000'000;
  for (const Bytes& f : frames) {
    Packet p = make_packet(f, 1, 1, t += usec_step);
    d.decode(p);
    CHECK(p.is_fragment);
    CHECK_FALSE(p.has_l4);
    Packet r;
    while (d.take_reassembled(r)) out.push_back(std::move(r));
  }
  return out;
}

std::string payload_of(const Packet& p) {
  return std::string(reinterpret_cast<const char*>(p.payload), p.payload_len);
}

Bytes fill(size_t n, char c) { return Bytes(n, static_cast<uint8_t>(c)); }

}  // namespace

TEST_CASE("IPv4 fragments reassemble in order and out of order", "[sensor][decode][defrag]") {
  const Bytes whole = udp_datagram_v4(100);  // 8 UDP + 100 payload = 108 bytes after IP
  auto frags = vigil::test::ipv4_fragments(whole, {24, 48, 96});
  std::vector<Bytes> frames;
  for (const Bytes& f : frags) frames.push_back(vigil::test::with_ethernet(f));

  for (int order = 0; order < 3; ++order) {
    std::vector<Bytes> seq = frames;
    if (order == 1) std::reverse(seq.begin(), seq.end());
    if (order == 2) std::swap(seq[0], seq[2]);
    Decoder d;
    auto out = feed(d, seq);
    REQUIRE(out.size() == 1);
    const Packet& r = out[0];
    CHECK(r.is_reassembled);
    CHECK_FALSE(r.is_fragment);
    REQUIRE(r.decoded);
    REQUIRE(r.is_udp());
    CHECK(r.dport == 53);
    CHECK(r.l3_len == whole.size());
    CHECK_FALSE(r.checksum_bad);  // UDP checksum over the whole datagram holds
    CHECK(r.reassembled);
    CHECK(r.data == r.reassembled->data());
    CHECK(Bytes(r.data, r.data + r.caplen) == whole);
    CHECK(d.stats().ipv4_reassembled == 1);
    CHECK(d.stats().ipv4_fragments == 4);
    CHECK(d.stats().defrag_trackers == 0);
    CHECK(d.stats().event(DecodeEvent::kIpv4FragOverlap) == 0);
  }
}

TEST_CASE("fragments carry IP fields and hash on addresses", "[sensor][decode][defrag]") {
  const Bytes whole = udp_datagram_v4(40);
  auto frags = vigil::test::ipv4_fragments(whole, {16});
  Decoder d;
  Bytes f0 = vigil::test::with_ethernet(frags[0]);
  Bytes f1 = vigil::test::with_ethernet(frags[1]);
  Packet p0 = make_packet(f0), p1 = make_packet(f1);
  d.decode(p0);
  Packet r;
  CHECK_FALSE(d.take_reassembled(r));
  CHECK(p0.decoded);
  CHECK(p0.is_fragment);
  CHECK(p0.frag_mf);
  CHECK(p0.frag_offset == 0);
  CHECK(p0.proto == 17);
  CHECK(p0.ip_id == 0x4242);
  CHECK(p0.payload_len == 16);
  d.decode(p1);
  CHECK(p1.frag_offset == 16);
  CHECK_FALSE(p1.frag_mf);
  REQUIRE(d.take_reassembled(r));
  CHECK(flow_hash(p0) == flow_hash(p1));
  CHECK_FALSE(d.take_reassembled(r));  // consumed
}

TEST_CASE("overlapping IPv4 fragments follow the BSD policy", "[sensor][decode][defrag]") {
  // Arrival order: X@16 (16 bytes), Y@8 (16 bytes, starts before X: wins 16..24),
  // Z@0 (8 bytes), V@16 (8 bytes, same offset as X, later: loses), W@32 last (8 bytes).
  auto frag = [](uint16_t off, bool more, char c, size_t n) {
    return vigil::test::with_ethernet(
        vigil::test::ipv4_fragment("10.0.0.1", "10.0.0.2", 77, 253, off, more, fill(n, c)));
  };
  Decoder d;
  auto out = feed(d, {frag(16, true, 'X', 16), frag(8, true, 'Y', 16), frag(0, true, 'Z', 8),
                      frag(16, true, 'V', 8), frag(32, false, 'W', 8)});
  REQUIRE(out.size() == 1);
  CHECK(out[0].decoded);
  CHECK(out[0].proto == 253);
  CHECK(payload_of(out[0]) == "ZZZZZZZZYYYYYYYYYYYYYYYYXXXXXXXXWWWWWWWW");
  CHECK(d.stats().event(DecodeEvent::kIpv4FragOverlap) == 2);

  // A later fragment starting inside an earlier one loses the overlapping part.
  Decoder d2;
  out = feed(d2, {frag(0, true, 'A', 16), frag(8, true, 'B', 16), frag(24, false, 'C', 8)});
  REQUIRE(out.size() == 1);
  CHECK(payload_of(out[0]) == "AAAAAAAAAAAAAAAABBBBBBBBCCCCCCCC");
}

TEST_CASE("IPv6 fragments with an unfragmentable header reassemble", "[sensor][decode][defrag]") {
  // The UDP segment to fragment, taken from a whole IPv6 packet.
  Bytes whole = PacketBuilder().ipv6("2001:db8::1", "2001:db8::2").udp(1000, 2000)
                    .payload(Bytes(60, 0x61)).build();
  const Bytes seg(whole.begin() + 40, whole.end());  // 68 bytes
  auto frag = [&](uint16_t off, size_t len, bool more) {
    Bytes chunk(seg.begin() + off, seg.begin() + off + static_cast<long>(len));
    return PacketBuilder().eth().vlan(12).ipv6("2001:db8::1", "2001:db8::2").ipv6_ext(0)
        .ipv6_frag(0xfacef105, off, more, 17).payload(chunk).build();
  };
  std::vector<Bytes> frames = {frag(0, 32, true), frag(32, 32, true), frag(64, 4, false)};
  for (int rev = 0; rev < 2; ++rev) {
    if (rev) std::reverse(frames.begin(), frames.end());
    Decoder d;
    Packet f = make_packet(frames[0]);
    d.decode(f);
    CHECK(f.decoded);
    CHECK(f.is_fragment);
    CHECK(f.proto == 17);
    CHECK(f.ip_hdr_len == 40 + 8 + 8);
    auto out = feed(d, {frames[1], frames[2]});
    REQUIRE(out.size() == 1);
    const Packet& r = out[0];
    REQUIRE(r.decoded);
    REQUIRE(r.is_udp());
    CHECK(r.sport == 1000);
    CHECK(r.payload_len == 60);
    CHECK_FALSE(r.checksum_bad);
    CHECK(r.ip_hdr_len == 48);  // hop-by-hop kept, fragment header gone
    CHECK(r.vlan_count == 1);
    CHECK(r.vlan[0] == 12);
    CHECK(r.ip_id == 0);  // not a fragment any more
    CHECK(d.stats().ipv6_reassembled == 1);
  }
}

TEST_CASE("defrag bounds: timeout, memcap, too large, incomplete", "[sensor][decode][defrag]") {
  auto frag = [](uint16_t id, uint16_t off, bool more, size_t n) {
    return vigil::test::with_ethernet(
        vigil::test::ipv4_fragment("10.0.0.1", "10.0.0.2", id, 253, off, more, fill(n, 'q')));
  };
  SECTION("timeout") {
    Decoder d(DecoderConfig{.defrag_timeout_sec = 60});
    Bytes a = frag(1, 0, true, 16), b = frag(1, 16, false, 8);
    Packet pa = make_packet(a, 1, 1, 1'000'000);
    d.decode(pa);
    CHECK(d.stats().defrag_trackers == 1);
    Packet pb = make_packet(b, 1, 2, 62'000'000);  // 61 s later
    d.decode(pb);
    Packet r;
    CHECK_FALSE(d.take_reassembled(r));
    CHECK(d.stats().event(DecodeEvent::kDefragTimeout) == 1);
    d.expire(vigil::core::Timestamp{200'000'000});
    CHECK(d.stats().defrag_trackers == 0);
    CHECK(d.stats().defrag_memuse == 0);
    CHECK(d.stats().event(DecodeEvent::kDefragTimeout) == 2);
  }
  SECTION("memcap") {
    Decoder d(DecoderConfig{.defrag_memcap = 4096});
    for (uint16_t id = 0; id < 20; ++id) {
      Bytes a = frag(id, 0, true, 1000);
      Packet p = make_packet(a);
      d.decode(p);
      CHECK(p.is_fragment);
    }
    CHECK(d.stats().event(DecodeEvent::kDefragMemcap) > 0);
    CHECK(d.stats().event(DecodeEvent::kIpv4FragIgnored) > 0);
    CHECK(d.stats().defrag_memuse <= 4096);
  }
  SECTION("too large") {
    Decoder d;
    Bytes a = frag(9, 65528, false, 16);
    Packet p = make_packet(a);
    d.decode(p);
    CHECK(d.stats().event(DecodeEvent::kIpv4FragPktTooLarge) == 1);
    CHECK(d.stats().defrag_trackers == 0);
  }
  SECTION("a hole keeps the datagram incomplete") {
    Decoder d;
    auto out = feed(d, {frag(3, 0, true, 16), frag(3, 24, false, 8)});
    CHECK(out.empty());
    CHECK(d.stats().defrag_trackers == 1);
  }
}
