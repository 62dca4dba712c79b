// Packet capture: pcap/pcapng files and live interfaces, through libpcap.
//
// A PacketSource hands out packets one at a time. The bytes a RawPacket points to belong to
// the source and stay valid only until the next call to next() (libpcap reuses its buffer);
// copy them if they must live longer.
//
// Threading: a PacketSource is used by one thread (the reader). Only break_loop() may be called
// from another thread, to make a blocked next() return.
//
// Errors: opening returns a core::Result whose Error names the file or interface. next() never
// throws; on ReadStatus::kError, last_error() says why.
//
//   auto src = PacketSource::open_file("x.pcap", "tcp port 80");
//   if (!src) { log(src.error().to_string()); return; }
//   RawPacket raw;
//   while ((*src)->next(raw) == ReadStatus::kOk) { Packet p = to_packet(raw, ++n); ... }
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "vigil/core/result.h"
#include "vigil/core/time.h"
#include "vigil/sensor/packet.h"

namespace vigil::sensor {

struct RawPacket {
  const uint8_t* data = nullptr;  // owned by the source, valid until the next next() call
  uint32_t caplen = 0;            // bytes captured
  uint32_t wirelen = 0;           // bytes on the wire
  core::Timestamp ts;
  int datalink = 1;               // DLT_* of the source
};

enum class ReadStatus {
  kOk,       // `out` holds a packet
  kEnd,      // end of file, or break_loop() was called
  kTimeout,  // live capture only: no packet within the read timeout; call next() again
  kError,    // see last_error(); the source is unusable
};

struct CaptureStats {
  uint64_t packets = 0;          // packets returned by next()
  uint64_t bytes = 0;            // captured bytes returned by next()
  // Live capture only (pcap_stats): what the kernel saw and dropped since open.
  uint64_t kernel_received = 0;
  uint64_t kernel_dropped = 0;   // no room in the capture buffer
  uint64_t if_dropped = 0;       // dropped by the interface or driver
};

struct LiveOptions {
  int snaplen = 262144;
  bool promisc = true;
  int buffer_size_mb = 64;  // kernel ring (TPACKET_V3 on Linux)
  int timeout_ms = 100;     // how long next() waits before returning kTimeout
};

class PacketSource {
 public:
  virtual ~PacketSource() = default;

  // Opens a pcap or pcapng file. `bpf`, when not empty, is compiled (pcap_compile) and only
  // matching packets are returned. The Error names the file (and the filter when it is bad).
  static core::Result<std::unique_ptr<PacketSource>> open_file(const std::string& path,
                                                               const std::string& bpf = {});

  // Opens a live interface with pcap_create (immediate mode, `buffer_size_mb` of ring).
  // Needs CAP_NET_RAW. The Error names the interface.
  static core::Result<std::unique_ptr<PacketSource>> open_live(const std::string& iface,
                                                               const std::string& bpf = {},
                                                               const LiveOptions& options = {});

  // Reads the next packet into `out`.
  virtual ReadStatus next(RawPacket& out) = 0;
  // Makes a blocked or later next() return kEnd. Safe from another thread or a signal handler.
  virtual void break_loop() = 0;
  // Counters; for live sources this calls pcap_stats.
  [[nodiscard]] virtual CaptureStats stats() const = 0;
  [[nodiscard]] virtual int datalink() const = 0;
  [[nodiscard]] virtual int snaplen() const = 0;
  [[nodiscard]] virtual const std::string& name() const = 0;  // file path or interface
  [[nodiscard]] virtual const std::string& last_error() const = 0;
};

// A Packet ready for Decoder::decode: capture fields copied, `pcap_cnt` set (1-based).
inline Packet to_packet(const RawPacket& raw, uint64_t pcap_cnt) {
  Packet p;
  p.data = raw.data;
  p.caplen = raw.caplen;
  p.wirelen = raw.wirelen;
  p.ts = raw.ts;
  p.datalink = raw.datalink;
  p.pcap_cnt = pcap_cnt;
  return p;
}

}  // namespace vigil::sensor
