// The feeds' two questions to the policy engine, kept apart so the rest of the library does not
// need the engine linked (tests pass their own lookups).
#include "vigil/feeds/service.h"

namespace vigil::feeds {

FeedService::UserLookup users_from_policy(std::shared_ptr<const policy::PolicyHolder> holder) {
  return [holder](std::string_view hex) -> std::optional<policy::User> {
    auto p = holder->get();
    if (!p) return std::nullopt;
    const policy::User* u = p->find_user_by_token_sha256(hex);
    if (!u) return std::nullopt;
    return *u;
  };
}

IsInternal internal_from_policy(std::shared_ptr<const policy::PolicyHolder> holder) {
  return [holder](const core::IpAddress& ip) {
    auto p = holder->get();
    return p && !p->tenant_for(ip, 0, 0).empty();
  };
}

TenantTlp tenant_tlp_from_policy(std::shared_ptr<const policy::PolicyHolder> holder) {
  return [holder](const std::string& tenant) -> std::optional<Tlp> {
    auto p = holder->get();
    if (!p) return std::nullopt;
    for (const auto& t : p->tenants()) {
      if (t.name == tenant) return t.default_tlp;
    }
    return std::nullopt;
  };
}

}  // namespace vigil::feeds
