// The correlator with `policy:`: loaded at start (a bad one is fatal, naming the key), reloaded
// on SIGHUP's flag (a bad one is logged and the running one kept), each load in the audit log.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <zmq.h>

#include "support/temp_dir.h"
#include "vigil/correlator/correlator.h"

using namespace vigil;
using namespace vigil::correlator;

namespace {

using Dir = vigil::test_support::TempDir;

CorrelatorConfig config(const Dir& d) {
  char pub[41], sec[41], cpub[41], csec[41];
  zmq_curve_keypair(pub, sec);
  zmq_curve_keypair(cpub, csec);
  CorrelatorConfig c;
  c.listen = "ipc://" + (d.path / "c.sock").string();
  c.data_dir = d.path.string();
  c.server_public_key = pub;
  c.server_secret_key = sec;
  c.sensors.push_back({"s1", cpub, "moh"});
  c.policy_file = (d.path / "policy.yaml").string();
  return c;
}

template <typename F>
bool eventually(F pred) {
  for (int i = 0; i < 1000; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred();
}

std::vector<store::AuditEntry> policy_trail(Correlator& c) {
  auto t = c.store().audit().query_object("policy");
  return t.ok() ? *t : std::vector<store::AuditEntry>{};
}

}  // namespace

TEST_CASE("correlator policy: a bad policy at start is fatal and names the key", "[correlator][policy]") {
  Dir d;
  d.write("policy.yaml", "tenants: [{name: a, default_tlp: pink}]\n");
  auto c = Correlator::create(config(d));
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().to_string().find("policy.yaml: tenants[0].default_tlp: unknown TLP 'pink'") != std::string::npos);
}

TEST_CASE("correlator policy: loaded and audited at start, swapped on reload, a bad reload keeps it", "[correlator][policy]") {
  Dir d;
  d.write("policy.yaml", "tenants: [{name: a}, {name: b}]\n");
  auto made = Correlator::create(config(d));
  REQUIRE(made.ok());
  auto& c = **made;
  REQUIRE(c.policy() != nullptr);
  CHECK(c.policy()->tenants().size() == 2);
  auto trail = policy_trail(c);
  REQUIRE(trail.size() == 1);
  CHECK(trail[0].action == "policy.load");
  CHECK(trail[0].after_hash.size() == 64);

  RunFlags flags;
  core::Status result;
  std::thread t([&] { result = c.run(flags); });
  REQUIRE(eventually([&] { return !c.endpoint().empty(); }));

  auto before = c.policy();
  d.write("policy.yaml", "tenants: [{name: a}, {name: b}, {name: c}]\n");
  flags.reload = true;
  CHECK(eventually([&] { return c.policy()->tenants().size() == 3; }));
  CHECK(before->tenants().size() == 2);  // a snapshot taken earlier stays valid
  CHECK(eventually([&] { return policy_trail(c).size() == 2; }));
  trail = policy_trail(c);
  REQUIRE(trail.size() == 2);
  CHECK(trail[1].action == "policy.reload");
  CHECK(trail[1].after_hash != trail[0].after_hash);

  d.write("policy.yaml", "tenants: [{name: a, vlans: [5000]}]\n");
  flags.reload = true;
  REQUIRE(eventually([&] { return !flags.reload.load(); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(c.policy()->tenants().size() == 3);
  CHECK(policy_trail(c).size() == 2);

  flags.stop = true;
  t.join();
  CHECK(result.ok());
}
