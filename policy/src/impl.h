// The loaded policy's data, shared by the loader (load.cpp) and the decisions (engine.cpp).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "vigil/policy/policy.h"

namespace vigil::policy {

struct SensorLevel {
  std::string id;
  Level level = Level::kInternal;
};

struct Policy::Impl {
  std::string source;
  std::vector<Tenant> tenants;
  std::vector<Asset> assets;
  std::vector<User> users;
  std::vector<SensorLevel> sensors;
  Retention retention;
  std::map<std::string, size_t, std::less<>> tenant_index;  // name -> tenants[i]
};

// 730 days: incident records and the audit trail are kept at least 24 months (Law 116/2025).
inline constexpr int64_t kLegalFloorUsec = 730LL * 86'400'000'000LL;

}  // namespace vigil::policy
