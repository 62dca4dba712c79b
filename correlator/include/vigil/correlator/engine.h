// The correlator's label → enrich → correlate stages (DESIGN §5) over one ordered event stream.
//
// Everything the engine decides is a function of the events it is given, in order (times are
// event times, never the wall clock), so replaying the same events gives the same alerts with
// the same ids. Its window state is written to the store in the same atomic commit as the events
// that changed it (flush_into), and restore() rebuilds it after a restart: a crash loses nothing
// and changes nothing.
//
// Not thread-safe: the persist thread owns it.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "vigil/core/alert.h"
#include "vigil/correlator/config.h"
#include "vigil/correlator/intel.h"
#include "vigil/correlator/rules.h"
#include "vigil/policy/policy.h"
#include "vigil/store/store.h"

namespace vigil::correlator {

struct EngineCounters {
  uint64_t events = 0;
  uint64_t alerts_created = 0;
  uint64_t alerts_updated = 0;
  uint64_t rule_alerts = 0;
  uint64_t incidents_created = 0;
  uint64_t intel_matches = 0;
};

class Engine {
 public:
  Engine(std::shared_ptr<const CorrelatorConfig> config, std::shared_ptr<const RuleSet> rules,
         std::shared_ptr<const ThreatIntel> intel);

  // Swaps rules and intel lists; window state of rules whose id and type are unchanged is kept,
  // the rest is dropped (and deleted from the store at the next flush).
  void reload(std::shared_ptr<const RuleSet> rules, std::shared_ptr<const ThreatIntel> intel);

  // The policy that labels events (tenant, assets, TLP) and classifies alerts; null = an empty
  // policy (levels then come from the sensor's labels only). Applies to events processed after.
  void set_policy(std::shared_ptr<const policy::Policy> policy);

  // Drops all in-memory state and loads it back from the store.
  core::Status restore(const store::Store& store);

  // Labels (tenant), enriches (intel) and correlates one event.
  void process(core::StoredEvent& e);

  // Another component (Correlator::write) changed these alerts in the store: take their
  // analyst-owned fields (status, verdict, assignee, notes, incident) and their stored form from
  // the store, so the next flush neither reverts them nor leaves stale index entries.
  core::Status refresh_alerts(const store::Store& store, const std::vector<core::RecordId>& ids);

  // Moves every changed alert, incident and window entry into `batch`. `changed` receives the
  // alerts written (for publishing).
  void flush_into(store::CommitBatch& batch, std::vector<core::Alert>* changed);

  [[nodiscard]] const EngineCounters& counters() const { return counters_; }
  [[nodiscard]] size_t open_alerts() const { return alerts_.size(); }
  [[nodiscard]] std::string label_tenant(const std::string& sensor, const core::Event& e) const;

 private:
  struct Item {
    int64_t time = 0;
    core::EventRef ref;
    int step = 0;
    std::string value;
    uint8_t level = 1;  // the event's policy::Level, so a rule alert is as high as its events
  };
  struct GroupState {
    std::deque<Item> items;
    std::optional<core::RecordId> open;  // alert still collecting events
    int64_t last_time = 0;
  };
  struct CachedAlert {
    core::Alert now;
    std::optional<core::Alert> stored;  // as last written, for index maintenance
    bool dirty = false;
  };

  core::Alert* alert(const core::RecordId& id);
  void aggregate(const core::StoredEvent& e, const std::string& key, const std::string& rule, uint8_t severity,
                 const std::string& signature);
  void correlate(const CorrelationRule& rule, size_t rule_index, const core::StoredEvent& e);
  void fire(const CorrelationRule& rule, const std::string& group, GroupState& st, const core::StoredEvent& e);
  void add_event(core::Alert& a, const core::StoredEvent& e);
  void escalate(const CorrelationRule& rule, core::Alert& a);
  void gc();
  std::string encode_group(const GroupState& st) const;
  std::optional<GroupState> decode_group(const std::string& v) const;

  std::shared_ptr<const CorrelatorConfig> config_;
  std::shared_ptr<const RuleSet> rules_;
  std::shared_ptr<const ThreatIntel> intel_;
  std::shared_ptr<const policy::Policy> policy_;
  policy::Classification current_;  // of the event being processed
  std::map<std::string, const SensorEntry*> sensors_;

  std::unordered_map<std::string, core::RecordId> agg_;            // aggregation key -> open alert
  std::map<std::string, GroupState> groups_;                       // "rule-id\x1fgroup" -> window
  std::map<core::RecordId, CachedAlert> alerts_;
  std::vector<std::pair<core::Incident, core::IncidentChange>> new_incidents_;
  std::set<std::string> dirty_state_;
  int64_t stream_time_ = INT64_MIN;
  uint64_t since_gc_ = 0;
  EngineCounters counters_;
};

}  // namespace vigil::correlator
