// Text names of the policy enums, as they appear in the policy file, records and the API.
#include <array>

#include "vigil/policy/policy.h"

namespace vigil::policy {
namespace {

template <typename E, size_t N>
std::optional<E> lookup(const std::array<std::string_view, N>& names, std::string_view text) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == text) return static_cast<E>(i);
  }
  return std::nullopt;
}

constexpr std::array<std::string_view, 5> kLevels{"public", "internal", "confidential", "secret", "top-secret"};
constexpr std::array<std::string_view, 5> kTlps{"clear", "green", "amber", "amber+strict", "red"};
constexpr std::array<std::string_view, 5> kRoles{"analyst", "lead", "agency", "auditor", "admin"};
constexpr std::array<std::string_view, 9> kActions{"list", "count", "read", "update", "note",
                                                   "unmask", "export", "audit", "admin"};

}  // namespace

std::string_view to_string(Level level) { return kLevels.at(static_cast<size_t>(level)); }
std::optional<Level> parse_level(std::string_view text) { return lookup<Level>(kLevels, text); }
std::string_view to_string(Tlp tlp) { return kTlps.at(static_cast<size_t>(tlp)); }
std::optional<Tlp> parse_tlp(std::string_view text) {
  if (text == "white") return Tlp::kClear;  // TLP 1.0 name
  return lookup<Tlp>(kTlps, text);
}
std::string_view to_string(Role role) { return kRoles.at(static_cast<size_t>(role)); }
std::optional<Role> parse_role(std::string_view text) { return lookup<Role>(kRoles, text); }
std::string_view to_string(Action action) { return kActions.at(static_cast<size_t>(action)); }
std::optional<Action> parse_action(std::string_view text) { return lookup<Action>(kActions, text); }

}  // namespace vigil::policy
