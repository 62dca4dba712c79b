#include "vigil/correlator/retention.h"

#include <algorithm>

namespace vigil::correlator {

namespace {

constexpr size_t kPage = 1000;

// One audit entry per deleted alert, in the same batch as the delete: an auditor asking what
// happened to an alert sees when and why it went.
void delete_alert(store::CommitBatch& batch, const core::Alert& a, policy::Level level, int64_t age) {
  batch.delete_alert(a);
  store::AuditEntry e;
  e.actor = "correlator";
  e.actor_role = "system";
  e.source = "retention";
  e.action = "alert.delete";
  e.object = a.id.to_string();
  e.before_hash = store::audit::record_hash(a);
  e.decision = "allow";
  e.rule = "retention";
  e.reason = "level " + std::string(policy::to_string(level)) + " kept " + std::to_string(age / 86'400'000'000LL) +
             "d; last seen " + std::to_string(a.last_seen.usec);
  batch.append_audit(std::move(e));
}

}  // namespace

core::Result<RetentionRun> apply_policy_retention(store::Store& store, const policy::Retention& r, core::Timestamp now,
                                                  uint64_t max_delete) {
  RetentionRun run;
  int64_t shortest = 0;
  for (int64_t age : r.alert_usec) {
    if (age > 0 && (shortest == 0 || age < shortest)) shortest = age;
  }
  if (shortest > 0) {
    // Only alerts first seen before the shortest retention can have expired.
    store::AlertQuery q;
    q.to = core::Timestamp{now.usec - shortest};
    q.limit = kPage;
    store::CommitBatch batch;
    uint64_t in_batch = 0;
    bool more = true;
    while (more && run.alerts_deleted < max_delete) {
      auto page = store.query_alerts(q);
      if (!page) return page.error();
      more = page->size() == kPage;
      if (!page->empty()) q.cursor = page->back().id;
      for (const auto& a : *page) {
        ++run.alerts_scanned;
        // An unknown level name is kept as long as the strictest level.
        auto level = policy::parse_level(a.level).value_or(policy::Level::kTopSecret);
        int64_t age = r.alert_usec[static_cast<size_t>(level)];
        if (age <= 0 || a.last_seen.usec >= now.usec - age) continue;
        if (!a.incident.empty()) {
          ++run.kept_for_incident;
          continue;
        }
        delete_alert(batch, a, level, age);
        ++run.deleted_per_level[static_cast<size_t>(level)];
        ++run.alerts_deleted;
        ++run.audit_entries;
        if (++in_batch == kPage || run.alerts_deleted >= max_delete) {
          if (auto st = store.commit(batch); !st) return st.error();
          batch.clear();
          in_batch = 0;
          if (run.alerts_deleted >= max_delete) break;
        }
      }
    }
    if (in_batch) {
      if (auto st = store.commit(batch); !st) return st.error();
    }
  }

  store::RetentionPolicy p;  // alerts were handled above
  int64_t longest = 0;
  bool forever = false;
  for (int64_t age : r.event_usec) {
    if (age <= 0) forever = true;
    longest = std::max(longest, age);
  }
  if (!forever) {
    p.event_max_age_usec[static_cast<int>(core::EventKind::kAlert)] = longest;
    p.event_max_age_usec[static_cast<int>(core::EventKind::kClassification)] = longest;
    p.event_max_age_usec[static_cast<int>(core::EventKind::kUnknown)] = longest;
  }
  for (auto k : {core::EventKind::kFlow, core::EventKind::kHttp, core::EventKind::kDns, core::EventKind::kTls}) {
    p.event_max_age_usec[static_cast<int>(k)] = r.protocol_usec;
  }
  if (auto st = store.apply_retention(p, now); !st) return st.error();
  return run;
}

}  // namespace vigil::correlator
