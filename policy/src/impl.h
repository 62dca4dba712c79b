// The loaded policy's data, shared by the loader (load.cpp) and the decisions (engine.cpp).
#pragma once

#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "vigil/policy/policy.h"

namespace vigil::policy {

struct SensorLevel {
  std::string id;
  Level level = Level::kInternal;
};

// Longest-prefix match over CIDR blocks: one hash probe per distinct prefix length (most
// specific first), so lookups cost the same for 5 blocks or 50,000. The first block listed wins
// among identical ones.
class PrefixIndex {
 public:
  void add(const core::Cidr& block, size_t value);
  void finish();  // after the last add
  // The value of the most specific block holding ip, and its prefix length; nullopt when none.
  [[nodiscard]] std::optional<std::pair<size_t, int>> find(const core::IpAddress& ip) const;

 private:
  static std::string key(const core::IpAddress& ip, bool v4, int prefix);
  std::vector<std::pair<bool, int>> lengths_;  // (is_v4, prefix), longest first
  std::unordered_map<std::string, size_t> map_;
};

struct Policy::Impl {
  std::string source;
  std::vector<Tenant> tenants;
  std::vector<Asset> assets;
  std::vector<User> users;
  std::vector<SensorLevel> sensors;
  Retention retention;
  std::map<std::string, size_t, std::less<>> tenant_index;  // name -> tenants[i]
  PrefixIndex tenant_networks;  // -> tenants[i]
  PrefixIndex asset_networks;   // -> assets[i]
};

// 730 days: incident records and the audit trail are kept at least 24 months (Law 116/2025).
inline constexpr int64_t kLegalFloorUsec = 730LL * 86'400'000'000LL;

}  // namespace vigil::policy
