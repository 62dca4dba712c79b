// Test helper: writes confirmed alerts (and one escalated incident) of two tenants into a store,
// as the correlator and an analyst would have, so the feeds have something to publish.
//   vigil-feeds-seed --data-dir DIR [--open]
// --open adds one more alert (bo-tai-chinh, attacker 203.0.113.88) that is still new: an analyst
// closing it true-positive makes it an indicator (the console test).
#include <filesystem>
#include <iostream>

#include "vigil/store/store.h"

using namespace vigil;

int main(int argc, char** argv) {
  const bool open_alert = argc == 4 && std::string(argv[3]) == "--open";
  if ((argc != 3 && !open_alert) || std::string(argv[1]) != "--data-dir") {
    std::cerr << "usage: vigil-feeds-seed --data-dir DIR [--open]\n";
    return 2;
  }
  store::StoreOptions o;
  o.path = (std::filesystem::path(argv[2]) / "db").string();
  auto st = store::Store::open(o);
  if (!st) {
    std::cerr << st.error().to_string() << "\n";
    return 1;
  }
  int64_t t0 = core::Timestamp::now().usec - 3600000000;
  auto alert = [&](uint64_t n, const char* tenant, const char* src, const char* dst, const char* level) {
    core::Alert a;
    a.id = core::RecordId{t0 + static_cast<int64_t>(n) * 1000000, n};
    a.tenant = tenant;
    a.sensor = "sensor-1";
    a.rule = "aggregate";
    a.rule_type = "aggregate";
    a.signature = "ET MALWARE seeded " + std::to_string(n);
    a.sid = static_cast<uint32_t>(2100000 + n);
    a.flow.src_ip = *core::IpAddress::parse(src);
    a.flow.dst_ip = *core::IpAddress::parse(dst);
    a.flow.src_port = 51000;
    a.flow.dst_port = 443;
    a.flow.proto = 6;
    a.first_seen.usec = a.id.time_usec;
    a.last_seen.usec = a.id.time_usec + 5000000;
    a.count = n + 1;
    a.level = level;
    a.labels.tlp = "amber";  // the tenants' default_tlp, as the correlator stamps it
    a.status = core::AlertStatus::kClosed;
    a.verdict = "true-positive";
    return a;
  };
  store::CommitBatch b;
  std::vector<core::Alert> alerts = {
      alert(1, "bo-tai-chinh", "10.20.1.5", "203.0.113.5", "internal"),
      alert(2, "bo-tai-chinh", "10.20.1.6", "203.0.113.6", "internal"),
      alert(3, "tinh-hanoi", "198.51.100.200", "10.10.5.9", "internal"),
      alert(4, "tinh-hanoi", "2001:db8:66::1", "10.10.5.9", "internal"),
      alert(5, "tinh-hanoi", "203.0.113.66", "10.10.5.10", "secret"),  // RED by hand only
      alert(6, "bo-tai-chinh", "10.20.1.7", "203.0.113.77", "internal"),
  };
  alerts[5].status = core::AlertStatus::kAcknowledged;  // escalated, open incident
  alerts[5].verdict.clear();
  core::Incident inc;
  inc.id = core::RecordId{alerts[5].first_seen.usec, 77};
  inc.tenant = "bo-tai-chinh";
  inc.title = "C2 beacon";
  inc.alerts = {alerts[5].id};
  inc.created = alerts[5].first_seen;
  inc.updated = alerts[5].first_seen;
  alerts[5].incident = inc.id.to_string();
  if (open_alert) {
    alerts.push_back(alert(7, "bo-tai-chinh", "10.20.1.8", "203.0.113.88", "internal"));
    alerts.back().status = core::AlertStatus::kNew;
    alerts.back().verdict.clear();
  }
  for (const auto& a : alerts) b.put_alert(a, nullptr);
  b.put_incident(inc, {inc.created, "seed", "created", ""}, 1);
  if (auto s = (*st)->commit(b); !s) {
    std::cerr << s.error().to_string() << "\n";
    return 1;
  }
  std::cout << "seeded " << alerts.size() << " alerts\n";
  return 0;
}
