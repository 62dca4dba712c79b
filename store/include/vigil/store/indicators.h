// Feed records (feeds/): indicators, sightings and the static STIX objects the agency feeds serve,
// each a JSON value with a stable "date added" so TAXII's added_after paging is a range scan.
//
//   meta  x/ind/r/<key>                               -> date_added(8, BE, sign-flipped) | value
//         x/ind/a/<date_added(8, BE, sign-flipped)><key> -> ""   (the date-added index)
//         x/ind/last                                  -> the greatest date_added written (8, BE)
//
// The record's meaning belongs to feeds/ (vigil/feeds/indicator.h); the store only keeps the value
// and the index right. Writes go through a CommitBatch, so a record lands atomically with whatever
// else the step writes (alerts, audit entries). Threading as Store: one writer, many readers.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "vigil/core/result.h"
#include "vigil/store/store.h"

namespace vigil::store {

struct FeedRecord {
  std::string key;            // unique, stable ("i|ipv4|203.0.113.5", "s|...|tenant")
  int64_t date_added_usec = 0;  // when this version was added; callers keep it unique and growing
  std::string value;          // JSON
};

// Writes `now`; `before_date_added` (the stored version's date, when there is one) is dropped from
// the index so a record is listed once, at its latest date_added.
void put_feed_record(CommitBatch& batch, const FeedRecord& now, std::optional<int64_t> before_date_added);

Result<std::optional<FeedRecord>> get_feed_record(const Store& store, const std::string& key);

// Records in (date_added, key) order strictly after (after_usec, after_key) — pass after_key ""
// to start at the first record added after after_usec — until fn returns false.
Status scan_feed_records(const Store& store, int64_t after_usec, const std::string& after_key,
                         const std::function<bool(const FeedRecord&)>& fn);

// The greatest date_added ever written (0 when none): the next one must be larger.
Result<int64_t> last_feed_date_added(const Store& store);

}  // namespace vigil::store
