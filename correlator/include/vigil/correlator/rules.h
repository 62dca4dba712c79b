// Correlation rules (DESIGN §5), YAML in the shape of Sigma's correlation rules:
//
//   filters:                      # named event filters (Sigma's base rules)
//     ssh-fail: {kind: alert, signature_id: [2001219]}
//   correlations:
//     - id: ssh-bruteforce
//       title: SSH brute force
//       type: event_count         # event_count | value_count | temporal | temporal_ordered
//       rules: [ssh-fail]         # filters it counts (temporal*: all of them / in this order)
//       group-by: [src_ip]        # src_ip dest_ip dest_port signature_id tenant sensor community_id
//       timespan: 60s
//       condition: {gte: 10}      # value_count: {field: dest_ip, gte: 20}
//       severity: 1
//       escalate: true            # open an incident when it fires
//
// Validation happens at load; every error names the file and the key. A loaded RuleSet is
// immutable; reload builds a new one.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vigil/core/alert.h"
#include "vigil/core/result.h"

namespace vigil::correlator {

struct EventFilter {
  std::string name;
  std::vector<core::EventKind> kinds;
  std::vector<uint32_t> sids;
  std::optional<uint32_t> gid;
  std::vector<std::string> categories;
  std::string msg_contains;
  std::optional<uint8_t> max_severity;
  std::vector<core::Cidr> src_nets;
  std::vector<core::Cidr> dst_nets;
  std::vector<uint16_t> dst_ports;
  std::optional<uint8_t> proto;
  std::string app_proto;
  std::vector<std::string> tenants;
  std::optional<bool> intel;

  [[nodiscard]] bool matches(const core::StoredEvent& e) const;
};

enum class CorrelationType { kEventCount, kValueCount, kTemporal, kTemporalOrdered };
std::string_view to_string(CorrelationType t);

enum class Field { kSrcIp, kDstIp, kDstPort, kSignature, kTenant, kSensor, kCommunityId };

struct CorrelationRule {
  std::string id;
  std::string title;
  CorrelationType type = CorrelationType::kEventCount;
  std::vector<size_t> filters;  // indexes into RuleSet::filters
  std::vector<Field> group_by;
  int64_t timespan_usec = 0;
  uint64_t gte = 1;
  std::optional<Field> value_field;  // value_count
  uint8_t severity = 2;
  bool escalate = false;
  std::string source;  // file it came from

  [[nodiscard]] std::string group_key(const core::StoredEvent& e) const;
};

struct RuleSet {
  std::vector<EventFilter> filters;
  std::vector<CorrelationRule> rules;
};

// Field value as text (for group keys and value_count).
std::string field_value(Field f, const core::StoredEvent& e);

// Loads and validates every file; filter names are global across the files.
core::Result<std::shared_ptr<const RuleSet>> load_rules(const std::vector<std::string>& files);

}  // namespace vigil::correlator
