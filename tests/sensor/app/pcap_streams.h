// Test helper: reads a capture with libpcap and turns its TCP connections into in-order byte
// chunks per direction (a deliberately small reassembler: first copy of a byte wins, no
// timeouts), and its UDP datagrams into payload events. Only for tests of the app-layer parsers,
// which must not depend on the real stream engine.
#pragma once

#include <pcap/pcap.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace vigil::test {

struct StreamEvent {
  size_t flow = 0;         // index into PcapStreams::flows
  bool to_server = true;
  bool close = false;      // the flow ended (emitted once per flow, after all data)
  std::vector<uint8_t> data;
};

struct StreamFlow {
  uint8_t proto = 6;
  uint16_t client_port = 0, server_port = 0;
};

struct PcapStreams {
  bool ok = false;
  std::string error;
  std::vector<StreamFlow> flows;
  std::vector<StreamEvent> events;
};

namespace detail {

struct Dir {
  bool have_base = false;
  uint32_t next = 0;                                  // next expected sequence number
  std::map<uint32_t, std::vector<uint8_t>> pending;   // relative seq -> bytes, out of order
  uint32_t base = 0;                                  // ISN + 1
  uint32_t rel_next = 0;                              // next expected, relative to base
};

struct Conn {
  size_t index = 0;
  std::string client;  // "addr:port" of the connection's client
  Dir dir[2];          // [1] to server, [0] to client
};

inline uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

}  // namespace detail

inline PcapStreams read_pcap_streams(const std::string& path) {
  PcapStreams out;
  char errbuf[PCAP_ERRBUF_SIZE];
  pcap_t* pc = pcap_open_offline(path.c_str(), errbuf);
  if (pc == nullptr) {
    out.error = errbuf;
    return out;
  }
  const int dlt = pcap_datalink(pc);
  std::map<std::string, detail::Conn> conns;  // keyed by sorted endpoint pair
  pcap_pkthdr* hdr = nullptr;
  const u_char* pkt = nullptr;
  while (pcap_next_ex(pc, &hdr, &pkt) == 1) {
    const uint8_t* p = pkt;
    size_t n = hdr->caplen;
    if (dlt == DLT_EN10MB) {
      if (n < 14) continue;
      uint16_t et = detail::be16(p + 12);
      p += 14;
      n -= 14;
      while ((et == 0x8100 || et == 0x88a8) && n >= 4) {
        et = detail::be16(p + 2);
        p += 4;
        n -= 4;
      }
      if (et != 0x0800 && et != 0x86dd) continue;
    } else if (dlt == DLT_LINUX_SLL) {
      if (n < 16) continue;
      p += 16;
      n -= 16;
    } else if (dlt == DLT_NULL) {
      if (n < 4) continue;
      p += 4;
      n -= 4;
    } else if (dlt != DLT_RAW && dlt != 12 && dlt != 101) {
      continue;
    }
    if (n < 1) continue;
    uint8_t proto = 0;
    std::string src, dst;
    const uint8_t* l4 = nullptr;
    size_t l4len = 0;
    const int ver = p[0] >> 4;
    if (ver == 4) {
      if (n < 20) continue;
      const size_t ihl = (p[0] & 0xf) * 4u;
      const size_t tot = detail::be16(p + 2);
      if (ihl < 20 || tot < ihl || n < ihl) continue;
      if ((detail::be16(p + 6) & 0x3fff) != 0) continue;  // fragments: not handled here
      proto = p[9];
      src.assign(reinterpret_cast<const char*>(p + 12), 4);
      dst.assign(reinterpret_cast<const char*>(p + 16), 4);
      l4 = p + ihl;
      l4len = std::min(n, tot) - ihl;
    } else if (ver == 6) {
      if (n < 40) continue;
      proto = p[6];
      src.assign(reinterpret_cast<const char*>(p + 8), 16);
      dst.assign(reinterpret_cast<const char*>(p + 24), 16);
      l4 = p + 40;
      l4len = std::min<size_t>(n - 40, detail::be16(p + 4));
    } else {
      continue;
    }
    if (proto != 6 && proto != 17) continue;
    if (l4len < (proto == 6 ? 20u : 8u)) continue;
    const uint16_t sport = detail::be16(l4), dport = detail::be16(l4 + 2);
    const std::string a = src + ":" + std::to_string(sport);
    const std::string b = dst + ":" + std::to_string(dport);
    const std::string key = std::to_string(proto) + (a < b ? a + "|" + b : b + "|" + a);
    auto it = conns.find(key);
    if (proto == 17) {
      if (it == conns.end()) {
        it = conns.emplace(key, detail::Conn{}).first;
        it->second.index = out.flows.size();
        it->second.client = a;
        out.flows.push_back({17, sport, dport});
      }
      const bool ts = it->second.client == a;
      const size_t ulen = std::min<size_t>(l4len, detail::be16(l4 + 4));
      if (ulen < 8) continue;
      out.events.push_back({it->second.index, ts, false, {l4 + 8, l4 + ulen}});
      continue;
    }
    const uint8_t flags = l4[13];
    const size_t thl = (l4[12] >> 4) * 4u;
    if (thl < 20 || thl > l4len) continue;
    const uint32_t seq = detail::be32(l4 + 4);
    if (it == conns.end()) {
      it = conns.emplace(key, detail::Conn{}).first;
      it->second.index = out.flows.size();
      // The SYN sender is the client; without a SYN, the first sender (SYN-ACK: the receiver).
      const bool synack = (flags & 0x12) == 0x12;
      it->second.client = synack ? b : a;
      out.flows.push_back({6, synack ? dport : sport, synack ? sport : dport});
    }
    detail::Conn& c = it->second;
    const bool ts = c.client == a;
    detail::Dir& d = c.dir[ts ? 1 : 0];
    if (flags & 0x02) {  // SYN
      if (!d.have_base) {
        d.have_base = true;
        d.base = seq + 1;
      }
      continue;
    }
    const uint8_t* data = l4 + thl;
    const size_t dlen = l4len - thl;
    if (dlen == 0) continue;
    if (!d.have_base) {
      d.have_base = true;
      d.base = seq;
    }
    const uint32_t rel = seq - d.base;
    if (rel > 0x7fffffffu) continue;  // before the start
    uint32_t start = rel;
    const uint8_t* dp = data;
    size_t dl = dlen;
    if (start < d.rel_next) {  // overlaps what was already delivered: keep the new part
      const uint32_t skip = d.rel_next - start;
      if (skip >= dl) continue;
      dp += skip;
      dl -= skip;
      start = d.rel_next;
    }
    auto& slot = d.pending[start];
    if (slot.size() < dl) slot.assign(dp, dp + dl);  // first copy wins unless longer
    std::vector<uint8_t> ready;
    for (auto pit = d.pending.begin(); pit != d.pending.end() && pit->first <= d.rel_next;) {
      const uint32_t off = d.rel_next - pit->first;
      if (off < pit->second.size()) {
        ready.insert(ready.end(), pit->second.begin() + off, pit->second.end());
        d.rel_next += static_cast<uint32_t>(pit->second.size() - off);
      }
      pit = d.pending.erase(pit);
    }
    if (!ready.empty()) out.events.push_back({c.index, ts, false, std::move(ready)});
  }
  pcap_close(pc);
  for (size_t i = 0; i < out.flows.size(); ++i) out.events.push_back({i, true, true, {}});
  out.ok = true;
  return out;
}

}  // namespace vigil::test
