// STIX 2.1 objects of the agency feeds (DESIGN §8): the reporting SOC's identity, tenants'
// identities (only in their own collection, for where_sighted_refs), indicators, sightings and
// the TLP 2.0 marking definitions (cti-stix-common-objects ids and extension).
//
// Ids are UUIDv5 (RFC 4122, SHA-1) over the object's identifying content in Vigil's namespace,
// so regenerating a feed yields the same ids. Timestamps are RFC 3339 UTC with milliseconds.
// Every object but the marking definitions carries object_marking_refs. No payload, no PII.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "vigil/feeds/indicator.h"

namespace vigil::feeds::stix {

// Vigil's UUIDv5 namespace for feed objects.
inline constexpr std::string_view kNamespace = "6a7c2f2e-2b8e-4c53-9b8f-5d1c0a6e7f31";
inline constexpr std::string_view kTlpExtension = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

// UUIDv5 of `name` in `ns` (text UUID), lowercase 8-4-4-4-12.
std::string uuid5(std::string_view ns, std::string_view name);
std::string uuid5(std::string_view name);  // in kNamespace

// "marking-definition--bab4a63c-..." for GREEN, etc.
std::string_view marking_id(Tlp tlp);
nlohmann::json marking_definition(Tlp tlp);

std::string soc_identity_id(std::string_view soc_name);
std::string tenant_identity_id(std::string_view tenant);
nlohmann::json soc_identity(std::string_view soc_name, core::Timestamp created);
nlohmann::json tenant_identity(std::string_view tenant, std::string_view display_name, std::string_view soc_name,
                               core::Timestamp created);

// "[ipv4-addr:value = '203.0.113.5']", "[file:hashes.'SHA-256' = '...']", ... (quotes and
// backslashes escaped).
std::string pattern(IndicatorType type, std::string_view value);
// The subset of STIX patterning accepted from agencies: one comparison
// "[<object>:<path> = '<value>']" with the object paths pattern() writes, plus
// "file:hashes.MD5" / "file:hashes.'SHA-1'" / "file:hashes.SHA256" spellings. Errors say why.
core::Result<std::pair<IndicatorType, std::string>> parse_pattern(std::string_view text);

std::string indicator_id(const Indicator& i);
std::string sighting_id(const Sighting& s);

nlohmann::json to_stix(const Indicator& i, std::string_view soc_name);
// where_sighted_refs names the tenant only when `with_victim` (the tenant's own collection).
nlohmann::json to_stix(const Sighting& s, std::string_view soc_name, bool with_victim);

// Checks the rules that matter for a STIX 2.1 SDO/SRO/marking: type, spec_version "2.1",
// id "<type>--<uuid>", created/modified RFC 3339 with modified >= created, marking refs well
// formed, and for indicators pattern_type "stix", a pattern in the supported subset and
// valid_from. Empty = valid; otherwise the first problem.
std::string validate(const nlohmann::json& object);

}  // namespace vigil::feeds::stix
