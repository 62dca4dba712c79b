// Alert event refs stored in append-only chunks, and the flow index of protocol records.
#include <catch2/catch.hpp>

#include <filesystem>
#include <random>

#include "support/temp_dir.h"
#include "vigil/store/store.h"

using namespace vigil;
using core::EventKind;

namespace {

using Dir = vigil::test_support::TempDir;

core::StoredEvent ev(uint64_t id, int64_t t, EventKind kind, uint64_t flow_id, const std::string& sensor = "s1") {
  core::StoredEvent e;
  e.sensor = sensor;
  e.tenant = "moh";
  e.event.id = id;
  e.event.time.usec = t;
  e.event.kind = kind;
  e.event.flow_id = flow_id;
  e.event.flow.src_ip = core::IpAddress::v4(0x0a000001);
  e.event.flow.dst_ip = core::IpAddress::v4(0x0a000002);
  if (kind == EventKind::kHttp) e.event.app_json = R"({"hostname":"example.org"})";
  return e;
}

}  // namespace

TEST_CASE("alert refs: updates append chunks; reads reassemble them in order", "[store][refs]") {
  Dir d;
  auto st = store::Store::open({d.path.string()});
  REQUIRE(st.ok());
  core::Alert a;
  a.id = {1'700'000'000'000'000, 7};
  a.tenant = "moh";
  a.sensor = "s1";
  a.first_seen = a.last_seen = {a.id.time_usec};
  std::optional<core::Alert> before;
  for (uint64_t i = 1; i <= 300; ++i) {  // past kMaxEventRefs: refs stop growing at 256
    if (a.events.size() < core::kMaxEventRefs) a.events.push_back(ev(i, a.id.time_usec + static_cast<int64_t>(i), EventKind::kAlert, 0).ref());
    a.count = i;
    store::CommitBatch b;
    b.put_alert(a, before ? &*before : nullptr);
    REQUIRE((*st)->commit(b).ok());
    before = a;
  }
  auto got = (*st)->get_alert(a.id);
  REQUIRE(got.ok());
  REQUIRE(got->has_value());
  CHECK((*got)->events.size() == core::kMaxEventRefs);
  CHECK(**got == a);
  // query_alerts returns the same record, refs included.
  auto q = (*st)->query_alerts({});
  REQUIRE(q.ok());
  REQUIRE(q->size() == 1);
  CHECK(q->front() == a);
  // A rewrite with no `before` (e.g. a replay) rewrites chunk 0 and still reads back exactly.
  store::CommitBatch b;
  b.put_alert(a, nullptr);
  REQUIRE((*st)->commit(b).ok());
  CHECK(**(*st)->get_alert(a.id) == a);
}

TEST_CASE("flow index: protocol records of one flow of one sensor", "[store][flows]") {
  Dir d;
  auto st = store::Store::open({d.path.string()});
  REQUIRE(st.ok());
  const int64_t t = 1'700'000'000'000'000;
  store::CommitBatch b;
  b.put_event(ev(1, t, EventKind::kFlow, 42));
  b.put_event(ev(2, t + 10, EventKind::kHttp, 42));
  b.put_event(ev(3, t + 20, EventKind::kDns, 43));             // another flow
  b.put_event(ev(4, t + 30, EventKind::kHttp, 42, "s2"));      // same flow id, another sensor
  b.put_event(ev(5, t + 40, EventKind::kAlert, 42));           // alerts are not protocol records
  REQUIRE((*st)->commit(b).ok());
  auto r = (*st)->flow_records("s1", 42);
  REQUIRE(r.ok());
  REQUIRE(r->size() == 2);
  CHECK((*r)[0].event.kind == EventKind::kFlow);
  CHECK((*r)[1].event.kind == EventKind::kHttp);
  CHECK((*r)[1].event.app_json == R"({"hostname":"example.org"})");
  CHECK((*st)->flow_records("s2", 42)->size() == 1);
  CHECK((*st)->flow_records("s1", 43)->size() == 1);
  CHECK((*st)->flow_records("s1", 44)->empty());
  // Retention of http records: the index entry stays until compaction, the record is gone.
  store::RetentionPolicy p;
  p.event_max_age_usec[static_cast<int>(EventKind::kHttp)] = 1;
  REQUIRE((*st)->apply_retention(p, core::Timestamp{t + 1'000'000}).ok());
  auto after = (*st)->flow_records("s1", 42);
  REQUIRE(after.ok());
  REQUIRE(after->size() == 1);
  CHECK(after->front().event.kind == EventKind::kFlow);
}
