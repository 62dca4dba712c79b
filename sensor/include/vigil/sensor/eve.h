// EVE JSON output: one JSON object per line in LOGDIR/eve.json, with Suricata's field names.
//
// Thread-safety: EveWriter::write may be called from any thread; lines are written whole.
// Records are formatted by the calling thread; only the append is serialised.
#pragma once

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "vigil/core/result.h"
#include "vigil/core/time.h"
#include "vigil/sensor/packet.h"

namespace vigil::sensor {

using Json = nlohmann::ordered_json;

class EveWriter {
 public:
  static core::Result<std::unique_ptr<EveWriter>> open(const std::string& path);
  ~EveWriter();
  void write(const Json& record);
  void flush();
  [[nodiscard]] uint64_t records() const { return records_; }

 private:
  EveWriter() = default;
  std::mutex mu_;
  FILE* f_ = nullptr;
  uint64_t records_ = 0;
};

// "TCP", "UDP", "ICMP", "IPv6-ICMP", or the protocol number as text.
std::string eve_proto_name(uint8_t proto);

// The common head of every packet-based record: timestamp, flow_id, pcap_cnt, event_type,
// addresses, ports (or ICMP type/code), proto.
Json eve_packet_head(const Packet& p, const char* event_type, uint64_t flow_id);

}  // namespace vigil::sensor
