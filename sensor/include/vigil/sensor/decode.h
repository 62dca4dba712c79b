// Packet decoding: link layer, tunnels, IP (with fragment reassembly) and transport headers.
//
// A Decoder turns the raw bytes of a Packet (data/caplen/datalink) into the fields of packet.h.
// Every length is checked against the captured length and against the IP length fields;
// malformed input never fails loudly: it is counted under a named anomaly (DecodeEvent) and the
// packet is either marked `decoded = false` or left at its last good layer.
//
// Threading: a Decoder is single-threaded; it runs on the reader thread and owns its fragment
// tables and counters. Use one Decoder per reader. flow_hash() and decode_event_name() are pure.
//
// Allocation: decode() does not allocate, except to store IP fragments and to build a
// reassembled datagram.
//
//   vigil::sensor::Decoder decoder(DecoderConfig{});
//   decoder.decode(pkt);                       // fills pkt
//   handle(pkt);                               // fragments too: is_fragment, no L4
//   Packet whole;
//   while (decoder.take_reassembled(whole)) handle(whole);   // datagram completed by pkt
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "vigil/core/time.h"
#include "vigil/sensor/packet.h"

namespace vigil::sensor {

// Decoder anomalies, named after Suricata's decoder events ("decoder.<name>" in its stats and
// EVE). The third column says whether the anomaly makes the packet invalid (decoded = false);
// the others are counted and decoding goes on.
#define VIGIL_DECODE_EVENTS(X)                                                  \
  X(kNone, "none", false)                                                       \
  X(kUnsupportedDatalink, "decoder.unsupported_datalink", true)                 \
  X(kTooManyLayers, "decoder.too_many_layers", true)                            \
  X(kUnknownEthertype, "decoder.unknown_ethertype", false)                      \
  X(kEthernetPktTooSmall, "ethernet.pkt_too_small", true)                       \
  X(kVlanHeaderTooSmall, "vlan.header_too_small", true)                         \
  X(kVlanTooManyLayers, "vlan.too_many_layers", true)                           \
  X(kSllPktTooSmall, "sll.pkt_too_small", true)                                 \
  X(kNullPktTooSmall, "null.pkt_too_small", true)                               \
  X(kNullUnsupportedType, "null.unsupported_type", true)                        \
  X(kChdlcPktTooSmall, "chdlc.pkt_too_small", true)                             \
  X(kPppPktTooSmall, "ppp.pkt_too_small", true)                                 \
  X(kPppUnsupProto, "ppp.unsup_proto", false)                                   \
  X(kPppoePktTooSmall, "pppoe.pkt_too_small", true)                             \
  X(kPppoeWrongCode, "pppoe.wrong_code", true)                                  \
  X(kMplsHeaderTooSmall, "mpls.header_too_small", true)                         \
  X(kMplsPktTooSmall, "mpls.pkt_too_small", true)                               \
  X(kMplsUnknownPayloadType, "mpls.unknown_payload_type", false)                \
  X(kNshHeaderTooSmall, "nsh.header_too_small", true)                           \
  X(kNshUnsupportedVersion, "nsh.unsupported_version", true)                    \
  X(kNshBadHeaderLength, "nsh.bad_header_length", true)                         \
  X(kNshReservedType, "nsh.reserved_type", true)                                \
  X(kNshUnsupportedType, "nsh.unsupported_type", false)                         \
  X(kNshUnknownPayload, "nsh.unknown_payload", false)                           \
  X(kIpRawInvalidIpVersion, "ipraw.invalid_ip_version", true)                   \
  X(kIpv4PktTooSmall, "ipv4.pkt_too_small", true)                               \
  X(kIpv4HlenTooSmall, "ipv4.hlen_too_small", true)                             \
  X(kIpv4IplenSmallerThanHlen, "ipv4.iplen_smaller_than_hlen", true)            \
  X(kIpv4TruncPkt, "ipv4.trunc_pkt", true)                                      \
  X(kIpv4WrongIpVersion, "ipv4.wrong_ip_version", true)                         \
  X(kIpv4OptInvalid, "ipv4.opt_invalid", false)                                 \
  X(kIpv4OptInvalidLen, "ipv4.opt_invalid_len", false)                          \
  X(kIpv4OptMalformed, "ipv4.opt_malformed", false)                             \
  X(kIpv4OptPadRequired, "ipv4.opt_pad_required", false)                        \
  X(kIpv4OptDuplicate, "ipv4.opt_duplicate", false)                             \
  X(kIpv4OptUnknown, "ipv4.opt_unknown", false)                                 \
  X(kIpv4Icmpv6, "ipv4.icmpv6", false)                                          \
  X(kIpv4ChecksumBad, "ipv4.checksum_bad", false)                               \
  X(kIpv4FragPktTooLarge, "ipv4.frag_pkt_too_large", false)                     \
  X(kIpv4FragOverlap, "ipv4.frag_overlap", false)                               \
  X(kIpv4FragIgnored, "ipv4.frag_ignored", false)                               \
  X(kIpv6PktTooSmall, "ipv6.pkt_too_small", true)                               \
  X(kIpv6TruncPkt, "ipv6.trunc_pkt", true)                                      \
  X(kIpv6WrongIpVersion, "ipv6.wrong_ip_version", true)                         \
  X(kIpv6TruncExthdr, "ipv6.trunc_exthdr", true)                                \
  X(kIpv6ExthdrDuplFh, "ipv6.exthdr_dupl_fh", false)                            \
  X(kIpv6ExthdrUselessFh, "ipv6.exthdr_useless_fh", false)                      \
  X(kIpv6ExthdrDuplRh, "ipv6.exthdr_dupl_rh", false)                            \
  X(kIpv6ExthdrDuplHh, "ipv6.exthdr_dupl_hh", false)                            \
  X(kIpv6ExthdrDuplDh, "ipv6.exthdr_dupl_dh", false)                            \
  X(kIpv6ExthdrDuplAh, "ipv6.exthdr_dupl_ah", false)                            \
  X(kIpv6ExthdrInvalidOptlen, "ipv6.exthdr_invalid_optlen", false)              \
  X(kIpv6ExthdrAhResNotNull, "ipv6.exthdr_ah_res_not_null", false)              \
  X(kIpv6HopoptsNotFirst, "ipv6.hopopts_not_first", false)                      \
  X(kIpv6RhType0, "ipv6.rh_type_0", false)                                      \
  X(kIpv6FhNonZeroReservedField, "ipv6.fh_non_zero_reserved_field", false)      \
  X(kIpv6DataAfterNoneHeader, "ipv6.data_after_none_header", false)             \
  X(kIpv6Icmpv4, "ipv6.icmpv4", false)                                          \
  X(kIpv6FragPktTooLarge, "ipv6.frag_pkt_too_large", false)                     \
  X(kIpv6FragOverlap, "ipv6.frag_overlap", false)                               \
  X(kIpv6FragInvalidLength, "ipv6.frag_invalid_length", false)                  \
  X(kIpv6FragIgnored, "ipv6.frag_ignored", false)                               \
  X(kDefragTimeout, "defrag.timeout", false)                                    \
  X(kDefragMemcap, "defrag.memcap_exceeded", false)                             \
  X(kDefragTrackerLimit, "defrag.tracker_limit", false)                         \
  X(kDefragLastMismatch, "defrag.last_fragment_mismatch", false)                \
  X(kTcpPktTooSmall, "tcp.pkt_too_small", true)                                 \
  X(kTcpHlenTooSmall, "tcp.hlen_too_small", true)                               \
  X(kTcpOptInvalidLen, "tcp.opt_invalid_len", false)                            \
  X(kTcpOptDuplicate, "tcp.opt_duplicate", false)                               \
  X(kTcpChecksumBad, "tcp.checksum_bad", false)                                 \
  X(kUdpPktTooSmall, "udp.pkt_too_small", true)                                 \
  X(kUdpHlenTooSmall, "udp.hlen_too_small", true)                               \
  X(kUdpHlenInvalid, "udp.hlen_invalid", true)                                  \
  X(kUdpChecksumBad, "udp.checksum_bad", false)                                 \
  X(kSctpPktTooSmall, "sctp.pkt_too_small", true)                               \
  X(kIcmpv4PktTooSmall, "icmpv4.pkt_too_small", true)                           \
  X(kIcmpv4UnknownType, "icmpv4.unknown_type", false)                           \
  X(kIcmpv4UnknownCode, "icmpv4.unknown_code", false)                           \
  X(kIcmpv4ChecksumBad, "icmpv4.checksum_bad", false)                           \
  X(kIcmpv6PktTooSmall, "icmpv6.pkt_too_small", true)                           \
  X(kIcmpv6UnknownType, "icmpv6.unknown_type", false)                           \
  X(kIcmpv6UnknownCode, "icmpv6.unknown_code", false)                           \
  X(kIcmpv6MldInvalidHl, "icmpv6.mld_message_with_invalid_hl", false)           \
  X(kIcmpv6ChecksumBad, "icmpv6.checksum_bad", false)                           \
  X(kGrePktTooSmall, "gre.pkt_too_small", true)                                 \
  X(kGreWrongVersion, "gre.wrong_version", true)                                \
  X(kGreVersion0Recur, "gre.version0_recur", true)                              \
  X(kGreVersion0Flags, "gre.version0_flags", true)                              \
  X(kGreVersion0HdrTooBig, "gre.version0_hdr_too_big", true)                    \
  X(kGreVersion0MalformedSreHdr, "gre.version0_malformed_sre_hdr", true)        \
  X(kGreVersion1Chksum, "gre.version1_chksum", true)                            \
  X(kGreVersion1Route, "gre.version1_route", true)                              \
  X(kGreVersion1Ssr, "gre.version1_ssr", true)                                  \
  X(kGreVersion1Recur, "gre.version1_recur", true)                              \
  X(kGreVersion1Flags, "gre.version1_flags", true)                              \
  X(kGreVersion1NoKey, "gre.version1_no_key", true)                             \
  X(kGreVersion1WrongProtocol, "gre.version1_wrong_protocol", true)             \
  X(kGreVersion1HdrTooBig, "gre.version1_hdr_too_big", true)                    \
  X(kErspanHeaderTooSmall, "erspan.header_too_small", false)                    \
  X(kErspanUnsupportedVersion, "erspan.unsupported_version", false)             \
  X(kVxlanUnknownPayloadType, "vxlan.unknown_payload_type", false)              \
  X(kTunnelInnerInvalid, "tunnel.inner_invalid", false)

enum class DecodeEvent : uint16_t {
#define VIGIL_DECODE_EVENT_ENUM(id, name, fatal) id,
  VIGIL_DECODE_EVENTS(VIGIL_DECODE_EVENT_ENUM)
#undef VIGIL_DECODE_EVENT_ENUM
      kCount
};

constexpr size_t kDecodeEventCount = static_cast<size_t>(DecodeEvent::kCount);

// "ipv4.trunc_pkt" etc.; "unknown" for an out-of-range value. Never null.
const char* decode_event_name(DecodeEvent e);
// True when the event makes the packet invalid (decoded = false).
bool decode_event_is_fatal(DecodeEvent e);

struct DecoderConfig {
  // Verify IPv4 header, TCP, UDP, ICMP and ICMPv6 checksums and set Packet::checksum_bad.
  // `-k none` turns this off (then checksum_bad is never set).
  bool validate_checksums = true;
  // Bytes of fragment data held across all reassembly trackers; fragments beyond it are
  // dropped (counted as defrag.memcap_exceeded). Suricata's default defrag.memcap is 32 MiB.
  size_t defrag_memcap = size_t{32} << 20;
  // A datagram still incomplete this many seconds (packet time) after its last fragment is
  // dropped (counted as defrag.timeout). Suricata's default is 60.
  uint32_t defrag_timeout_sec = 60;
  // Upper bounds that keep a hostile capture from costing more than memcap in CPU.
  uint32_t defrag_max_trackers = 65535;
  uint32_t defrag_max_frags_per_datagram = 2048;
  // Nested encapsulations (GRE, VXLAN, IP-in-IP, Teredo, ...) followed before giving up.
  uint8_t max_tunnel_depth = 8;
  uint16_t vxlan_port = 4789;  // 0 disables VXLAN decoding
  bool decode_teredo = true;   // UDP port 3544
};

struct DecoderStats {
  uint64_t packets = 0;   // decode() calls, reassembled datagrams excluded
  uint64_t bytes = 0;     // captured bytes of those packets
  uint64_t decoded = 0;   // packets with decoded == true
  uint64_t invalid = 0;   // packets with decoded == false (no IP layer or a fatal anomaly)
  uint64_t ethernet = 0, vlan = 0, mpls = 0, pppoe = 0, ppp = 0, nsh = 0;
  uint64_t ipv4 = 0, ipv6 = 0, tcp = 0, udp = 0, sctp = 0, icmpv4 = 0, icmpv6 = 0;
  uint64_t gre = 0, vxlan = 0, teredo = 0, ipip = 0, erspan = 0;
  uint64_t checksum_bad = 0;          // packets with checksum_bad set
  uint64_t ipv4_fragments = 0, ipv6_fragments = 0;
  uint64_t ipv4_reassembled = 0, ipv6_reassembled = 0;
  uint64_t defrag_trackers = 0;       // datagrams being reassembled now
  uint64_t defrag_memuse = 0;         // bytes held now
  std::array<uint64_t, kDecodeEventCount> events{};  // indexed by DecodeEvent

  [[nodiscard]] uint64_t event(DecodeEvent e) const {
    return events[static_cast<size_t>(e)];
  }
};

class Decoder {
 public:
  explicit Decoder(DecoderConfig config = {});
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;
  Decoder(Decoder&&) noexcept;
  Decoder& operator=(Decoder&&) noexcept;

  // Decodes p.data[0, p.caplen) according to p.datalink and fills the other fields of `p`
  // (any previous decode result in `p` is cleared first; data, caplen, wirelen, ts, pcap_cnt
  // and datalink are kept). Returns p.decoded.
  //
  // An IP fragment is returned as itself (is_fragment = true, IP fields filled, has_l4 =
  // false) and stored; when it completes a datagram, the rebuilt datagram is queued for
  // take_reassembled(). The queue is cleared by the next decode() call.
  bool decode(Packet& p);

  // Moves the next datagram completed by the last decode() call into `out` and returns true,
  // or returns false when there is none. The datagram is fully decoded: is_reassembled = true,
  // data points into out.reassembled (an IP datagram, datalink DLT_RAW), the link and tunnel
  // fields (vlan, vni, tunnel_depth) are those of the completing fragment, ts and pcap_cnt too.
  bool take_reassembled(Packet& out);

  // Drops reassembly trackers idle for longer than the configured timeout at packet time
  // `now`. decode() already does this lazily; a live reader calls it when traffic is idle.
  void expire(core::Timestamp now);

  [[nodiscard]] const DecoderStats& stats() const;
  [[nodiscard]] const DecoderConfig& config() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A direction-independent hash of a decoded packet's flow, for dispatching packets to workers:
// flow_hash(a->b) == flow_hash(b->a). It covers the addresses, the ports, the transport
// protocol, the VLAN ids and the VXLAN VNI.
//
// Fragments: a packet with is_fragment == true carries no ports, so it is hashed on its
// addresses (plus VLAN ids and VNI) only: all fragments of a datagram land on one worker, but
// not necessarily on the worker of the flow they belong to. That is fine because fragments
// carry no transport header and only IP-level rules look at them; the reassembled datagram
// (is_reassembled) is hashed like any other packet and so reaches the flow's worker.
// Packets without an IP layer hash to 0.
uint32_t flow_hash(const Packet& p);

}  // namespace vigil::sensor
