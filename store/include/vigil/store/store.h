// The alert store (DESIGN §7): RocksDB with column families
//
//   events     kind(1) | time(8, BE) | fnv64(sensor)(8) | event id(8)     -> tenant + event
//   alerts     alert id(16) = first_seen(8, BE) | hash(8)                  -> alert record (binary,
//              format byte 0x01; older stores' JSON still decodes), event refs in idx 'R' chunks
//   incidents  incident id(16) | 0x00                                      -> incident JSON
//              incident id(16) | 0x01 | seq(8)                             -> history entry JSON
//   idx        tag(1) | field | alert id(16)                               -> ""  (secondary indexes:
//              tenant, src/dst IP, signature, status, severity, assignee, tenant+status)
//   audit      the audit log: entries, Merkle tree nodes, signed heads, indexes (vigil/store/audit.h)
//   meta       "hwm/" sensor -> last durable seq (8, BE); "state/" key -> correlator state
//
// Keys are big-endian and time-ordered, so every query is a bounded range scan: the time index
// is the alerts family itself, the others put the time (inside the alert id) after the field.
// RocksDB never shows through this header.
//
// Threading: one Store per process owns the database. Writes (commit, update_*) are serialised
// by the caller (the correlator's persist stage); reads may run from any thread concurrently with
// writes. Every method returns a Status or Result; nothing throws.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vigil/core/alert.h"
#include "vigil/core/event.h"
#include "vigil/core/ip.h"
#include "vigil/core/result.h"
#include "vigil/store/audit.h"

namespace vigil::store {

using core::Alert;
using core::Incident;
using core::IncidentChange;
using core::RecordId;
using core::Result;
using core::Status;
using core::StoredEvent;
using core::Timestamp;

struct StoreOptions {
  std::string path;
  // fsync the WAL on every commit. The correlator acknowledges a batch only after such a commit;
  // turning it off is for benchmarks of the raw write rate.
  bool sync = true;
  uint64_t block_cache_bytes = 64ull << 20;
  bool read_only = false;  // for the query tools: no lock, sees the state at open time
  // Open as a RocksDB secondary instance (its own info files in this directory) that follows a
  // running writer: no lock, sees the state at open time; for tools reading a live store.
  std::string secondary_path{};
  // The audit log's Ed25519 signing key (hex, mode 0600; the public key beside it as .pub).
  // Created on the first writable open. Empty = <path>/audit.key.
  std::string audit_key_file{};
};

// Everything one ingest step writes, applied atomically (one RocksDB WriteBatch, WAL on).
class CommitBatch {
 public:
  CommitBatch();
  ~CommitBatch();
  CommitBatch(CommitBatch&&) noexcept;
  CommitBatch& operator=(CommitBatch&&) noexcept;

  void put_event(const StoredEvent& e);
  // Writes `now` and keeps the indexes right: entries of `before` that changed are removed.
  void put_alert(const Alert& now, const Alert* before);
  // Deletes an alert and its index entries; `stored` is the alert as last written (retention).
  void delete_alert(const Alert& stored);
  void put_incident(const Incident& now, const IncidentChange& change, uint64_t change_seq);
  void set_high_water_mark(const std::string& sensor, uint64_t seq);
  void put_state(const std::string& key, const std::string& value);
  void delete_state(const std::string& key);
  // Small side tables in the meta family (feeds' indicators: "ind/..."). Keys are stored under
  // "x/" so they never meet the store's own "hwm/" and "state/" entries.
  void put_meta(const std::string& key, const std::string& value);
  void delete_meta(const std::string& key);
  // An audit entry for a change in this batch; seq and time are assigned at commit, in commit
  // order, and the entry is durable exactly when the rest of the batch is (vigil/store/audit.h).
  void append_audit(AuditEntry e);
  [[nodiscard]] size_t count() const;
  [[nodiscard]] size_t byte_size() const;
  // Ids of the alerts put into this batch (in put order; may repeat).
  [[nodiscard]] const std::vector<RecordId>& alert_ids() const;
  void clear();

  struct Rep;

 private:
  friend class Store;
  std::unique_ptr<Rep> rep_;
};

struct AlertQuery {
  Timestamp from{INT64_MIN};  // first_seen >= from
  Timestamp to{INT64_MAX};    // first_seen < to
  std::optional<std::string> tenant;
  std::optional<core::IpAddress> ip;  // source or destination
  std::optional<core::IpAddress> src_ip;
  std::optional<core::IpAddress> dst_ip;
  std::optional<uint32_t> sid;  // with gid (default 1)
  uint32_t gid = 1;
  std::optional<core::AlertStatus> status;
  std::optional<uint8_t> max_severity;  // severity <= this (1 is the most severe)
  std::optional<std::string> assignee;
  size_t limit = 1000;
  // Newest first (descending id) instead of oldest first.
  bool newest_first = false;
  // Key-based pagination: only alerts whose id sorts strictly after this one (before it, when
  // newest_first). Pass the id of the last alert of the previous page; never an offset.
  std::optional<RecordId> cursor;
  // Checked inside the scan after the other filters (the console passes the policy's visibility
  // and its full-text match): rejected alerts do not count toward limit.
  std::function<bool(const Alert&)> filter;
  // Stop after reading this many index entries (0 = no bound); QueryStats::truncated says so.
  uint64_t max_scan = 0;
};

struct QueryStats {
  uint64_t index_entries = 0;  // index or primary entries read
  uint64_t alerts_read = 0;
  std::string index;  // which index drove the scan
  bool truncated = false;  // max_scan reached before limit
};

struct RetentionPolicy {
  int64_t alert_max_age_usec = 0;                          // 0 = keep forever
  int64_t event_max_age_usec[core::kEventKindCount] = {};  // per kind; 0 = keep forever
};

struct StoreCounters {
  uint64_t commits = 0;
  uint64_t commit_failures = 0;
  uint64_t events_written = 0;
  uint64_t alerts_written = 0;
};

class Store {
 public:
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Opens (creating when missing, unless read_only) the database and its column families.
  static Result<std::unique_ptr<Store>> open(const StoreOptions& options);

  // Applies the batch atomically; with options.sync the WAL is fsynced before returning.
  Status commit(CommitBatch& batch);

  // For a store opened with secondary_path: applies what the writer has written since (RocksDB
  // TryCatchUpWithPrimary) and reloads the audit log's head, so reads see the writer's state as
  // of this call. Safe while other threads read. An error on a primary or read-only store.
  Status catch_up();

  // Called on the committing thread after every successful commit (including update_alert's)
  // with the batch just applied. One observer; pass an empty function to remove it. Set it
  // before commits start: it is not synchronised with commit(). The correlator uses it to learn
  // which alerts other components changed (Correlator::write).
  void set_commit_observer(std::function<void(const CommitBatch&)> fn);

  // The last durable batch seq of `sensor` (0 when none).
  Result<uint64_t> high_water_mark(const std::string& sensor) const;
  // Every "state/" entry, for the correlator to rebuild its windows after a restart.
  Status scan_state(const std::function<void(const std::string& key, const std::string& value)>& fn) const;
  // put_meta entries: one key, or those starting with `prefix` in key order from `from` (which
  // sorts at or after prefix; empty = the start) until fn returns false.
  Result<std::optional<std::string>> get_meta(const std::string& key) const;
  Status scan_meta(const std::string& prefix, const std::string& from,
                   const std::function<bool(const std::string& key, const std::string& value)>& fn) const;

  Result<std::optional<Alert>> get_alert(const RecordId& id) const;
  // Alerts ordered by id (first_seen, then hash; newest first when asked), at most query.limit of
  // them. Never scans outside the time range of the most selective index that applies.
  Result<std::vector<Alert>> query_alerts(const AlertQuery& query, QueryStats* stats = nullptr) const;
  // The stored events an alert refers to (those still within retention).
  Result<std::vector<StoredEvent>> get_events(const std::vector<core::EventRef>& refs) const;
  // The protocol records (flow, http, dns, tls) a sensor shipped for one of its flows, by the
  // flow index written with them (those still within retention), oldest first, at most `limit`.
  // Analysts pivot from an alert's events (their flow_id) to these.
  Result<std::vector<StoredEvent>> flow_records(const std::string& sensor, uint64_t flow_id, size_t limit = 256) const;
  // Events of one kind in a time range (bounded by limit).
  Result<std::vector<StoredEvent>> scan_events(core::EventKind kind, Timestamp from, Timestamp to,
                                               size_t limit) const;

  Result<std::optional<Incident>> get_incident(const RecordId& id) const;
  Result<std::vector<IncidentChange>> incident_history(const RecordId& id) const;
  Result<std::vector<Incident>> list_incidents(Timestamp from, Timestamp to, size_t limit) const;
  // Next free history seq of an incident (for CommitBatch::put_incident).
  Result<uint64_t> next_incident_change_seq(const RecordId& id) const;

  // Read-modify-write of one alert (status, assignee, notes) in its own synced commit. Each of
  // `audit` is appended in the same commit with object = the alert id (when empty) and
  // before_hash/after_hash of the alert's JSON before and after the change.
  Status update_alert(const RecordId& id, const std::function<void(Alert&)>& change,
                      std::vector<AuditEntry> audit = {});

  // The audit log (entries appended through CommitBatch::append_audit).
  [[nodiscard]] AuditLog& audit() const;

  // Deletes events and alerts older than the policy allows (range deletes; index entries of
  // deleted alerts are dropped by a compaction filter and skipped by queries until then).
  // Incidents and audit are never deleted here (kept ≥ 24 months by law).
  Status apply_retention(const RetentionPolicy& policy, Timestamp now);

  // Online backup: a consistent, openable copy in `dir` (which must not exist), hard-linked
  // where the filesystem allows.
  Status checkpoint(const std::string& dir) const;

  [[nodiscard]] StoreCounters counters() const;
  [[nodiscard]] const std::string& path() const;

  struct Impl;

 private:
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::store
