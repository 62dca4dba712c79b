// vigil-seed-alerts: a test fixture. Writes N alerts into a store directory through the store's
// API (what the correlator would have produced) and prints their ids, one per line, so the audit
// integration test can change them with the real vigil-correlator CLI.
//
//   vigil-seed-alerts DIR N
#include <cstdlib>
#include <iostream>

#include "vigil/store/store.h"

using namespace vigil;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: vigil-seed-alerts DIR N\n";
    return 2;
  }
  store::StoreOptions o;
  o.path = argv[1];
  auto s = store::Store::open(o);
  if (!s) {
    std::cerr << s.error().to_string() << "\n";
    return 1;
  }
  int n = std::atoi(argv[2]);
  store::CommitBatch b;
  std::vector<core::RecordId> ids;
  for (int i = 0; i < n; ++i) {
    core::Alert a;
    a.id = {1767225600000000LL + i * 1000000LL, 0x5eed0000ull + static_cast<uint64_t>(i)};
    a.tenant = "moh";
    a.sensor = "sensor-1";
    a.rule = "aggregate";
    a.gid = 1;
    a.sid = 2000000 + static_cast<uint32_t>(i);
    a.severity = 2;
    a.signature = "seeded alert " + std::to_string(i);
    a.first_seen = a.last_seen = a.updated = core::Timestamp{a.id.time_usec};
    a.flow.src_ip = core::IpAddress::v4(0x0a000001 + static_cast<uint32_t>(i));
    a.flow.dst_ip = core::IpAddress::v4(0xc0a80001);
    b.put_alert(a, nullptr);
    ids.push_back(a.id);
  }
  if (auto st = (*s)->commit(b); !st) {
    std::cerr << st.error().to_string() << "\n";
    return 1;
  }
  for (const auto& id : ids) std::cout << id.to_string() << "\n";
  return 0;
}
