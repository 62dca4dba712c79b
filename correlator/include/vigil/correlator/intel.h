// Threat-intel lists (DESIGN §5 enrich): IPs/CIDRs, domains and file hashes, one entry per line
// ('#' comments), loaded from files and swapped whole on reload. A match tags the event with
// "<type>:<list name>" (the file name without extension). Immutable once loaded: share freely.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "vigil/core/alert.h"
#include "vigil/core/result.h"

namespace vigil::correlator {

class ThreatIntel {
 public:
  static core::Result<std::shared_ptr<const ThreatIntel>> load(const std::vector<std::string>& ip_files,
                                                              const std::vector<std::string>& domain_files,
                                                              const std::vector<std::string>& hash_files);
  // Appends the names of matching lists to e.intel. Parses app_json only when domain or hash
  // lists are loaded.
  void match(core::StoredEvent& e) const;
  [[nodiscard]] size_t entries() const { return entries_; }

 private:
  std::map<std::array<uint8_t, 16>, std::string> ips_;
  std::vector<std::pair<core::Cidr, std::string>> nets_;
  std::unordered_map<std::string, std::string> domains_;
  std::unordered_map<std::string, std::string> hashes_;
  size_t entries_ = 0;
};

}  // namespace vigil::correlator
