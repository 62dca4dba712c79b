// Fast pattern selection (private to vigil_rules_hs).
#pragma once

#include <optional>

#include "internal.h"

namespace vigil::rules::hs::detail {

// The content of `rule` whose literal goes to the prefilter, or nullopt when the rule has no
// non-negated content (or an explicit fast_pattern on a negated one).
std::optional<FastPattern> select_fast_pattern(const Rule& rule);

}  // namespace vigil::rules::hs::detail
