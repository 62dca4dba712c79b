// The layer-by-layer decoder. Each layer function gets a pointer and the number of bytes that
// belong to it (already bounded by the captured length and by the enclosing length fields),
// checks its own header against that, fills the Packet and hands the rest to the next layer.
// A layer returns false on a malformed header (after counting a fatal DecodeEvent).
#include <pcap/dlt.h>

#include <utility>
#include <vector>

#include "decode/defrag.h"
#include "decode/wire.h"
#include "vigil/sensor/decode.h"

namespace vigil::sensor {

using wire::rd16;
using wire::rd24;
using wire::rd32;

namespace {

struct EventInfo {
  const char* name;
  bool fatal;
};

constexpr EventInfo kEventInfo[] = {
#define VIGIL_DECODE_EVENT_INFO(id, name, fatal) {name, fatal},
    VIGIL_DECODE_EVENTS(VIGIL_DECODE_EVENT_INFO)
#undef VIGIL_DECODE_EVENT_INFO
};
static_assert(sizeof(kEventInfo) / sizeof(kEventInfo[0]) == kDecodeEventCount);

// Recursion guard: link headers, VLAN tags, MPLS labels and tunnels all count.
constexpr int kMaxLayers = 32;

// Link types by number: some DLT_* macros differ between platforms (DLT_RAW is 14 on OpenBSD,
// DLT_LOOP 12), and pcap files carry LINKTYPE_* values that libpcap maps for us on read.
constexpr int kDltRawLinux = 12;
constexpr int kLinktypeRaw = 101;

constexpr uint16_t kEthIpv4 = 0x0800, kEthIpv6 = 0x86DD, kEthVlan = 0x8100, kEthQinq = 0x88A8,
                   kEthQinqOld = 0x9100, kEthMpls = 0x8847, kEthMplsMc = 0x8848,
                   kEthPppoeDisc = 0x8863, kEthPppoeSess = 0x8864, kEthNsh = 0x894F,
                   kEthTeb = 0x6558, kEthPpp = 0x880B, kEthErspan2 = 0x88BE,
                   kEthErspan3 = 0x22EB, kEthArp = 0x0806;

bool known_non_ip_ethertype(uint16_t t) {
  switch (t) {
    case kEthArp:
    case 0x8035:  // RARP
    case 0x88CC:  // LLDP
    case 0x888E:  // 802.1X
    case 0x8137:  // IPX
    case 0x9000:  // loopback
    case 0x88F7:  // PTP
    case 0x88E5:  // MACsec
    case 0x8902:  // CFM
    case 0x8809:  // slow protocols (LACP)
    case 0x88E1:  // HomePlug
    case 0x893A:  // IEEE 1905
    case 0x8808:  // pause
      return true;
    default:
      return false;
  }
}

}  // namespace

const char* decode_event_name(DecodeEvent e) {
  auto i = static_cast<size_t>(e);
  return i < kDecodeEventCount ? kEventInfo[i].name : "unknown";
}

bool decode_event_is_fatal(DecodeEvent e) {
  auto i = static_cast<size_t>(e);
  return i < kDecodeEventCount && kEventInfo[i].fatal;
}

struct Decoder::Impl final : DecodeEventSink {
  explicit Impl(DecoderConfig c) : config(c), defrag(config) {}

  DecoderConfig config;
  DecoderStats stats;
  Defragmenter defrag;

  // Datagrams completed during the current decode() call: raw first, then decoded.
  struct Completed {
    std::shared_ptr<std::vector<uint8_t>> bytes;
    uint16_t vlan[2];
    uint8_t vlan_count;
    uint32_t vni;
    uint8_t tunnel_depth;
    bool v6;
  };
  std::vector<Completed> completed;
  std::vector<Packet> ready;
  size_t ready_pos = 0;

  // State of the packet being decoded.
  Packet* p = nullptr;
  int layers = 0;
  bool invalid = false;
  uint32_t ip_layers = 0;

  void on_event(DecodeEvent e) override {
    ++stats.events[static_cast<size_t>(e)];
    if (p != nullptr) {
      if (p->decode_event == 0) p->decode_event = static_cast<uint16_t>(e);
      if (decode_event_is_fatal(e)) invalid = true;
    }
  }
  bool fail(DecodeEvent e) {
    on_event(e);
    return false;
  }
  bool enter() {
    if (++layers > kMaxLayers) return fail(DecodeEvent::kTooManyLayers);
    return true;
  }

  // ---- entry points ------------------------------------------------------------------------

  static void reset(Packet& pk) {
    Packet fresh;
    fresh.data = pk.data;
    fresh.caplen = pk.caplen;
    fresh.wirelen = pk.wirelen;
    fresh.ts = pk.ts;
    fresh.pcap_cnt = pk.pcap_cnt;
    fresh.datalink = pk.datalink;
    // Keep the storage the data lives in (a caller re-decoding a reassembled datagram).
    if (pk.reassembled && !pk.reassembled->empty() && pk.data >= pk.reassembled->data() &&
        pk.data < pk.reassembled->data() + pk.reassembled->size()) {
      fresh.reassembled = std::move(pk.reassembled);
      fresh.is_reassembled = pk.is_reassembled;
    }
    pk = std::move(fresh);
  }

  template <typename F>
  void run(Packet& pk, F&& body) {
    p = &pk;
    layers = 0;
    invalid = false;
    ip_layers = 0;
    body();
    pk.decoded = ip_layers > 0 && !invalid;
    if (pk.checksum_bad) ++stats.checksum_bad;
    p = nullptr;
  }

  bool decode(Packet& pk) {
    completed.clear();
    ready.clear();
    ready_pos = 0;
    ++stats.packets;
    stats.bytes += pk.caplen;
    reset(pk);
    run(pk, [&] { link(pk.datalink, pk.data, pk.data != nullptr ? pk.caplen : 0); });
    ++(pk.decoded ? stats.decoded : stats.invalid);
    // Rebuilt datagrams may themselves complete others (fragments inside a fragmented
    // tunnel); `completed` grows while we walk it, bounded by the tunnel depth.
    for (size_t i = 0; i < completed.size(); ++i) {
      Completed c = completed[i];
      Packet rp;
      rp.reassembled = c.bytes;
      rp.data = c.bytes->data();
      rp.caplen = rp.wirelen = static_cast<uint32_t>(c.bytes->size());
      rp.ts = pk.ts;
      rp.pcap_cnt = pk.pcap_cnt;
      rp.datalink = DLT_RAW;
      rp.is_reassembled = true;
      run(rp, [&] {
        rp.vlan[0] = c.vlan[0];
        rp.vlan[1] = c.vlan[1];
        rp.vlan_count = c.vlan_count;
        rp.vni = c.vni;
        rp.tunnel_depth = c.tunnel_depth;
        if (c.v6) {
          ipv6(rp.data, rp.caplen);
        } else {
          ipv4(rp.data, rp.caplen);
        }
      });
      ++(c.v6 ? stats.ipv6_reassembled : stats.ipv4_reassembled);
      ready.push_back(std::move(rp));
    }
    stats.defrag_trackers = defrag.trackers();
    stats.defrag_memuse = defrag.memuse();
    return pk.decoded;
  }

  // ---- link layers -------------------------------------------------------------------------

  bool link(int dlt, const uint8_t* d, uint32_t len) {
    switch (dlt) {
      case DLT_EN10MB:
        return ethernet(d, len);
      case kDltRawLinux:
      case kLinktypeRaw:
      case DLT_IPV4:
      case DLT_IPV6:
        return raw_ip(d, len);
      case DLT_NULL:
      case 108:  // DLT_LOOP (Linux value)
        return null_link(d, len);
      case DLT_LINUX_SLL:
        if (len < 16) return fail(DecodeEvent::kSllPktTooSmall);
        return ethertype(rd16(d + 14), d + 16, len - 16);
      case DLT_LINUX_SLL2:
        if (len < 20) return fail(DecodeEvent::kSllPktTooSmall);
        return ethertype(rd16(d), d + 20, len - 20);
      case DLT_PPP:
      case DLT_PPP_SERIAL:
        return ppp_frame(d, len);
      case DLT_C_HDLC:
        if (len < 4) return fail(DecodeEvent::kChdlcPktTooSmall);
        return ethertype(rd16(d + 2), d + 4, len - 4);
      default:
        return fail(DecodeEvent::kUnsupportedDatalink);
    }
  }

  bool raw_ip(const uint8_t* d, uint32_t len) {
    if (len >= 1 && (d[0] >> 4) == 4) return ipv4(d, len);
    if (len >= 1 && (d[0] >> 4) == 6) return ipv6(d, len);
    return fail(DecodeEvent::kIpRawInvalidIpVersion);
  }

  bool null_link(const uint8_t* d, uint32_t len) {
    if (len < 4) return fail(DecodeEvent::kNullPktTooSmall);
    // The family is in the capturing host's byte order (DLT_NULL) or network order (DLT_LOOP):
    // accept either.
    const uint32_t be = rd32(d);
    const uint32_t le = uint32_t{d[0]} | (uint32_t{d[1]} << 8) | (uint32_t{d[2]} << 16) |
                        (uint32_t{d[3]} << 24);
    auto is_v6 = [](uint32_t f) { return f == 10 || f == 24 || f == 28 || f == 30; };
    if (be == 2 || le == 2) return ipv4(d + 4, len - 4);
    if (is_v6(be) || is_v6(le)) return ipv6(d + 4, len - 4);
    return fail(DecodeEvent::kNullUnsupportedType);
  }

  bool ethernet(const uint8_t* d, uint32_t len) {
    if (!enter()) return false;
    if (len < 14) return fail(DecodeEvent::kEthernetPktTooSmall);
    ++stats.ethernet;
    return ethertype(rd16(d + 12), d + 14, len - 14);
  }

  bool ethertype(uint16_t type, const uint8_t* d, uint32_t len) {
    switch (type) {
      case kEthIpv4:
        return ipv4(d, len);
      case kEthIpv6:
        return ipv6(d, len);
      case kEthVlan:
      case kEthQinq:
      case kEthQinqOld:
        return vlan(d, len);
      case kEthMpls:
      case kEthMplsMc:
        return mpls(d, len);
      case kEthPppoeSess:
        return pppoe_session(d, len);
      case kEthPppoeDisc:
        ++stats.pppoe;
        return true;
      case kEthNsh:
        return nsh(d, len);
      default:
        // Below 0x0600 the field is an 802.3 length (LLC frames): not an anomaly.
        if (type >= 0x0600 && !known_non_ip_ethertype(type)) {
          on_event(DecodeEvent::kUnknownEthertype);
        }
        return true;
    }
  }

  bool vlan(const uint8_t* d, uint32_t len) {
    if (!enter()) return false;
    if (len < 4) return fail(DecodeEvent::kVlanHeaderTooSmall);
    Packet& pk = *p;
    if (pk.vlan_count >= 2) return fail(DecodeEvent::kVlanTooManyLayers);
    pk.vlan[pk.vlan_count++] = rd16(d) & 0x0fff;
    ++stats.vlan;
    return ethertype(rd16(d + 2), d + 4, len - 4);
  }

  bool mpls(const uint8_t* d, uint32_t len) {
    ++stats.mpls;
    uint32_t label = 0;
    for (;;) {
      if (!enter()) return false;
      if (len < 4) return fail(DecodeEvent::kMplsHeaderTooSmall);
      const uint32_t entry = rd32(d);
      label = entry >> 12;
      d += 4;
      len -= 4;
      if (entry & 0x100) break;  // bottom of stack
    }
    if (len < 1) return fail(DecodeEvent::kMplsPktTooSmall);
    // MPLS does not say what it carries: explicit-null labels do, else guess from the first
    // nibble as Suricata does; 0 is a pseudowire control word before an Ethernet frame.
    if (label == 0) return ipv4(d, len);
    if (label == 2) return ipv6(d, len);
    switch (d[0] >> 4) {
      case 4:
        return ipv4(d, len);
      case 6:
        return ipv6(d, len);
      case 0:
        if (len < 4) return fail(DecodeEvent::kMplsPktTooSmall);
        return ethernet(d + 4, len - 4);
      default:
        on_event(DecodeEvent::kMplsUnknownPayloadType);
        return true;
    }
  }

  bool pppoe_session(const uint8_t* d, uint32_t len) {
    if (!enter()) return false;
    if (len < 8) return fail(DecodeEvent::kPppoePktTooSmall);
    if (d[1] != 0) return fail(DecodeEvent::kPppoeWrongCode);  // session data has code 0
    ++stats.pppoe;
    const uint32_t plen = rd16(d + 4);
    if (plen < 2 || plen > len - 6) return fail(DecodeEvent::kPppoePktTooSmall);
    return ppp_proto(rd16(d + 6), d + 8, plen - 2);
  }

  // A PPP frame with optional HDLC address/control bytes and a possibly compressed protocol.
  bool ppp_frame(const uint8_t* d, uint32_t len) {
    if (!enter()) return false;
    if (len >= 2 && d[0] == 0xff && d[1] == 0x03) {
      d += 2;
      len -= 2;
    }
    if (len < 1) return fail(DecodeEvent::kPppPktTooSmall);
    if (d[0] & 1) return ppp_proto(d[0], d + 1, len - 1);  // RFC 1661 protocol compression
    if (len < 2) return fail(DecodeEvent::kPppPktTooSmall);
    return ppp_proto(rd16(d), d + 2, len - 2);
  }

  bool ppp_proto(uint16_t proto, const uint8_t* d, uint32_t len) {
    ++stats.ppp;
    switch (proto) {
      case 0x0021:
        return ipv4(d, len);
      case 0x0057:
        return ipv6(d, len);
      case 0x0281:
        return mpls(d, len);
      default:
        // 0x8000 and above are control protocols (LCP, IPCP, ...): expected, not anomalies.
        if (proto < 0x8000) on_event(DecodeEvent::kPppUnsupProto);
        return true;
    }
  }

  // Network Service Header (RFC 8300).
  bool nsh(const uint8_t* d, uint32_t len) {
    if (!enter()) return false;
    if (len < 8) return fail(DecodeEvent::kNshHeaderTooSmall);
    ++stats.nsh;
    if ((d[0] >> 6) != 0) return fail(DecodeEvent::kNshUnsupportedVersion);
    const uint32_t hlen = (d[1] & 0x3f) * 4u;
    const uint8_t md_type = d[2] & 0x0f;
    const uint8_t next = d[3];
    if (md_type == 0 || md_type == 0x0f) return fail(DecodeEvent::kNshReservedType);
    if (md_type == 1 && hlen != 24) return fail(DecodeEvent::kNshBadHeaderLength);
    if (md_type == 2 && hlen < 8) return fail(DecodeEvent::kNshBadHeaderLength);
    if (md_type > 2) {
      on_event(DecodeEvent::kNshUnsupportedType);
      return true;
    }
    if (hlen > len) return fail(DecodeEvent::kNshBadHeaderLength);
    d += hlen;
    len -= hlen;
    switch (next) {
      case 1:
        return ipv4(d, len);
      case 2:
        return ipv6(d, len);
      case 3:
        return ethernet(d, len);
      case 5:
        return mpls(d, len);
      case 4:  // NSH in NSH is not something we follow
        on_event(DecodeEvent::kNshUnsupportedType);
        return true;
      default:
        on_event(DecodeEvent::kNshUnknownPayload);
        return true;
    }
  }

  // ---- IP ----------------------------------------------------------------------------------

  // Forget what an outer layer put in the transport fields (before an inner IP header).
  static void clear_transport(Packet& pk) {
    pk.proto = 0;
    pk.l4 = nullptr;
    pk.l4_len = 0;
    pk.sport = pk.dport = 0;
    pk.tcp = TcpHeader{};
    pk.icmp = IcmpHeader{};
    pk.has_l4 = false;
    pk.payload = nullptr;
    pk.payload_len = 0;
    pk.is_fragment = false;
    pk.frag_df = pk.frag_mf = pk.frag_rb = false;
    pk.frag_offset = 0;
    pk.ip_opts = 0;
    pk.ip_id = 0;
  }

  bool ipv4(const uint8_t* d, uint32_t len) {
    if (!enter()) return false;
    if (len < 20) return fail(DecodeEvent::kIpv4PktTooSmall);
    if ((d[0] >> 4) != 4) return fail(DecodeEvent::kIpv4WrongIpVersion);
    const uint32_t hlen = (d[0] & 0x0f) * 4u;
    if (hlen < 20) return fail(DecodeEvent::kIpv4HlenTooSmall);
    const uint32_t total = rd16(d + 2);
    if (total < hlen) return fail(DecodeEvent::kIpv4IplenSmallerThanHlen);
    if (total > len) return fail(DecodeEvent::kIpv4TruncPkt);

    Packet& pk = *p;
    clear_transport(pk);
    ++stats.ipv4;
    ++ip_layers;
    pk.ip_version = 4;
    pk.src = core::IpAddress::v4_bytes(d + 12);
    pk.dst = core::IpAddress::v4_bytes(d + 16);
    pk.l3 = d;
    pk.l3_len = total;
    pk.ip_hdr_len = static_cast<uint16_t>(hlen);
    pk.tos = d[1];
    pk.ttl = d[8];
    pk.ip_id = rd16(d + 4);
    const uint16_t off = rd16(d + 6);
    pk.frag_rb = (off & 0x8000) != 0;
    pk.frag_df = (off & 0x4000) != 0;
    pk.frag_mf = (off & 0x2000) != 0;
    pk.frag_offset = static_cast<uint16_t>((off & 0x1fff) * 8);
    pk.proto = d[9];
    if (hlen > 20) ipv4_options(d + 20, hlen - 20);
    if (config.validate_checksums && !wire::csum_valid(wire::csum_add(d, hlen, 0))) {
      pk.checksum_bad = true;
      on_event(DecodeEvent::kIpv4ChecksumBad);
    }

    const uint8_t* body = d + hlen;
    const uint32_t body_len = total - hlen;
    pk.l4 = pk.payload = body;
    pk.l4_len = pk.payload_len = body_len;
    if (pk.frag_mf || pk.frag_offset != 0) {
      pk.is_fragment = true;
      ++stats.ipv4_fragments;
      FragmentView f;
      f.v6 = false;
      f.ip = d;
      f.unfrag_len = hlen;
      f.inner_proto = pk.proto;
      f.data = body;
      f.data_len = body_len;
      f.offset = pk.frag_offset;
      f.more = pk.frag_mf;
      f.id = pk.ip_id;
      add_fragment(f);
      return true;
    }
    return ip_payload(pk.proto, body, body_len, false);
  }

  // Sets ip_opt bits the way Suricata's ipopts keyword sees them.
  void ipv4_options(const uint8_t* o, uint32_t n) {
    Packet& pk = *p;
    uint32_t seen = 0;
    uint32_t i = 0;
    while (i < n) {
      const uint8_t type = o[i];
      if (type == 0) {  // end of list; what follows is padding
        pk.ip_opts |= ip_opt::kEol;
        break;
      }
      if (type == 1) {
        pk.ip_opts |= ip_opt::kNop;
        ++i;
        continue;
      }
      if (i + 1 >= n) {
        on_event(DecodeEvent::kIpv4OptMalformed);
        break;
      }
      const uint32_t olen = o[i + 1];
      if (olen < 2) {
        on_event(DecodeEvent::kIpv4OptInvalidLen);
        break;
      }
      if (i + olen > n) {
        on_event(DecodeEvent::kIpv4OptMalformed);
        break;
      }
      uint32_t bit = 0;
      uint32_t min_len = 2;
      switch (type) {
        case 7: bit = ip_opt::kRr; min_len = 3; break;
        case 68: bit = ip_opt::kTs; min_len = 4; break;
        case 130: bit = ip_opt::kSec; min_len = 3; break;
        case 133: bit = ip_opt::kEsec; min_len = 3; break;
        case 131: bit = ip_opt::kLsrr; min_len = 3; break;
        case 137: bit = ip_opt::kSsrr; min_len = 3; break;
        case 136: bit = ip_opt::kSatid; min_len = 4; break;
        case 134:  // CIPSO, 148 router alert, 25 quick start: known, no ipopts name
        case 148:
        case 25:
          break;
        default:
          on_event(DecodeEvent::kIpv4OptUnknown);
          break;
      }
      if (olen < min_len) on_event(DecodeEvent::kIpv4OptInvalidLen);
      if (bit != 0) {
        if (seen & bit) on_event(DecodeEvent::kIpv4OptDuplicate);
        seen |= bit;
        pk.ip_opts |= bit;
      }
      i += olen;
    }
    if (pk.ip_opts != 0) pk.ip_opts |= ip_opt::kAny;
  }

  bool ipv6(const uint8_t* d, uint32_t len) {
    if (!enter()) return false;
    if (len < 40) return fail(DecodeEvent::kIpv6PktTooSmall);
    if ((d[0] >> 4) != 6) return fail(DecodeEvent::kIpv6WrongIpVersion);
    const uint32_t plen = rd16(d + 4);
    if (40 + plen > len) return fail(DecodeEvent::kIpv6TruncPkt);

    Packet& pk = *p;
    clear_transport(pk);
    ++stats.ipv6;
    ++ip_layers;
    pk.ip_version = 6;
    pk.src = core::IpAddress::v6_bytes(d + 8);
    pk.dst = core::IpAddress::v6_bytes(d + 24);
    pk.l3 = d;
    pk.l3_len = 40 + plen;
    pk.tos = static_cast<uint8_t>(((d[0] & 0x0f) << 4) | (d[1] >> 4));
    pk.ttl = d[7];

    const uint32_t end = 40 + plen;
    uint32_t off = 40;
    uint32_t nh_pos = 6;  // where the byte naming the current header lives
    uint8_t nh = d[6];
    bool seen_hh = false, seen_rh = false, seen_fh = false, seen_ah = false;
    int dh_count = 0;
    for (;;) {
      pk.ip_hdr_len = static_cast<uint16_t>(off);
      switch (nh) {
        case 0:     // hop-by-hop options
        case 60:    // destination options
        case 43:    // routing
        case 135: {  // mobility
          if (end - off < 8) return fail(DecodeEvent::kIpv6TruncExthdr);
          const uint32_t hl = (d[off + 1] + 1u) * 8u;
          if (hl > end - off) return fail(DecodeEvent::kIpv6TruncExthdr);
          if (nh == 0) {
            if (off != 40) on_event(DecodeEvent::kIpv6HopoptsNotFirst);
            if (seen_hh) on_event(DecodeEvent::kIpv6ExthdrDuplHh);
            seen_hh = true;
            ipv6_options(d + off + 2, hl - 2);
          } else if (nh == 60) {
            // One destination-options header may come before the routing header and one
            // after it; more is a duplicate.
            ++dh_count;
            if (dh_count > 2 || (dh_count == 2 && !seen_rh)) {
              on_event(DecodeEvent::kIpv6ExthdrDuplDh);
            }
            ipv6_options(d + off + 2, hl - 2);
          } else if (nh == 43) {
            if (seen_rh) on_event(DecodeEvent::kIpv6ExthdrDuplRh);
            seen_rh = true;
            if (d[off + 2] == 0) on_event(DecodeEvent::kIpv6RhType0);
          }
          nh_pos = off;
          nh = d[off];
          off += hl;
          continue;
        }
        case 51: {  // authentication header: length in 4-byte units minus 2
          if (end - off < 8) return fail(DecodeEvent::kIpv6TruncExthdr);
          const uint32_t hl = (d[off + 1] + 2u) * 4u;
          if (hl > end - off) return fail(DecodeEvent::kIpv6TruncExthdr);
          if (rd16(d + off + 2) != 0) on_event(DecodeEvent::kIpv6ExthdrAhResNotNull);
          if (seen_ah) on_event(DecodeEvent::kIpv6ExthdrDuplAh);
          seen_ah = true;
          nh_pos = off;
          nh = d[off];
          off += hl;
          continue;
        }
        case 44: {  // fragment
          if (end - off < 8) return fail(DecodeEvent::kIpv6TruncExthdr);
          if (seen_fh) {
            // A second fragment header: do not go further, the datagram is suspect.
            on_event(DecodeEvent::kIpv6ExthdrDuplFh);
            return ipv6_stop(44, d + off, end - off);
          }
          seen_fh = true;
          if (d[off + 1] != 0) on_event(DecodeEvent::kIpv6FhNonZeroReservedField);
          const uint16_t fo = rd16(d + off + 2);
          const uint32_t frag_off = fo & 0xfff8;
          const bool more = (fo & 1) != 0;
          const uint32_t id = rd32(d + off + 4);
          const uint8_t inner = d[off];
          pk.ip_id = static_cast<uint16_t>(id);
          if (frag_off == 0 && !more) {
            // An atomic fragment (RFC 6946): the whole datagram is here; decode on.
            on_event(DecodeEvent::kIpv6ExthdrUselessFh);
            nh_pos = off;
            nh = inner;
            off += 8;
            continue;
          }
          const uint32_t data_len = end - off - 8;
          pk.is_fragment = true;
          pk.frag_offset = static_cast<uint16_t>(frag_off);
          pk.frag_mf = more;
          pk.ip_hdr_len = static_cast<uint16_t>(off + 8);
          pk.proto = inner;
          pk.l4 = pk.payload = d + off + 8;
          pk.l4_len = pk.payload_len = data_len;
          ++stats.ipv6_fragments;
          if (more && data_len % 8 != 0) on_event(DecodeEvent::kIpv6FragInvalidLength);
          FragmentView f;
          f.v6 = true;
          f.ip = d;
          f.unfrag_len = off;
          f.nh_pos = nh_pos;
          f.inner_proto = inner;
          f.data = d + off + 8;
          f.data_len = data_len;
          f.offset = frag_off;
          f.more = more;
          f.id = id;
          add_fragment(f);
          return true;
        }
        case 50:  // ESP: the rest is encrypted
          return ipv6_stop(50, d + off, end - off);
        case 59:  // no next header
          if (off < end) on_event(DecodeEvent::kIpv6DataAfterNoneHeader);
          return ipv6_stop(59, d + off, end - off);
        default:
          return ip_payload(nh, d + off, end - off, true);
      }
    }
  }

  bool ipv6_stop(uint8_t proto, const uint8_t* d, uint32_t len) {
    Packet& pk = *p;
    pk.proto = proto;
    pk.l4 = pk.payload = d;
    pk.l4_len = pk.payload_len = len;
    return true;
  }

  // Hop-by-hop / destination option TLVs: only checked for overruns.
  void ipv6_options(const uint8_t* o, uint32_t n) {
    uint32_t i = 0;
    while (i < n) {
      if (o[i] == 0) {  // Pad1
        ++i;
        continue;
      }
      if (i + 2 > n || i + 2 + o[i + 1] > n) {
        on_event(DecodeEvent::kIpv6ExthdrInvalidOptlen);
        return;
      }
      i += 2 + o[i + 1];
    }
  }

  void add_fragment(FragmentView& f) {
    Packet& pk = *p;
    f.ts = pk.ts;
    f.vlan[0] = pk.vlan[0];
    f.vlan[1] = pk.vlan[1];
    f.vni = pk.vni;
    f.tunnel_depth = pk.tunnel_depth;
    auto bytes = defrag.insert(f, *this);
    if (bytes) {
      completed.push_back(
          Completed{std::move(bytes), {pk.vlan[0], pk.vlan[1]}, pk.vlan_count, pk.vni,
                    pk.tunnel_depth, f.v6});
    }
  }

  // ---- transport ---------------------------------------------------------------------------

  bool ip_payload(uint8_t proto, const uint8_t* d, uint32_t len, bool v6) {
    Packet& pk = *p;
    pk.proto = proto;
    pk.l4 = pk.payload = d;
    pk.l4_len = pk.payload_len = len;
    switch (proto) {
      case 6:
        return tcp(d, len);
      case 17:
        return udp(d, len);
      case 1:
        if (v6) on_event(DecodeEvent::kIpv6Icmpv4);
        return icmpv4(d, len);
      case 58:
        if (!v6) on_event(DecodeEvent::kIpv4Icmpv6);
        return icmpv6(d, len);
      case 47:
        return gre(d, len);
      case 4:
        ++stats.ipip;
        tunnel([&] { return ipv4(d, len); });
        return true;
      case 41:
        ++stats.ipip;
        tunnel([&] { return ipv6(d, len); });
        return true;
      case 132:
        return sctp(d, len);
      default:
        return true;
    }
  }

  // Checksum over the IP pseudo-header of the current (innermost) IP layer and `len` bytes.
  bool l4_checksum_ok(const uint8_t* d, uint32_t len, uint8_t proto) const {
    const Packet& pk = *p;
    uint64_t acc = pk.ip_version == 4 ? wire::csum_add(pk.l3 + 12, 8, 0)
                                      : wire::csum_add(pk.l3 + 8, 32, 0);
    // IPv4 {0, proto, len16} and IPv6 {len32, 0, 0, 0, nh} add up to the same sum.
    const uint8_t pseudo[8] = {0, 0, static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len),
                               0, 0, 0, proto};
    acc = wire::csum_add(pseudo, 8, acc);
    return wire::csum_valid(wire::csum_add(d, len, acc));
  }

  void checksum_bad(DecodeEvent e) {
    p->checksum_bad = true;
    on_event(e);
  }

  bool tcp(const uint8_t* d, uint32_t len) {
    if (len < 20) return fail(DecodeEvent::kTcpPktTooSmall);
    const uint32_t hl = (d[12] >> 4) * 4u;
    if (hl < 20 || hl > len) return fail(DecodeEvent::kTcpHlenTooSmall);
    Packet& pk = *p;
    TcpHeader& t = pk.tcp;
    pk.sport = rd16(d);
    pk.dport = rd16(d + 2);
    t.seq = rd32(d + 4);
    t.ack = rd32(d + 8);
    t.flags = d[13];
    t.window = rd16(d + 14);
    t.checksum = rd16(d + 16);
    t.hdr_len = static_cast<uint8_t>(hl);
    if (hl > 20) tcp_options(d + 20, hl - 20);
    if (config.validate_checksums && !l4_checksum_ok(d, len, 6)) {
      checksum_bad(DecodeEvent::kTcpChecksumBad);
    }
    pk.has_l4 = true;
    pk.payload = d + hl;
    pk.payload_len = len - hl;
    ++stats.tcp;
    return true;
  }

  void tcp_options(const uint8_t* o, uint32_t n) {
    TcpHeader& t = p->tcp;
    uint32_t i = 0;
    while (i < n) {
      const uint8_t kind = o[i];
      if (kind == 0) break;  // end of options
      if (kind == 1) {
        ++i;
        continue;
      }
      if (i + 1 >= n || o[i + 1] < 2 || i + o[i + 1] > n) {
        on_event(DecodeEvent::kTcpOptInvalidLen);
        return;
      }
      const uint8_t olen = o[i + 1];
      const uint8_t* v = o + i + 2;
      auto dup = [&](bool already) {
        if (already) on_event(DecodeEvent::kTcpOptDuplicate);
      };
      switch (kind) {
        case 2:  // MSS
          if (olen != 4) {
            on_event(DecodeEvent::kTcpOptInvalidLen);
            break;
          }
          dup(t.has_mss);
          t.has_mss = true;
          t.mss = rd16(v);
          break;
        case 3:  // window scale
          if (olen != 3) {
            on_event(DecodeEvent::kTcpOptInvalidLen);
            break;
          }
          dup(t.has_wscale);
          t.has_wscale = true;
          t.wscale = v[0];
          break;
        case 4:  // SACK permitted
          if (olen != 2) {
            on_event(DecodeEvent::kTcpOptInvalidLen);
            break;
          }
          dup(t.sack_permitted);
          t.sack_permitted = true;
          break;
        case 8:  // timestamps
          if (olen != 10) {
            on_event(DecodeEvent::kTcpOptInvalidLen);
            break;
          }
          dup(t.has_timestamp);
          t.has_timestamp = true;
          t.ts_val = rd32(v);
          t.ts_ecr = rd32(v + 4);
          break;
        case 5:  // SACK blocks: 8 bytes each
          if (olen < 10 || (olen - 2) % 8 != 0) on_event(DecodeEvent::kTcpOptInvalidLen);
          break;
        default:
          break;
      }
      i += olen;
    }
  }

  bool udp(const uint8_t* d, uint32_t len) {
    if (len < 8) return fail(DecodeEvent::kUdpHlenTooSmall);
    const uint32_t ulen = rd16(d + 4);
    if (ulen > len) return fail(DecodeEvent::kUdpPktTooSmall);
    // As Suricata: the UDP length must match what the IP header says.
    if (ulen < 8 || ulen != len) return fail(DecodeEvent::kUdpHlenInvalid);
    Packet& pk = *p;
    pk.sport = rd16(d);
    pk.dport = rd16(d + 2);
    const uint16_t sum = rd16(d + 6);
    // IPv4 may omit the UDP checksum (0); IPv6 may not (RFC 8200 8.1).
    if (config.validate_checksums && (sum != 0 || pk.ip_version == 6) &&
        !l4_checksum_ok(d, len, 17)) {
      checksum_bad(DecodeEvent::kUdpChecksumBad);
    }
    pk.has_l4 = true;
    pk.payload = d + 8;
    pk.payload_len = len - 8;
    ++stats.udp;

    if (config.vxlan_port != 0 && pk.dport == config.vxlan_port) {
      vxlan(d + 8, len - 8);
    } else if (config.decode_teredo && (pk.dport == 3544 || pk.sport == 3544)) {
      teredo(d + 8, len - 8);
    }
    return true;
  }

  bool sctp(const uint8_t* d, uint32_t len) {
    if (len < 12) return fail(DecodeEvent::kSctpPktTooSmall);
    Packet& pk = *p;
    pk.sport = rd16(d);
    pk.dport = rd16(d + 2);
    pk.has_l4 = true;
    pk.payload = d + 12;
    pk.payload_len = len - 12;
    ++stats.sctp;
    return true;
  }

  bool icmpv4(const uint8_t* d, uint32_t len) {
    if (len < 8) return fail(DecodeEvent::kIcmpv4PktTooSmall);
    Packet& pk = *p;
    IcmpHeader& ic = pk.icmp;
    ic.type = d[0];
    ic.code = d[1];
    switch (ic.type) {
      case 0:   // echo reply
      case 8:   // echo request
        if (ic.code != 0) on_event(DecodeEvent::kIcmpv4UnknownCode);
        ic.has_id_seq = true;
        break;
      case 13: case 14: case 15: case 16: case 17: case 18:  // timestamp, info, mask
        ic.has_id_seq = true;
        break;
      case 3:
        if (ic.code > 15) on_event(DecodeEvent::kIcmpv4UnknownCode);
        break;
      case 5:
        if (ic.code > 3) on_event(DecodeEvent::kIcmpv4UnknownCode);
        break;
      case 11:
        if (ic.code > 1) on_event(DecodeEvent::kIcmpv4UnknownCode);
        break;
      case 12:
        if (ic.code > 2) on_event(DecodeEvent::kIcmpv4UnknownCode);
        break;
      case 4: case 9: case 10:
        break;
      default:
        on_event(DecodeEvent::kIcmpv4UnknownType);
        break;
    }
    if (ic.has_id_seq) {
      ic.id = rd16(d + 4);
      ic.seq = rd16(d + 6);
    }
    if (config.validate_checksums && !wire::csum_valid(wire::csum_add(d, len, 0))) {
      checksum_bad(DecodeEvent::kIcmpv4ChecksumBad);
    }
    pk.has_l4 = true;
    pk.payload = d + 8;
    pk.payload_len = len - 8;
    ++stats.icmpv4;
    return true;
  }

  bool icmpv6(const uint8_t* d, uint32_t len) {
    if (len < 8) return fail(DecodeEvent::kIcmpv6PktTooSmall);
    Packet& pk = *p;
    IcmpHeader& ic = pk.icmp;
    ic.type = d[0];
    ic.code = d[1];
    const uint8_t t = ic.type;
    if (t == 128 || t == 129) {
      if (ic.code != 0) on_event(DecodeEvent::kIcmpv6UnknownCode);
      ic.has_id_seq = true;
      ic.id = rd16(d + 4);
      ic.seq = rd16(d + 6);
    } else if (t == 1) {
      if (ic.code > 7) on_event(DecodeEvent::kIcmpv6UnknownCode);
    } else if (t == 2) {
      if (ic.code != 0) on_event(DecodeEvent::kIcmpv6UnknownCode);
    } else if (t == 3) {
      if (ic.code > 1) on_event(DecodeEvent::kIcmpv6UnknownCode);
    } else if (t == 4) {
      if (ic.code > 3) on_event(DecodeEvent::kIcmpv6UnknownCode);
    } else if (t == 130 || t == 131 || t == 132 || t == 143) {
      // MLD messages must be link-local: hop limit 1 (RFC 2710/3810).
      if (pk.ttl != 1) on_event(DecodeEvent::kIcmpv6MldInvalidHl);
    } else if (!((t >= 133 && t <= 161) || t == 100 || t == 101 || t == 127 || t == 200 ||
                 t == 201 || t == 255)) {
      on_event(DecodeEvent::kIcmpv6UnknownType);
    }
    if (config.validate_checksums && !l4_checksum_ok(d, len, 58)) {
      checksum_bad(DecodeEvent::kIcmpv6ChecksumBad);
    }
    pk.has_l4 = true;
    pk.payload = d + 8;
    pk.payload_len = len - 8;
    ++stats.icmpv6;
    return true;
  }

  // ---- tunnels -----------------------------------------------------------------------------

  // Decodes an encapsulated packet into *p. If the inner packet is malformed or has no IP
  // layer, the outer packet is kept as it was (its last good layer), as Suricata keeps the
  // outer packet when the tunnel pseudo-packet fails.
  template <typename F>
  void tunnel(F&& inner) {
    Packet& pk = *p;
    if (pk.tunnel_depth >= config.max_tunnel_depth) {
      on_event(DecodeEvent::kTooManyLayers);
      return;
    }
    Packet outer = pk;  // only tunnelled packets pay for this copy
    const bool outer_invalid = invalid;
    const uint32_t outer_ip = ip_layers;
    ++pk.tunnel_depth;
    invalid = false;
    const bool ok = inner();
    if (ok && !invalid && ip_layers > outer_ip) {
      invalid = outer_invalid;
      return;
    }
    const bool inner_bad = !ok || invalid;
    const bool checksum_bad = pk.checksum_bad;
    const uint16_t first_event = pk.decode_event;
    pk = std::move(outer);
    pk.checksum_bad = pk.checksum_bad || checksum_bad;
    pk.decode_event = first_event;
    invalid = outer_invalid;
    ip_layers = outer_ip;
    if (inner_bad) on_event(DecodeEvent::kTunnelInnerInvalid);
  }

  bool gre(const uint8_t* d, uint32_t len) {
    if (!enter()) return false;
    if (len < 4) return fail(DecodeEvent::kGrePktTooSmall);
    const uint16_t flags = rd16(d);
    const uint16_t proto = rd16(d + 2);
    const bool c = flags & 0x8000, r = flags & 0x4000, k = flags & 0x2000, s = flags & 0x1000,
               ssr = flags & 0x0800;
    const uint16_t recur = flags & 0x0700;
    const uint16_t version = flags & 0x0007;
    uint32_t hlen = 4;
    if (version == 0) {
      if (recur != 0) return fail(DecodeEvent::kGreVersion0Recur);
      if (flags & 0x00f8) return fail(DecodeEvent::kGreVersion0Flags);
      hlen += (c || r) ? 4 : 0;  // checksum + offset, present if either bit is set
      hlen += k ? 4 : 0;
      hlen += s ? 4 : 0;
      if (hlen > len) return fail(DecodeEvent::kGreVersion0HdrTooBig);
      if (r) {
        // Source route entries (RFC 1701), up to a NULL entry.
        for (;;) {
          if (len - hlen < 4) return fail(DecodeEvent::kGreVersion0MalformedSreHdr);
          const uint16_t af = rd16(d + hlen);
          const uint8_t sre_len = d[hlen + 3];
          hlen += 4 + sre_len;
          if (hlen > len) return fail(DecodeEvent::kGreVersion0MalformedSreHdr);
          if (af == 0 && sre_len == 0) break;
        }
      }
    } else if (version == 1) {
      // Enhanced GRE (PPTP, RFC 2637): key (payload length + call id) always, no checksum.
      if (c) return fail(DecodeEvent::kGreVersion1Chksum);
      if (r) return fail(DecodeEvent::kGreVersion1Route);
      if (ssr) return fail(DecodeEvent::kGreVersion1Ssr);
      if (recur != 0) return fail(DecodeEvent::kGreVersion1Recur);
      if (flags & 0x0078) return fail(DecodeEvent::kGreVersion1Flags);
      if (!k) return fail(DecodeEvent::kGreVersion1NoKey);
      if (proto != kEthPpp) return fail(DecodeEvent::kGreVersion1WrongProtocol);
      hlen = 8 + (s ? 4 : 0) + ((flags & 0x0080) ? 4 : 0);  // + sequence, + acknowledgment
      if (hlen > len) return fail(DecodeEvent::kGreVersion1HdrTooBig);
    } else {
      return fail(DecodeEvent::kGreWrongVersion);
    }
    ++stats.gre;
    Packet& pk = *p;
    pk.payload = d + hlen;
    pk.payload_len = len - hlen;
    const uint8_t* in = d + hlen;
    const uint32_t in_len = len - hlen;
    switch (proto) {
      case kEthIpv4:
        tunnel([&] { return ipv4(in, in_len); });
        break;
      case kEthIpv6:
        tunnel([&] { return ipv6(in, in_len); });
        break;
      case kEthTeb:
        tunnel([&] { return ethernet(in, in_len); });
        break;
      case kEthPpp:
        if (in_len > 0) tunnel([&] { return ppp_frame(in, in_len); });  // ack-only when empty
        break;
      case kEthMpls:
      case kEthMplsMc:
        tunnel([&] { return mpls(in, in_len); });
        break;
      case kEthVlan:
      case kEthQinq:
        tunnel([&] { return vlan(in, in_len); });
        break;
      case kEthErspan2:
        // Type I has no ERSPAN header and no GRE sequence number; type II has both.
        if (!s) {
          ++stats.erspan;
          tunnel([&] { return ethernet(in, in_len); });
        } else {
          erspan(in, in_len, 1);
        }
        break;
      case kEthErspan3:
        erspan(in, in_len, 2);
        break;
      default:
        break;
    }
    return true;
  }

  // ERSPAN type II (version 1, 8-byte header) and type III (version 2, 12 bytes + optional
  // 8-byte platform subheader), both followed by an Ethernet frame.
  void erspan(const uint8_t* d, uint32_t len, int expect_version) {
    if (len < 8) {
      on_event(DecodeEvent::kErspanHeaderTooSmall);
      return;
    }
    const int version = d[0] >> 4;
    if (version != expect_version) {
      on_event(DecodeEvent::kErspanUnsupportedVersion);
      return;
    }
    uint32_t hlen = 8;
    if (version == 2) {
      if (len < 12) {
        on_event(DecodeEvent::kErspanHeaderTooSmall);
        return;
      }
      hlen = (d[11] & 1) ? 20 : 12;
      if (len < hlen) {
        on_event(DecodeEvent::kErspanHeaderTooSmall);
        return;
      }
    }
    ++stats.erspan;
    tunnel([&] { return ethernet(d + hlen, len - hlen); });
  }

  void vxlan(const uint8_t* d, uint32_t len) {
    // As Suricata: only a header with the I flag and a zero last byte is VXLAN; anything else
    // on the port stays plain UDP.
    if (len < 8 + 14 || (d[0] & 0x08) == 0 || d[7] != 0) return;
    const uint32_t vni = rd24(d + 4);
    const uint16_t inner_type = rd16(d + 8 + 12);
    if (inner_type != kEthIpv4 && inner_type != kEthIpv6 && inner_type != kEthVlan &&
        inner_type != kEthQinq && inner_type != kEthArp) {
      on_event(DecodeEvent::kVxlanUnknownPayloadType);
    }
    ++stats.vxlan;
    tunnel([&] {
      p->vni = vni;
      return ethernet(d + 8, len - 8);
    });
  }

  void teredo(const uint8_t* d, uint32_t len) {
    // Teredo (RFC 4380) is only recognised by content: an origin indication may precede the
    // IPv6 header; authentication packets are not tunnelled data. The IPv6 length must fill
    // the datagram exactly, as Suricata requires, to avoid decoding random UDP as IPv6.
    uint32_t skip = 0;
    if (len >= 2 && d[0] == 0) {
      if (d[1] != 0) return;
      skip = 8;
    }
    if (len < skip + 40) return;
    const uint8_t* ip = d + skip;
    if ((ip[0] >> 4) != 6 || skip + 40 + rd16(ip + 4) != len) return;
    ++stats.teredo;
    tunnel([&] { return ipv6(ip, len - skip); });
  }
};

Decoder::Decoder(DecoderConfig config) : impl_(std::make_unique<Impl>(config)) {}
Decoder::~Decoder() = default;
Decoder::Decoder(Decoder&&) noexcept = default;
Decoder& Decoder::operator=(Decoder&&) noexcept = default;

bool Decoder::decode(Packet& p) { return impl_->decode(p); }

bool Decoder::take_reassembled(Packet& out) {
  if (impl_->ready_pos >= impl_->ready.size()) return false;
  out = std::move(impl_->ready[impl_->ready_pos++]);
  return true;
}

void Decoder::expire(core::Timestamp now) {
  impl_->defrag.expire(now, *impl_);
  impl_->stats.defrag_trackers = impl_->defrag.trackers();
  impl_->stats.defrag_memuse = impl_->defrag.memuse();
}

const DecoderStats& Decoder::stats() const { return impl_->stats; }
const DecoderConfig& Decoder::config() const { return impl_->config; }

}  // namespace vigil::sensor
