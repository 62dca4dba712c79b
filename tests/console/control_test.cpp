// Console changes as Request values (vigil/console/request.h) and the correlator's control
// interface (vigil/console/control.h): encoding, execute() on a real RocksDB store with the real
// policy and audit log, and the ROUTER/DEALER pair over real CURVE sockets on ipc:// in a temp dir
// (listed and unlisted keys, malformed requests, pushes, a server that goes away and comes back),
// and a secondary store that follows its primary.
#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <zmq.h>

#include "console/support.h"
#include "vigil/console/control.h"
#include "vigil/console/request.h"
#include "vigil/store/audit.h"

using namespace vigil;
using namespace vigil::console_test;
using json = nlohmann::json;

namespace {

struct Keys {
  std::string pub, sec;
  Keys() {
    char p[41] = {}, s[41] = {};
    REQUIRE(zmq_curve_keypair(p, s) == 0);
    pub = p;
    sec = s;
  }
};

std::shared_ptr<const policy::Policy> test_policy() {
  auto pol = policy::Policy::parse(policy_yaml(std::string(64, '0')), "test-policy.yaml");
  if (!pol) FAIL(pol.error().to_string());
  return *pol;
}

struct StoreFixture {
  TempDir dir;
  std::unique_ptr<store::Store> store;
  std::shared_ptr<const policy::Policy> pol = test_policy();
  core::Alert mof, hanoi, secret;

  StoreFixture() {
    auto s = store::Store::open({(dir.path / "db").string()});
    REQUIRE(s.ok());
    store = std::move(*s);
    int64_t t = core::Timestamp::now().usec - 60'000'000;
    mof = make_alert(t, 1, "mof", "internal", 2001, kMofHost);
    hanoi = make_alert(t + 1000, 2, "hanoi", "confidential", 2002, kHanoiHost);
    secret = make_alert(t + 2000, 3, "hanoi", "secret", 2003, kHanoiHost);
    store::CommitBatch b;
    for (auto* a : {&mof, &hanoi, &secret}) b.put_alert(*a, nullptr);
    REQUIRE(store->commit(b).ok());
  }

  console::Reply run(const std::string& op, const std::string& actor, json params) {
    auto r = console::execute(*store, *pol, console::Request{op, actor, "console test", std::move(params)});
    REQUIRE(r.ok());
    return *r;
  }
  core::Alert alert(const core::RecordId& id) {
    auto a = store->get_alert(id);
    REQUIRE(a.ok());
    REQUIRE(a->has_value());
    return **a;
  }
};

}  // namespace

TEST_CASE("requests and replies survive their JSON form; bad ones name the field", "[console][control]") {
  console::Request r{"alert.action", "analyst", "console 10.0.0.5", json{{"ids", {"00"}}, {"action", "acknowledge"}}};
  auto back = console::request_from_json(json::parse(to_json(r).dump()));
  REQUIRE(back.ok());
  CHECK(back->op == r.op);
  CHECK(back->actor == r.actor);
  CHECK(back->source == r.source);
  CHECK(back->params == r.params);

  auto missing = console::request_from_json(json{{"op", "audit"}, {"source", ""}});
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.error().to_string(), Catch::Contains("actor"));
  auto bad_params = console::request_from_json(json{{"op", "audit"}, {"actor", "x"}, {"source", ""}, {"params", 3}});
  REQUIRE_FALSE(bad_params.ok());
  CHECK_THAT(bad_params.error().to_string(), Catch::Contains("params"));
  CHECK_FALSE(console::request_from_json(json::array()).ok());

  console::Reply rep;
  rep.status = 403;
  rep.body = json{{"error", "no"}};
  rep.changed.push_back(make_alert(5, 6, "mof", "internal", 1, kMofHost));
  auto rb = console::reply_from_json(json::parse(to_json(rep).dump()));
  REQUIRE(rb.ok());
  CHECK(rb->status == 403);
  CHECK(rb->error_text() == "no");
  REQUIRE(rb->changed_ids.size() == 1);
  CHECK(rb->changed_ids[0] == rep.changed[0].id);
  CHECK_FALSE(console::reply_from_json(json{{"status", 42}}).ok());
}

TEST_CASE("execute re-decides with the executing policy, changes and audits in one batch", "[console][control]") {
  StoreFixture f;
  auto before = f.store->audit().size();

  // The analyst acknowledges and assigns; the audit names the actor, role and source.
  auto r = f.run("alert.action", "analyst", {{"ids", {f.mof.id.to_string()}}, {"action", "assign"}, {"assignee", "lead"}});
  CHECK(r.status == 200);
  CHECK(r.body["updated"].size() == 1);
  REQUIRE(r.changed.size() == 1);
  auto a = f.alert(f.mof.id);
  CHECK(a.assignee == "lead");
  CHECK(a.status == core::AlertStatus::kInProgress);
  CHECK(a.acknowledged.usec > 0);
  auto entries = f.store->audit().query_object(f.mof.id.to_string());
  REQUIRE(entries.ok());
  REQUIRE(entries->size() == 1);
  CHECK(entries->at(0).actor == "analyst");
  CHECK(entries->at(0).actor_role == "analyst");
  CHECK(entries->at(0).action == "alert.assign");
  CHECK(entries->at(0).source == "console test");
  CHECK_FALSE(entries->at(0).before_hash.empty());
  CHECK(entries->at(0).before_hash != entries->at(0).after_hash);

  // The analyst's clearance is confidential: the secret alert does not exist for them.
  r = f.run("alert.action", "analyst", {{"ids", {f.secret.id.to_string()}}, {"action", "close"}, {"verdict", "benign"}});
  CHECK(r.body["not_found"].size() == 1);
  CHECK(r.changed.empty());
  CHECK(f.alert(f.secret.id).status == core::AlertStatus::kNew);
  // The agency may not update even its own tenant's alert: denied and audited, unchanged.
  r = f.run("alert.action", "agency-mof", {{"ids", {f.mof.id.to_string(), f.hanoi.id.to_string()}}, {"action", "close"}, {"verdict", "x"}});
  CHECK(r.body["denied"] == json::array({f.mof.id.to_string()}));
  CHECK(r.body["not_found"] == json::array({f.hanoi.id.to_string()}));
  CHECK(f.alert(f.mof.id).status == core::AlertStatus::kInProgress);
  entries = f.store->audit().query_object(f.mof.id.to_string());
  REQUIRE(entries.ok());
  REQUIRE(entries->size() == 2);
  CHECK(entries->at(1).decision == "deny");
  CHECK(entries->at(1).actor == "agency-mof");

  // Unknown actors, ops and bad parameters change nothing.
  CHECK(f.run("alert.action", "mallory", {{"ids", {f.mof.id.to_string()}}, {"action", "acknowledge"}}).status == 403);
  CHECK(f.run("alert.delete", "analyst", json::object()).status == 400);
  CHECK(f.run("alert.action", "analyst", {{"ids", "x"}, {"action", "acknowledge"}}).status == 400);
  CHECK(f.run("alert.action", "analyst", {{"ids", {f.mof.id.to_string()}}, {"action", "close"}}).status == 400);
  CHECK(f.run("alert.action", "analyst", {{"ids", {42}}, {"action", "acknowledge"}}).status == 400);

  // Escalation makes an incident holding the alert; the incident's actions work on it.
  r = f.run("alert.action", "lead", {{"ids", {f.hanoi.id.to_string()}}, {"action", "escalate"}, {"title", "Case 1"}});
  REQUIRE(r.status == 200);
  std::string inc_id = r.body["incident"];
  CHECK(f.alert(f.hanoi.id).incident == inc_id);
  r = f.run("incident.action", "lead", {{"id", inc_id}, {"action", "close"}, {"verdict", "true-positive"}});
  CHECK(r.status == 200);
  auto inc = f.store->get_incident(*core::RecordId::parse(inc_id));
  REQUIRE(inc.ok());
  REQUIRE(inc->has_value());
  CHECK((*inc)->status == core::AlertStatus::kClosed);
  CHECK(f.run("incident.action", "agency-mof", {{"id", inc_id}, {"action", "note"}, {"note", "hi"}}).status == 404);
  CHECK(f.run("incident.action", "lead", {{"id", "zz"}, {"action", "note"}, {"note", "hi"}}).status == 404);

  // Unmasking: the analyst lacks the right (audited deny), the lead has it (audited allow).
  r = f.run("alert.unmask", "analyst", {{"id", f.mof.id.to_string()}, {"reason", "case 1 evidence"}});
  CHECK(r.status == 200);
  CHECK(r.body["allow"] == false);
  r = f.run("alert.unmask", "lead", {{"id", f.mof.id.to_string()}, {"reason", "case 1 evidence"}});
  CHECK(r.body["allow"] == true);
  CHECK(f.run("alert.unmask", "lead", {{"id", f.mof.id.to_string()}, {"reason", "x"}}).status == 400);

  // An audit entry on its own: the role comes from the executing policy, not from the request.
  r = f.run("audit", "auditor", {{"action", "login"}, {"object", "user:auditor"}, {"decision", "allow"}});
  CHECK(r.status == 200);
  auto login = f.store->audit().query_object("user:auditor");
  REQUIRE(login.ok());
  REQUIRE(login->size() == 1);
  CHECK(login->at(0).actor_role == "auditor");
  CHECK(f.run("audit", "x", {{"object", "y"}}).status == 400);
  CHECK(f.store->audit().size() > before + 6);
}

TEST_CASE("execute_through turns a failing write hook into a 500 reply", "[console][control]") {
  StoreFixture f;
  console::WriteFn broken = [](const std::function<core::Status(store::Store&)>&) -> core::Status {
    return core::make_error("writer gone");
  };
  auto r = console::execute_through(broken, *f.pol, {"alert.action", "analyst", "", {{"ids", json::array()}, {"action", "acknowledge"}}});
  CHECK(r.status == 500);
  CHECK_THAT(r.error_text(), Catch::Contains("writer gone"));
  CHECK(console::execute_through(nullptr, *f.pol, {"audit", "a", "", {{"action", "x"}}}).status == 503);
}

namespace {

struct ControlFixture {
  StoreFixture s;
  Keys server, console_key, stranger;
  std::string endpoint = "ipc://" + (s.dir.path / "control.sock").string();
  std::mutex mu;
  std::unique_ptr<console::ControlServer> srv;
  std::vector<std::string> clients_seen;

  void start_server() {
    console::ControlServerOptions o;
    o.listen = endpoint;
    o.server_public_key = server.pub;
    o.server_secret_key = server.sec;
    o.clients[console_key.pub] = "console-1";
    o.source = "test.yaml";
    auto r = console::ControlServer::start(o, [this](const console::Request& req, const std::string& client) {
      std::lock_guard lock(mu);
      clients_seen.push_back(client);
      return console::execute_through([this](const auto& fn) { return fn(*s.store); }, *s.pol, req);
    });
    if (!r) FAIL(r.error().to_string());
    srv = std::move(*r);
  }

  std::unique_ptr<console::ControlClient> client(const Keys& k, int timeout_ms = 3000) {
    auto c = console::ControlClient::connect({endpoint, server.pub, k.pub, k.sec, timeout_ms});
    if (!c) FAIL(c.error().to_string());
    return std::move(*c);
  }

  // Retries while the connection is being made (503 "not connected").
  console::Reply call_when_up(console::ControlClient& c, const console::Request& r) {
    console::Reply rep;
    for (int i = 0; i < 100; ++i) {
      rep = c.call(r);
      if (rep.status != 503) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return rep;
  }
};

}  // namespace

TEST_CASE("control: a listed console changes the store through the server; others are refused", "[console][control]") {
  ControlFixture f;
  f.start_server();
  auto c = f.client(f.console_key);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<core::RecordId> pushed;
  c->on_push([&](const std::vector<core::RecordId>& ids) {
    std::lock_guard lock(mu);
    pushed.insert(pushed.end(), ids.begin(), ids.end());
    cv.notify_all();
  });

  auto r = f.call_when_up(*c, {"alert.action", "analyst", "console 10.1.1.1",
                               {{"ids", {f.s.mof.id.to_string()}}, {"action", "acknowledge"}}});
  REQUIRE(r.status == 200);
  CHECK(r.body["updated"] == json::array({f.s.mof.id.to_string()}));
  REQUIRE(r.changed_ids.size() == 1);
  CHECK(f.s.alert(f.s.mof.id).status == core::AlertStatus::kAcknowledged);
  // The audit source names the console process (ZAP id) and the browser's address.
  auto entries = f.s.store->audit().query_object(f.s.mof.id.to_string());
  REQUIRE(entries.ok());
  REQUIRE(entries->size() == 1);
  CHECK(entries->at(0).source == "console-1 console 10.1.1.1");
  CHECK(entries->at(0).actor == "analyst");

  // The change is pushed to the registered consoles (this one included), as are announced ids.
  f.srv->announce({f.s.hanoi.id});
  {
    std::unique_lock lock(mu);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return pushed.size() >= 2; }));
    CHECK(std::count(pushed.begin(), pushed.end(), f.s.mof.id) == 1);
    CHECK(std::count(pushed.begin(), pushed.end(), f.s.hanoi.id) == 1);
  }

  // A malformed request (empty op) answers 400 and is counted; the server keeps serving.
  r = c->call({"", "analyst", "", json::object()});
  CHECK(r.status == 400);
  CHECK(f.srv->counters().malformed == 1);
  CHECK(c->call({"audit", "analyst", "", {{"action", "login"}, {"object", "user:analyst"}}}).status == 200);

  // A console whose key is not listed never gets a connection: 503 at once, refusal counted.
  auto stranger = f.client(f.stranger, 1000);
  auto t0 = std::chrono::steady_clock::now();
  r = stranger->call({"alert.action", "lead", "", {{"ids", {f.s.mof.id.to_string()}}, {"action", "close"}, {"verdict", "x"}}});
  CHECK(r.status == 503);
  CHECK_THAT(r.error_text(), Catch::Contains("correlator unavailable at " + f.endpoint));
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(1500));
  for (int i = 0; i < 100 && f.srv->counters().auth_refused == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(f.srv->counters().auth_refused >= 1);
  CHECK(f.srv->counters().auth_accepted >= 1);
  CHECK(f.s.alert(f.s.mof.id).status == core::AlertStatus::kAcknowledged);
  CHECK(stranger->counters().unavailable >= 1);
  std::lock_guard lock(f.mu);
  CHECK(std::all_of(f.clients_seen.begin(), f.clients_seen.end(), [](auto& s) { return s == "console-1"; }));
}

TEST_CASE("control: with the server gone a change answers 503; after it is back changes work again", "[console][control]") {
  ControlFixture f;
  f.start_server();
  auto c = f.client(f.console_key, 1500);
  console::Request ack{"alert.action", "analyst", "", {{"ids", {f.s.mof.id.to_string()}}, {"action", "acknowledge"}}};
  REQUIRE(f.call_when_up(*c, ack).status == 200);

  f.srv.reset();  // the correlator stops
  auto t0 = std::chrono::steady_clock::now();
  console::Request close{"alert.action", "analyst", "", {{"ids", {f.s.mof.id.to_string()}}, {"action", "close"}, {"verdict", "benign"}}};
  auto r = c->call(close);
  CHECK(r.status == 503);
  CHECK_THAT(r.error_text(), Catch::Contains("correlator unavailable"));
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(2500));
  CHECK(f.s.alert(f.s.mof.id).status == core::AlertStatus::kAcknowledged);

  f.start_server();  // back on the same endpoint
  r = f.call_when_up(*c, close);
  CHECK(r.status == 200);
  CHECK(f.s.alert(f.s.mof.id).status == core::AlertStatus::kClosed);
  // The 503 was not queued and replayed later: exactly one close in the audit log.
  auto entries = f.s.store->audit().query_object(f.s.mof.id.to_string());
  REQUIRE(entries.ok());
  CHECK(std::count_if(entries->begin(), entries->end(), [](auto& e) { return e.action == "alert.close"; }) == 1);
}

TEST_CASE("a secondary store follows its primary; pushed ids are read after the catch-up", "[console][control]") {
  StoreFixture f;
  store::StoreOptions so;
  so.path = (f.dir.path / "db").string();
  so.secondary_path = (f.dir.path / "secondary").string();
  auto sec = store::Store::open(so);
  REQUIRE(sec.ok());
  console::StoreFollower follower(**sec, std::chrono::milliseconds(200));
  auto extra = make_alert(core::Timestamp::now().usec, 9, "mof", "internal", 2009, kMofHost);
  store::CommitBatch b;
  b.put_alert(extra, nullptr);
  REQUIRE(f.store->commit(b).ok());
  auto before = (*sec)->get_alert(extra.id);
  REQUIRE(before.ok());
  CHECK_FALSE(before->has_value());  // a secondary sees nothing new until it catches up
  follower.refresh();
  auto a = (*sec)->get_alert(extra.id);
  REQUIRE(a.ok());
  CHECK(a->has_value());
  CHECK(follower.stats().catch_ups == 1);

  // The push path: queued ids are caught up with and read on the follower's thread.
  std::mutex mu;
  std::condition_variable cv;
  std::vector<core::Alert> got;
  follower.start([&](const std::vector<core::Alert>& alerts) {
    std::lock_guard lock(mu);
    got.insert(got.end(), alerts.begin(), alerts.end());
    cv.notify_all();
  });
  auto later = make_alert(core::Timestamp::now().usec + 1, 10, "mof", "internal", 2010, kMofHost);
  store::CommitBatch b2;
  b2.put_alert(later, nullptr);
  REQUIRE(f.store->commit(b2).ok());
  follower.queue({later.id, core::RecordId{1, 1}});  // an id that does not exist is skipped
  std::unique_lock lock(mu);
  REQUIRE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return !got.empty(); }));
  REQUIRE(got.size() == 1);
  CHECK(got[0].id == later.id);
  lock.unlock();
  CHECK(follower.stats().failures == 0);
  CHECK(follower.stats().catch_ups >= 2);

  // Idle (nobody reads, nothing pushed): no catch-ups. A read asks for one within the interval.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto idle = follower.stats().catch_ups;
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  CHECK(follower.stats().catch_ups == idle);
  follower.note_read();
  for (int i = 0; i < 50 && follower.stats().catch_ups == idle; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(follower.stats().catch_ups == idle + 1);
}
