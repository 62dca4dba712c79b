#include <catch2/catch.hpp>

#include <filesystem>
#include <random>

#include "raw_db.h"
#include "support/temp_dir.h"
#include "vigil/store/store.h"

using namespace vigil;
using namespace vigil::store;
using core::AlertStatus;
using core::EventKind;
using core::IpAddress;

namespace {

using TempDir = vigil::test_support::TempDir;
using store_test::RawDb;

StoredEvent make_event(uint64_t id, int64_t t, EventKind kind = EventKind::kAlert) {
  StoredEvent e;
  e.sensor = "s1";
  e.tenant = "moh";
  e.event.id = id;
  e.event.time.usec = t;
  e.event.kind = kind;
  e.event.flow.src_ip = IpAddress::v4(0x0a000001);
  e.event.flow.dst_ip = IpAddress::v4(0xc0a80001);
  e.event.alert.sid = 2000;
  e.event.alert.msg = "test";
  return e;
}

Alert make_alert(int64_t t, uint64_t h, const std::string& tenant, uint32_t src, uint32_t sid, uint8_t sev) {
  Alert a;
  a.id = {t, h};
  a.tenant = tenant;
  a.sensor = "s1";
  a.rule = "aggregate";
  a.severity = sev;
  a.gid = 1;
  a.sid = sid;
  a.signature = "sig " + std::to_string(sid);
  a.flow.src_ip = IpAddress::v4(src);
  a.flow.dst_ip = IpAddress::v4(0xc0a80001);
  a.first_seen.usec = t;
  a.last_seen.usec = t;
  a.count = 1;
  return a;
}

}  // namespace

TEST_CASE("commit, reopen, high-water marks and state survive", "[store]") {
  TempDir dir;
  {
    auto s = Store::open({dir.path.string()});
    REQUIRE(s.ok());
    CommitBatch b;
    b.put_event(make_event(1, 1000));
    b.set_high_water_mark("s1", 7);
    b.put_state("agg/x", "hello");
    b.put_state("agg/y", "gone");
    b.delete_state("agg/y");
    REQUIRE((*s)->commit(b).ok());
    CHECK(*(*s)->high_water_mark("s1") == 7);
    CHECK(*(*s)->high_water_mark("s2") == 0);
  }
  auto s = Store::open({dir.path.string()});
  REQUIRE(s.ok());
  CHECK(*(*s)->high_water_mark("s1") == 7);
  std::vector<std::pair<std::string, std::string>> state;
  REQUIRE((*s)->scan_state([&](const std::string& k, const std::string& v) { state.emplace_back(k, v); }).ok());
  REQUIRE(state.size() == 1);
  CHECK(state[0] == std::make_pair(std::string("agg/x"), std::string("hello")));
  auto evs = (*s)->get_events({make_event(1, 1000).ref(), make_event(2, 1000).ref()});
  REQUIRE(evs.ok());
  REQUIRE(evs->size() == 1);
  CHECK((*evs)[0] == make_event(1, 1000));
}

TEST_CASE("alert queries use indexes and filters", "[store]") {
  TempDir dir;
  auto s = Store::open({dir.path.string()});
  REQUIRE(s.ok());
  auto& st = **s;
  CommitBatch b;
  for (int i = 0; i < 200; ++i) {
    b.put_alert(make_alert(1000 + i, static_cast<uint64_t>(i), i % 2 ? "moh" : "mof", 0x0a000000u + static_cast<uint32_t>(i % 10),
                           static_cast<uint32_t>(100 + i % 5), static_cast<uint8_t>(1 + i % 3)),
                nullptr);
  }
  REQUIRE(st.commit(b).ok());

  AlertQuery q;
  q.from.usec = 1050;
  q.to.usec = 1150;
  q.tenant = "moh";
  q.ip = IpAddress::v4(0x0a000003);
  QueryStats stats;
  auto r = st.query_alerts(q, &stats);
  REQUIRE(r.ok());
  CHECK(stats.index == "ip");
  for (const auto& a : *r) {
    CHECK(a.tenant == "moh");
    CHECK(a.flow.src_ip == IpAddress::v4(0x0a000003));
    CHECK(a.first_seen.usec >= 1050);
    CHECK(a.first_seen.usec < 1150);
  }
  CHECK(r->size() == 10);  // i in [50,150) with i%10==3 (all odd -> moh)
  CHECK(stats.index_entries <= 10);  // never more than the matching index range

  AlertQuery bysig;
  bysig.sid = 102;
  bysig.max_severity = 1;
  auto r2 = st.query_alerts(bysig, &stats);
  REQUIRE(r2.ok());
  CHECK(stats.index == "signature");
  for (const auto& a : *r2) CHECK((a.sid == 102 && a.severity == 1));
  CHECK(r2->size() == 13);  // i%5==2 and i%3==0: i%15==12, 13 of them in [0,200)

  AlertQuery lim;
  lim.limit = 5;
  auto r3 = st.query_alerts(lim, &stats);
  REQUIRE(r3.ok());
  CHECK(r3->size() == 5);
  CHECK((*r3)[0].first_seen.usec == 1000);
  CHECK(stats.index == "time");
}

TEST_CASE("newest-first key-based pages with an in-scan filter", "[store]") {
  TempDir dir;
  auto s = Store::open({dir.path.string()});
  REQUIRE(s.ok());
  auto& st = **s;
  CommitBatch b;
  for (int i = 0; i < 100; ++i) {
    b.put_alert(make_alert(1000 + i / 2, static_cast<uint64_t>(i), i % 2 ? "moh" : "mof", 0x0a000000u + static_cast<uint32_t>(i % 4),
                           100, 2),
                nullptr);
  }
  REQUIRE(st.commit(b).ok());
  for (bool use_index : {false, true}) {
    for (bool newest : {true, false}) {
      // Pages of 7 with the filter keeping tenant moh only: every page full (filtered inside the
      // scan), ids strictly monotonic across pages, all 50 moh alerts seen exactly once.
      AlertQuery q;
      q.limit = 7;
      q.newest_first = newest;
      q.filter = [](const Alert& a) { return a.tenant == "moh"; };
      if (use_index) q.sid = 100;
      std::vector<RecordId> seen;
      for (int page = 0; page < 20; ++page) {
        auto r = st.query_alerts(q);
        REQUIRE(r.ok());
        if (r->empty()) break;
        if (seen.size() + 7 <= 50) CHECK(r->size() == 7);
        for (const auto& a : *r) {
          CHECK(a.tenant == "moh");
          if (!seen.empty()) CHECK((newest ? a.id < seen.back() : seen.back() < a.id));
          seen.push_back(a.id);
        }
        q.cursor = r->back().id;
      }
      CHECK(seen.size() == 50);
    }
  }
  // max_scan bounds the work and says so.
  AlertQuery q;
  q.filter = [](const Alert&) { return false; };
  q.max_scan = 30;
  QueryStats stats;
  auto r = st.query_alerts(q, &stats);
  REQUIRE(r.ok());
  CHECK(r->empty());
  CHECK(stats.truncated);
  CHECK(stats.index_entries == 30);
}

TEST_CASE("status and assignee changes move index entries", "[store]") {
  TempDir dir;
  auto s = Store::open({dir.path.string()});
  REQUIRE(s.ok());
  auto& st = **s;
  CommitBatch b;
  auto a = make_alert(5000, 1, "moh", 0x0a000001, 7, 2);
  b.put_alert(a, nullptr);
  REQUIRE(st.commit(b).ok());
  REQUIRE(st.update_alert(a.id, [](Alert& x) {
                x.status = AlertStatus::kClosed;
                x.verdict = "false-positive";
                x.assignee = "lan";
                x.notes.push_back({{1}, "lan", "scanner of the IT team"});
              }).ok());
  AlertQuery q;
  q.status = AlertStatus::kNew;
  CHECK(st.query_alerts(q)->empty());
  q.status = AlertStatus::kClosed;
  auto r = st.query_alerts(q);
  REQUIRE(r->size() == 1);
  CHECK((*r)[0].verdict == "false-positive");
  CHECK((*r)[0].notes.size() == 1);
  AlertQuery qa;
  qa.assignee = "lan";
  CHECK(st.query_alerts(qa)->size() == 1);
  CHECK_FALSE(st.update_alert({1, 1}, [](Alert&) {}).ok());
}

TEST_CASE("tenant + status queries use the composite index and follow status changes", "[store]") {
  TempDir dir;
  auto s = Store::open({dir.path.string()});
  REQUIRE(s.ok());
  auto& st = **s;
  CommitBatch b;
  // 300 alerts over three tenants; every third of "moh"'s is acknowledged.
  std::vector<Alert> moh;
  for (int i = 0; i < 300; ++i) {
    auto a = make_alert(10000 + i, 1, i % 3 == 0 ? "moh" : (i % 3 == 1 ? "mof" : "hn"), 0x0a000001 + i, 9, 3);
    if (a.tenant == "moh" && moh.size() % 3 == 0) a.status = AlertStatus::kAcknowledged;
    if (a.tenant == "moh") moh.push_back(a);
    b.put_alert(a, nullptr);
  }
  REQUIRE(st.commit(b).ok());
  auto count_of = [&](const std::string& tenant, AlertStatus status) {
    AlertQuery q;
    q.tenant = tenant;
    q.status = status;
    QueryStats stats;
    auto r = st.query_alerts(q, &stats);
    REQUIRE(r.ok());
    CHECK(stats.index == "tenant+status");
    CHECK(stats.index_entries == r->size());  // no entry read that is not returned
    for (const auto& a : *r) CHECK((a.tenant == tenant && a.status == status));
    return r->size();
  };
  CHECK(count_of("moh", AlertStatus::kAcknowledged) == 34);
  CHECK(count_of("moh", AlertStatus::kNew) == 66);
  CHECK(count_of("mof", AlertStatus::kNew) == 100);
  CHECK(count_of("mof", AlertStatus::kAcknowledged) == 0);
  // A status change moves the alert between the composite entries.
  REQUIRE(st.update_alert(moh[1].id, [](Alert& x) { x.status = AlertStatus::kInProgress; }).ok());
  CHECK(count_of("moh", AlertStatus::kNew) == 65);
  CHECK(count_of("moh", AlertStatus::kInProgress) == 1);
}

TEST_CASE("a store written before the tenant+status index gets it on the first writable open", "[store]") {
  TempDir dir;
  {
    auto s = Store::open({dir.path.string()});
    REQUIRE(s.ok());
    CommitBatch b;
    for (int i = 0; i < 50; ++i) b.put_alert(make_alert(20000 + i, 2, i % 2 ? "moh" : "mof", 0x0a000001, 9, 3), nullptr);
    REQUIRE((*s)->commit(b).ok());
  }
  // Make it look like layout 1: no composite entries ('C' in idx), no version key in meta.
  {
    RawDb raw(dir.path);
    REQUIRE(raw.db->DeleteRange(rocksdb::WriteOptions(), raw[RawDb::kIdx], "C", "D").ok());
    REQUIRE(raw.db->Delete(rocksdb::WriteOptions(), raw[RawDb::kMeta], "store/index_version").ok());
  }
  AlertQuery q;
  q.tenant = "moh";
  q.status = AlertStatus::kNew;
  {
    StoreOptions ro;
    ro.path = dir.path.string();
    ro.read_only = true;  // readers never upgrade: the old layout answers nothing on this index
    auto s = Store::open(ro);
    REQUIRE(s.ok());
    CHECK((*s)->query_alerts(q)->empty());
  }
  auto s = Store::open({dir.path.string()});
  REQUIRE(s.ok());
  auto r = (*s)->query_alerts(q);
  REQUIRE(r.ok());
  CHECK(r->size() == 25);
}

TEST_CASE("incident history in order", "[store]") {
  TempDir dir;
  auto s = Store::open({dir.path.string()});
  REQUIRE(s.ok());
  auto& st = **s;
  Incident inc;
  inc.id = {9000, 5};
  inc.tenant = "moh";
  inc.title = "scan then exploit";
  for (int i = 0; i < 3; ++i) {
    auto seq = st.next_incident_change_seq(inc.id);
    REQUIRE(seq.ok());
    CHECK(*seq == static_cast<uint64_t>(i + 1));
    CommitBatch b;
    b.put_incident(inc, {{9000 + i}, "correlator", i == 0 ? "created" : "alert-added", std::to_string(i)}, *seq);
    REQUIRE(st.commit(b).ok());
  }
  auto h = st.incident_history(inc.id);
  REQUIRE(h.ok());
  REQUIRE(h->size() == 3);
  CHECK((*h)[0].action == "created");
  CHECK((*h)[2].detail == "2");
  auto got = st.get_incident(inc.id);
  REQUIRE((got.ok() && got->has_value()));
  CHECK((*got)->title == "scan then exploit");
  CHECK(st.list_incidents({0}, {INT64_MAX}, 10)->size() == 1);
}

TEST_CASE("retention deletes old records by range; checkpoint opens", "[store]") {
  TempDir dir;
  auto s = Store::open({(dir.path / "db").string()});
  REQUIRE(s.ok());
  auto& st = **s;
  CommitBatch b;
  for (int i = 0; i < 100; ++i) {
    b.put_event(make_event(static_cast<uint64_t>(i), i * 1000, EventKind::kAlert));
    b.put_event(make_event(static_cast<uint64_t>(i), i * 1000, EventKind::kDns));
    b.put_alert(make_alert(i * 1000, 1, "moh", 0x0a000001, 1, 1), nullptr);
  }
  REQUIRE(st.commit(b).ok());
  RetentionPolicy p;
  p.alert_max_age_usec = 50000;
  p.event_max_age_usec[static_cast<int>(EventKind::kAlert)] = 50000;
  p.event_max_age_usec[static_cast<int>(EventKind::kDns)] = 10000;
  REQUIRE(st.apply_retention(p, {100000}).ok());
  CHECK(st.scan_events(EventKind::kAlert, {INT64_MIN}, {INT64_MAX}, 1000)->size() == 50);
  CHECK(st.scan_events(EventKind::kDns, {INT64_MIN}, {INT64_MAX}, 1000)->size() == 10);
  AlertQuery q;
  q.tenant = "moh";
  CHECK(st.query_alerts(q)->size() == 50);

  REQUIRE(st.checkpoint((dir.path / "backup").string()).ok());
  CHECK_FALSE(st.checkpoint((dir.path / "backup").string()).ok());  // exists
  StoreOptions ro;
  ro.path = (dir.path / "backup").string();
  ro.read_only = true;
  auto copy = Store::open(ro);
  REQUIRE(copy.ok());
  CHECK((*copy)->query_alerts(AlertQuery{})->size() == 50);
}

namespace {

// Every field set to something other than its default, an IPv6 flow, notes, labels and refs.
Alert full_alert(int64_t t, uint64_t h) {
  Alert a = make_alert(t, h, "mof", 0, 2010935, 1);
  a.flow.src_ip = *IpAddress::parse("2001:db8::7");
  a.flow.dst_ip = *IpAddress::parse("2001:db8::1:2");
  a.flow.src_port = 51234;
  a.flow.dst_port = 443;
  a.flow.proto = 6;
  a.rule_type = "event_count";
  a.group = "10.0.0.1|tls";
  a.rev = 7;
  a.category = "Attempted Information Leak";
  a.community_id = "1:LQU9qZlK+B5F3KDmev6m5PMibrg=";
  a.last_seen.usec = t + 5'000'000;
  a.count = 123456789012ull;
  a.events = {{{t}, EventKind::kAlert, "s1", 1}, {{t + 1}, EventKind::kTls, "s2", 2}, {{t + 2}, EventKind::kAlert, "s1", 3}};
  a.intel = {"ip:bad-ips", "domain:bad.example"};
  a.labels.sys_level = 4;
  a.labels.importance = "important";
  a.labels.pii = "sensitive";
  a.labels.secrecy = "suspected-state-secret";
  a.labels.tlp = "amber+strict";
  a.labels.tags = {"pii-bulk", "cccd"};
  a.level = "top-secret";
  a.level_reasons = {"secrecy stamp", "asset level 4 -> secret"};
  a.status = AlertStatus::kClosed;
  a.verdict = "true-positive";
  a.assignee = "analyst7";
  a.notes = {{{t + 10}, "analyst7", "Tiếng Việt: đã xác minh"}, {{t + 11}, "lead1", std::string("nul\0inside", 10)}};
  a.incident = "00000000000000010000000000000002";
  a.updated.usec = t + 20;
  a.acknowledged.usec = t + 12;
  a.closed.usec = t + 19;
  return a;
}

// An alert's key in the alerts family.
std::string alert_key(const core::RecordId& id) {
  auto b = id.bytes();
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

}  // namespace

TEST_CASE("alert records: binary format 1 keeps every field; older JSON records still decode; corrupt ones are errors",
          "[store][alert-record]") {
  TempDir dir;
  const Alert a = full_alert(1'767'225'600'000'000, 11);
  Alert b = full_alert(1'767'225'601'000'000, 12);  // written below in the old JSON form
  b.status = AlertStatus::kNew;
  b.verdict.clear();
  b.closed = {};
  const auto c_id = core::RecordId{1'767'225'602'000'000, 13};
  {
    auto s = Store::open({dir.path.string()});
    REQUIRE(s.ok());
    CommitBatch cb;
    cb.put_alert(a, nullptr);
    REQUIRE((*s)->commit(cb).ok());
    auto got = (*s)->get_alert(a.id);
    REQUIRE(got.ok());
    REQUIRE(got->has_value());
    CHECK(**got == a);
    // The audit hash is of the canonical JSON of the decoded alert: the same as of the original.
    CHECK(audit::record_hash(**got) == audit::record_hash(a));
  }
  {
    RawDb raw(dir.path);
    std::string v;
    REQUIRE(raw.db->Get(rocksdb::ReadOptions(), raw[RawDb::kAlerts], alert_key(a.id), &v).ok());
    REQUIRE(!v.empty());
    CHECK(static_cast<uint8_t>(v[0]) == 0x01);                        // the format byte
    CHECK(v.size() < core::to_json(a).dump().size() / 2);            // well under the JSON size
    // An alert as the oldest stores held it: JSON with its refs inline (and the layout then had
    // no index version, so the next writable open upgrades it).
    REQUIRE(raw.db->Put(rocksdb::WriteOptions(), raw[RawDb::kAlerts], alert_key(b.id), core::to_json(b).dump()).ok());
    REQUIRE(raw.db->Delete(rocksdb::WriteOptions(), raw[RawDb::kMeta], "store/index_version").ok());
  }
  {
    auto s = Store::open({dir.path.string()});  // upgrades: b's refs go to a chunk, b to format 1
    REQUIRE(s.ok());
  }
  {
    RawDb raw(dir.path);
    std::string v;
    REQUIRE(raw.db->Get(rocksdb::ReadOptions(), raw[RawDb::kAlerts], alert_key(b.id), &v).ok());
    CHECK(static_cast<uint8_t>(v[0]) == 0x01);
    // A JSON record in the later form (refs in chunks, "event_refs" = how many): left as it is.
    Alert j = b;
    j.id = {1'767'225'603'000'000, 14};
    j.events.clear();
    auto jj = core::to_json(j);
    jj.erase("events");
    jj["event_refs"] = 0;
    REQUIRE(raw.db->Put(rocksdb::WriteOptions(), raw[RawDb::kAlerts], alert_key(j.id), jj.dump()).ok());
    // A truncated binary record.
    REQUIRE(raw.db->Get(rocksdb::ReadOptions(), raw[RawDb::kAlerts], alert_key(a.id), &v).ok());
    REQUIRE(raw.db->Put(rocksdb::WriteOptions(), raw[RawDb::kAlerts], alert_key(c_id), v.substr(0, v.size() / 2)).ok());
  }
  auto s = Store::open({dir.path.string()});
  REQUIRE(s.ok());
  auto later = (*s)->get_alert({1'767'225'603'000'000, 14});
  REQUIRE((later.ok() && later->has_value()));
  CHECK((*later)->signature == b.signature);
  CHECK((*later)->events.empty());
  auto old = (*s)->get_alert(b.id);
  REQUIRE(old.ok());
  REQUIRE(old->has_value());
  CHECK(**old == b);
  auto bad = (*s)->get_alert(c_id);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().to_string().find(c_id.to_string()) != std::string::npos);
  // A time-range query (the alerts family itself; the raw puts wrote no index entries) skips
  // the corrupt one and returns both good ones, whatever their form.
  AlertQuery q;
  auto all = (*s)->query_alerts(q);
  REQUIRE(all.ok());
  REQUIRE(all->size() == 3);
  CHECK((*all)[0] == a);
  CHECK((*all)[1] == b);
  // Changing the old-form alert: the audit's before hash is of the alert as it was, and the
  // record is rewritten in format 1 with the change.
  AuditEntry e;
  e.actor = "analyst7";
  e.action = "alert.status";
  REQUIRE((*s)->update_alert(b.id, [](Alert& x) { x.status = AlertStatus::kAcknowledged; }, {e}).ok());
  auto entries = (*s)->audit().query_object(b.id.to_string());
  REQUIRE(entries.ok());
  REQUIRE(entries->size() == 1);
  CHECK(entries->front().before_hash == audit::record_hash(b));
  auto now = (*s)->get_alert(b.id);
  REQUIRE((now.ok() && now->has_value()));
  CHECK((*now)->status == AlertStatus::kAcknowledged);
  CHECK((*now)->events == b.events);
  CHECK(entries->front().after_hash == audit::record_hash(**now));
}
