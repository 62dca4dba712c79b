// The feeds' internal model (DESIGN §6 point 3): indicators of attacker infrastructure taken from
// confirmed alerts and incidents, sightings of them at a tenant, and where each may go.
//
// Confirmed: an alert closed with verdict "true-positive", or an alert escalated into an incident
// that is not closed with another verdict (closing an incident as false-positive/benign withdraws
// its alerts). Only the attacker side is taken: an address is an indicator only when no tenant
// owns it and it is globally routable; domains, URLs (without query string) and file hashes only
// from flows whose server side is such an address. Victim addresses, payloads and PII never
// enter the model.
//
// Placement (TLP 2.0), one collection per (TLP, audience):
//   indicator, level public/internal, no victim data  -> GREEN to every agency ("agencies"),
//                                                        CLEAR instead once a person released it
//   input TLP amber or amber+strict                     -> AMBER+STRICT to each sighting tenant
//   sighting (names its victim tenant)                  -> AMBER+STRICT to that tenant only
//   level confidential or secret, or TLP red            -> RED to the named recipients set by hand
//   level top-secret                                    -> never
//   agency submission                                   -> that agency's submissions collection
// An item's TLP is never lower than its inputs'. Plain value types; no I/O here.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "vigil/core/alert.h"
#include "vigil/core/ip.h"
#include "vigil/core/result.h"
#include "vigil/policy/policy.h"

namespace vigil::feeds {

using policy::Level;
using policy::Tlp;

enum class IndicatorType : uint8_t { kIpv4, kIpv6, kDomain, kUrl, kSha256, kMd5, kSha1 };
// "ipv4", "ipv6", "domain", "url", "sha256", "md5", "sha1".
std::string_view to_string(IndicatorType type);
std::optional<IndicatorType> parse_indicator_type(std::string_view text);
// Canonical form of a value (IP text as core::IpAddress prints it, lowercase domain without a
// trailing dot, lowercase hex hashes of the right length, URL with lowercase scheme and host and
// no query/fragment). nullopt when the value is not valid for the type.
std::optional<std::string> normalize(IndicatorType type, std::string_view value);

struct Indicator {
  IndicatorType type = IndicatorType::kIpv4;
  std::string value;  // normalized
  Level level = Level::kPublic;   // highest level its inputs force on it
  Tlp tlp = Tlp::kClear;          // highest TLP of its inputs (clear: they impose none); never lowered
  bool released = false;          // a person released it as TLP:CLEAR
  std::vector<std::string> recipients;  // users it was shared with by hand (RED)
  std::string source = "soc";     // "soc" or "agency:<tenant>" for submissions
  std::vector<std::string> labels;      // signature names / categories (no PII)
  std::vector<std::string> tenants;     // tenants where it was seen (not published as such)
  std::map<std::string, uint64_t> refs; // alert id -> count (idempotent merge; not published)
  core::Timestamp first_seen, last_seen;
  core::Timestamp created, modified;    // STIX created / modified of the current version
  int64_t date_added_usec = 0;          // TAXII date_added of the current version
  std::string description;              // submissions: the agency's text
  std::string stix_id;                  // submissions: the agency's own STIX id (else derived)

  [[nodiscard]] std::string key() const;  // "i|ipv4|203.0.113.5"
};

struct Sighting {
  IndicatorType type = IndicatorType::kIpv4;
  std::string value;
  std::string tenant;                    // the victim tenant
  Level level = Level::kInternal;        // highest level of its alerts
  Tlp tlp = Tlp::kAmberStrict;           // never below AMBER+STRICT: it names a victim
  std::vector<std::string> recipients;
  std::map<std::string, uint64_t> refs;  // alert id -> count
  core::Timestamp first_seen, last_seen;
  core::Timestamp created, modified;
  int64_t date_added_usec = 0;

  [[nodiscard]] uint64_t count() const;
  [[nodiscard]] std::string key() const;  // "s|ipv4|203.0.113.5|<tenant>"
  [[nodiscard]] std::string indicator_key() const;
};

nlohmann::json to_json(const Indicator& i);
nlohmann::json to_json(const Sighting& s);
core::Result<Indicator> indicator_from_json(const nlohmann::json& j);
core::Result<Sighting> sighting_from_json(const nlohmann::json& j);

// A collection's audience. kind: "agencies" (every agency user), "tenant" (users of one tenant),
// "user" (one named user), "submissions" (the agency that writes into it).
struct Audience {
  Tlp tlp = Tlp::kGreen;
  std::string kind;
  std::string name;  // tenant or user name; empty for "agencies"
  friend bool operator==(const Audience&, const Audience&) = default;
  friend auto operator<=>(const Audience&, const Audience&) = default;
};

// Where an item goes; empty = nowhere (top-secret, or confidential+ without recipients).
std::vector<Audience> placements(const Indicator& i);
std::vector<Audience> placements(const Sighting& s);
// The TLP the item carries when published (its inputs' TLP, raised by the rules above).
Tlp effective_tlp(const Indicator& i);
Tlp effective_tlp(const Sighting& s);

// Whether an alert is confirmed (see the top of this file). `incident` is the alert's incident
// when it has one and it was found.
bool confirmed(const core::Alert& alert, const core::Incident* incident);

// What extraction needs to know about addresses: true when a tenant owns it (the wiring passes
// policy::Policy::tenant_for(ip, 0, 0) != "").
using IsInternal = std::function<bool(const core::IpAddress&)>;
// True for addresses that are never attacker indicators: private, loopback, link-local,
// multicast, unspecified, CGNAT (RFC 6598), unique-local IPv6.
bool is_special(const core::IpAddress& ip);

struct Extracted {
  std::vector<Indicator> indicators;
  std::vector<Sighting> sightings;  // one per indicator, at the alert's tenant (when it has one)
};
// The TLP the correlator stamps on a tenant's records by default (policy tenants[].default_tlp).
// That marking protects the tenant's (victim) data, which an indicator does not carry: only an
// alert TLP stricter than its tenant's default binds the indicator. Sightings take the alert's
// TLP whatever it is. Empty function or nullopt: every alert TLP binds the indicator.
using TenantTlp = std::function<std::optional<Tlp>(const std::string& tenant)>;

// Indicators and sightings of one confirmed alert. `events` are its stored events (for the
// app-layer host names, URLs and file hashes), may be empty. Times come from the alert.
Extracted extract(const core::Alert& alert, const std::vector<core::StoredEvent>& events,
                  const IsInternal& is_internal, const TenantTlp& tenant_tlp = {});

// Merges `in` into `into` (same key): union of labels, tenants, refs (per alert the latest count),
// widest seen times, highest level and TLP. Returns true when anything published changed.
bool merge(Indicator& into, const Indicator& in);
bool merge(Sighting& into, const Sighting& in);

// RFC 3339 with milliseconds and Z ("2026-11-24T04:30:00.123Z"), as STIX wants.
std::string stix_time(core::Timestamp t);
// RFC 3339 with microseconds and Z, for TAXII date_added (unique per version).
std::string taxii_time(int64_t usec);
// Parses RFC 3339 with "Z" or an offset, any fraction digits (truncated to microseconds).
std::optional<int64_t> parse_time(std::string_view text);

}  // namespace vigil::feeds
