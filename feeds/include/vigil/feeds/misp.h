// The MISP feed (DESIGN §8): what a MISP instance pulls as a "MISP feed" — manifest.json (event
// uuid -> {Orgc, Tag, info, date, analysis, threat_level_id, timestamp}), one <uuid>.json per
// event with its Attributes, and hashes.csv (md5 of each attribute value, event uuid).
//
// Built from the STIX objects of one collection (the same internal model as TAXII): one event per
// UTC day of the indicators' creation, TLP as "tlp:*" tags on the event. Ids are UUIDv5, so a
// rebuilt feed keeps its uuids. Pure functions; write_misp_feed writes the files.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vigil/core/result.h"

namespace vigil::feeds {

struct MispFeed {
  nlohmann::json manifest = nlohmann::json::object();
  std::map<std::string, nlohmann::json> events;  // uuid -> {"Event": {...}}
  std::string hashes_csv;
};

// `objects`: STIX objects of one collection (non-indicators are skipped); `feed_name` keeps
// events of different collections apart.
MispFeed build_misp_feed(const std::vector<nlohmann::json>& objects, const std::string& org_name, const std::string& feed_name);

// Writes manifest.json, <uuid>.json and hashes.csv into `dir` (created when missing).
core::Status write_misp_feed(const MispFeed& feed, const std::string& dir);

}  // namespace vigil::feeds
