#include "label.h"

#include <algorithm>

namespace vigil::correlator {

namespace {

int importance_rank(std::string_view s) { return s == "core" ? 2 : s == "important" ? 1 : 0; }
int pii_rank(std::string_view s) { return s == "sensitive" ? 2 : s == "basic" ? 1 : 0; }

template <typename R>
void raise(R& r, policy::Level level, const std::vector<std::string>& reasons) {
  // An unknown stored name counts as the lowest here: raising from it never lowers anything real.
  auto cur = policy::parse_level(r.level).value_or(policy::Level::kPublic);
  if (level > cur) r.level = std::string(policy::to_string(level));
  for (const auto& why : reasons) {
    if (r.level_reasons.size() >= kMaxLevelReasons) break;
    if (std::find(r.level_reasons.begin(), r.level_reasons.end(), why) == r.level_reasons.end()) r.level_reasons.push_back(why);
  }
}

}  // namespace

policy::Classification label_event(const policy::Policy& policy, core::StoredEvent& e) {
  auto& l = e.event.labels;
  for (const auto* ip : {&e.event.flow.src_ip, &e.event.flow.dst_ip}) {
    if (const auto* a = policy.asset_for(*ip)) {
      l.sys_level = std::max(l.sys_level, a->sys_level);
      if (importance_rank(a->importance) > importance_rank(l.importance)) l.importance = a->importance;
    }
  }
  if (const auto* t = policy.find_tenant(e.tenant)) {
    auto have = policy::parse_tlp(l.tlp);
    if (!have || *have < t->default_tlp) l.tlp = std::string(policy::to_string(t->default_tlp));
  }
  return policy.classify(l, e.event.flow, policy.sensor_level(e.sensor));
}

void merge_labels(core::EventLabels& into, const core::EventLabels& from) {
  into.sys_level = std::max(into.sys_level, from.sys_level);
  if (importance_rank(from.importance) > importance_rank(into.importance)) into.importance = from.importance;
  if (pii_rank(from.pii) > pii_rank(into.pii)) into.pii = from.pii;
  if (from.secrecy == "suspected-state-secret") into.secrecy = from.secrecy;
  else if (into.secrecy.empty()) into.secrecy = from.secrecy;
  if (!from.tlp.empty()) {
    auto a = policy::parse_tlp(into.tlp);
    auto b = policy::parse_tlp(from.tlp);
    if (!a || (b && *b > *a)) into.tlp = from.tlp;
  }
  for (const auto& t : from.tags) {
    if (into.tags.size() >= 32) break;
    if (std::find(into.tags.begin(), into.tags.end(), t) == into.tags.end()) into.tags.push_back(t);
  }
}

void raise_level(core::Alert& alert, policy::Level level, const std::vector<std::string>& reasons) {
  raise(alert, level, reasons);
}
void raise_level(core::Incident& incident, policy::Level level, const std::vector<std::string>& reasons) {
  raise(incident, level, reasons);
}

}  // namespace vigil::correlator
