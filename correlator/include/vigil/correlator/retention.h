// Retention per level (DESIGN §6-7, docs/policy.md): what the correlator runs every
// retention.interval_seconds when a policy is configured.
//
// Alerts: each alert whose last event is older than its level's retention is deleted with its
// index entries; alerts escalated into an incident are kept with the incident (incidents are kept
// at least 24 months). Each deleted alert gets an audit entry (action "alert.delete", actor
// "correlator", object the alert id, before_hash the alert's hash, reason its level and age) in
// the same batch as its delete.
// Events: the store deletes by kind and time, not by level, so alert and classification events
// are kept for the longest per-level event retention (forever if any level is forever) and
// flow/http/dns/tls records for the policy's protocol retention.
//
// Call on the thread that owns store writes (the pipeline thread).
#pragma once

#include <array>
#include <cstdint>

#include "vigil/core/result.h"
#include "vigil/policy/policy.h"
#include "vigil/store/store.h"

namespace vigil::correlator {

struct RetentionRun {
  uint64_t alerts_scanned = 0;
  uint64_t alerts_deleted = 0;
  std::array<uint64_t, 5> deleted_per_level{};
  uint64_t kept_for_incident = 0;
  uint64_t audit_entries = 0;
};

// `max_delete` bounds one run's work (the rest goes next run).
core::Result<RetentionRun> apply_policy_retention(store::Store& store, const policy::Retention& retention,
                                                  core::Timestamp now, uint64_t max_delete = 100'000);

}  // namespace vigil::correlator
