// EVE JSON output: one JSON object per line in LOGDIR/eve.json, with Suricata's field names.
//
// Thread-safety: EveWriter::write may be called from any thread; lines are written whole.
// Records are formatted by the calling thread; only the append is serialised.
#pragma once

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "vigil/core/result.h"
#include "vigil/core/time.h"
#include "vigil/sensor/packet.h"

namespace vigil::sensor {

using Json = nlohmann::ordered_json;

// Builds one EVE line as text, field by field, without an intermediate JSON tree: the records
// written per flow, alert and transaction are the sensor's most frequent output.
class EveLine {
 public:
  EveLine() { s_.reserve(512); s_ += '{'; }
  EveLine& str(std::string_view key, std::string_view value);
  EveLine& num(std::string_view key, uint64_t value);
  EveLine& boolean(std::string_view key, bool value);
  // `json` must already be valid JSON text (an object from nlohmann's dump(), ...).
  EveLine& raw(std::string_view key, std::string_view json);
  EveLine& begin(std::string_view key);  // nested object
  EveLine& end();
  // The finished line, with its newline.
  std::string& finish();

 private:
  void key(std::string_view k);
  std::string s_;
  bool first_ = true;
};

// Appends `v` as a JSON string literal (quotes, escapes; bytes >= 0x80 pass through).
void append_json_string(std::string& out, std::string_view v);

class EveWriter {
 public:
  static core::Result<std::unique_ptr<EveWriter>> open(const std::string& path);
  ~EveWriter();
  void write(const Json& record);
  // Writes a finished line (EveLine::finish()).
  void write_line(const std::string& line);
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

// The head of a packet-based record as an EveLine (same fields as eve_packet_head).
EveLine eve_packet_line(const Packet& p, const char* event_type, uint64_t flow_id);

// The common head of every packet-based record: timestamp, flow_id, pcap_cnt, event_type,
// addresses, ports (or ICMP type/code), proto.
Json eve_packet_head(const Packet& p, const char* event_type, uint64_t flow_id);

}  // namespace vigil::sensor
