#include "vigil/sensor/eve.h"

#include <cerrno>
#include <cstring>

namespace vigil::sensor {

core::Result<std::unique_ptr<EveWriter>> EveWriter::open(const std::string& path) {
  std::unique_ptr<EveWriter> w(new EveWriter());
  w->f_ = std::fopen(path.c_str(), "w");
  if (!w->f_) return core::make_error(std::string("cannot open for writing: ") + std::strerror(errno), path);
  std::setvbuf(w->f_, nullptr, _IOFBF, 1 << 20);
  return w;
}

EveWriter::~EveWriter() {
  if (f_) std::fclose(f_);
}

void EveWriter::write(const Json& record) {
  std::string line = record.dump(-1, ' ', false, Json::error_handler_t::replace);
  line += '\n';
  std::lock_guard lock(mu_);
  std::fwrite(line.data(), 1, line.size(), f_);
  ++records_;
}

void EveWriter::flush() {
  std::lock_guard lock(mu_);
  std::fflush(f_);
}

std::string eve_proto_name(uint8_t proto) {
  switch (proto) {
    case 1: return "ICMP";
    case 2: return "IGMP";
    case 6: return "TCP";
    case 17: return "UDP";
    case 47: return "GRE";
    case 50: return "ESP";
    case 58: return "IPv6-ICMP";
    case 132: return "SCTP";
    default: return std::to_string(proto);
  }
}

Json eve_packet_head(const Packet& p, const char* event_type, uint64_t flow_id) {
  Json j;
  j["timestamp"] = core::format_eve_time(p.ts);
  if (flow_id) j["flow_id"] = flow_id;
  if (p.pcap_cnt) j["pcap_cnt"] = p.pcap_cnt;
  j["event_type"] = event_type;
  if (p.vlan_count) {
    Json v = Json::array();
    for (int i = 0; i < p.vlan_count; ++i) v.push_back(p.vlan[i]);
    j["vlan"] = v;
  }
  j["src_ip"] = p.src.to_string();
  bool ports = p.has_l4 && (p.proto == 6 || p.proto == 17 || p.proto == 132);
  if (ports) j["src_port"] = p.sport;
  j["dest_ip"] = p.dst.to_string();
  if (ports) j["dest_port"] = p.dport;
  j["proto"] = eve_proto_name(p.proto);
  if (p.is_icmp()) {
    j["icmp_type"] = p.icmp.type;
    j["icmp_code"] = p.icmp.code;
  }
  return j;
}

}  // namespace vigil::sensor
