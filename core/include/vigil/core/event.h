// Events as they travel from a sensor to the correlator (DESIGN §4), and the batch that carries
// them. Plain value types; the wire form lives behind vigil/core/codec.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/core/ip.h"
#include "vigil/core/time.h"

namespace vigil::core {

// Bumped only when a schema change alters the meaning of existing fields. Adding a field does
// not bump it: readers skip unknown fields.
inline constexpr uint32_t kSchemaVersion = 1;

enum class EventKind : uint8_t {
  kUnknown = 0,
  kAlert = 1,
  kFlow = 2,
  kHttp = 3,
  kDns = 4,
  kTls = 5,
  kClassification = 6,
};
inline constexpr int kEventKindCount = 7;

// "alert", "flow", "http", "dns", "tls", "classification" (EVE's event_type names).
std::string_view to_string(EventKind kind);
std::optional<EventKind> parse_event_kind(std::string_view text);

struct FlowTuple {
  IpAddress src_ip;
  IpAddress dst_ip;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint8_t proto = 0;  // IP protocol number (6 TCP, 17 UDP, 1 ICMP)
  friend bool operator==(const FlowTuple&, const FlowTuple&) = default;
};

struct AlertInfo {
  uint32_t gid = 1;
  uint32_t sid = 0;
  uint32_t rev = 0;
  std::string msg;
  std::string category;
  uint8_t severity = 3;  // 1 highest .. 4 lowest, as Suricata's priority
  std::string action;    // "allowed" / "blocked"
  friend bool operator==(const AlertInfo&, const AlertInfo&) = default;
};

// Classification labels (DESIGN §6) as the sensor stamps them; the correlator adds the tenant.
struct EventLabels {
  uint8_t sys_level = 0;  // 0 unknown, 1..5
  std::string importance;
  std::string pii;
  std::string secrecy;
  std::string tlp;
  std::vector<std::string> tags;
  friend bool operator==(const EventLabels&, const EventLabels&) = default;
};

struct Event {
  uint64_t id = 0;  // unique within its sensor
  Timestamp time;
  EventKind kind = EventKind::kUnknown;
  FlowTuple flow;
  std::string community_id;
  uint64_t flow_id = 0;
  uint16_t vlan = 0;
  uint32_t vni = 0;
  std::string app_proto;
  AlertInfo alert;       // meaningful when kind == kAlert
  std::string app_json;  // EVE app-layer object (http/dns/tls/...) as JSON text
  EventLabels labels;
  friend bool operator==(const Event&, const Event&) = default;
};

struct EventBatch {
  std::string sensor_id;
  uint64_t seq = 0;  // per-sensor, strictly increasing from 1
  uint32_t schema_version = kSchemaVersion;
  std::vector<Event> events;
  friend bool operator==(const EventBatch&, const EventBatch&) = default;
};

enum class AckStatus : uint8_t {
  kOk = 0,         // durable in the store
  kDuplicate = 1,  // already durable earlier: nothing stored again
  kRejected = 2,   // never acceptable (bad schema, sensor id mismatch): drop it, do not resend
  kRetry = 3,      // temporary failure on the correlator: resend later
};

struct BatchAck {
  std::string sensor_id;
  uint64_t seq = 0;
  AckStatus status = AckStatus::kOk;
  std::string reason;
  friend bool operator==(const BatchAck&, const BatchAck&) = default;
};

}  // namespace vigil::core
