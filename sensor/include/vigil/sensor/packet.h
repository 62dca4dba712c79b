// A captured packet and what the decoder learned about it.
//
// Ownership: `data` points into the capture buffer (or into `reassembled` for a datagram rebuilt
// from IP fragments) and is valid only while the packet is being processed; nothing here outlives
// the call chain that received the packet. All offsets and lengths have been checked against the
// captured length by the decoder: a Packet with `decoded == true` can be read without further
// bounds checks up to `payload + payload_len`.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "vigil/core/ip.h"
#include "vigil/core/time.h"

namespace vigil::sensor {

// TCP flag bits as on the wire.
namespace tcp_flag {
constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10, kUrg = 0x20,
                  kEce = 0x40, kCwr = 0x80;
}

// IP option bits for ipopts (bit per option kind).
namespace ip_opt {
constexpr uint32_t kRr = 1 << 0, kEol = 1 << 1, kNop = 1 << 2, kTs = 1 << 3, kSec = 1 << 4,
                   kEsec = 1 << 5, kLsrr = 1 << 6, kSsrr = 1 << 7, kSatid = 1 << 8, kAny = 1 << 9;
}

struct TcpHeader {
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = 0;
  uint16_t window = 0;
  uint8_t hdr_len = 0;        // bytes
  bool has_mss = false;
  uint16_t mss = 0;
  bool has_wscale = false;
  uint8_t wscale = 0;
  bool sack_permitted = false;
  bool has_timestamp = false;
  uint32_t ts_val = 0, ts_ecr = 0;
  uint16_t checksum = 0;
};

struct IcmpHeader {
  uint8_t type = 0;
  uint8_t code = 0;
  bool has_id_seq = false;  // echo and other types that carry id/seq
  uint16_t id = 0;
  uint16_t seq = 0;
};

struct Packet {
  // Capture.
  const uint8_t* data = nullptr;
  uint32_t caplen = 0;
  uint32_t wirelen = 0;
  core::Timestamp ts;
  uint64_t pcap_cnt = 0;  // 1-based index in the capture, as Suricata's pcap_cnt
  int datalink = 1;       // DLT_* of the capture

  // Link and tunnels.
  uint16_t vlan[2] = {0, 0};
  uint8_t vlan_count = 0;
  uint32_t vni = 0;           // VXLAN network identifier, 0 when none
  uint8_t tunnel_depth = 0;   // number of tunnels (GRE, VXLAN, IP-in-IP, ...) removed

  // Network layer (innermost IP header).
  uint8_t ip_version = 0;  // 4 or 6; 0 when no IP layer was decoded
  core::IpAddress src;
  core::IpAddress dst;
  const uint8_t* l3 = nullptr;
  uint32_t l3_len = 0;     // IP header + payload, per the IP length field (not padding)
  uint16_t ip_hdr_len = 0; // IPv4 header length / IPv6 fixed+extension headers (can pass 255)
  uint8_t ttl = 0;         // IPv4 TTL or IPv6 hop limit
  uint8_t tos = 0;
  uint16_t ip_id = 0;      // IPv4 id, or low 16 bits of the IPv6 fragment id
  uint32_t ip_opts = 0;    // ip_opt bits present
  bool frag_df = false, frag_mf = false, frag_rb = false;
  uint16_t frag_offset = 0;  // in bytes
  bool is_fragment = false;  // a fragment (not the reassembled datagram)
  bool is_reassembled = false;  // this packet is a datagram rebuilt from fragments

  // Transport layer.
  uint8_t proto = 0;  // IPPROTO_TCP/UDP/ICMP/ICMPV6/... of the innermost header
  const uint8_t* l4 = nullptr;
  uint32_t l4_len = 0;
  uint16_t sport = 0;
  uint16_t dport = 0;
  TcpHeader tcp;
  IcmpHeader icmp;
  bool has_l4 = false;  // transport header fully decoded

  // Payload after the transport header (or after the IP header for other protocols).
  const uint8_t* payload = nullptr;
  uint32_t payload_len = 0;

  bool decoded = false;  // decoding reached an IP layer without a fatal anomaly
  bool checksum_bad = false;  // set only when checksum validation is on
  // The first anomaly the decoder counted for this packet (a vigil::sensor::DecodeEvent value,
  // see decode.h), 0 when none. Kept as an integer so this header does not depend on decode.h.
  uint16_t decode_event = 0;

  // Storage for a datagram rebuilt from fragments; `data` points into it then.
  std::shared_ptr<std::vector<uint8_t>> reassembled;

  [[nodiscard]] bool is_tcp() const { return has_l4 && proto == 6; }
  [[nodiscard]] bool is_udp() const { return has_l4 && proto == 17; }
  [[nodiscard]] bool is_icmp() const { return has_l4 && (proto == 1 || proto == 58); }
};

}  // namespace vigil::sensor
