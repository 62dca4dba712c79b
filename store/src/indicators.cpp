#include "vigil/store/indicators.h"

#include "keys.h"

namespace vigil::store {

namespace {

constexpr const char* kRecordPrefix = "ind/r/";
constexpr const char* kAddedPrefix = "ind/a/";
constexpr const char* kLastKey = "ind/last";

std::string added_key(int64_t usec, const std::string& key) {
  std::string k = kAddedPrefix;
  keys::put_be64(k, keys::ordered_time(usec));
  k += key;
  return k;
}

std::optional<FeedRecord> decode(const std::string& key, const std::string& v) {
  if (v.size() < 8) return std::nullopt;
  return FeedRecord{key, static_cast<int64_t>(keys::get_be64(v, 0) ^ (1ull << 63)), v.substr(8)};
}

}  // namespace

void put_feed_record(CommitBatch& batch, const FeedRecord& now, std::optional<int64_t> before_date_added) {
  if (before_date_added && *before_date_added != now.date_added_usec) {
    batch.delete_meta(added_key(*before_date_added, now.key));
  }
  std::string v;
  keys::put_be64(v, keys::ordered_time(now.date_added_usec));
  v += now.value;
  batch.put_meta(kRecordPrefix + now.key, v);
  batch.put_meta(added_key(now.date_added_usec, now.key), {});
  std::string last;
  keys::put_be64(last, static_cast<uint64_t>(now.date_added_usec));
  batch.put_meta(kLastKey, last);
}

Result<std::optional<FeedRecord>> get_feed_record(const Store& store, const std::string& key) {
  auto v = store.get_meta(kRecordPrefix + key);
  if (!v) return v.error();
  if (!v->has_value()) return std::optional<FeedRecord>();
  auto r = decode(key, **v);
  if (!r) return core::make_error("feed record too short", "meta ind/r/" + key);
  return r;
}

Status scan_feed_records(const Store& store, int64_t after_usec, const std::string& after_key,
                         const std::function<bool(const FeedRecord&)>& fn) {
  // Start at (after_usec, after_key) and skip that exact entry: the scan is strictly after it.
  std::string from = added_key(after_usec, after_key);
  if (after_key.empty()) from = added_key(after_usec == INT64_MAX ? after_usec : after_usec + 1, "");
  Status inner;
  auto st = store.scan_meta(kAddedPrefix, from, [&](const std::string& k, const std::string&) {
    if (k.size() < 6 + 8) return true;
    std::string key = k.substr(6 + 8);
    int64_t at = static_cast<int64_t>(keys::get_be64(k, 6) ^ (1ull << 63));
    if (at == after_usec && key <= after_key) return true;
    auto r = get_feed_record(store, key);
    if (!r) {
      inner = r.error();
      return false;
    }
    // An index entry whose record moved on (a later version) is stale: the record is listed at
    // its own date_added.
    if (!r->has_value() || (*r)->date_added_usec != at) return true;
    return fn(**r);
  });
  if (!st) return st;
  return inner;
}

Result<int64_t> last_feed_date_added(const Store& store) {
  auto v = store.get_meta(kLastKey);
  if (!v) return v.error();
  if (!v->has_value() || (*v)->size() != 8) return int64_t{0};
  return static_cast<int64_t>(keys::get_be64(**v, 0));
}

}  // namespace vigil::store
