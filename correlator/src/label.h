// The label stage's policy part (DESIGN §5-6): asset and TLP labels on events, the handling level
// of alerts. Private to the correlator; the engine calls it between tenant labelling and
// correlation.
#pragma once

#include <vector>

#include "vigil/core/alert.h"
#include "vigil/policy/policy.h"

namespace vigil::correlator {

// At most this many level reasons are kept on one alert (the first ones, without repeats).
inline constexpr size_t kMaxLevelReasons = 16;

// Stamps the labels the policy knows onto the event (the highest sys_level and importance of the
// assets at either end; the tenant's default TLP when the sensor set none, never lowering one it
// set) and returns the event's classification. `e.tenant` must already be set.
policy::Classification label_event(const policy::Policy& policy, core::StoredEvent& e);

// An alert's labels are the highest of its events': sys_level, importance, pii, secrecy and TLP
// only rise; tags are merged.
void merge_labels(core::EventLabels& into, const core::EventLabels& from);

// Raises the alert's level to `level` when higher and adds the reasons it has not seen yet.
void raise_level(core::Alert& alert, policy::Level level, const std::vector<std::string>& reasons);
void raise_level(core::Incident& incident, policy::Level level, const std::vector<std::string>& reasons);

}  // namespace vigil::correlator
