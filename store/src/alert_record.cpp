#include "alert_record.h"

#include <cstring>

namespace vigil::store {

namespace {

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  void u8(uint8_t v) { out_ += static_cast<char>(v); }
  void varint(uint64_t v) {
    while (v >= 0x80) {
      out_ += static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    out_ += static_cast<char>(v);
  }
  void i64(int64_t v) {  // fixed 8 bytes little-endian: times are large and signed
    uint64_t u = static_cast<uint64_t>(v);
    char b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(u >> (8 * i));
    out_.append(b, 8);
  }
  void str(const std::string& s) {
    varint(s.size());
    out_ += s;
  }
  void strs(const std::vector<std::string>& v) {
    varint(v.size());
    for (const auto& s : v) str(s);
  }
  void ip(const core::IpAddress& a) {
    u8(a.is_v4() ? 4 : 6);
    if (a.is_v4()) out_.append(reinterpret_cast<const char*>(a.bytes().data()) + 12, 4);
    else out_.append(reinterpret_cast<const char*>(a.bytes().data()), 16);
  }

 private:
  std::string& out_;
};

class Reader {
 public:
  explicit Reader(std::string_view v) : v_(v) {}
  bool ok() const { return ok_; }
  bool done() const { return at_ == v_.size(); }
  uint8_t u8() {
    if (!need(1)) return 0;
    return static_cast<uint8_t>(v_[at_++]);
  }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (!need(1)) return 0;
      auto b = static_cast<uint8_t>(v_[at_++]);
      v |= uint64_t{b & 0x7fu} << shift;
      if (!(b & 0x80)) return v;
    }
    ok_ = false;
    return 0;
  }
  int64_t i64() {
    if (!need(8)) return 0;
    uint64_t u = 0;
    for (int i = 7; i >= 0; --i) u = (u << 8) | static_cast<uint8_t>(v_[at_ + i]);
    at_ += 8;
    return static_cast<int64_t>(u);
  }
  void str(std::string& s) {
    uint64_t n = varint();
    if (!need(n)) return;
    s.assign(v_.data() + at_, n);
    at_ += n;
  }
  void strs(std::vector<std::string>& v) {
    uint64_t n = varint();
    if (n > v_.size() - at_) {  // each string takes at least one byte
      ok_ = false;
      return;
    }
    v.resize(n);
    for (auto& s : v) str(s);
  }
  core::IpAddress ip() {
    uint8_t fam = u8();
    size_t n = fam == 4 ? 4 : fam == 6 ? 16 : 0;
    if (n == 0) ok_ = false;
    if (!need(n)) return {};
    auto p = reinterpret_cast<const uint8_t*>(v_.data() + at_);
    at_ += n;
    return fam == 4 ? core::IpAddress::v4_bytes(p) : core::IpAddress::v6_bytes(p);
  }

 private:
  bool need(uint64_t n) {
    if (!ok_ || n > v_.size() - at_) {
      ok_ = false;
      return false;
    }
    return true;
  }
  std::string_view v_;
  size_t at_ = 0;
  bool ok_ = true;
};

}  // namespace

void encode_alert_record(const core::Alert& a, uint64_t event_refs, std::string& out) {
  Writer w(out);
  w.u8(kAlertRecordV1);
  w.str(a.tenant);
  w.str(a.sensor);
  w.str(a.rule);
  w.str(a.rule_type);
  w.str(a.group);
  w.u8(a.severity);
  w.str(a.signature);
  w.varint(a.gid);
  w.varint(a.sid);
  w.varint(a.rev);
  w.str(a.category);
  w.ip(a.flow.src_ip);
  w.ip(a.flow.dst_ip);
  w.varint(a.flow.src_port);
  w.varint(a.flow.dst_port);
  w.u8(a.flow.proto);
  w.str(a.community_id);
  w.i64(a.first_seen.usec);
  w.i64(a.last_seen.usec);
  w.varint(a.count);
  w.varint(event_refs);
  w.strs(a.intel);
  w.u8(a.labels.sys_level);
  w.str(a.labels.importance);
  w.str(a.labels.pii);
  w.str(a.labels.secrecy);
  w.str(a.labels.tlp);
  w.strs(a.labels.tags);
  w.str(a.level);
  w.strs(a.level_reasons);
  w.u8(static_cast<uint8_t>(a.status));
  w.str(a.verdict);
  w.str(a.assignee);
  w.varint(a.notes.size());
  for (const auto& n : a.notes) {
    w.i64(n.time.usec);
    w.str(n.author);
    w.str(n.text);
  }
  w.str(a.incident);
  w.i64(a.updated.usec);
  w.i64(a.acknowledged.usec);
  w.i64(a.closed.usec);
}

bool decode_alert_record(std::string_view v, core::Alert& a, uint64_t& event_refs) {
  Reader r(v);
  if (r.u8() != kAlertRecordV1) return false;
  r.str(a.tenant);
  r.str(a.sensor);
  r.str(a.rule);
  r.str(a.rule_type);
  r.str(a.group);
  a.severity = r.u8();
  r.str(a.signature);
  a.gid = static_cast<uint32_t>(r.varint());
  a.sid = static_cast<uint32_t>(r.varint());
  a.rev = static_cast<uint32_t>(r.varint());
  r.str(a.category);
  a.flow.src_ip = r.ip();
  a.flow.dst_ip = r.ip();
  a.flow.src_port = static_cast<uint16_t>(r.varint());
  a.flow.dst_port = static_cast<uint16_t>(r.varint());
  a.flow.proto = r.u8();
  r.str(a.community_id);
  a.first_seen.usec = r.i64();
  a.last_seen.usec = r.i64();
  a.count = r.varint();
  event_refs = r.varint();
  r.strs(a.intel);
  a.labels.sys_level = r.u8();
  r.str(a.labels.importance);
  r.str(a.labels.pii);
  r.str(a.labels.secrecy);
  r.str(a.labels.tlp);
  r.strs(a.labels.tags);
  r.str(a.level);
  r.strs(a.level_reasons);
  uint8_t status = r.u8();
  if (status > static_cast<uint8_t>(core::AlertStatus::kClosed)) return false;
  a.status = static_cast<core::AlertStatus>(status);
  r.str(a.verdict);
  r.str(a.assignee);
  uint64_t notes = r.varint();
  if (!r.ok() || notes > v.size()) return false;
  a.notes.resize(notes);
  for (auto& n : a.notes) {
    n.time.usec = r.i64();
    r.str(n.author);
    r.str(n.text);
  }
  r.str(a.incident);
  a.updated.usec = r.i64();
  a.acknowledged.usec = r.i64();
  a.closed.usec = r.i64();
  return r.ok() && r.done();
}

}  // namespace vigil::store
