// Key encodings of the store's column families (see vigil/store/store.h for the layout).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/core/alert.h"

namespace vigil::store::keys {

inline void put_be64(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out += static_cast<char>(v >> (8 * i));
}
inline void put_be32(std::string& out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out += static_cast<char>(v >> (8 * i));
}
inline uint64_t get_be64(std::string_view s, size_t at) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(s[at + i]);
  return v;
}
// Signed times sort correctly as unsigned big-endian once the sign bit is flipped.
inline uint64_t ordered_time(int64_t usec) { return static_cast<uint64_t>(usec) ^ (1ull << 63); }

inline void put_id(std::string& out, const core::RecordId& id) {
  auto b = id.bytes();
  out.append(reinterpret_cast<const char*>(b.data()), b.size());
}

inline std::string event_key(core::EventKind kind, int64_t time_usec, std::string_view sensor, uint64_t id) {
  std::string k;
  k.reserve(25);
  k += static_cast<char>(kind);
  put_be64(k, ordered_time(time_usec));
  put_be64(k, core::fnv1a64(sensor));
  put_be64(k, id);
  return k;
}
inline std::string event_key(const core::EventRef& r) { return event_key(r.kind, r.time.usec, r.sensor, r.id); }
inline std::string event_time_bound(core::EventKind kind, int64_t time_usec) {
  std::string k;
  k += static_cast<char>(kind);
  put_be64(k, ordered_time(time_usec));
  return k;
}

inline std::string alert_key(const core::RecordId& id) {
  std::string k;
  put_id(k, id);
  return k;
}
inline std::string time_bound(int64_t time_usec) { return alert_key(core::RecordId{time_usec, 0}); }

inline std::string incident_key(const core::RecordId& id) {
  std::string k = alert_key(id);
  k += '\0';
  return k;
}
inline std::string incident_change_key(const core::RecordId& id, uint64_t seq) {
  std::string k = alert_key(id);
  k += '\1';
  put_be64(k, seq);
  return k;
}

// Secondary index tags.
enum IndexTag : char {
  kTenant = 'T',
  kSrcIp = 'S',
  kDstIp = 'D',
  kSignature = 'G',
  kStatus = 'Z',
  kAssignee = 'A',
  kSeverity = 'V',
  // Composite: tenant and status, for the console's "this tenant's new alerts" queue, which
  // neither index answers alone: 'C' · len(1) · tenant · status(1) · alert id(16).
  kTenantStatus = 'C',
  // Not an index: an alert's contributing event refs, appended in chunks (put_alert writes only
  // the refs added since the stored version): 'R' · alert id(16) · first ref index(2) -> refs.
  kEventRefs = 'R',
};

// Flow index of protocol records: 'F' · fnv64(sensor)(8) · flow id(8) · time(8) · hash(8) -> event
// key. Ends like an alert id (time first), so the index compaction filter ages it out too.
inline std::string flow_index_prefix(std::string_view sensor, uint64_t flow_id) {
  std::string k(1, 'F');
  put_be64(k, core::fnv1a64(sensor));
  put_be64(k, flow_id);
  return k;
}

inline std::string alert_refs_prefix(const core::RecordId& id) {
  std::string k(1, static_cast<char>(kEventRefs));
  put_id(k, id);
  return k;
}
inline std::string alert_refs_key(const core::RecordId& id, uint16_t start) {
  std::string k = alert_refs_prefix(id);
  k += static_cast<char>(start >> 8);
  k += static_cast<char>(start & 0xff);
  return k;
}

inline std::string index_prefix_str(IndexTag tag, std::string_view field) {
  std::string k;
  k += static_cast<char>(tag);
  k += static_cast<char>(std::min<size_t>(field.size(), 255));
  k.append(field.substr(0, 255));
  return k;
}
inline std::string index_prefix_ip(IndexTag tag, const core::IpAddress& ip) {
  std::string k;
  k += static_cast<char>(tag);
  const auto& b = ip.bytes();
  k.append(reinterpret_cast<const char*>(b.data()), b.size());
  return k;
}
inline std::string index_prefix_sig(uint32_t gid, uint32_t sid) {
  std::string k;
  k += static_cast<char>(kSignature);
  put_be32(k, gid);
  put_be32(k, sid);
  return k;
}
inline std::string index_prefix_byte(IndexTag tag, uint8_t v) {
  std::string k;
  k += static_cast<char>(tag);
  k += static_cast<char>(v);
  return k;
}

inline std::string index_prefix_tenant_status(std::string_view tenant, core::AlertStatus status) {
  std::string k = index_prefix_str(kTenantStatus, tenant);
  k += static_cast<char>(status);
  return k;
}

// The index layout version written to meta (Store::open adds entries an older layout lacks).
inline constexpr const char* kIndexVersionKey = "store/index_version";
inline constexpr const char* kIndexVersion = "2";  // 2: + kTenantStatus

// Every index key of an alert (prefix + alert id). A field read here must also be compared by
// same_index_fields() in store.cpp (which skips this for updates that change no indexed field).
inline std::vector<std::string> index_keys(const core::Alert& a) {
  std::vector<std::string> out;
  out.push_back(index_prefix_str(kTenant, a.tenant));
  out.push_back(index_prefix_ip(kSrcIp, a.flow.src_ip));
  out.push_back(index_prefix_ip(kDstIp, a.flow.dst_ip));
  out.push_back(index_prefix_sig(a.gid, a.sid));
  out.push_back(index_prefix_byte(kStatus, static_cast<uint8_t>(a.status)));
  out.push_back(index_prefix_tenant_status(a.tenant, a.status));
  out.push_back(index_prefix_byte(kSeverity, a.severity));
  if (!a.assignee.empty()) out.push_back(index_prefix_str(kAssignee, a.assignee));
  for (auto& k : out) put_id(k, a.id);
  return out;
}

}  // namespace vigil::store::keys
