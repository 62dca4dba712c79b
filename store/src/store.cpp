#include "vigil/store/store.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>

#include <rocksdb/compaction_filter.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include "alert_record.h"
#include "audit_internal.h"
#include "keys.h"
#include "vigil/core/codec.h"
#include "vigil/core/log.h"

namespace vigil::store {

using core::make_error;

namespace {

enum Cf : size_t { kDefault = 0, kEvents, kAlerts, kIncidents, kIdx, kAudit, kMeta, kCfCount };
constexpr const char* kCfNames[kCfCount] = {"default", "events", "alerts", "incidents", "idx", "audit", "meta"};

core::Error rocks_error(const rocksdb::Status& s, const std::string& what) {
  return make_error(what + ": " + s.ToString(), "store");
}

// Drops index entries of alerts older than the retention cutoff (their alerts were range-deleted).
class IndexRetentionFilter : public rocksdb::CompactionFilter {
 public:
  explicit IndexRetentionFilter(const std::atomic<int64_t>* cutoff) : cutoff_(cutoff) {}
  bool Filter(int, const rocksdb::Slice& key, const rocksdb::Slice&, std::string*, bool*) const override {
    if (key.size() < 17) return false;
    // Event-ref chunks carry the id right after their tag; index entries end with it.
    const char* at = key[0] == keys::kEventRefs && key.size() == 19 ? key.data() + 1 : key.data() + key.size() - 16;
    auto id = core::RecordId::from_bytes(reinterpret_cast<const uint8_t*>(at));
    return id.time_usec < cutoff_->load(std::memory_order_relaxed);
  }
  const char* Name() const override { return "vigil.IndexRetentionFilter"; }

 private:
  const std::atomic<int64_t>* cutoff_;
};

// Appends the stored form of an event: tenant, intel, then the event as a one-event wire batch.
void encode_stored_event_into(const StoredEvent& e, std::string& out) {
  auto put_str = [&out](const std::string& s) {
    uint16_t n = static_cast<uint16_t>(std::min<size_t>(s.size(), 65535));
    out += static_cast<char>(n >> 8);
    out += static_cast<char>(n & 0xff);
    out.append(s.data(), n);
  };
  put_str(e.tenant);
  out += static_cast<char>(std::min<size_t>(e.intel.size(), 255));
  for (size_t i = 0; i < e.intel.size() && i < 255; ++i) put_str(e.intel[i]);
  // Reused per thread: assigning into it reuses its strings' capacity instead of allocating.
  thread_local core::EventBatch one;
  one.sensor_id = e.sensor;
  one.seq = 1;
  one.events.resize(1);
  one.events[0] = e.event;
  (void)core::encode_batch_into(one, out);  // one event is far below the size limit
}

// Event refs: time(8) kind(1) sensor-length(1) sensor id(8) each.
void encode_refs(const std::vector<core::EventRef>& refs, size_t from, std::string& out) {
  for (size_t i = from; i < refs.size(); ++i) {
    const auto& r = refs[i];
    keys::put_be64(out, static_cast<uint64_t>(r.time.usec));
    out += static_cast<char>(r.kind);
    size_t n = std::min<size_t>(r.sensor.size(), 255);
    out += static_cast<char>(n);
    out.append(r.sensor.data(), n);
    keys::put_be64(out, r.id);
  }
}

bool decode_refs(std::string_view v, std::vector<core::EventRef>& out, size_t at_index) {
  size_t at = 0;
  while (at < v.size()) {
    if (at + 10 > v.size()) return false;
    core::EventRef r;
    r.time.usec = static_cast<int64_t>(keys::get_be64(v, at));
    r.kind = static_cast<core::EventKind>(static_cast<uint8_t>(v[at + 8]));
    size_t n = static_cast<uint8_t>(v[at + 9]);
    at += 10;
    if (at + n + 8 > v.size()) return false;
    r.sensor.assign(v.data() + at, n);
    r.id = keys::get_be64(v, at + n);
    at += n + 8;
    if (at_index < out.size()) out[at_index] = std::move(r);
    else out.push_back(std::move(r));
    ++at_index;
  }
  return true;
}

std::optional<StoredEvent> decode_stored_event(std::string_view v) {
  size_t at = 0;
  auto get_str = [&](std::string& s) {
    if (at + 2 > v.size()) return false;
    size_t n = (static_cast<size_t>(static_cast<uint8_t>(v[at])) << 8) | static_cast<uint8_t>(v[at + 1]);
    at += 2;
    if (at + n > v.size()) return false;
    s.assign(v.data() + at, n);
    at += n;
    return true;
  };
  StoredEvent e;
  if (!get_str(e.tenant) || at >= v.size()) return std::nullopt;
  size_t n = static_cast<uint8_t>(v[at++]);
  e.intel.resize(n);
  for (auto& s : e.intel) {
    if (!get_str(s)) return std::nullopt;
  }
  auto b = core::decode_batch(v.substr(at));
  if (!b || b->events.size() != 1) return std::nullopt;
  e.sensor = std::move(b->sensor_id);
  e.event = std::move(b->events[0]);
  return e;
}

}  // namespace

// ---- CommitBatch ----

struct CommitBatch::Rep {
  enum Op : uint8_t { kPut, kDelete, kDeleteRange };  // kDeleteRange: value is the end key
  // The entries back to back in one buffer (op(1) cf(1) key-length(4) key value-length(4) value),
  // so a commit of thousands of keys costs no allocation per key once the buffer has grown.
  std::string buf;
  size_t n = 0;
  size_t bytes = 0;
  uint64_t events = 0;
  uint64_t alerts = 0;
  std::vector<RecordId> alert_ids;
  std::vector<AuditEntry> audit;

  void len(size_t v) {
    auto u = static_cast<uint32_t>(v);
    char b[4];
    std::memcpy(b, &u, 4);
    buf.append(b, 4);
  }
  void head(Op op, Cf cf, std::string_view key) {
    buf += static_cast<char>(op);
    buf += static_cast<char>(cf);
    len(key.size());
    buf.append(key);
    ++n;
  }
  void put(Cf cf, std::string_view key, std::string_view value) {
    bytes += key.size() + value.size();
    head(kPut, cf, key);
    len(value.size());
    buf.append(value);
  }
  // A put whose value `fill` appends to buf.
  template <typename F>
  void put_with(Cf cf, std::string_view key, F&& fill) {
    head(kPut, cf, key);
    const size_t at = buf.size();
    len(0);
    fill(buf);
    const size_t vlen = buf.size() - at - 4;
    auto u = static_cast<uint32_t>(vlen);
    std::memcpy(buf.data() + at, &u, 4);
    bytes += key.size() + vlen;
  }
  void del(Cf cf, std::string_view key) {
    bytes += key.size();
    head(kDelete, cf, key);
    len(0);
  }
  void del_range(Cf cf, std::string_view begin, std::string_view end) {
    bytes += begin.size() + end.size();
    head(kDeleteRange, cf, begin);
    len(end.size());
    buf.append(end);
  }
  // Calls fn(op, cf, key, value) for each entry in order.
  template <typename F>
  bool each(F&& fn) const {
    size_t at = 0;
    auto get_len = [&](size_t& v) {
      if (at + 4 > buf.size()) return false;
      uint32_t u = 0;
      std::memcpy(&u, buf.data() + at, 4);
      at += 4;
      v = u;
      return at + v <= buf.size();
    };
    while (at < buf.size()) {
      if (at + 2 > buf.size()) return false;
      auto op = static_cast<Op>(buf[at]);
      auto cf = static_cast<Cf>(buf[at + 1]);
      at += 2;
      size_t kl = 0, vl = 0;
      if (!get_len(kl)) return false;
      std::string_view key(buf.data() + at, kl);
      at += kl;
      if (!get_len(vl)) return false;
      std::string_view value(buf.data() + at, vl);
      at += vl;
      if (!fn(op, cf, key, value)) return false;
    }
    return true;
  }
};

CommitBatch::CommitBatch() : rep_(std::make_unique<Rep>()) {}
CommitBatch::~CommitBatch() = default;
CommitBatch::CommitBatch(CommitBatch&&) noexcept = default;
CommitBatch& CommitBatch::operator=(CommitBatch&&) noexcept = default;

void CommitBatch::put_event(const StoredEvent& e) {
  auto key = keys::event_key(e.ref());
  const auto kind = e.event.kind;
  if (e.event.flow_id && (kind == core::EventKind::kFlow || kind == core::EventKind::kHttp ||
                          kind == core::EventKind::kDns || kind == core::EventKind::kTls)) {
    std::string ik = keys::flow_index_prefix(e.sensor, e.event.flow_id);
    keys::put_id(ik, RecordId{e.event.time.usec, core::fnv1a64(key)});
    rep_->put(kIdx, ik, key);
  }
  rep_->put_with(kEvents, key, [&e](std::string& out) { encode_stored_event_into(e, out); });
  ++rep_->events;
}

namespace {
// True when keys::index_keys(a) == keys::index_keys(b): it must compare every field index_keys
// reads. Most updates (count, last_seen, refs) change none, and this spares building both sets.
bool same_index_fields(const Alert& a, const Alert& b) {
  return a.id == b.id && a.tenant == b.tenant && a.flow.src_ip == b.flow.src_ip && a.flow.dst_ip == b.flow.dst_ip &&
         a.gid == b.gid && a.sid == b.sid && a.status == b.status && a.severity == b.severity && a.assignee == b.assignee;
}
}  // namespace

void CommitBatch::put_alert(const Alert& now, const Alert* before) {
  // Index entries: only those that changed (an update of count/last_seen touches none).
  if (!before || !same_index_fields(now, *before)) {
    auto now_keys = keys::index_keys(now);
    std::vector<std::string> before_keys;
    if (before) before_keys = keys::index_keys(*before);
    for (auto& k : before_keys) {
      if (std::find(now_keys.begin(), now_keys.end(), k) == now_keys.end()) rep_->del(kIdx, k);
    }
    for (auto& k : now_keys) {
      if (std::find(before_keys.begin(), before_keys.end(), k) == before_keys.end()) rep_->put(kIdx, std::move(k), {});
    }
  }
  // Event refs only grow (up to kMaxEventRefs): write the ones added since `before` as one chunk
  // instead of rewriting all of them with every update.
  size_t from = 0;
  if (before && before->events.size() <= now.events.size() && !before->events.empty() &&
      before->events.back() == now.events[before->events.size() - 1]) {
    from = before->events.size();
  }
  if (from < now.events.size()) {
    rep_->put_with(kIdx, keys::alert_refs_key(now.id, static_cast<uint16_t>(from)),
                   [&now, from](std::string& out) { encode_refs(now.events, from, out); });
  }
  // The record itself without its refs (binary, alert_record.h); it says how many chunks hold.
  rep_->put_with(kAlerts, keys::alert_key(now.id), [&now](std::string& out) { encode_alert_record(now, now.events.size(), out); });
  rep_->alert_ids.push_back(now.id);
  ++rep_->alerts;
}

void CommitBatch::delete_alert(const Alert& stored) {
  for (auto& k : keys::index_keys(stored)) rep_->del(kIdx, std::move(k));
  rep_->del(kAlerts, keys::alert_key(stored.id));
  rep_->del_range(kIdx, keys::alert_refs_prefix(stored.id), keys::alert_refs_prefix(stored.id) + '\xff');
}

void CommitBatch::put_incident(const Incident& now, const IncidentChange& change, uint64_t change_seq) {
  rep_->put(kIncidents, keys::incident_key(now.id), core::to_json(now).dump());
  rep_->put(kIncidents, keys::incident_change_key(now.id, change_seq), core::to_json(change).dump());
}

void CommitBatch::set_high_water_mark(const std::string& sensor, uint64_t seq) {
  std::string v;
  keys::put_be64(v, seq);
  rep_->put(kMeta, "hwm/" + sensor, std::move(v));
}

void CommitBatch::put_state(const std::string& key, const std::string& value) { rep_->put(kMeta, "state/" + key, value); }
void CommitBatch::delete_state(const std::string& key) { rep_->del(kMeta, "state/" + key); }
void CommitBatch::put_meta(const std::string& key, const std::string& value) { rep_->put(kMeta, "x/" + key, value); }
void CommitBatch::delete_meta(const std::string& key) { rep_->del(kMeta, "x/" + key); }
void CommitBatch::append_audit(AuditEntry e) { rep_->audit.push_back(std::move(e)); }
size_t CommitBatch::count() const { return rep_->n + rep_->audit.size(); }
size_t CommitBatch::byte_size() const { return rep_->bytes; }
const std::vector<RecordId>& CommitBatch::alert_ids() const { return rep_->alert_ids; }
void CommitBatch::clear() {
  rep_->alert_ids.clear();
  rep_->buf.clear();
  rep_->n = 0;
  rep_->audit.clear();
  rep_->bytes = 0;
  rep_->events = 0;
  rep_->alerts = 0;
}

// ---- Store ----

struct Store::Impl {
  StoreOptions options;
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs;
  std::atomic<int64_t> index_cutoff{INT64_MIN};
  std::unique_ptr<IndexRetentionFilter> idx_filter;
  std::unique_ptr<AuditLog> audit;
  std::atomic<uint64_t> commits{0}, commit_failures{0}, events_written{0}, alerts_written{0};
  std::function<void(const CommitBatch&)> commit_observer;
  std::mutex wb_mu;  // guards wb_cache
  rocksdb::WriteBatch wb_cache;
  std::shared_ptr<spdlog::logger> log = core::logger("store");

  ~Impl() {
    if (db) {
      for (auto* h : cfs) {
        if (h) (void)db->DestroyColumnFamilyHandle(h);
      }
      (void)db->Close();
    }
  }

  rocksdb::ColumnFamilyHandle* cf(Cf c) const { return cfs[c]; }

  // An alert from its stored value (binary format 1, or the older JSON form), with its event
  // refs from the 'R' chunks (the oldest JSON records carry them inline).
  // `inline_refs` (optional) says the record is the oldest JSON form, refs inline, none in chunks.
  Result<Alert> decode_alert(const RecordId& id, std::string_view value, bool* inline_refs = nullptr) const {
    Result<Alert> a = Alert{};
    size_t want = 0;
    if (!value.empty() && static_cast<uint8_t>(value[0]) == kAlertRecordV1) {
      uint64_t refs = 0;
      if (!decode_alert_record(value, *a, refs)) return make_error("corrupt alert record " + id.to_string(), "store");
      a->id = id;
      want = static_cast<size_t>(std::min<uint64_t>(refs, core::kMaxEventRefs));
    } else {
      // The JSON form of stores written before format 1.
      auto j = nlohmann::json::parse(value, nullptr, false);
      if (j.is_discarded() || !j.is_object()) return make_error("corrupt alert record " + id.to_string(), "store");
      a = core::alert_from_json(j);
      if (!a) return a.error();
      auto n = j.find("event_refs");
      if (n == j.end() || !n->is_number_unsigned()) {  // refs inline
        if (inline_refs) *inline_refs = true;
        return a;
      }
      want = n->get<size_t>();
    }
    a->events.clear();
    if (want == 0) return a;
    a->events.reserve(want);
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), cf(kIdx)));
    const std::string prefix = keys::alert_refs_prefix(id);
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      if (it->key().size() != prefix.size() + 2) continue;
      size_t start = (static_cast<size_t>(static_cast<uint8_t>(it->key()[prefix.size()])) << 8) |
                     static_cast<uint8_t>(it->key()[prefix.size() + 1]);
      if (start > a->events.size()) break;  // a gap: keep what is contiguous
      if (!decode_refs(std::string_view(it->value().data(), it->value().size()), a->events, start)) {
        return make_error("corrupt event refs of alert " + id.to_string(), "store");
      }
    }
    if (!it->status().ok()) return rocks_error(it->status(), "read event refs");
    if (a->events.size() > want) a->events.resize(want);
    return a;
  }

  // Index entries an older layout lacks (meta kIndexVersionKey absent: layout 1, before the
  // tenant+status index), written once on the first writable open.
  Status upgrade_indexes() {
    std::string have;
    auto s = db->Get(rocksdb::ReadOptions(), cf(kMeta), keys::kIndexVersionKey, &have);
    if (s.ok() && have == keys::kIndexVersion) return {};
    if (!s.ok() && !s.IsNotFound()) return rocks_error(s, "read index version");
    uint64_t added = 0;
    rocksdb::WriteBatch wb;
    rocksdb::WriteOptions wo;
    wo.sync = options.sync;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), cf(kAlerts)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (it->key().size() != 16) continue;
      auto id = RecordId::from_bytes(reinterpret_cast<const uint8_t*>(it->key().data()));
      bool inline_refs = false;
      auto a = decode_alert(id, std::string_view(it->value().data(), it->value().size()), &inline_refs);
      if (!a) return a.error();
      if (inline_refs && !a->events.empty()) {
        // The oldest JSON form keeps its refs inline: move them to chunk 0 and rewrite the record
        // in format 1, or the next update (which appends a chunk after the refs it read) would
        // leave a gap at 0 and the alert would read back without refs.
        std::string refs, rec;
        encode_refs(a->events, 0, refs);
        encode_alert_record(*a, a->events.size(), rec);
        (void)wb.Put(cf(kIdx), keys::alert_refs_key(id, 0), refs);
        (void)wb.Put(cf(kAlerts), it->key(), rec);
      }
      std::string k = keys::index_prefix_tenant_status(a->tenant, a->status);
      keys::put_id(k, id);
      (void)wb.Put(cf(kIdx), k, {});
      if (++added % 10000 == 0) {
        if (auto ws = db->Write(wo, &wb); !ws.ok()) return rocks_error(ws, "upgrade indexes");
        wb.Clear();
        log->info("store: index upgrade: {} alerts", added);
      }
    }
    if (!it->status().ok()) return rocks_error(it->status(), "upgrade indexes");
    (void)wb.Put(cf(kMeta), keys::kIndexVersionKey, keys::kIndexVersion);
    if (auto ws = db->Write(wo, &wb); !ws.ok()) return rocks_error(ws, "upgrade indexes");
    if (added) log->info("store: added the tenant+status index for {} existing alerts", added);
    return {};
  }

  Result<std::optional<std::string>> get(Cf c, const std::string& key) const {
    std::string v;
    auto s = db->Get(rocksdb::ReadOptions(), cf(c), key, &v);
    if (s.IsNotFound()) return std::optional<std::string>();
    if (!s.ok()) return rocks_error(s, "get");
    return std::optional<std::string>(std::move(v));
  }

  // Looks up many keys of one family at once; missing ones come back empty.
  Status multi_get(Cf c, const std::vector<std::string>& keys_in, std::vector<std::optional<std::string>>& out) const {
    out.assign(keys_in.size(), std::nullopt);
    if (keys_in.empty()) return {};
    std::vector<rocksdb::Slice> slices(keys_in.begin(), keys_in.end());
    std::vector<rocksdb::PinnableSlice> values(keys_in.size());
    std::vector<rocksdb::Status> statuses(keys_in.size());
    db->MultiGet(rocksdb::ReadOptions(), cf(c), slices.size(), slices.data(), values.data(), statuses.data());
    for (size_t i = 0; i < keys_in.size(); ++i) {
      if (statuses[i].ok()) {
        out[i] = values[i].ToString();
      } else if (!statuses[i].IsNotFound()) {
        return rocks_error(statuses[i], "multi-get");
      }
    }
    return {};
  }
};

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::open(const StoreOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->idx_filter = std::make_unique<IndexRetentionFilter>(&impl->index_cutoff);

  rocksdb::DBOptions dbo;
  dbo.create_if_missing = !options.read_only;
  dbo.create_missing_column_families = !options.read_only;
  dbo.max_background_jobs = 2;
  dbo.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  dbo.keep_log_file_num = 4;
  // No WAL compression: RocksDB before 7.10.2 (Debian bookworm ships 7.8.3) can fail to open a
  // database whose compressed WAL has "certain record fragments with the same offset within a WAL
  // block" (RocksDB HISTORY 7.10.2). We hit it: a 10 M-alert store written with kZSTD WAL would
  // not reopen ("Corruption: bad WriteBatch Put" replaying a WAL from the middle of the load).
  dbo.wal_compression = rocksdb::kNoCompression;
  // Column families written rarely (meta, audit, incidents) would otherwise pin every WAL since
  // their last flush, so a restart replays gigabytes: past this size RocksDB flushes them.
  dbo.max_total_wal_size = 256ull << 20;

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions base;
  base.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  base.compression = rocksdb::kNoCompression;

  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (size_t i = 0; i < kCfCount; ++i) {
    rocksdb::ColumnFamilyOptions o = base;
    if (i == kIdx) o.compaction_filter = impl->idx_filter.get();
    descs.emplace_back(kCfNames[i], o);
  }

  rocksdb::DB* raw = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::Status s;
  if (!options.secondary_path.empty()) {
    dbo.max_open_files = -1;  // required by secondary instances
    s = rocksdb::DB::OpenAsSecondary(dbo, options.path, options.secondary_path, descs, &handles, &raw);
  } else if (options.read_only) {
    s = rocksdb::DB::OpenForReadOnly(dbo, options.path, descs, &handles, &raw);
  } else {
    std::error_code ec;
    std::filesystem::create_directories(options.path, ec);
    if (ec) return make_error("cannot create " + options.path + ": " + ec.message(), "store");
    s = rocksdb::DB::Open(dbo, options.path, descs, &handles, &raw);
  }
  if (!s.ok()) return rocks_error(s, "open " + options.path);
  impl->db.reset(raw);
  impl->cfs = std::move(handles);
  bool writable = !options.read_only && options.secondary_path.empty();
  auto audit = AuditLog::Impl::open(impl->db.get(), impl->cf(kAudit),
                                    options.audit_key_file.empty() ? options.path + "/audit.key" : options.audit_key_file,
                                    writable, options.sync);
  if (!audit) return audit.error();
  impl->audit = std::move(*audit);
  if (writable) {
    if (auto st = impl->upgrade_indexes(); !st) return st.error();
  }
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

Status Store::commit(CommitBatch& batch) {
  auto& im = *impl_;
  // The RocksDB batch is a buffer of the commit's size: reuse one across commits (its memory is
  // already faulted in, which is a measurable share of a large commit on this VM); a concurrent
  // caller, should there be one, builds its own.
  std::unique_lock<std::mutex> reuse(im.wb_mu, std::try_to_lock);
  std::optional<rocksdb::WriteBatch> local;
  if (!reuse.owns_lock()) local.emplace(batch.rep_->bytes + batch.rep_->n * 16 + 64);
  rocksdb::WriteBatch& wb = local ? *local : im.wb_cache;
  wb.Clear();
  struct Trim {  // do not keep the memory of an exceptionally large commit
    rocksdb::WriteBatch& wb;
    ~Trim() {
      if (wb.GetDataSize() > (64u << 20)) wb = rocksdb::WriteBatch();
    }
  } trim{wb};
  rocksdb::Status ws;
  const bool parsed = batch.rep_->each([&](CommitBatch::Rep::Op op, Cf c, std::string_view key, std::string_view value) {
    const rocksdb::Slice k(key.data(), key.size()), v(value.data(), value.size());
    ws = op == CommitBatch::Rep::kPut      ? wb.Put(im.cf(c), k, v)
         : op == CommitBatch::Rep::kDelete ? wb.Delete(im.cf(c), k)
                                           : wb.DeleteRange(im.cf(c), k, v);
    return ws.ok();
  });
  if (!ws.ok()) return rocks_error(ws, "write batch");
  if (!parsed) return make_error("commit: malformed batch buffer", "store");

  // Audit entries: seqs are assigned and the tree extended under the log's append lock, held
  // until the write is durable, so seqs follow commit order with no gaps.
  std::unique_lock<std::mutex> audit_lock;
  AuditLog::Impl::State audit_next;
  if (!batch.rep_->audit.empty()) {
    audit_lock = std::unique_lock<std::mutex>(im.audit->impl_->append_mu);
    if (auto st = im.audit->impl_->stage(batch.rep_->audit, wb, audit_next); !st) return st;
  }
  rocksdb::WriteOptions wo;
  wo.sync = im.options.sync;
  wo.disableWAL = false;
  auto s = im.db->Write(wo, &wb);
  if (!s.ok()) {
    ++im.commit_failures;
    return rocks_error(s, "commit");
  }
  if (audit_lock.owns_lock()) {
    im.audit->impl_->publish(audit_next);
    audit_lock.unlock();
  }
  ++im.commits;
  im.events_written += batch.rep_->events;
  im.alerts_written += batch.rep_->alerts;
  if (im.commit_observer) im.commit_observer(batch);
  return {};
}

Status Store::catch_up() {
  auto& im = *impl_;
  if (im.options.secondary_path.empty()) return make_error("catch_up: " + im.options.path + " is not open as a secondary", "store");
  auto s = im.db->TryCatchUpWithPrimary();
  if (!s.ok()) return rocks_error(s, "catch up with " + im.options.path);
  return im.audit->impl_->reload();
}

void Store::set_commit_observer(std::function<void(const CommitBatch&)> fn) { impl_->commit_observer = std::move(fn); }

Result<uint64_t> Store::high_water_mark(const std::string& sensor) const {
  auto v = impl_->get(kMeta, "hwm/" + sensor);
  if (!v) return v.error();
  if (!v->has_value() || (*v)->size() != 8) return uint64_t{0};
  return keys::get_be64(**v, 0);
}

Result<std::optional<std::string>> Store::get_meta(const std::string& key) const { return impl_->get(kMeta, "x/" + key); }

Status Store::scan_meta(const std::string& prefix, const std::string& from,
                        const std::function<bool(const std::string&, const std::string&)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cf(kMeta)));
  const std::string full = "x/" + prefix;
  for (it->Seek(from.empty() || from < prefix ? full : "x/" + from); it->Valid() && it->key().starts_with(full); it->Next()) {
    if (!fn(it->key().ToString().substr(2), it->value().ToString())) break;
  }
  if (!it->status().ok()) return rocks_error(it->status(), "scan meta");
  return {};
}

Status Store::scan_state(const std::function<void(const std::string&, const std::string&)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cf(kMeta)));
  const std::string prefix = "state/";
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    fn(it->key().ToString().substr(prefix.size()), it->value().ToString());
  }
  if (!it->status().ok()) return rocks_error(it->status(), "scan state");
  return {};
}

Result<std::optional<Alert>> Store::get_alert(const RecordId& id) const {
  auto v = impl_->get(kAlerts, keys::alert_key(id));
  if (!v) return v.error();
  if (!v->has_value()) return std::optional<Alert>();
  auto a = impl_->decode_alert(id, **v);
  if (!a) return a.error();
  return std::optional<Alert>(std::move(*a));
}

namespace {

bool matches(const Alert& a, const AlertQuery& q) {
  if (a.first_seen < q.from || !(a.first_seen < q.to)) return false;
  if (q.tenant && a.tenant != *q.tenant) return false;
  if (q.ip && a.flow.src_ip != *q.ip && a.flow.dst_ip != *q.ip) return false;
  if (q.src_ip && a.flow.src_ip != *q.src_ip) return false;
  if (q.dst_ip && a.flow.dst_ip != *q.dst_ip) return false;
  if (q.sid && (a.sid != *q.sid || a.gid != q.gid)) return false;
  if (q.status && a.status != *q.status) return false;
  if (q.max_severity && a.severity > *q.max_severity) return false;
  if (q.assignee && a.assignee != *q.assignee) return false;
  return true;
}

// One ordered stream of alert ids from a key range: either the alerts family itself (prefix
// empty) or an index prefix.
struct IdCursor {
  std::unique_ptr<rocksdb::Iterator> it;
  std::string prefix;
  std::string begin;  // inclusive lower bound (full key)
  std::string end;    // exclusive upper bound (full key)
  bool reverse = false;
  bool valid() const {
    if (!it->Valid()) return false;
    return reverse ? it->key().compare(begin) >= 0 : it->key().compare(end) < 0;
  }
  RecordId id() const {
    auto k = it->key();
    return RecordId::from_bytes(reinterpret_cast<const uint8_t*>(k.data() + k.size() - 16));
  }
  void step() { reverse ? it->Prev() : it->Next(); }
};

}  // namespace

Result<std::vector<Alert>> Store::query_alerts(const AlertQuery& q, QueryStats* stats) const {
  auto& im = *impl_;
  // Pick the most selective index that applies; the other filters are checked on the alert.
  std::vector<std::string> prefixes;
  Cf family = kIdx;
  std::string index_name;
  if (q.src_ip || q.dst_ip) {
    prefixes.push_back(q.src_ip ? keys::index_prefix_ip(keys::kSrcIp, *q.src_ip) : keys::index_prefix_ip(keys::kDstIp, *q.dst_ip));
    index_name = q.src_ip ? "src_ip" : "dst_ip";
  } else if (q.ip) {
    prefixes.push_back(keys::index_prefix_ip(keys::kSrcIp, *q.ip));
    prefixes.push_back(keys::index_prefix_ip(keys::kDstIp, *q.ip));
    index_name = "ip";
  } else if (q.sid) {
    prefixes.push_back(keys::index_prefix_sig(q.gid, *q.sid));
    index_name = "signature";
  } else if (q.assignee) {
    prefixes.push_back(keys::index_prefix_str(keys::kAssignee, *q.assignee));
    index_name = "assignee";
  } else if (q.tenant && q.status) {
    prefixes.push_back(keys::index_prefix_tenant_status(*q.tenant, *q.status));
    index_name = "tenant+status";
  } else if (q.tenant) {
    prefixes.push_back(keys::index_prefix_str(keys::kTenant, *q.tenant));
    index_name = "tenant";
  } else if (q.status) {
    prefixes.push_back(keys::index_prefix_byte(keys::kStatus, static_cast<uint8_t>(*q.status)));
    index_name = "status";
  } else if (q.max_severity) {
    for (int s = 0; s <= std::min<int>(*q.max_severity, 255); ++s) {
      prefixes.push_back(keys::index_prefix_byte(keys::kSeverity, static_cast<uint8_t>(s)));
    }
    index_name = "severity";
  } else {
    prefixes.push_back("");
    family = kAlerts;
    index_name = "time";
  }

  std::vector<IdCursor> cursors;
  for (const auto& p : prefixes) {
    IdCursor c;
    rocksdb::ReadOptions ro;
    c.it.reset(im.db->NewIterator(ro, im.cf(family)));
    c.prefix = p;
    c.begin = p + keys::time_bound(q.from.usec);
    c.end = p + keys::time_bound(q.to.usec);
    c.reverse = q.newest_first;
    if (q.cursor) {
      // Strictly after (before) the cursor: tighten the bound it falls inside.
      std::string at = p + keys::alert_key(*q.cursor);
      if (q.newest_first && at < c.end) c.end = at;
      if (!q.newest_first && at >= c.begin) c.begin = at + '\0';
    }
    if (c.reverse) {
      c.it->SeekForPrev(c.end);
      if (c.it->Valid() && c.it->key().compare(c.end) >= 0) c.it->Prev();
    } else {
      c.it->Seek(c.begin);
    }
    cursors.push_back(std::move(c));
  }

  std::vector<Alert> out;
  uint64_t scanned = 0, read = 0;
  bool truncated = false;
  std::optional<RecordId> last;
  std::vector<std::string> pending;
  auto flush = [&]() -> Status {
    std::vector<std::optional<std::string>> values;
    if (auto st = im.multi_get(kAlerts, pending, values); !st) return st;
    for (size_t i = 0; i < values.size(); ++i) {
      auto& v = values[i];
      if (!v || out.size() >= q.limit) continue;  // dangling index entry (retention) or enough
      ++read;
      auto a = im.decode_alert(RecordId::from_bytes(reinterpret_cast<const uint8_t*>(pending[i].data())), *v);
      if (a && matches(*a, q) && (!q.filter || q.filter(*a))) out.push_back(std::move(*a));
    }
    pending.clear();
    return {};
  };
  // Small first reads so a page of the newest alerts costs one round; larger once filters reject.
  size_t batch = std::clamp<size_t>(q.limit + 1, 16, 128);
  while (out.size() < q.limit) {
    if (q.max_scan && scanned >= q.max_scan) {
      truncated = true;
      break;
    }
    // Merge the cursors in id (= time) order, descending when newest_first.
    IdCursor* best = nullptr;
    for (auto& c : cursors) {
      if (c.valid() && (!best || (q.newest_first ? best->id() < c.id() : c.id() < best->id()))) best = &c;
    }
    if (!best) break;
    RecordId id = best->id();
    best->step();
    ++scanned;
    if (last && *last == id) continue;
    last = id;
    pending.push_back(keys::alert_key(id));
    if (pending.size() >= batch) {
      if (auto st = flush(); !st) return st.error();
      batch = 128;
    }
  }
  if (auto st = flush(); !st) return st.error();
  for (auto& c : cursors) {
    if (!c.it->status().ok()) return rocks_error(c.it->status(), "query");
  }
  if (stats) {
    stats->index_entries = scanned;
    stats->alerts_read = read;
    stats->index = index_name;
    stats->truncated = truncated;
  }
  return out;
}

Result<std::vector<StoredEvent>> Store::get_events(const std::vector<core::EventRef>& refs) const {
  std::vector<std::string> ks;
  ks.reserve(refs.size());
  for (const auto& r : refs) ks.push_back(keys::event_key(r));
  std::vector<std::optional<std::string>> values;
  if (auto st = impl_->multi_get(kEvents, ks, values); !st) return st.error();
  std::vector<StoredEvent> out;
  for (auto& v : values) {
    if (!v) continue;
    if (auto e = decode_stored_event(*v)) out.push_back(std::move(*e));
  }
  return out;
}

Result<std::vector<StoredEvent>> Store::flow_records(const std::string& sensor, uint64_t flow_id, size_t limit) const {
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cf(kIdx)));
  const std::string prefix = keys::flow_index_prefix(sensor, flow_id);
  std::vector<std::string> ks;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix) && ks.size() < limit; it->Next()) {
    ks.push_back(it->value().ToString());
  }
  if (!it->status().ok()) return rocks_error(it->status(), "flow index");
  std::vector<std::optional<std::string>> values;
  if (auto st = impl_->multi_get(kEvents, ks, values); !st) return st.error();
  std::vector<StoredEvent> out;
  for (auto& v : values) {
    if (!v) continue;  // aged out (events go before their index entries)
    if (auto e = decode_stored_event(*v); e && e->sensor == sensor) out.push_back(std::move(*e));
  }
  return out;
}

Result<std::vector<StoredEvent>> Store::scan_events(core::EventKind kind, Timestamp from, Timestamp to,
                                                    size_t limit) const {
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cf(kEvents)));
  std::string end = keys::event_time_bound(kind, to.usec);
  std::vector<StoredEvent> out;
  for (it->Seek(keys::event_time_bound(kind, from.usec)); it->Valid() && it->key().compare(end) < 0 && out.size() < limit;
       it->Next()) {
    if (auto e = decode_stored_event(std::string_view(it->value().data(), it->value().size()))) out.push_back(std::move(*e));
  }
  if (!it->status().ok()) return rocks_error(it->status(), "scan events");
  return out;
}

Result<std::optional<Incident>> Store::get_incident(const RecordId& id) const {
  auto v = impl_->get(kIncidents, keys::incident_key(id));
  if (!v) return v.error();
  if (!v->has_value()) return std::optional<Incident>();
  auto j = nlohmann::json::parse(**v, nullptr, false);
  if (j.is_discarded()) return make_error("corrupt incident record " + id.to_string(), "store");
  auto i = core::incident_from_json(j);
  if (!i) return i.error();
  return std::optional<Incident>(std::move(*i));
}

Result<std::vector<IncidentChange>> Store::incident_history(const RecordId& id) const {
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cf(kIncidents)));
  std::string prefix = keys::alert_key(id) + '\1';
  std::vector<IncidentChange> out;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    auto j = nlohmann::json::parse(it->value().ToString(), nullptr, false);
    if (j.is_discarded()) return make_error("corrupt incident history of " + id.to_string(), "store");
    auto c = core::incident_change_from_json(j);
    if (!c) return c.error();
    out.push_back(std::move(*c));
  }
  if (!it->status().ok()) return rocks_error(it->status(), "incident history");
  return out;
}

Result<std::vector<Incident>> Store::list_incidents(Timestamp from, Timestamp to, size_t limit) const {
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cf(kIncidents)));
  std::string end = keys::time_bound(to.usec);
  std::vector<Incident> out;
  for (it->Seek(keys::time_bound(from.usec)); it->Valid() && it->key().compare(end) < 0 && out.size() < limit; it->Next()) {
    if (it->key().size() != 17 || it->key()[16] != '\0') continue;
    auto j = nlohmann::json::parse(it->value().ToString(), nullptr, false);
    if (j.is_discarded()) continue;
    if (auto i = core::incident_from_json(j)) out.push_back(std::move(*i));
  }
  if (!it->status().ok()) return rocks_error(it->status(), "list incidents");
  return out;
}

Result<uint64_t> Store::next_incident_change_seq(const RecordId& id) const {
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cf(kIncidents)));
  std::string prefix = keys::alert_key(id) + '\1';
  it->SeekForPrev(keys::incident_change_key(id, UINT64_MAX));
  if (!it->status().ok()) return rocks_error(it->status(), "incident seq");
  if (it->Valid() && it->key().starts_with(prefix) && it->key().size() == prefix.size() + 8) {
    return keys::get_be64(std::string_view(it->key().data(), it->key().size()), prefix.size()) + 1;
  }
  return uint64_t{1};
}

Status Store::update_alert(const RecordId& id, const std::function<void(Alert&)>& change, std::vector<AuditEntry> audit) {
  auto cur = get_alert(id);
  if (!cur) return cur.error();
  if (!cur->has_value()) return make_error("no alert " + id.to_string(), "store");
  Alert before = **cur;
  Alert now = before;
  change(now);
  now.id = before.id;  // the key never changes
  now.updated = Timestamp::now();
  CommitBatch b;
  b.put_alert(now, &before);
  if (!audit.empty()) {
    std::string before_hash = audit::record_hash(before), after_hash = audit::record_hash(now);
    for (auto& e : audit) {
      if (e.object.empty()) e.object = id.to_string();
      e.before_hash = before_hash;
      e.after_hash = after_hash;
      b.append_audit(std::move(e));
    }
  }
  return commit(b);
}

Status Store::apply_retention(const RetentionPolicy& p, Timestamp now) {
  auto& im = *impl_;
  rocksdb::WriteOptions wo;
  wo.sync = im.options.sync;
  for (int k = 1; k < core::kEventKindCount; ++k) {
    if (p.event_max_age_usec[k] <= 0) continue;
    auto kind = static_cast<core::EventKind>(k);
    auto s = im.db->DeleteRange(wo, im.cf(kEvents), keys::event_time_bound(kind, INT64_MIN),
                                keys::event_time_bound(kind, now.usec - p.event_max_age_usec[k]));
    if (!s.ok()) return rocks_error(s, "retention of events");
  }
  if (p.alert_max_age_usec > 0) {
    int64_t cutoff = now.usec - p.alert_max_age_usec;
    auto s = im.db->DeleteRange(wo, im.cf(kAlerts), keys::time_bound(INT64_MIN), keys::time_bound(cutoff));
    if (!s.ok()) return rocks_error(s, "retention of alerts");
    im.index_cutoff.store(cutoff, std::memory_order_relaxed);
  }
  return {};
}

Status Store::checkpoint(const std::string& dir) const {
  rocksdb::Checkpoint* raw = nullptr;
  auto s = rocksdb::Checkpoint::Create(impl_->db.get(), &raw);
  if (!s.ok()) return rocks_error(s, "checkpoint");
  std::unique_ptr<rocksdb::Checkpoint> cp(raw);
  s = cp->CreateCheckpoint(dir);
  if (!s.ok()) return rocks_error(s, "checkpoint to " + dir);
  // The audit signing key lives beside the database by default: copy it (mode kept), so a
  // restored backup can go on appending to its log.
  if (impl_->options.audit_key_file.empty()) {
    for (const char* name : {"audit.key", "audit.key.pub"}) {
      std::filesystem::path from = std::filesystem::path(impl_->options.path) / name;
      std::error_code ec;
      if (!std::filesystem::exists(from, ec)) continue;
      std::filesystem::copy_file(from, std::filesystem::path(dir) / name, ec);
      if (ec) return make_error("checkpoint: cannot copy " + from.string() + ": " + ec.message(), "store");
    }
  }
  return {};
}

StoreCounters Store::counters() const {
  return {impl_->commits.load(), impl_->commit_failures.load(), impl_->events_written.load(),
          impl_->alerts_written.load()};
}

const std::string& Store::path() const { return impl_->options.path; }

AuditLog& Store::audit() const { return *impl_->audit; }

}  // namespace vigil::store
