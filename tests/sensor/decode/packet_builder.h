// Builds packets byte by byte for tests: Ethernet, VLAN, MPLS, PPPoE, NSH, IPv4, IPv6 (with
// extension and fragment headers), TCP, UDP, ICMP, ICMPv6, GRE, VXLAN, raw bytes.
//
// Layers are added outermost first; build() encodes them innermost first, so every length,
// next-protocol field and checksum is filled in from what the layer actually encloses (unless
// a test overrides it to make a malformed packet).
//
//   using vigil::test::PacketBuilder;
//   auto bytes = PacketBuilder().eth().vlan(100).ipv4("10.0.0.1", "10.0.0.2")
//                    .tcp(1234, 80, {.flags = vigil::sensor::tcp_flag::kSyn}).payload("hi")
//                    .build();
//   vigil::sensor::Packet p = vigil::test::make_packet(bytes);   // DLT_EN10MB
//
// Header-only, no dependency besides the standard library and packet.h.
#pragma once

#include <arpa/inet.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/sensor/packet.h"

// Option structs are meant to be filled with designated initializers ({.key = 1}); g++ 12
// -Wextra warns about every member left to its default there, which is the point of them.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace vigil::test {

using Bytes = std::vector<uint8_t>;

inline void put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
inline void put32(Bytes& b, uint32_t v) {
  put16(b, static_cast<uint16_t>(v >> 16));
  put16(b, static_cast<uint16_t>(v));
}
inline void set16(Bytes& b, size_t at, uint16_t v) {
  b[at] = static_cast<uint8_t>(v >> 8);
  b[at + 1] = static_cast<uint8_t>(v);
}

// Internet checksum (RFC 1071) of `b`, big-endian, ready to store with set16().
inline uint16_t inet_checksum(const uint8_t* d, size_t n, uint32_t seed = 0) {
  uint64_t sum = seed;
  for (size_t i = 0; i + 1 < n; i += 2) sum += (uint32_t{d[i]} << 8) | d[i + 1];
  if (n & 1) sum += uint32_t{d[n - 1]} << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// Parses "10.0.0.1" or "2001:db8::1" into 4 or 16 bytes; throws on bad text (tests only).
inline Bytes ip_bytes(std::string_view text) {
  std::string s(text);
  Bytes out(16);
  if (inet_pton(AF_INET, s.c_str(), out.data()) == 1) {
    out.resize(4);
    return out;
  }
  if (inet_pton(AF_INET6, s.c_str(), out.data()) == 1) return out;
  throw std::invalid_argument("bad IP address in test: " + s);
}

struct Ipv4Opts {
  uint8_t ttl = 64;
  uint8_t tos = 0;
  uint16_t id = 1;
  bool df = false;
  bool mf = false;
  uint16_t frag_offset = 0;           // bytes, multiple of 8
  Bytes options;                      // raw option bytes, padded by the test to 4n
  std::optional<uint8_t> proto;       // default: from the next layer
  std::optional<uint16_t> total_len;  // default: header + payload
  std::optional<uint8_t> ihl;         // default: from options
  bool bad_checksum = false;
};

struct Ipv6Opts {
  uint8_t hop_limit = 64;
  uint8_t traffic_class = 0;
  uint32_t flow_label = 0;
  std::optional<uint8_t> next_header;
  std::optional<uint16_t> payload_len;
};

struct TcpOpts {
  uint32_t seq = 1;
  uint32_t ack = 0;
  uint8_t flags = sensor::tcp_flag::kAck;
  uint16_t window = 65535;
  Bytes options;  // raw option bytes; the builder pads them with zeros (EOL) to 4n
  std::optional<uint8_t> data_offset;  // in 32-bit words; default from options
  bool bad_checksum = false;
};

struct UdpOpts {
  std::optional<uint16_t> length;
  bool zero_checksum = false;
  bool bad_checksum = false;
};

struct IcmpOpts {
  uint16_t id = 0;
  uint16_t seq = 0;
  bool bad_checksum = false;
};

struct GreOpts {
  uint8_t version = 0;
  std::optional<uint32_t> key;
  std::optional<uint32_t> seq;
  bool checksum = false;
  std::optional<uint32_t> ack;  // version 1 only
  std::optional<uint16_t> proto;  // default: from the next layer
};

class PacketBuilder {
 public:
  // ---- link ---------------------------------------------------------------------------------
  PacketBuilder& eth(uint16_t ethertype_override = 0) {
    return add(0, 0, [ethertype_override](const Bytes& in, const Ctx& c) {
      Bytes b = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x00, 0x66, 0x77, 0x88, 0x99, 0xaa};
      put16(b, ethertype_override ? ethertype_override : c.next_ethertype);
      b.insert(b.end(), in.begin(), in.end());
      return b;
    }, 0x6558);
  }
  PacketBuilder& vlan(uint16_t id, uint16_t tpid = 0x8100) {
    return add(tpid, 0, [id](const Bytes& in, const Ctx& c) {
      Bytes b;
      put16(b, id & 0x0fff);
      put16(b, c.next_ethertype);
      b.insert(b.end(), in.begin(), in.end());
      return b;
    });
  }
  // One MPLS label (bottom of stack set automatically on the last label).
  PacketBuilder& mpls(uint32_t label) {
    return add(0x8847, 0, [label](const Bytes& in, const Ctx& c) {
      Bytes b;
      put32(b, (label << 12) | (c.next_is_mpls ? 0 : 0x100) | 64);
      b.insert(b.end(), in.begin(), in.end());
      return b;
    });
  }
  PacketBuilder& pppoe(uint16_t session = 1) {
    return add(0x8864, 0, [session](const Bytes& in, const Ctx& c) {
      Bytes b = {0x11, 0x00};
      put16(b, session);
      put16(b, static_cast<uint16_t>(in.size() + 2));
      put16(b, c.next_ethertype == 0x86DD ? 0x0057 : 0x0021);
      b.insert(b.end(), in.begin(), in.end());
      return b;
    });
  }
  // NSH MD type 2 with no metadata (as in suricata-verify decode-nsh-type2).
  PacketBuilder& nsh(uint32_t spi = 1, uint8_t si = 2) {
    return add(0x894F, 0, [spi, si](const Bytes& in, const Ctx& c) {
      uint8_t next = c.next_ethertype == 0x0800 ? 1 : c.next_ethertype == 0x86DD ? 2 : 3;
      Bytes b = {0x00, 0x02, 0x02, next};
      put32(b, (spi << 8) | si);
      b.insert(b.end(), in.begin(), in.end());
      return b;
    });
  }

  // ---- network ------------------------------------------------------------------------------
  PacketBuilder& ipv4(std::string_view src, std::string_view dst, Ipv4Opts o = {}) {
    Bytes s = ip_bytes(src), d = ip_bytes(dst);
    Layer& l = add_layer(0x0800, 4, [o, s, d](const Bytes& in, const Ctx& c) {
      const uint8_t ihl = o.ihl ? *o.ihl : static_cast<uint8_t>((20 + o.options.size()) / 4);
      Bytes b = {static_cast<uint8_t>(0x40 | (ihl & 0x0f)), o.tos};
      put16(b, o.total_len ? *o.total_len
                           : static_cast<uint16_t>(20 + o.options.size() + in.size()));
      put16(b, o.id);
      put16(b, static_cast<uint16_t>((o.df ? 0x4000 : 0) | (o.mf ? 0x2000 : 0) |
                                     ((o.frag_offset / 8) & 0x1fff)));
      b.push_back(o.ttl);
      b.push_back(o.proto ? *o.proto : c.next_ipproto);
      put16(b, 0);
      b.insert(b.end(), s.begin(), s.end());
      b.insert(b.end(), d.begin(), d.end());
      b.insert(b.end(), o.options.begin(), o.options.end());
      uint16_t sum = inet_checksum(b.data(), b.size());
      set16(b, 10, o.bad_checksum ? static_cast<uint16_t>(sum ^ 0x5a5a) : sum);
      b.insert(b.end(), in.begin(), in.end());
      return b;
    });
    l.src = s;
    l.dst = d;
    return *this;
  }
  PacketBuilder& ipv6(std::string_view src, std::string_view dst, Ipv6Opts o = {}) {
    Bytes s = ip_bytes(src), d = ip_bytes(dst);
    Layer& l = add_layer(0x86DD, 41, [o, s, d](const Bytes& in, const Ctx& c) {
      Bytes b;
      put32(b, (6u << 28) | (uint32_t{o.traffic_class} << 20) | (o.flow_label & 0xfffff));
      put16(b, o.payload_len ? *o.payload_len : static_cast<uint16_t>(in.size()));
      b.push_back(o.next_header ? *o.next_header : c.next_ipproto);
      b.push_back(o.hop_limit);
      b.insert(b.end(), s.begin(), s.end());
      b.insert(b.end(), d.begin(), d.end());
      b.insert(b.end(), in.begin(), in.end());
      return b;
    });
    l.src = s;
    l.dst = d;
    return *this;
  }
  // A generic IPv6 extension header (hop-by-hop 0, routing 43, destination options 60):
  // `body` is what follows the next-header and length bytes; it is padded to 8n - 2 bytes.
  PacketBuilder& ipv6_ext(uint8_t type, Bytes body = {0, 0, 0, 0, 0, 0}) {
    while ((body.size() + 2) % 8 != 0) body.push_back(0);
    return add(0, type, [body](const Bytes& in, const Ctx& c) {
      Bytes b = {c.next_ipproto, static_cast<uint8_t>((body.size() + 2) / 8 - 1)};
      b.insert(b.end(), body.begin(), body.end());
      b.insert(b.end(), in.begin(), in.end());
      return b;
    });
  }
  // An IPv6 fragment header. `next_header` names what the fragmented data is (needed when
  // the fragment is followed by raw bytes rather than a transport layer).
  PacketBuilder& ipv6_frag(uint32_t id, uint16_t offset, bool more,
                           std::optional<uint8_t> next_header = {}) {
    return add(0, 44, [=](const Bytes& in, const Ctx& c) {
      Bytes b = {next_header ? *next_header : c.next_ipproto, 0};
      put16(b, static_cast<uint16_t>((offset & 0xfff8) | (more ? 1 : 0)));
      put32(b, id);
      b.insert(b.end(), in.begin(), in.end());
      return b;
    });
  }

  // ---- transport ----------------------------------------------------------------------------
  PacketBuilder& tcp(uint16_t sport, uint16_t dport, TcpOpts o = {}) {
    return add(0, 6, [=](const Bytes& in, const Ctx& c) {
      Bytes opts = o.options;
      while (opts.size() % 4 != 0) opts.push_back(0);
      const uint8_t doff = o.data_offset ? *o.data_offset : static_cast<uint8_t>(5 + opts.size() / 4);
      Bytes b;
      put16(b, sport);
      put16(b, dport);
      put32(b, o.seq);
      put32(b, o.ack);
      b.push_back(static_cast<uint8_t>(doff << 4));
      b.push_back(o.flags);
      put16(b, o.window);
      put16(b, 0);
      put16(b, 0);
      b.insert(b.end(), opts.begin(), opts.end());
      b.insert(b.end(), in.begin(), in.end());
      uint16_t sum = l4_checksum(c, 6, b);
      set16(b, 16, o.bad_checksum ? static_cast<uint16_t>(sum ^ 0x1111) : sum);
      return b;
    });
  }
  PacketBuilder& udp(uint16_t sport, uint16_t dport, UdpOpts o = {}) {
    return add(0, 17, [=](const Bytes& in, const Ctx& c) {
      Bytes b;
      put16(b, sport);
      put16(b, dport);
      put16(b, o.length ? *o.length : static_cast<uint16_t>(8 + in.size()));
      put16(b, 0);
      b.insert(b.end(), in.begin(), in.end());
      if (!o.zero_checksum) {
        uint16_t sum = l4_checksum(c, 17, b);
        if (sum == 0) sum = 0xffff;
        set16(b, 6, o.bad_checksum ? static_cast<uint16_t>(sum ^ 0x1111) : sum);
      }
      return b;
    });
  }
  PacketBuilder& icmp(uint8_t type, uint8_t code, IcmpOpts o = {}) {
    return add(0, 1, [=](const Bytes& in, const Ctx&) {
      Bytes b = {type, code, 0, 0};
      put16(b, o.id);
      put16(b, o.seq);
      b.insert(b.end(), in.begin(), in.end());
      uint16_t sum = inet_checksum(b.data(), b.size());
      set16(b, 2, o.bad_checksum ? static_cast<uint16_t>(sum ^ 0x1111) : sum);
      return b;
    });
  }
  PacketBuilder& icmp6(uint8_t type, uint8_t code, IcmpOpts o = {}) {
    return add(0, 58, [=](const Bytes& in, const Ctx& c) {
      Bytes b = {type, code, 0, 0};
      put16(b, o.id);
      put16(b, o.seq);
      b.insert(b.end(), in.begin(), in.end());
      uint16_t sum = l4_checksum(c, 58, b);
      set16(b, 2, o.bad_checksum ? static_cast<uint16_t>(sum ^ 0x1111) : sum);
      return b;
    });
  }

  // ---- tunnels ------------------------------------------------------------------------------
  PacketBuilder& gre(GreOpts o = {}) {
    return add(0, 47, [=](const Bytes& in, const Ctx& c) {
      uint16_t flags = o.version & 7;
      if (o.checksum) flags |= 0x8000;
      if (o.key || o.version == 1) flags |= 0x2000;
      if (o.seq) flags |= 0x1000;
      if (o.ack) flags |= 0x0080;
      Bytes b;
      put16(b, flags);
      uint16_t proto = o.proto ? *o.proto : o.version == 1 ? 0x880B : c.next_ethertype;
      put16(b, proto);
      if (o.checksum) put32(b, 0);
      if (o.version == 1) {
        put16(b, static_cast<uint16_t>(in.size()));  // payload length
        put16(b, o.key ? static_cast<uint16_t>(*o.key) : 0);  // call id
      } else if (o.key) {
        put32(b, *o.key);
      }
      if (o.seq) put32(b, *o.seq);
      if (o.ack) put32(b, *o.ack);
      b.insert(b.end(), in.begin(), in.end());
      if (o.checksum) set16(b, 4, inet_checksum(b.data(), b.size()));
      return b;
    });
  }
  // VXLAN header; follow it with eth() for the inner frame. Needs a udp(x, 4789) before it.
  PacketBuilder& vxlan(uint32_t vni) {
    return add(0, 0, [vni](const Bytes& in, const Ctx&) {
      Bytes b = {0x08, 0, 0, 0};
      put32(b, vni << 8);
      b.insert(b.end(), in.begin(), in.end());
      return b;
    });
  }
  // PPP protocol field (for GRE version 1): 0x0021 IPv4 / 0x0057 IPv6 from the next layer.
  PacketBuilder& ppp() {
    return add(0x880B, 0, [](const Bytes& in, const Ctx& c) {
      Bytes b = {0xff, 0x03};
      put16(b, c.next_ethertype == 0x86DD ? 0x0057 : 0x0021);
      b.insert(b.end(), in.begin(), in.end());
      return b;
    });
  }

  // ---- payload ------------------------------------------------------------------------------
  PacketBuilder& payload(std::string_view text) {
    return payload(Bytes(text.begin(), text.end()));
  }
  PacketBuilder& payload(Bytes data) {
    return add(0, 59, [data](const Bytes& in, const Ctx&) {
      Bytes b = data;
      b.insert(b.end(), in.begin(), in.end());
      return b;
    });
  }

  [[nodiscard]] Bytes build() const {
    Bytes inner;
    for (size_t i = layers_.size(); i-- > 0;) {
      Ctx c;
      if (i + 1 < layers_.size()) {
        c.next_ethertype = layers_[i + 1].ethertype;
        c.next_ipproto = layers_[i + 1].ipproto;
        c.next_is_mpls = layers_[i + 1].ethertype == 0x8847;
      }
      for (size_t j = i; j-- > 0;) {
        if (!layers_[j].src.empty()) {
          c.src = &layers_[j].src;
          c.dst = &layers_[j].dst;
          break;
        }
      }
      inner = layers_[i].encode(inner, c);
    }
    return inner;
  }

 private:
  struct Ctx {
    uint16_t next_ethertype = 0;
    uint8_t next_ipproto = 59;  // "no next header" when nothing follows
    bool next_is_mpls = false;
    const Bytes* src = nullptr;  // nearest enclosing IP layer, for pseudo-header checksums
    const Bytes* dst = nullptr;
  };
  using Encode = std::function<Bytes(const Bytes&, const Ctx&)>;
  struct Layer {
    uint16_t ethertype;  // what an enclosing link layer announces for this one
    uint8_t ipproto;     // what an enclosing IP layer announces for this one
    Encode encode;
    Bytes src, dst;
  };

  static uint16_t l4_checksum(const Ctx& c, uint8_t proto, const Bytes& seg) {
    if (c.src == nullptr) return 0;
    Bytes pseudo(c.src->begin(), c.src->end());
    pseudo.insert(pseudo.end(), c.dst->begin(), c.dst->end());
    put16(pseudo, proto);
    put16(pseudo, static_cast<uint16_t>(seg.size()));
    uint32_t seed = 0;
    for (size_t i = 0; i < pseudo.size(); i += 2) seed += (uint32_t{pseudo[i]} << 8) | pseudo[i + 1];
    return inet_checksum(seg.data(), seg.size(), seed);
  }

  PacketBuilder& add(uint16_t ethertype, uint8_t ipproto, Encode e, uint16_t gre_type = 0) {
    // A frame announced from GRE is "transparent Ethernet bridging".
    add_layer(gre_type ? gre_type : ethertype, ipproto, std::move(e));
    return *this;
  }
  Layer& add_layer(uint16_t ethertype, uint8_t ipproto, Encode e) {
    layers_.push_back(Layer{ethertype, ipproto, std::move(e), {}, {}});
    return layers_.back();
  }

  std::vector<Layer> layers_;
};

// A Packet over `bytes` (which must outlive it), as the capture layer would hand it over.
inline sensor::Packet make_packet(const Bytes& bytes, int datalink = 1, uint64_t pcap_cnt = 1,
                                  int64_t usec = 1'000'000) {
  sensor::Packet p;
  p.data = bytes.data();
  p.caplen = p.wirelen = static_cast<uint32_t>(bytes.size());
  p.datalink = datalink;
  p.pcap_cnt = pcap_cnt;
  p.ts.usec = usec;
  return p;
}

// Splits an IPv4 datagram (header without options + payload) into fragments at the given
// payload offsets (multiples of 8), with correct headers. Returns raw IPv4 packets.
inline std::vector<Bytes> ipv4_fragments(const Bytes& datagram, const std::vector<uint16_t>& cuts) {
  const size_t hlen = (datagram[0] & 0x0f) * 4u;
  const Bytes body(datagram.begin() + hlen, datagram.end());
  std::vector<Bytes> out;
  std::vector<size_t> bounds(cuts.begin(), cuts.end());
  bounds.insert(bounds.begin(), 0);
  bounds.push_back(body.size());
  for (size_t i = 0; i + 1 < bounds.size(); ++i) {
    Bytes f(datagram.begin(), datagram.begin() + hlen);
    f.insert(f.end(), body.begin() + bounds[i], body.begin() + bounds[i + 1]);
    set16(f, 2, static_cast<uint16_t>(f.size()));
    const bool more = i + 2 < bounds.size();
    set16(f, 6, static_cast<uint16_t>((more ? 0x2000 : 0) | (bounds[i] / 8)));
    set16(f, 10, 0);
    set16(f, 10, inet_checksum(f.data(), hlen));
    out.push_back(std::move(f));
  }
  return out;
}

// An IPv4 fragment with arbitrary data (for overlap tests): `offset` in bytes.
inline Bytes ipv4_fragment(std::string_view src, std::string_view dst, uint16_t id, uint8_t proto,
                           uint16_t offset, bool more, const Bytes& data) {
  Ipv4Opts o;
  o.id = id;
  o.proto = proto;
  o.frag_offset = offset;
  o.mf = more;
  return PacketBuilder().ipv4(src, dst, o).payload(data).build();
}

// Prepends an Ethernet header to a raw IPv4 or IPv6 packet.
inline Bytes with_ethernet(const Bytes& ip) {
  Bytes b = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x00, 0x66, 0x77, 0x88, 0x99, 0xaa};
  put16(b, (ip[0] >> 4) == 6 ? 0x86DD : 0x0800);
  b.insert(b.end(), ip.begin(), ip.end());
  return b;
}

}  // namespace vigil::test
