// Retention per level: alerts past their level's retention disappear (with their index entries)
// and each removal is in the audit log; younger ones, longer-kept levels and alerts of incidents
// stay.
#include <catch2/catch.hpp>

#include <filesystem>
#include <random>

#include "support/temp_dir.h"
#include "vigil/correlator/retention.h"
#include "vigil/policy/policy.h"
#include "vigil/store/store.h"

using namespace vigil;

namespace {

constexpr int64_t kDay = 86'400'000'000LL;

using Dir = vigil::test_support::TempDir;

core::Alert alert(uint64_t n, int64_t time, const std::string& level, const std::string& tenant = "bo-tai-chinh") {
  core::Alert a;
  a.id = core::RecordId{time, n};
  a.tenant = tenant;
  a.rule = "aggregate";
  a.sid = static_cast<uint32_t>(n);
  a.first_seen = a.last_seen = a.updated = core::Timestamp{time};
  a.count = 1;
  a.level = level;
  a.flow.src_ip = *core::IpAddress::parse("203.0.113.5");
  a.flow.dst_ip = *core::IpAddress::parse("10.20.10.10");
  return a;
}

}  // namespace

TEST_CASE("retention per level deletes expired alerts and audits each removal", "[correlator][retention]") {
  Dir d;
  auto store = store::Store::open({(d.path / "db").string()});
  REQUIRE(store.ok());
  auto pol = policy::Policy::parse("retention:\n  alerts: {public: 10d, internal: 30d, confidential: 90d, secret: forever}\n"
                                   "  events: {public: 1d, internal: 1d, confidential: 1d, secret: 1d, top-secret: 1d}\n"
                                   "  protocol: 1d\n",
                                   "p.yaml");
  REQUIRE(pol.ok());
  const int64_t now = 1'800'000'000'000'000;
  struct Case {
    uint64_t n;
    int64_t age_days;
    const char* level;
    bool incident;
    bool kept;
  };
  const Case cases[] = {
      {1, 5, "public", false, true},         {2, 11, "public", false, false},
      {3, 29, "internal", false, true},      {4, 31, "internal", false, false},
      {5, 400, "internal", false, false},    {6, 89, "confidential", false, true},
      {7, 91, "confidential", false, false}, {8, 4000, "secret", false, true},
      {9, 4000, "top-secret", false, true},  {10, 400, "internal", true, true},
      {11, 400, "no-such-level", false, true},
  };
  store::CommitBatch b;
  for (const auto& c : cases) {
    auto a = alert(c.n, now - c.age_days * kDay, c.level);
    if (c.incident) a.incident = "00000000000000000000000000000001";
    b.put_alert(a, nullptr);
  }
  REQUIRE((*store)->commit(b).ok());
  const uint64_t audit_before = (*store)->audit().size();

  auto run = correlator::apply_policy_retention(**store, (*pol)->retention(), core::Timestamp{now});
  REQUIRE(run.ok());
  CHECK(run->alerts_deleted == 4);
  CHECK(run->deleted_per_level[0] == 1);
  CHECK(run->deleted_per_level[1] == 2);
  CHECK(run->deleted_per_level[2] == 1);
  CHECK(run->kept_for_incident == 1);
  CHECK((*store)->audit().size() == audit_before + 4);

  for (const auto& c : cases) {
    auto a = (*store)->get_alert(core::RecordId{now - c.age_days * kDay, c.n});
    REQUIRE(a.ok());
    INFO("alert " << c.n << " " << c.level << " " << c.age_days << "d");
    CHECK(a->has_value() == c.kept);
    auto trail = (*store)->audit().query_object(core::RecordId{now - c.age_days * kDay, c.n}.to_string());
    REQUIRE(trail.ok());
    if (c.kept) {
      CHECK(trail->empty());
    } else {
      REQUIRE(trail->size() == 1);
      CHECK((*trail)[0].action == "alert.delete");
      CHECK((*trail)[0].actor == "correlator");
      CHECK((*trail)[0].rule == "retention");
      CHECK((*trail)[0].reason.rfind(std::string("level ") + c.level, 0) == 0);
      CHECK_FALSE((*trail)[0].before_hash.empty());
    }
  }
  // Index entries went with the alerts: a tenant query sees only the kept ones.
  store::AlertQuery q;
  q.tenant = "bo-tai-chinh";
  auto left = (*store)->query_alerts(q);
  REQUIRE(left.ok());
  CHECK(left->size() == 7);

  // A second run finds nothing more to do and audits nothing.
  auto again = correlator::apply_policy_retention(**store, (*pol)->retention(), core::Timestamp{now});
  REQUIRE(again.ok());
  CHECK(again->alerts_deleted == 0);
  CHECK((*store)->audit().size() == audit_before + 4);
}

TEST_CASE("retention per level: max_delete bounds a run, the rest goes next run", "[correlator][retention]") {
  Dir d;
  auto store = store::Store::open({(d.path / "db").string()});
  REQUIRE(store.ok());
  auto pol = policy::Policy::parse("retention: {alerts: {internal: 1d}}\n", "p.yaml");
  REQUIRE(pol.ok());
  const int64_t now = 1'800'000'000'000'000;
  store::CommitBatch b;
  for (uint64_t i = 0; i < 2500; ++i) b.put_alert(alert(i + 1, now - 2 * kDay - static_cast<int64_t>(i) * 1000, "internal"), nullptr);
  REQUIRE((*store)->commit(b).ok());
  auto first = correlator::apply_policy_retention(**store, (*pol)->retention(), core::Timestamp{now}, 2000);
  REQUIRE(first.ok());
  CHECK(first->alerts_deleted == 2000);
  auto second = correlator::apply_policy_retention(**store, (*pol)->retention(), core::Timestamp{now}, 2000);
  REQUIRE(second.ok());
  CHECK(second->alerts_deleted == 500);
  auto left = (*store)->query_alerts({});
  REQUIRE(left.ok());
  CHECK(left->empty());
  CHECK((*store)->audit().size() >= 2500);
}
