// The correlator process, wired: config → store → pipeline → transport, with SIGHUP reload of
// rules and intel lists, periodic retention, backups on request and a stats file. The app's
// main only parses arguments and calls run_correlator(). Also the query and admin commands the
// CLI offers over a store.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "vigil/correlator/config.h"
#include "vigil/correlator/correlator.h"
#include "vigil/store/store.h"

namespace vigil::correlator {

// Correlator::create + run (vigil/correlator/correlator.h). Runs until flags.stop. Returns an error (for main to print and exit non-zero) on a bad start.
core::Status run_correlator(const CorrelatorConfig& config, RunFlags& flags);

// Loads rules and intel lists named by the config (what SIGHUP does), without starting anything.
core::Status check_config(const CorrelatorConfig& config, std::ostream& out);

// JSON lines.
core::Status print_alerts(const store::Store& store, const store::AlertQuery& q, std::ostream& out);
core::Status print_alert_with_events(const store::Store& store, const std::string& id, std::ostream& out);
core::Status print_incident(const store::Store& store, const std::string& id, std::ostream& out);
core::Status print_incidents(const store::Store& store, core::Timestamp from, core::Timestamp to, size_t limit,
                             std::ostream& out);

// Analyst changes by hand (status, assignee, note) and escalation of alerts into an incident.
struct AlertChange {
  std::optional<core::AlertStatus> status;
  std::string verdict;
  std::optional<std::string> assignee;
  std::string note;
  std::string actor;
};
core::Status change_alert(store::Store& store, const std::string& id, const AlertChange& change);
core::Result<core::RecordId> escalate_alerts(store::Store& store, const std::vector<std::string>& alert_ids,
                                             const std::string& title, const std::string& actor);

}  // namespace vigil::correlator
