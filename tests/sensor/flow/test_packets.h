// Hand-built decoded packets for the flow and stream tests.
#pragma once

#include <deque>
#include <string>
#include <string_view>

#include "vigil/sensor/packet.h"

namespace vigil::sensor::testing {

// Owns payload bytes for the packets built from it (packets point into it).
class PacketFactory {
 public:
  Packet tcp(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, uint8_t flags,
             uint32_t seq, uint32_t ack, std::string_view payload = {}, int64_t ts_sec = 1000) {
    Packet p = base(src, dst, 6, ts_sec);
    p.sport = sport;
    p.dport = dport;
    p.tcp.seq = seq;
    p.tcp.ack = ack;
    p.tcp.flags = flags;
    p.tcp.window = 8192;
    p.tcp.hdr_len = 20;
    set_payload(p, payload);
    p.caplen = 54 + static_cast<uint32_t>(payload.size());
    return p;
  }

  Packet udp(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, int64_t ts_sec = 1000,
             std::string_view payload = {}) {
    Packet p = base(src, dst, 17, ts_sec);
    p.sport = sport;
    p.dport = dport;
    set_payload(p, payload);
    p.caplen = 42 + static_cast<uint32_t>(payload.size());
    return p;
  }

  Packet icmp_echo(uint32_t src, uint32_t dst, uint8_t type, uint16_t id, int64_t ts_sec = 1000) {
    Packet p = base(src, dst, 1, ts_sec);
    p.icmp.type = type;
    p.icmp.has_id_seq = true;
    p.icmp.id = id;
    p.caplen = 42;
    return p;
  }

 private:
  static Packet base(uint32_t src, uint32_t dst, uint8_t proto, int64_t ts_sec) {
    Packet p;
    p.ip_version = 4;
    p.src = core::IpAddress::v4(src);
    p.dst = core::IpAddress::v4(dst);
    p.proto = proto;
    p.has_l4 = true;
    p.decoded = true;
    p.ts = core::Timestamp::from_timeval(ts_sec, 0);
    return p;
  }
  void set_payload(Packet& p, std::string_view payload) {
    if (payload.empty()) return;
    store_.emplace_back(payload);
    p.payload = reinterpret_cast<const uint8_t*>(store_.back().data());
    p.payload_len = static_cast<uint32_t>(payload.size());
  }
  std::deque<std::string> store_;
};

constexpr uint32_t kClientIp = 0x01010101;  // 1.1.1.1
constexpr uint32_t kServerIp = 0x02020202;  // 2.2.2.2

}  // namespace vigil::sensor::testing
