// Alert and incident records (DESIGN §5, §7): what the correlator produces, the store keeps and
// the console shows. Plain value types with a JSON form (the store's value encoding and the
// query tools' output).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "vigil/core/event.h"
#include "vigil/core/result.h"

namespace vigil::core {

// Alert and incident ids are time-ordered: 8 bytes of creation time (big-endian, sign-flipped)
// then 8 bytes of a hash that makes them unique. Text form: 32 lowercase hex digits. A record's
// id is derived from its contents (rule, group key, first event), so replaying the same events
// yields the same ids.
struct RecordId {
  int64_t time_usec = 0;
  uint64_t hash = 0;

  [[nodiscard]] std::array<uint8_t, 16> bytes() const;
  static RecordId from_bytes(const uint8_t* p);
  [[nodiscard]] std::string to_string() const;
  static std::optional<RecordId> parse(std::string_view hex);
  [[nodiscard]] bool empty() const { return time_usec == 0 && hash == 0; }
  friend auto operator<=>(const RecordId&, const RecordId&) = default;
};

enum class AlertStatus : uint8_t { kNew = 0, kAcknowledged = 1, kInProgress = 2, kClosed = 3 };
std::string_view to_string(AlertStatus s);  // "new", "acknowledged", "in-progress", "closed"
std::optional<AlertStatus> parse_alert_status(std::string_view text);

// Where one contributing event is stored: enough to build its key in the events column family.
struct EventRef {
  Timestamp time;
  EventKind kind = EventKind::kUnknown;
  std::string sensor;
  uint64_t id = 0;
  friend bool operator==(const EventRef&, const EventRef&) = default;
};

// An event as the correlator stores it: the sensor's record plus what ingest added.
struct StoredEvent {
  Event event;
  std::string sensor;
  std::string tenant;
  std::vector<std::string> intel;  // threat-intel list entries it matched ("ip:bad-ips")
  [[nodiscard]] EventRef ref() const { return {event.time, event.kind, sensor, event.id}; }
  friend bool operator==(const StoredEvent&, const StoredEvent&) = default;
};

struct Note {
  Timestamp time;
  std::string author;
  std::string text;
  friend bool operator==(const Note&, const Note&) = default;
};

// At most this many contributing event refs are kept on one alert; `count` keeps the total.
inline constexpr size_t kMaxEventRefs = 256;

struct Alert {
  RecordId id;
  std::string tenant;
  std::string sensor;
  std::string rule;  // correlation rule id; "aggregate" for the built-in aggregation
  std::string rule_type;  // "aggregate", "event_count", "value_count", "temporal", "temporal_ordered"
  std::string group;  // the group-by key's value, as text
  uint8_t severity = 3;
  std::string signature;  // message of the signature (or the rule's title)
  uint32_t gid = 0;
  uint32_t sid = 0;
  uint32_t rev = 0;
  std::string category;
  FlowTuple flow;
  std::string community_id;
  Timestamp first_seen;
  Timestamp last_seen;
  uint64_t count = 0;
  std::vector<EventRef> events;
  std::vector<std::string> intel;
  EventLabels labels;
  // Handling level (DESIGN §6): "public", "internal", "confidential", "secret", "top-secret",
  // set by the policy engine at ingest, with the reasons it was chosen.
  std::string level = "internal";
  std::vector<std::string> level_reasons;
  AlertStatus status = AlertStatus::kNew;
  std::string verdict;  // set when closed: "true-positive", "false-positive", "benign", ...
  std::string assignee;
  std::vector<Note> notes;
  std::string incident;  // incident id, when escalated
  Timestamp updated;
  // When an analyst first acknowledged it and when it was closed (0 = not yet): the console's
  // mean time to acknowledge / resolve. Analyst-owned like status and verdict.
  Timestamp acknowledged;
  Timestamp closed;
  friend bool operator==(const Alert&, const Alert&) = default;
};

struct Incident {
  RecordId id;
  std::string tenant;
  std::string title;
  std::string rule;  // escalating rule, or empty when made by hand
  uint8_t severity = 3;
  std::string level = "internal";  // the highest level of its alerts
  std::vector<std::string> level_reasons;
  AlertStatus status = AlertStatus::kNew;
  std::string verdict;
  std::string assignee;
  std::vector<RecordId> alerts;
  std::vector<Note> notes;
  Timestamp created;
  Timestamp updated;
  friend bool operator==(const Incident&, const Incident&) = default;
};

// One entry of an incident's history (created, alert added, status, assignment, note).
struct IncidentChange {
  Timestamp time;
  std::string actor;
  std::string action;
  std::string detail;
  friend bool operator==(const IncidentChange&, const IncidentChange&) = default;
};

nlohmann::json to_json(const Event& e);
nlohmann::json to_json(const StoredEvent& e);
nlohmann::json to_json(const Alert& a);
nlohmann::json to_json(const Incident& i);
nlohmann::json to_json(const IncidentChange& c);
Result<Alert> alert_from_json(const nlohmann::json& j);
Result<Incident> incident_from_json(const nlohmann::json& j);
Result<IncidentChange> incident_change_from_json(const nlohmann::json& j);

// 64-bit FNV-1a, for deterministic ids and keys (not for security).
uint64_t fnv1a64(std::string_view data, uint64_t seed = 14695981039346656037ull);

}  // namespace vigil::core
