// The correlation rules and threat-intel lists a config names, loaded together (at start, on
// SIGHUP, and by `vigil-correlator check`).
#pragma once

#include <memory>
#include <utility>

#include "vigil/core/result.h"
#include "vigil/correlator/config.h"
#include "vigil/correlator/intel.h"
#include "vigil/correlator/rules.h"

namespace vigil::correlator {

core::Result<std::pair<std::shared_ptr<const RuleSet>, std::shared_ptr<const ThreatIntel>>> load_content(
    const CorrelatorConfig& c);

}  // namespace vigil::correlator
