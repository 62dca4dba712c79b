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

void EveWriter::write_line(const std::string& line) {
  std::lock_guard lock(mu_);
  std::fwrite(line.data(), 1, line.size(), f_);
  ++records_;
}

void EveWriter::flush() {
  std::lock_guard lock(mu_);
  std::fflush(f_);
}

void append_json_string(std::string& out, std::string_view v) {
  static const char kHex[] = "0123456789abcdef";
  out += '"';
  for (char ch : v) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

void EveLine::key(std::string_view k) {
  if (!first_) s_ += ',';
  first_ = false;
  s_ += '"';
  s_ += k;  // keys are our own identifiers: nothing to escape
  s_ += "\":";
}

EveLine& EveLine::str(std::string_view k, std::string_view v) {
  key(k);
  append_json_string(s_, v);
  return *this;
}

EveLine& EveLine::num(std::string_view k, uint64_t v) {
  key(k);
  s_ += std::to_string(v);
  return *this;
}

EveLine& EveLine::boolean(std::string_view k, bool v) {
  key(k);
  s_ += v ? "true" : "false";
  return *this;
}

EveLine& EveLine::raw(std::string_view k, std::string_view json) {
  key(k);
  s_ += json;
  return *this;
}

EveLine& EveLine::begin(std::string_view k) {
  key(k);
  s_ += '{';
  first_ = true;
  return *this;
}

EveLine& EveLine::end() {
  s_ += '}';
  first_ = false;
  return *this;
}

std::string& EveLine::finish() {
  s_ += "}\n";
  return s_;
}

EveLine eve_packet_line(const Packet& p, const char* event_type, uint64_t flow_id) {
  EveLine l;
  l.str("timestamp", core::format_eve_time(p.ts));
  if (flow_id) l.num("flow_id", flow_id);
  if (p.pcap_cnt) l.num("pcap_cnt", p.pcap_cnt);
  l.str("event_type", event_type);
  if (p.vlan_count) {
    std::string v = "[";
    for (int i = 0; i < p.vlan_count; ++i) v += (i ? "," : "") + std::to_string(p.vlan[i]);
    v += ']';
    l.raw("vlan", v);
  }
  bool ports = p.has_l4 && (p.proto == 6 || p.proto == 17 || p.proto == 132);
  l.str("src_ip", p.src.to_string());
  if (ports) l.num("src_port", p.sport);
  l.str("dest_ip", p.dst.to_string());
  if (ports) l.num("dest_port", p.dport);
  l.str("proto", eve_proto_name(p.proto));
  if (p.is_icmp()) {
    l.num("icmp_type", p.icmp.type);
    l.num("icmp_code", p.icmp.code);
  }
  return l;
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
