// The console's API over real HTTP (cpp-httplib client on loopback) against a real RocksDB store in
// a temp dir, with the real policy engine and audit log. Changes go through a Backend::write that
// serialises like Correlator::write does.
#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "vigil/console/console.h"
#include "vigil/policy/password.h"
#include "vigil/store/audit.h"
#include "console/support.h"

using namespace vigil;
using json = nlohmann::json;
using namespace vigil::console_test;

namespace {

struct Fixture {
  TempDir dir;
  std::unique_ptr<store::Store> store;
  std::mutex write_mu;
  std::unique_ptr<console::Console> console;
  std::string agency_token = policy::random_token();
  std::vector<core::Alert> alerts;  // as seeded
  core::Alert secret_alert;
  core::Alert hanoi_alert;

  Fixture() {
    auto s = store::Store::open({(dir.path / "db").string()});
    REQUIRE(s.ok());
    store = std::move(*s);
    // 120 alerts: mof (internal) and hanoi (confidential) alternating, every 10th secret (hanoi).
    int64_t base = core::Timestamp::now().usec - 3600ll * 1000000;
    store::CommitBatch b;
    for (int i = 0; i < 120; ++i) {
      bool mof = i % 2 == 0;
      std::string level = i % 10 == 5 ? "secret" : mof ? "internal" : "confidential";
      auto a = make_alert(base + i * 1000000ll, static_cast<uint64_t>(i + 1), mof ? "mof" : "hanoi", level,
                          2000 + static_cast<uint32_t>(i % 4), mof ? kMofHost : kHanoiHost);
      if (level == "secret") a.signature = "ET SECRET exfiltration " + std::to_string(i);
      b.put_alert(a, nullptr);
      alerts.push_back(a);
    }
    REQUIRE(store->commit(b).ok());
    secret_alert = alerts[5];
    hanoi_alert = alerts[1];
    auto pol = policy::Policy::parse(policy_yaml(policy::sha256_hex(agency_token)), "test-policy.yaml");
    if (!pol) FAIL(pol.error().to_string());
    console::ConsoleConfig cfg;
    cfg.listen_port = 0;
    cfg.max_login_failures = 3;
    console::Backend backend;
    backend.store = store.get();
    backend.write = [this](const std::function<core::Status(store::Store&)>& fn) {
      std::lock_guard lock(write_mu);
      return fn(*store);
    };
    auto c = console::Console::create(cfg, backend, std::make_shared<policy::PolicyHolder>(*pol));
    if (!c) FAIL(c.error().to_string());
    console = std::move(*c);
    REQUIRE(console->start().ok());
  }

  httplib::Client client() const {
    httplib::Client c("127.0.0.1", console->port());
    c.set_read_timeout(10, 0);
    return c;
  }

  // Logs in; returns the session cookie header value.
  std::string login(const std::string& user, const std::string& password = "s3cret-pass") {
    auto c = client();
    auto r = c.Post("/api/v1/login", json{{"user", user}, {"password", password}}.dump(), "application/json");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    auto set = r->get_header_value("Set-Cookie");
    return set.substr(0, set.find(';'));
  }

  json get(const std::string& cookie, const std::string& path, int expect = 200) {
    auto c = client();
    auto r = c.Get(path.c_str(), {{"Cookie", cookie}});
    REQUIRE(r);
    INFO(path << " -> " << r->status << " " << r->body);
    REQUIRE(r->status == expect);
    return json::parse(r->body);
  }

  json post(const std::string& cookie, const std::string& path, const json& body, int expect = 200) {
    auto c = client();
    auto r = c.Post(path.c_str(), {{"Cookie", cookie}, {"X-Vigil-Request", "1"}}, body.dump(), "application/json");
    REQUIRE(r);
    INFO(path << " -> " << r->status << " " << r->body);
    REQUIRE(r->status == expect);
    return json::parse(r->body);
  }

  std::vector<std::string> all_ids(const std::string& cookie, const std::string& filters, size_t page) {
    std::vector<std::string> ids;
    std::string cursor;
    for (int guard = 0; guard < 1000; ++guard) {
      auto j = get(cookie, "/api/v1/alerts?limit=" + std::to_string(page) + filters + (cursor.empty() ? "" : "&cursor=" + cursor));
      for (auto& a : j["alerts"]) ids.push_back(a["id"]);
      if (j["next_cursor"].is_null()) break;
      CHECK(j["alerts"].size() == page);  // only the last page may be short
      cursor = j["next_cursor"];
    }
    return ids;
  }
};

size_t count_level(const std::vector<core::Alert>& alerts, const std::string& level) {
  return static_cast<size_t>(std::count_if(alerts.begin(), alerts.end(), [&](auto& a) { return a.level == level; }));
}

}  // namespace

TEST_CASE("login, sessions, rate limit and audit of logins", "[console]") {
  Fixture f;
  auto c = f.client();
  // Not logged in.
  auto r = c.Get("/api/v1/alerts");
  REQUIRE(r);
  CHECK(r->status == 401);
  // Wrong password, then right: the cookie works.
  r = c.Post("/api/v1/login", json{{"user", "analyst"}, {"password", "nope"}}.dump(), "application/json");
  REQUIRE(r);
  CHECK(r->status == 401);
  auto cookie = f.login("analyst");
  CHECK(cookie.rfind("vigil_session=", 0) == 0);
  auto me = f.get(cookie, "/api/v1/me");
  CHECK(me["name"] == "analyst");
  CHECK(me["role"] == "analyst");
  // A forged cookie is refused.
  f.get("vigil_session=" + std::string(64, 'a'), "/api/v1/me", 401);
  // CSRF: a cookie-authenticated change without the custom header is refused.
  r = c.Post("/api/v1/alerts/actions", {{"Cookie", cookie}},
             json{{"ids", {f.alerts[0].id.to_string()}}, {"action", "acknowledge"}}.dump(), "application/json");
  REQUIRE(r);
  CHECK(r->status == 403);
  // Rate limit: after 3 failures (the fixture's limit) even the right password is refused.
  for (int i = 0; i < 3; ++i) {
    r = c.Post("/api/v1/login", json{{"user", "lead"}, {"password", "wrong"}}.dump(), "application/json");
    REQUIRE(r);
    CHECK(r->status == 401);
  }
  r = c.Post("/api/v1/login", json{{"user", "lead"}, {"password", "s3cret-pass"}}.dump(), "application/json");
  REQUIRE(r);
  CHECK(r->status == 429);
  // Per address the limit is four times higher: another user from here still logs in...
  f.login("auditor");
  // ...until the address has failed 12 times.
  for (int i = 0; i < 8; ++i) {
    r = c.Post("/api/v1/login", json{{"user", "nobody" + std::to_string(i)}, {"password", "x"}}.dump(), "application/json");
    REQUIRE(r);
    CHECK(r->status == 401);
  }
  r = c.Post("/api/v1/login", json{{"user", "auditor"}, {"password", "s3cret-pass"}}.dump(), "application/json");
  REQUIRE(r);
  CHECK(r->status == 429);
  // Logout ends the session.
  f.post(cookie, "/api/v1/logout", json::object());
  f.get(cookie, "/api/v1/me", 401);
  // Every login attempt is in the audit log, with its decision.
  auto entries = f.store->audit().query_object("user:lead");
  REQUIRE(entries.ok());
  size_t denied = 0;
  for (auto& e : *entries) denied += e.action == "login" && e.decision == "deny";
  CHECK(denied == 4);  // three wrong passwords and one blocked
  auto ok_entries = f.store->audit().query_object("user:analyst");
  REQUIRE(ok_entries.ok());
  CHECK(std::any_of(ok_entries->begin(), ok_entries->end(), [](auto& e) { return e.action == "login" && e.decision == "allow"; }));
}

TEST_CASE("an analyst without clearance never sees a secret alert: lists, counts, groups, by id", "[console][policy]") {
  Fixture f;
  auto analyst = f.login("analyst");
  auto lead = f.login("lead");
  size_t secret = count_level(f.alerts, "secret");
  REQUIRE(secret == 12);

  auto seen = f.all_ids(analyst, "", 25);
  CHECK(seen.size() == f.alerts.size() - secret);
  CHECK(std::find(seen.begin(), seen.end(), f.secret_alert.id.to_string()) == seen.end());
  CHECK(f.all_ids(lead, "", 25).size() == f.alerts.size());

  // Full-text search for the secret signature finds nothing for the analyst, everything for the lead.
  CHECK(f.get(analyst, "/api/v1/alerts?q=exfiltration")["alerts"].empty());
  CHECK(f.get(lead, "/api/v1/alerts?q=exfiltration")["alerts"].size() == secret);

  // Counts: groups and the dashboard count visible alerts only.
  auto g = f.get(analyst, "/api/v1/alerts/groups?by=tenant");
  CHECK(g["total"] == f.alerts.size() - secret);
  uint64_t hanoi = 0;
  for (auto& x : g["groups"]) if (x["key"] == "hanoi") hanoi = x["alerts"];
  CHECK(hanoi == 60 - secret);
  auto d = f.get(analyst, "/api/v1/dashboard");
  uint64_t counted = 0;
  for (auto& t : d["tenants"]) counted += t["alerts"].get<uint64_t>();
  CHECK(counted == f.alerts.size() - secret);
  CHECK(f.get(lead, "/api/v1/alerts/groups?by=tenant")["total"] == f.alerts.size());

  // By id: exactly the answer a missing id gets.
  auto c = f.client();
  auto hidden = c.Get(("/api/v1/alerts/" + f.secret_alert.id.to_string()).c_str(), {{"Cookie", analyst}});
  auto missing = c.Get(("/api/v1/alerts/" + core::RecordId{12345, 678}.to_string()).c_str(), {{"Cookie", analyst}});
  REQUIRE(hidden);
  REQUIRE(missing);
  CHECK(hidden->status == 404);
  CHECK(missing->status == 404);
  CHECK(hidden->body == missing->body);
  auto detail = f.get(lead, "/api/v1/alerts/" + f.secret_alert.id.to_string());
  CHECK(detail["alert"]["level"] == "secret");
  CHECK(detail["alert"]["level_reasons"][0] == "test secret");
  // Related alerts (same hosts) for the lead include other hanoi alerts; never the alert itself.
  CHECK(!detail["related"].empty());
  for (auto& r : detail["related"]) CHECK(r["id"] != f.secret_alert.id.to_string());
  // Changing it is refused as if it did not exist.
  auto res = f.post(analyst, "/api/v1/alerts/actions", {{"ids", {f.secret_alert.id.to_string()}}, {"action", "acknowledge"}});
  CHECK(res["updated"].empty());
  CHECK(res["not_found"].size() == 1);
}

TEST_CASE("an agency token sees only its tenant and changes nothing", "[console][policy]") {
  Fixture f;
  auto c = f.client();
  httplib::Headers bearer{{"Authorization", "Bearer " + f.agency_token}};
  std::vector<std::string> ids;
  std::string cursor;
  for (;;) {
    auto r = c.Get(("/api/v1/alerts?limit=17" + (cursor.empty() ? "" : "&cursor=" + cursor)).c_str(), bearer);
    REQUIRE(r);
    REQUIRE(r->status == 200);
    auto j = json::parse(r->body);
    for (auto& a : j["alerts"]) {
      CHECK(a["tenant"] == "mof");
      ids.push_back(a["id"]);
    }
    if (j["next_cursor"].is_null()) break;
    cursor = j["next_cursor"];
  }
  CHECK(ids.size() == 60);
  auto g = c.Get("/api/v1/alerts/groups?by=tenant", bearer);
  REQUIRE(g);
  auto gj = json::parse(g->body);
  CHECK(gj["total"] == 60);
  REQUIRE(gj["groups"].size() == 1);
  CHECK(gj["groups"][0]["key"] == "mof");
  auto other = c.Get(("/api/v1/alerts/" + f.hanoi_alert.id.to_string()).c_str(), bearer);
  REQUIRE(other);
  CHECK(other->status == 404);
  // An unknown token is refused.
  auto bad = c.Get("/api/v1/alerts", {{"Authorization", "Bearer " + std::string(64, '0')}});
  REQUIRE(bad);
  CHECK(bad->status == 401);
  // The agency role may not update: denied, audited, unchanged.
  auto r = c.Post("/api/v1/alerts/actions", bearer,
                  json{{"ids", {f.alerts[0].id.to_string()}}, {"action", "acknowledge"}}.dump(), "application/json");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  CHECK(json::parse(r->body)["denied"].size() == 1);
  CHECK((*f.store->get_alert(f.alerts[0].id))->status == core::AlertStatus::kNew);
  auto entries = f.store->audit().query_object(f.alerts[0].id.to_string());
  REQUIRE(entries.ok());
  REQUIRE(entries->size() == 1);
  CHECK((*entries)[0].decision == "deny");
  CHECK((*entries)[0].actor == "agency-mof");
}

TEST_CASE("filters, sort and key-based pages", "[console]") {
  Fixture f;
  auto lead = f.login("lead");
  // Oldest first and newest first visit the same set, in opposite orders.
  auto newest = f.all_ids(lead, "&sort=newest", 13);
  auto oldest = f.all_ids(lead, "&sort=oldest", 13);
  REQUIRE(newest.size() == 120);
  std::reverse(oldest.begin(), oldest.end());
  CHECK(newest == oldest);
  // Filters use the indexes.
  auto bysid = f.get(lead, "/api/v1/alerts?sid=2001&limit=500");
  CHECK(bysid["index"] == "signature");
  CHECK(bysid["alerts"].size() == 30);
  auto byip = f.get(lead, "/api/v1/alerts?q=10.20.10.10&limit=500");  // a search for an address uses the ip index
  CHECK(byip["index"] == "ip");
  CHECK(byip["alerts"].size() == 60);
  auto bytenant = f.get(lead, "/api/v1/alerts?tenant=hanoi&severity=1&limit=500");
  for (auto& a : bytenant["alerts"]) {
    CHECK(a["tenant"] == "hanoi");
    CHECK(a["severity"] == 1);
  }
  f.get(lead, "/api/v1/alerts?ip=not-an-ip", 400);
  f.get(lead, "/api/v1/alerts?status=bogus", 400);
  auto groups = f.get(lead, "/api/v1/alerts/groups?by=signature");
  REQUIRE(groups["groups"].size() == 4);  // by gid:sid
  uint64_t sum = 0;
  for (auto& g : groups["groups"]) sum += g["alerts"].get<uint64_t>();
  CHECK(sum == 120);
}

TEST_CASE("bulk acknowledge, assign, escalate, close: audited with hashes; incident timeline", "[console]") {
  Fixture f;
  auto analyst = f.login("analyst");
  std::vector<std::string> ids{f.alerts[0].id.to_string(), f.alerts[2].id.to_string(), f.alerts[4].id.to_string()};
  auto r = f.post(analyst, "/api/v1/alerts/actions", {{"ids", ids}, {"action", "acknowledge"}});
  CHECK(r["updated"].size() == 3);
  for (auto& id : ids) {
    auto a = *f.store->get_alert(*core::RecordId::parse(id));
    CHECK(a->status == core::AlertStatus::kAcknowledged);
    CHECK(a->acknowledged.usec > 0);
  }
  f.post(analyst, "/api/v1/alerts/actions", {{"ids", {ids[0]}}, {"action", "assign"}, {"assignee", "analyst"}});
  CHECK(f.get(analyst, "/api/v1/alerts?assignee=analyst")["alerts"].size() == 1);
  f.post(analyst, "/api/v1/alerts/actions", {{"ids", {ids[0]}}, {"action", "close"}}, 400);  // needs a verdict
  f.post(analyst, "/api/v1/alerts/actions", {{"ids", {ids[2]}}, {"action", "close"}, {"verdict", "false-positive"}});
  f.post(analyst, "/api/v1/alerts/actions", {{"ids", {ids[1]}}, {"action", "note"}, {"note", "seen before from this host"}});
  auto esc = f.post(analyst, "/api/v1/alerts/actions",
                    {{"ids", {ids[0], ids[1]}}, {"action", "escalate"}, {"title", "Portal scan"}});
  REQUIRE(esc["incident"].is_string());
  std::string inc = esc["incident"];
  auto detail = f.get(analyst, "/api/v1/incidents/" + inc);
  CHECK(detail["incident"]["title"] == "Portal scan");
  CHECK(detail["alerts"].size() == 2);
  REQUIRE(detail["history"].size() >= 1);
  CHECK(detail["history"][0]["action"] == "created");
  f.post(analyst, "/api/v1/incidents/" + inc + "/actions", {{"action", "note"}, {"note", "contacted the ministry"}});
  detail = f.get(analyst, "/api/v1/incidents/" + inc);
  CHECK(detail["history"].size() == 2);
  CHECK(detail["history"][1]["actor"] == "analyst");
  auto list = f.get(analyst, "/api/v1/incidents");
  CHECK(list["incidents"].size() == 1);
  auto a0 = *f.store->get_alert(*core::RecordId::parse(ids[0]));
  CHECK(a0->incident == inc);
  // The alert's audit trail: acknowledge, assign, escalate, each with before/after hashes that
  // chain (one change's after is the next one's before).
  auto trail = f.store->audit().query_object(ids[0]);
  REQUIRE(trail.ok());
  REQUIRE(trail->size() == 3);
  CHECK((*trail)[0].action == "alert.acknowledge");
  CHECK((*trail)[1].action == "alert.assign");
  CHECK((*trail)[2].action == "alert.escalate");
  CHECK((*trail)[0].after_hash == (*trail)[1].before_hash);
  CHECK((*trail)[1].after_hash == (*trail)[2].before_hash);
  CHECK((*trail)[2].after_hash == store::audit::record_hash(*a0));
  for (auto& e : *trail) CHECK(e.actor == "analyst");
  // The dashboard has a mean time to acknowledge for mof.
  auto d = f.get(analyst, "/api/v1/dashboard");
  bool has_mtta = false;
  for (auto& t : d["tenants"]) has_mtta |= t["tenant"] == "mof" && t["mtta_seconds"].is_number();
  CHECK(has_mtta);
}

TEST_CASE("unmasking needs a reason and the right, and is audited", "[console][policy]") {
  Fixture f;
  auto analyst = f.login("analyst");
  auto lead = f.login("lead");
  std::string id = f.alerts[0].id.to_string();
  f.post(lead, "/api/v1/alerts/" + id + "/unmask", {{"reason", ""}}, 400);
  f.post(analyst, "/api/v1/alerts/" + id + "/unmask", {{"reason", "case 42 needs the id"}}, 403);
  auto ok = f.post(lead, "/api/v1/alerts/" + id + "/unmask", {{"reason", "case 42 needs the id"}});
  CHECK(ok["unmasked"] == true);
  auto trail = f.store->audit().query_object(id);
  REQUIRE(trail.ok());
  REQUIRE(trail->size() == 2);
  CHECK((*trail)[0].decision == "deny");
  CHECK((*trail)[1].decision == "allow");
  CHECK((*trail)[1].reason == "case 42 needs the id");
}

TEST_CASE("the live queue streams only what the user may see", "[console][policy]") {
  Fixture f;
  auto analyst = f.login("analyst");
  std::mutex mu;
  std::string received;
  std::atomic<bool> done{false};
  std::thread reader([&] {
    auto c = f.client();
    c.Get("/api/v1/alerts/stream", {{"Cookie", analyst}}, [&](const char* data, size_t n) {
      std::lock_guard lock(mu);
      received.append(data, n);
      return !done.load();
    });
  });
  // Wait for the stream's hello, then publish a visible and a secret alert.
  for (int i = 0; i < 200; ++i) {
    {
      std::lock_guard lock(mu);
      if (received.find("event: hello") != std::string::npos) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto now = core::Timestamp::now().usec;
  auto visible = make_alert(now, 9001, "mof", "internal", 2100, kMofHost);
  auto secret = make_alert(now, 9002, "hanoi", "secret", 2101, kHanoiHost);
  f.console->on_alerts({visible, secret});
  bool got = false;
  for (int i = 0; i < 300 && !got; ++i) {
    {
      std::lock_guard lock(mu);
      got = received.find(visible.id.to_string()) != std::string::npos;
    }
    if (!got) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // A change made by another analyst reaches this live queue too.
  auto lead = f.login("lead");
  f.post(lead, "/api/v1/alerts/actions", {{"ids", {f.alerts[2].id.to_string()}}, {"action", "acknowledge"}});
  bool got_change = false;
  for (int i = 0; i < 300 && !got_change; ++i) {
    {
      std::lock_guard lock(mu);
      auto at = received.find(f.alerts[2].id.to_string());
      got_change = at != std::string::npos && received.find("\"acknowledged\"", received.rfind("event: alert", at)) != std::string::npos;
    }
    if (!got_change) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(got_change);
  done = true;
  f.console->on_alerts({visible});  // wakes the stream so the reader returns
  f.console->stop();
  reader.join();
  CHECK(got);
  CHECK(received.find(secret.id.to_string()) == std::string::npos);
  CHECK(received.find("event: alert") != std::string::npos);
}

TEST_CASE("auditors read the log, the signed head and verified proofs; others may not", "[console][audit]") {
  Fixture f;
  auto analyst = f.login("analyst");
  auto auditor = f.login("auditor");
  f.post(analyst, "/api/v1/alerts/actions", {{"ids", {f.alerts[0].id.to_string()}}, {"action", "acknowledge"}});
  f.get(analyst, "/api/v1/audit", 403);
  auto head = f.get(auditor, "/api/v1/audit/head");
  CHECK(head["signature_valid"] == true);
  uint64_t size = head["tree_head"]["tree_size"];
  CHECK(size >= 3);  // two logins and the acknowledgement
  auto q = f.get(auditor, "/api/v1/audit?object=" + f.alerts[0].id.to_string());
  REQUIRE(q["entries"].size() == 1);
  CHECK(q["entries"][0]["actor"] == "analyst");
  uint64_t seq = q["entries"][0]["seq"];
  auto proof = f.get(auditor, "/api/v1/audit/proof/inclusion?seq=" + std::to_string(seq) + "&tree_size=" + std::to_string(size));
  CHECK(proof["verified"] == true);
  auto cons = f.get(auditor, "/api/v1/audit/proof/consistency?old=1&new=" + std::to_string(size));
  CHECK(cons["verified"] == true);
  auto c = f.client();
  auto exp = c.Get("/api/v1/audit/export?actor=analyst", {{"Cookie", auditor}});
  REQUIRE(exp);
  CHECK(exp->status == 200);
  CHECK(exp->body.find("\"tree_head\"") != std::string::npos);
  CHECK(exp->body.find("\"inclusion_proof\"") != std::string::npos);
  // The auditor's own reads are audited.
  auto own = f.store->audit().query_actor("auditor", core::Timestamp{0}, core::Timestamp{INT64_MAX});
  REQUIRE(own.ok());
  CHECK(std::any_of(own->begin(), own->end(), [](auto& e) { return e.action == "export"; }));
}

TEST_CASE("the console reloads a changed policy file; a bad one keeps the current policy", "[console][policy]") {
  TempDir dir;
  auto s = store::Store::open({(dir.path / "db").string()});
  REQUIRE(s.ok());
  auto policy_path = dir.path / "policy.yaml";
  auto write_policy = [&](const std::string& text) {
    std::ofstream(policy_path) << text;
    // mtime granularity: make sure the watcher sees a different time
    std::filesystem::last_write_time(policy_path, std::filesystem::file_time_type::clock::now());
  };
  std::string base = policy_yaml(std::string(64, '0'));
  write_policy(base);
  console::ConsoleConfig cfg;
  cfg.listen_port = 0;
  cfg.policy_file = policy_path.string();
  cfg.max_login_failures = 1000;  // the test polls by logging in
  std::mutex mu;
  console::Backend backend;
  backend.store = s->get();
  backend.write = [&](const std::function<core::Status(store::Store&)>& fn) {
    std::lock_guard lock(mu);
    return fn(**s);
  };
  auto c = console::Console::create(cfg, backend);
  REQUIRE(c.ok());
  REQUIRE((*c)->start().ok());
  httplib::Client cli("127.0.0.1", (*c)->port());
  auto login = [&](const std::string& user) {
    auto r = cli.Post("/api/v1/login", json{{"user", user}, {"password", "s3cret-pass"}}.dump(), "application/json");
    return r ? r->status : -1;
  };
  CHECK(login("newcomer") == 401);
  write_policy(base + "  - name: newcomer\n    tenant: soc\n    role: analyst\n    password_hash: \"" + password_hash() + "\"\n");
  int status = 401;
  for (int i = 0; i < 60 && status != 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    status = login("newcomer");
  }
  CHECK(status == 200);
  write_policy("users: [this is not a policy");
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  CHECK(login("newcomer") == 200);  // the bad file was ignored
  auto reloads = (*s)->audit().query_object("policy");
  REQUIRE(reloads.ok());
  CHECK(reloads->size() == 1);
}
