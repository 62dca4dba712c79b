// fuzz_decode: the packet Decoder on arbitrary frames of every supported datalink, with the
// datagrams rebuilt from IP fragments taken and read back.
//
// Input: [ctl] rest. ctl bits 0-3 pick the datalink (kDatalinks, modulo its size; Ethernet and
// raw IP first), bits 4-7 move the packet clock forward by that many times 8 s before this input
// (so reassembly timeouts happen). `rest` is decoded as one packet, then again cut into packets
// by [u16 big-endian length] frames, decoded in order (fragments of one datagram in one input).
//
// The Decoder is static: fragment trackers left by one input are still there for the next, as
// on a live link, bounded by a small memcap and tracker limit. A crash that needs that history
// may therefore not replay from its input alone; the replay test runs the corpus in file-name
// order through one Decoder as well.
#include <algorithm>
#include <array>
#include <string>

#include "fuzz_util.h"
#include "vigil/sensor/decode.h"

namespace {

using vigil::fuzz::consume;
using vigil::fuzz::touch;
using vigil::sensor::Decoder;
using vigil::sensor::DecoderConfig;
using vigil::sensor::Packet;

// EN10MB, raw (Linux 12, LINKTYPE_RAW 101, IPV4 228, IPV6 229), NULL, LOOP, SLL, SLL2, PPP,
// PPP_SERIAL, C_HDLC, and one unsupported value.
constexpr std::array<int, 13> kDatalinks = {1, 12, 101, 228, 229, 0, 108, 113, 276, 9, 50, 104, 147};

Decoder& decoder() {
  static Decoder d([] {
    DecoderConfig c;
    c.defrag_memcap = size_t{4} << 20;
    c.defrag_max_trackers = 1024;
    c.defrag_max_frags_per_datagram = 256;
    c.defrag_timeout_sec = 60;
    return c;
  }());
  return d;
}

vigil::core::Timestamp g_now{1'700'000'000'000'000};

void read_packet(const Packet& p) {
  consume(vigil::sensor::flow_hash(p));
  consume(p.decode_event);
  consume(uint32_t(std::char_traits<char>::length(
      vigil::sensor::decode_event_name(static_cast<vigil::sensor::DecodeEvent>(p.decode_event)))));
  if (!p.decoded) return;
  // The header promises: a decoded packet can be read up to payload + payload_len, and l3/l4
  // spans are inside the captured bytes.
  if (p.l3 != nullptr) consume(touch({p.l3, p.l3_len}));
  if (p.l4 != nullptr) consume(touch({p.l4, p.l4_len}));
  if (p.payload != nullptr) consume(touch({p.payload, p.payload_len}));
  consume(uint32_t(p.sport + p.dport + p.proto + p.ip_hdr_len + p.frag_offset));
}

void decode_one(int datalink, std::span<const uint8_t> frame) {
  const auto bytes = vigil::fuzz::own_copy(frame);
  Packet p;
  p.data = bytes.data();
  p.caplen = uint32_t(bytes.size());
  p.wirelen = p.caplen;
  g_now.usec += 1000;
  p.ts = g_now;
  p.datalink = datalink;
  decoder().decode(p);
  read_packet(p);
  Packet whole;
  int guard = 0;
  while (decoder().take_reassembled(whole) && ++guard < 10000) read_packet(whole);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const int datalink = kDatalinks[(data[0] & 0x0f) % kDatalinks.size()];
  g_now.usec += int64_t{data[0] >> 4} * 8'000'000;
  const std::span<const uint8_t> rest(data + 1, size - 1);
  decode_one(datalink, rest);
  size_t off = 0;
  while (off + 2 <= rest.size()) {
    const size_t len = std::min<size_t>((size_t{rest[off]} << 8) | rest[off + 1], rest.size() - off - 2);
    off += 2;
    decode_one(datalink, rest.subspan(off, len));
    off += len;
  }
  if ((data[0] & 0xf0) == 0xf0) decoder().expire(g_now);
  const auto& st = decoder().stats();
  consume(uint32_t(st.defrag_trackers + st.defrag_memuse));
  return 0;
}
