// The alerts family's value encoding (DESIGN §7): a compact binary record, versioned by its
// first byte. Format 1 (kAlertRecordV1) holds every core::Alert field except the contributing
// event refs, which live in append-only 'R' chunks in the idx family; the record says how many
// there are. A value starting with '{' is the older JSON form ({"event_refs": N, ...} or with
// the refs inline) and still decodes, so stores written before keep opening.
//
// The encoding is internal to store/: nothing hashes or exports these bytes. Audit hashes are
// taken of core::to_json(alert) (vigil/store/audit.h), which does not depend on it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "vigil/core/alert.h"

namespace vigil::store {

inline constexpr uint8_t kAlertRecordV1 = 0x01;

// Appends `a` without its events (event_refs = how many refs the chunks hold) to out.
void encode_alert_record(const core::Alert& a, uint64_t event_refs, std::string& out);

// Decodes a format-1 record into `a` (id and events untouched). False when truncated or
// malformed; `event_refs` receives the refs count.
bool decode_alert_record(std::string_view v, core::Alert& a, uint64_t& event_refs);

}  // namespace vigil::store
