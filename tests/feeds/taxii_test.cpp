#include <catch2/catch.hpp>

#include <fstream>
#include <mutex>
#include <set>

#include "feeds/feeds_test_util.h"
#include "vigil/feeds/stix.h"
#include "vigil/store/audit.h"
#include "vigil/store/indicators.h"

using namespace vigil;
using namespace vigil::feeds;
using namespace vigil::feeds::test;
using nlohmann::json;

namespace {

struct Fixture {
  TempDir dir;
  std::unique_ptr<store::Store> st;
  std::mutex mu;
  std::unique_ptr<FeedService> svc;
  int64_t now = 1795500000000000;  // 2026-11-24T06:00:00Z

  explicit Fixture(FeedConfig config = {}) {
    store::StoreOptions o;
    o.path = (dir.path / "db").string();
    o.sync = false;
    auto opened = store::Store::open(o);
    REQUIRE(opened.ok());
    st = std::move(opened.value());
    if (config.intel_dir.empty()) config.intel_dir = (dir.path / "intel").string();
    config.page_default = 100;
    svc = std::make_unique<FeedService>(
        config, st.get(),
        [this](const std::function<core::Status(store::Store&)>& fn) {
          std::lock_guard lock(mu);
          return fn(*st);
        },
        lookup({agency_user("moh-feed", "moh"), agency_user("mof-feed", "mof"), [] {
                  auto u = agency_user("analyst1", "soc");
                  u.role = policy::Role::kAnalyst;
                  return u;
                }()}),
        test_internal);
    svc->set_clock([this] { return core::Timestamp{now}; });
    REQUIRE(svc->init(*st).ok());
  }

  void confirm(std::vector<core::Alert> alerts) {
    store::CommitBatch b;
    for (const auto& a : alerts) b.put_alert(a, nullptr);
    REQUIRE(st->commit(b).ok());
    REQUIRE(svc->ingest(*st, alerts).ok());
  }

  json call(const HttpRequest& r, int want_status = 200) {
    auto resp = svc->handle(r);
    INFO(r.method << " " << r.path << " -> " << resp.status << " " << resp.body);
    REQUIRE(resp.status == want_status);
    CHECK(resp.content_type == "application/taxii+json;version=2.1");
    return json::parse(resp.body);
  }

  std::string collection(const std::string& user, const std::string& prefix) {
    auto cs = call(get("/feeds/collections/", user));
    for (const auto& c : cs["collections"]) {
      if (c["title"].get<std::string>().rfind(prefix, 0) == 0) return c["id"];
    }
    FAIL("no collection " << prefix << " for " << user);
    return {};
  }
};

}  // namespace

TEST_CASE("TAXII discovery, API root and authentication", "[feeds][taxii]") {
  Fixture f;
  auto d = f.call(get("/taxii2/", "moh-feed"));
  CHECK(d["api_roots"] == json{"/feeds/"});
  CHECK(d["default"] == "/feeds/");
  auto root = f.call(get("/feeds/", "moh-feed"));
  CHECK(root["versions"] == json{"application/taxii+json;version=2.1"});

  auto no_token = f.svc->handle(get("/taxii2/", ""));
  CHECK(no_token.status == 401);
  CHECK(json::parse(no_token.body)["http_status"] == "401");
  CHECK_FALSE(no_token.header("WWW-Authenticate").empty());
  auto wrong = get("/taxii2/", "");
  wrong.headers["authorization"] = "Bearer not-a-token";
  CHECK(f.svc->handle(wrong).status == 401);
  CHECK(f.svc->handle(get("/feeds/collections/", "analyst1")).status == 403);  // analysts use the console

  auto bad_accept = get("/taxii2/", "moh-feed");
  bad_accept.headers["accept"] = "text/html";
  auto r = f.svc->handle(bad_accept);
  CHECK(r.status == 406);
  CHECK(json::parse(r.body).contains("title"));
  bad_accept.headers["accept"] = "application/taxii+json;version=2.0";
  CHECK(f.svc->handle(bad_accept).status == 406);
  bad_accept.headers["accept"] = "text/html, application/taxii+json";
  CHECK(f.svc->handle(bad_accept).status == 200);
}

TEST_CASE("an agency sees only its own collections and objects", "[feeds][taxii]") {
  Fixture f;
  f.confirm({make_alert(1, "moh", "203.0.113.5", "10.1.2.3", f.now - 3600000000),
             make_alert(2, "mof", "203.0.113.77", "10.2.9.9", f.now - 1800000000)});
  auto moh = f.call(get("/feeds/collections/", "moh-feed"))["collections"];
  auto mof = f.call(get("/feeds/collections/", "mof-feed"))["collections"];
  std::set<std::string> moh_ids, mof_ids;
  for (const auto& c : moh) moh_ids.insert(c["id"]);
  for (const auto& c : mof) mof_ids.insert(c["id"]);
  // Shared: CLEAR and GREEN; each agency's AMBER+STRICT, submissions and RED are its own.
  std::vector<std::string> shared;
  std::set_intersection(moh_ids.begin(), moh_ids.end(), mof_ids.begin(), mof_ids.end(), std::back_inserter(shared));
  CHECK(shared.size() == 2);
  CHECK(moh.size() == 5);

  std::string green = f.collection("moh-feed", "TLP:GREEN");
  std::string moh_amber = f.collection("moh-feed", "TLP:AMBER+STRICT");
  std::string mof_amber = f.collection("mof-feed", "TLP:AMBER+STRICT");
  CHECK(moh_amber != mof_amber);

  // GREEN: both attacker indicators, no sightings, no tenant identities.
  auto g = f.call(get("/feeds/collections/" + green + "/objects/", "moh-feed"))["objects"];
  std::multiset<std::string> types;
  for (const auto& o : g) {
    types.insert(o["type"]);
    CHECK(stix::validate(o).empty());
    if (o["type"] != "marking-definition") CHECK(o.contains("object_marking_refs"));
    CHECK(o.dump().find("10.1.2.3") == std::string::npos);  // never a victim address
    CHECK(o.dump().find("moh") == std::string::npos);
  }
  CHECK(types.count("indicator") == 2);
  CHECK(types.count("sighting") == 0);
  CHECK(types.count("marking-definition") == 5);
  CHECK(types.count("identity") == 1);

  // moh's AMBER+STRICT: its sighting (with where_sighted_refs to its identity), not mof's.
  auto a = f.call(get("/feeds/collections/" + moh_amber + "/objects/", "moh-feed", {{"match[type]", "sighting"}}))["objects"];
  REQUIRE(a.size() == 1);
  CHECK(a[0]["where_sighted_refs"] == json{stix::tenant_identity_id("moh")});
  CHECK(a[0]["count"] == 3);
  auto ids = f.call(get("/feeds/collections/" + moh_amber + "/objects/", "moh-feed", {{"match[type]", "identity"}}))["objects"];
  CHECK(ids.size() == 2);  // the SOC and moh

  // mof asking for moh's collection: it does not exist for mof.
  auto r = f.svc->handle(get("/feeds/collections/" + moh_amber + "/objects/", "mof-feed"));
  CHECK(r.status == 404);
  CHECK(f.svc->handle(get("/feeds/collections/" + moh_amber + "/manifest/", "mof-feed")).status == 404);
  CHECK(f.svc->handle(get("/misp/" + moh_amber + "/manifest.json", "mof-feed")).status == 404);

  // Every fetch, allowed or refused, is in the audit log.
  auto entries = f.st->audit().query_actor("mof-feed", core::Timestamp{INT64_MIN}, core::Timestamp{INT64_MAX});
  REQUIRE(entries.ok());
  bool denied = false;
  for (const auto& e : *entries) denied = denied || (e.decision == "deny" && e.object == "collection:" + moh_amber);
  CHECK(denied);
}

TEST_CASE("objects paging: limit, next, added_after and the date-added headers", "[feeds][taxii]") {
  Fixture f;
  std::vector<core::Alert> alerts;
  for (int i = 0; i < 7; ++i) {
    std::string src = "203.0.113." + std::to_string(10 + i);
    alerts.push_back(make_alert(i + 1, "moh", src.c_str(), "10.1.2.3", f.now - 100000000 + i));
  }
  for (auto& a : alerts) {
    f.now += 1000;  // one alert per millisecond: distinct date_added
    f.confirm({a});
  }
  std::string green = f.collection("moh-feed", "TLP:GREEN");
  std::string base = "/feeds/collections/" + green + "/objects/";
  // All at once: 5 markings + SOC identity + 7 indicators, in date_added order.
  auto all_resp = f.svc->handle(get(base, "moh-feed"));
  auto all = json::parse(all_resp.body)["objects"];
  REQUIRE(all.size() == 13);
  CHECK(json::parse(all_resp.body)["more"] == false);

  std::vector<std::string> paged;
  std::string next;
  int pages = 0;
  std::string last_header;
  do {
    std::multimap<std::string, std::string> q{{"limit", "4"}, {"match[type]", "indicator"}};
    if (!next.empty()) q.emplace("next", next);
    auto resp = f.svc->handle(get(base, "moh-feed", q));
    REQUIRE(resp.status == 200);
    auto body = json::parse(resp.body);
    for (const auto& o : body["objects"]) paged.push_back(o["id"]);
    CHECK(body["objects"].size() <= 4);
    auto first = parse_time(resp.header("X-TAXII-Date-Added-First"));
    auto last = parse_time(resp.header("X-TAXII-Date-Added-Last"));
    REQUIRE(first);
    REQUIRE(last);
    CHECK(*first <= *last);
    if (!last_header.empty()) CHECK(*parse_time(last_header) < *first);
    last_header = resp.header("X-TAXII-Date-Added-Last");
    next = body.value("next", "");
    CHECK(body["more"] == !next.empty());
    ++pages;
  } while (!next.empty());
  CHECK(pages == 2);
  REQUIRE(paged.size() == 7);
  CHECK(std::set<std::string>(paged.begin(), paged.end()).size() == 7);

  // added_after = the header of the first three indicators -> the remaining four.
  auto first3 = f.svc->handle(get(base, "moh-feed", {{"limit", "3"}, {"match[type]", "indicator"}}));
  std::string after = first3.header("X-TAXII-Date-Added-Last");
  auto rest = f.call(get(base, "moh-feed", {{"added_after", after}, {"match[type]", "indicator"}}))["objects"];
  REQUIRE(rest.size() == 4);
  CHECK(rest[0]["id"] == paged[3]);

  // The manifest lists the same objects with their date_added and version.
  auto man = f.call(get("/feeds/collections/" + green + "/manifest/", "moh-feed", {{"match[type]", "indicator"}}))["objects"];
  REQUIRE(man.size() == 7);
  CHECK(man[0]["media_type"] == "application/stix+json;version=2.1");
  CHECK(parse_time(man[0]["date_added"].get<std::string>()));
  // One object by id, its versions, match[id] and match[version].
  std::string id = paged[2];
  auto one = f.call(get(base + id + "/", "moh-feed"))["objects"];
  REQUIRE(one.size() == 1);
  CHECK(one[0]["id"] == id);
  auto versions = f.call(get(base + id + "/versions/", "moh-feed"))["versions"];
  CHECK(versions == json{one[0]["modified"]});
  CHECK(f.call(get(base, "moh-feed", {{"match[id]", id}}))["objects"].size() == 1);
  CHECK(f.call(get(base, "moh-feed", {{"match[id]", id}, {"match[version]", one[0]["modified"].get<std::string>()}}))["objects"].size() == 1);
  CHECK(f.call(get(base, "moh-feed", {{"match[id]", id}, {"match[version]", "2001-01-01T00:00:00.000Z"}}))["objects"].empty());
  CHECK(f.svc->handle(get(base + "indicator--00000000-0000-5000-8000-000000000000/", "moh-feed")).status == 404);
  CHECK(f.svc->handle(get(base, "moh-feed", {{"added_after", "yesterday"}})).status == 400);
  CHECK(f.svc->handle(get(base, "moh-feed", {{"limit", "0"}})).status == 400);

  // A changed indicator (seen again at mof) gets a new version and a new date_added: a poller
  // with added_after sees it again.
  std::string mark = f.svc->handle(get(base, "moh-feed")).header("X-TAXII-Date-Added-Last");
  f.now += 5000;
  f.confirm({make_alert(99, "mof", "203.0.113.12", "10.2.0.9", f.now)});
  auto again = f.call(get(base, "moh-feed", {{"added_after", mark}}))["objects"];
  REQUIRE(again.size() == 1);
  CHECK(again[0]["pattern"] == "[ipv4-addr:value = '203.0.113.12']");
  // Re-ingesting the same alerts changes nothing.
  f.now += 5000;
  f.confirm(alerts);
  CHECK(f.svc->handle(get(base, "moh-feed", {{"added_after", f.svc->handle(get(base, "moh-feed")).header("X-TAXII-Date-Added-Last")}})).status == 200);
  CHECK(f.call(get(base, "moh-feed", {{"added_after", taxii_time(f.now - 4000)}}))["objects"].empty());
}

TEST_CASE("release makes CLEAR; share puts a confidential item in the recipient's RED collection", "[feeds][taxii]") {
  Fixture f;
  auto conf = make_alert(2, "mof", "203.0.113.99", "10.2.1.1", f.now - 1000);
  conf.level = "confidential";
  f.confirm({make_alert(1, "moh", "203.0.113.5", "10.1.2.3", f.now - 2000), conf});
  std::string clear = f.collection("moh-feed", "TLP:CLEAR");
  std::string green = f.collection("moh-feed", "TLP:GREEN");
  auto indicators = [&](const std::string& user, const std::string& c) {
    return f.call(get("/feeds/collections/" + c + "/objects/", user, {{"match[type]", "indicator"}}))["objects"];
  };
  CHECK(indicators("moh-feed", clear).empty());
  CHECK(indicators("moh-feed", green).size() == 1);  // the confidential one is nowhere yet
  REQUIRE(f.svc->release(*f.st, "i|ipv4|203.0.113.5", "lead1").ok());
  REQUIRE(indicators("moh-feed", clear).size() == 1);
  CHECK(indicators("moh-feed", clear)[0]["object_marking_refs"][0] == stix::marking_id(Tlp::kClear));
  CHECK(indicators("moh-feed", green).empty());

  REQUIRE(f.svc->share(*f.st, "i|ipv4|203.0.113.99", "mof-feed", "lead1").ok());
  std::string red = f.collection("mof-feed", "TLP:RED");
  auto r = indicators("mof-feed", red);
  REQUIRE(r.size() == 1);
  CHECK(r[0]["object_marking_refs"][0] == stix::marking_id(Tlp::kRed));
  CHECK(indicators("moh-feed", f.collection("moh-feed", "TLP:RED")).empty());
  auto log = f.st->audit().query_actor("lead1", core::Timestamp{INT64_MIN}, core::Timestamp{INT64_MAX});
  REQUIRE(log.ok());
  CHECK(log->size() == 2);
}

TEST_CASE("submissions: validated STIX upload, status resource, intel lists", "[feeds][taxii]") {
  Fixture f;
  std::string sub = f.collection("mof-feed", "Indicators submitted by mof");
  std::string green = f.collection("mof-feed", "TLP:GREEN");
  json bundle = {{"type", "bundle"},
                 {"id", "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d"},
                 {"objects",
                  {{{"type", "indicator"},
                    {"spec_version", "2.1"},
                    {"id", "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"},
                    {"created", "2026-11-01T00:00:00.000Z"},
                    {"modified", "2026-11-01T00:00:00.000Z"},
                    {"name", "phishing domain"},
                    {"pattern", "[domain-name:value = 'Login-Update.example']"},
                    {"pattern_type", "stix"},
                    {"valid_from", "2026-11-01T00:00:00Z"}},
                   {{"type", "indicator"},
                    {"spec_version", "2.1"},
                    {"id", "indicator--1e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"},
                    {"created", "2026-11-01T00:00:00.000Z"},
                    {"modified", "2026-11-01T00:00:00.000Z"},
                    {"pattern", "[ipv4-addr:value = '198.18.0.1'] OR [ipv4-addr:value = '198.18.0.2']"},
                    {"pattern_type", "stix"},
                    {"valid_from", "2026-11-01T00:00:00Z"}},
                   {{"type", "malware"},
                    {"spec_version", "2.1"},
                    {"id", "malware--2e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"},
                    {"created", "2026-11-01T00:00:00.000Z"},
                    {"modified", "2026-11-01T00:00:00.000Z"}}}}};
  HttpRequest post = get("/feeds/collections/" + sub + "/objects/", "mof-feed");
  post.method = "POST";
  post.body = bundle.dump();
  post.headers["content-type"] = "text/plain";
  CHECK(f.svc->handle(post).status == 415);
  post.headers["content-type"] = "application/taxii+json;version=2.1";
  auto status = f.call(post, 202);
  CHECK(status["status"] == "complete");
  CHECK(status["success_count"] == 1);
  CHECK(status["failure_count"] == 2);
  CHECK(status["successes"][0]["id"] == "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f");
  CHECK_THAT(status["failures"].dump(), Catch::Contains("OR") || Catch::Contains("unescaped quote"));
  auto again = f.call(get("/feeds/status/" + status["id"].get<std::string>() + "/", "mof-feed"));
  CHECK(again["id"] == status["id"]);
  CHECK(f.svc->handle(get("/feeds/status/" + status["id"].get<std::string>() + "/", "moh-feed")).status == 404);

  // Stored as mof's, visible in mof's submissions collection, not in GREEN, not to moh.
  auto mine = f.call(get("/feeds/collections/" + sub + "/objects/", "mof-feed", {{"match[type]", "indicator"}}))["objects"];
  REQUIRE(mine.size() == 1);
  CHECK(mine[0]["id"] == "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f");
  CHECK(mine[0]["pattern"] == "[domain-name:value = 'login-update.example']");
  CHECK(mine[0]["created_by_ref"] == stix::tenant_identity_id("mof"));
  CHECK(f.call(get("/feeds/collections/" + green + "/objects/", "mof-feed", {{"match[type]", "indicator"}}))["objects"].empty());
  CHECK(f.svc->handle(get("/feeds/collections/" + sub + "/objects/", "moh-feed")).status == 404);
  // moh cannot write into mof's collection, and nobody writes into GREEN.
  post.path = "/feeds/collections/" + green + "/objects/";
  CHECK(f.svc->handle(post).status == 403);

  // The correlator's intel list for mof now holds the domain.
  std::ifstream in(f.dir.path / "intel" / "agency-mof.domain");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  CHECK_THAT(text, Catch::Contains("login-update.example"));
  CHECK(std::filesystem::exists(f.dir.path / "intel" / "agency-mof.ip"));

  // A bundle of which nothing is acceptable is refused whole (422, the reasons named) and changes
  // nothing: no record, no intel list rewritten, no reload asked for; the refusal is audited.
  int reloads = 0;
  f.svc->on_intel_written([&] { ++reloads; });
  auto intel_time = std::filesystem::last_write_time(f.dir.path / "intel" / "agency-mof.domain");
  uint64_t audit_before = f.st->audit().size();
  json bad = bundle;
  bad["objects"] = json::array({bundle["objects"][1], bundle["objects"][2]});
  bad["objects"][0]["pattern"] = "[ipv4-addr:value = '198.18.0.7'] AND [ipv4-addr:value = '198.18.0.8']";
  post.path = "/feeds/collections/" + sub + "/objects/";
  post.body = bad.dump();
  auto refused = f.call(post, 422);
  CHECK(refused["title"] == "Unprocessable Entity");
  CHECK_THAT(refused["description"].get<std::string>(), Catch::Contains("indicator--1e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"));
  CHECK_THAT(refused["description"].get<std::string>(), Catch::Contains("only indicator objects are accepted"));
  CHECK(refused["details"]["failures"].size() == 2);
  CHECK(f.call(get("/feeds/collections/" + sub + "/objects/", "mof-feed", {{"match[type]", "indicator"}}))["objects"].size() == 1);
  CHECK(std::filesystem::last_write_time(f.dir.path / "intel" / "agency-mof.domain") == intel_time);
  CHECK(reloads == 0);
  CHECK(f.svc->counters().submissions_refused == 1);
  CHECK(f.st->audit().size() > audit_before);
  auto denied = f.st->audit().query_actor("mof-feed", core::Timestamp{INT64_MIN}, core::Timestamp{INT64_MAX});
  REQUIRE(denied.ok());
  bool refusal_logged = false;
  for (const auto& e : *denied) refusal_logged |= e.action == "feed.submit" && e.decision == "deny";
  CHECK(refusal_logged);
  // An empty bundle too.
  post.body = json({{"type", "bundle"}, {"id", "bundle--6d0092c5-5f74-4287-9642-33f4c354e56d"}, {"objects", json::array()}}).dump();
  CHECK_THAT(f.call(post, 422)["description"].get<std::string>(), Catch::Contains("no objects"));
  // A good one asks for the reload.
  post.body = bundle.dump();
  f.call(post, 202);
  CHECK(reloads == 1);
}

TEST_CASE("feed records: date-added index lists each record once, at its latest version", "[feeds][store]") {
  TempDir dir;
  store::StoreOptions o;
  o.path = (dir.path / "db").string();
  auto opened = store::Store::open(o);
  REQUIRE(opened.ok());
  auto st = std::move(opened.value());
  store::CommitBatch b;
  store::put_feed_record(b, {"a", 10, "A1"}, std::nullopt);
  store::put_feed_record(b, {"b", 20, "B1"}, std::nullopt);
  REQUIRE(st->commit(b).ok());
  b.clear();
  store::put_feed_record(b, {"a", 30, "A2"}, 10);
  REQUIRE(st->commit(b).ok());
  std::vector<std::string> seen;
  REQUIRE(store::scan_feed_records(*st, INT64_MIN, "", [&](const store::FeedRecord& r) {
            seen.push_back(r.key + "@" + std::to_string(r.date_added_usec) + "=" + r.value);
            return true;
          }).ok());
  CHECK(seen == std::vector<std::string>{"b@20=B1", "a@30=A2"});
  seen.clear();
  REQUIRE(store::scan_feed_records(*st, 20, "", [&](const store::FeedRecord& r) {
            seen.push_back(r.key);
            return true;
          }).ok());
  CHECK(seen == std::vector<std::string>{"a"});
  seen.clear();
  REQUIRE(store::scan_feed_records(*st, 20, "b", [&](const store::FeedRecord& r) {
            seen.push_back(r.key);
            return true;
          }).ok());
  CHECK(seen == std::vector<std::string>{"a"});
  CHECK(*store::last_feed_date_added(*st) == 30);
  CHECK((*store::get_feed_record(*st, "a"))->value == "A2");
  CHECK_FALSE(store::get_feed_record(*st, "c")->has_value());
}

TEST_CASE("publication is audited per collection; the example feeds.yaml loads", "[feeds][taxii]") {
  Fixture f;
  std::vector<Published> pub;
  f.svc->on_published([&](const std::vector<Published>& items) { pub.insert(pub.end(), items.begin(), items.end()); });
  f.confirm({make_alert(1, "moh", "203.0.113.5", "10.1.2.3", f.now - 1000)});
  // What is published carries what its object refers to (for the push's self-contained bundles):
  // every marking definition and identity referenced resolves among the refs, each once.
  REQUIRE_FALSE(pub.empty());
  for (const auto& p : pub) {
    std::set<std::string> ids;
    for (const auto& r : p.refs) CHECK(ids.insert(r["id"].get<std::string>()).second);
    std::vector<json> all = p.refs;
    all.push_back(p.stix);
    for (const auto& o : all) {
      for (const auto& m : o.value("object_marking_refs", json::array())) CHECK(ids.count(m.get<std::string>()) == 1);
    }
    if (p.stix["type"] == "indicator") CHECK(ids.count(p.stix["created_by_ref"].get<std::string>()) == 1);
  }
  auto log = f.st->audit().query_actor("feeds", core::Timestamp{INT64_MIN}, core::Timestamp{INT64_MAX});
  REQUIRE(log.ok());
  std::set<std::string> objects;
  for (const auto& e : *log) {
    CHECK(e.action == "feed.publish");
    objects.insert(e.object);
  }
  CHECK(objects == std::set<std::string>{"collection:" + collection_id({Tlp::kGreen, "agencies", ""}),
                                         "collection:" + collection_id({Tlp::kAmberStrict, "tenant", "moh"})});
  auto c = load_feed_config(std::string(VIGIL_SOURCE_DIR) + "/deploy/config/feeds.yaml");
  INFO((c.ok() ? std::string() : c.error().to_string()));
  REQUIRE(c.ok());
  CHECK(c->api_root == "feeds");
  TempDir d;
  auto bad = d.path / "bad.yaml";
  std::ofstream(bad) << "taxii:\n  api_rot: x\n";
  auto e = load_feed_config(bad.string());
  REQUIRE_FALSE(e.ok());
  CHECK_THAT(e.error().to_string(), Catch::Contains("taxii.api_rot"));
}
