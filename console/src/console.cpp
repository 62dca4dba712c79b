#include "vigil/console/console.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <list>
#include <map>
#include <mutex>
#include <regex>
#include <thread>
#include <unordered_map>

#include <httplib.h>
#include <sodium.h>

#include "audit_bridge.h"
#include "vigil/core/curve_keys.h"
#include "vigil/core/log.h"
#include "vigil/feeds/http_routes.h"
#include "vigil/feeds/push.h"
#include "vigil/policy/password.h"

namespace vigil::console {

using json = nlohmann::json;
using policy::Action;

namespace {

constexpr const char* kCookie = "vigil_session";
constexpr const char* kCsrfHeader = "X-Vigil-Request";

std::string hex(const uint8_t* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    s[2 * i] = d[p[i] >> 4];
    s[2 * i + 1] = d[p[i] & 15];
  }
  return s;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}
void error(httplib::Response& res, int status, const std::string& message) { reply(res, status, json{{"error", message}}); }

std::optional<int64_t> parse_i64(const std::string& s) {
  if (s.empty()) return std::nullopt;
  try {
    size_t used = 0;
    long long v = std::stoll(s, &used);
    if (used != s.size()) return std::nullopt;
    return v;
  } catch (...) {
    return std::nullopt;
  }
}

// Times in the API: epoch seconds (fractions allowed).
std::optional<core::Timestamp> parse_time(const std::string& s) { return core::parse_epoch_seconds(s); }

struct Session {
  std::string user;
  int64_t created = 0;
  int64_t last_seen = 0;
};

// One browser's live queue.
struct Stream {
  std::string user;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> queue;
  uint64_t dropped = 0;
  bool closed = false;
};

struct Rule {
  std::string text;
  std::string where;
};

}  // namespace

struct Console::Impl {
  ConsoleConfig config;
  Backend backend;
  std::shared_ptr<policy::PolicyHolder> policy;
  std::unique_ptr<httplib::Server> server;
  std::thread thread;
  int port = 0;
  std::unordered_map<uint32_t, Rule> rules;  // by sid (gid 1)

  std::mutex sessions_mu;
  std::unordered_map<std::string, Session> sessions;  // sha256(token) -> session
  std::map<std::string, std::deque<int64_t>> failures;  // "user:x" / "addr:y" -> failure times

  std::mutex streams_mu;
  std::list<std::shared_ptr<Stream>> streams;
  std::atomic<bool> stopping{false};

  // The policy file is watched when the console loaded it itself: a changed file is loaded and
  // swapped in (a bad one is logged and the current policy stays).
  bool own_policy = false;
  std::filesystem::file_time_type policy_mtime{};
  std::thread watcher;
  std::mutex watch_mu;
  std::condition_variable watch_cv;

  // The agency feeds (config.feeds_file), mounted on this server. Produced from on_alerts
  // (FeedService::ingest) and by the syncer thread (FeedService::sync over the whole store every
  // sync_interval_sec, and at once after a change made here), both through backend.write.
  std::unique_ptr<feeds::FeedService> feeds;
  std::unique_ptr<feeds::PushFeed> push;
  std::thread feed_syncer;
  std::mutex feed_mu;
  std::condition_variable feed_cv;
  bool feed_nudged = false;

  void nudge_feeds() {
    if (!feeds) return;
    std::lock_guard lock(feed_mu);
    feed_nudged = true;
    feed_cv.notify_one();
  }

  void sync_feeds() {
    auto interval = std::chrono::seconds(feeds->config().sync_interval_sec);
    std::unique_lock lock(feed_mu);
    bool first = true;  // one sync at start: what analysts confirmed while the feeds were off
    while (!stopping.load()) {
      if (!first) feed_cv.wait_for(lock, interval, [&] { return stopping.load() || feed_nudged; });
      first = false;
      if (stopping.load()) break;
      feed_nudged = false;
      lock.unlock();
      auto st = backend.write([&](store::Store& s) {
        return feeds->sync(s, core::Timestamp{INT64_MIN}, core::Timestamp{INT64_MAX});
      });
      if (!st) core::logger("console")->warn("feeds sync: {}", st.error().to_string());
      lock.lock();
    }
  }

  // A console session token (sha256 hex) that is still valid -> its user name (sliding expiry).
  std::optional<std::string> session_user(const std::string& token_hash) {
    std::lock_guard lock(sessions_mu);
    auto it = sessions.find(token_hash);
    int64_t now = core::Timestamp::now().usec;
    if (it == sessions.end() || now - it->second.created > config.session_ttl_usec ||
        now - it->second.last_seen > config.session_idle_usec) {
      if (it != sessions.end()) sessions.erase(it);
      return std::nullopt;
    }
    it->second.last_seen = now;
    return it->second.user;
  }

  core::Status make_feeds() {
    auto fc = feeds::load_feed_config(config.feeds_file);
    if (!fc) return fc.error();
    // A feed client authenticates with a policy API token, or with a console session token as a
    // bearer token (a script that logged in through /api/v1/login).
    auto from_policy = feeds::users_from_policy(policy);
    feeds::FeedService::UserLookup users = [this, from_policy](std::string_view hex) -> std::optional<policy::User> {
      if (auto u = from_policy(hex)) return u;
      auto name = session_user(std::string(hex));
      if (!name) return std::nullopt;
      auto pol = policy->get();
      const auto* u = pol ? pol->find_user(*name) : nullptr;
      if (!u) return std::nullopt;
      return *u;
    };
    feeds = std::make_unique<feeds::FeedService>(*fc, backend.store, backend.write, std::move(users),
                                                 feeds::internal_from_policy(policy));
    feeds->set_tenant_tlp(feeds::tenant_tlp_from_policy(policy));
    if (backend.intel_changed) feeds->on_intel_written(backend.intel_changed);
    return {};
  }

  void watch_policy() {
    std::unique_lock lock(watch_mu);
    while (!watch_cv.wait_for(lock, std::chrono::seconds(2), [&] { return stopping.load(); })) {
      std::error_code ec;
      auto m = std::filesystem::last_write_time(config.policy_file, ec);
      if (ec || m == policy_mtime) continue;
      policy_mtime = m;
      auto p = policy::Policy::load(config.policy_file);
      if (!p) {
        core::logger("console")->warn("policy not reloaded, keeping the current one: {}", p.error().to_string());
        continue;
      }
      policy->set(*p);
      core::logger("console")->info("policy reloaded from {}", config.policy_file);
      AuditRecord r;
      r.actor = "console";
      r.actor_role = "system";
      r.source = "console";
      r.action = "policy.reload";
      r.object = "policy";
      r.reason = config.policy_file;
      (void)audit_alone(r);
    }
  }

  // ---- who is asking ----------------------------------------------------------------------
  struct Caller {
    policy::User user;
    std::shared_ptr<const policy::Policy> pol;
    bool cookie = false;
    std::string source;
  };

  std::optional<Caller> caller_of(const httplib::Request& req, httplib::Response& res, bool changes_state) {
    auto pol = policy->get();
    Caller c;
    c.pol = pol;
    c.source = req.remote_addr;
    std::string token;
    auto auth = req.get_header_value("Authorization");
    if (auth.rfind("Bearer ", 0) == 0) {
      token = auth.substr(7);
      // A machine token from the policy first, then a session token held by a script.
      if (const auto* u = pol->find_user_by_token_sha256(policy::sha256_hex(token))) {
        c.user = *u;
        return c;
      }
    } else {
      token = cookie_value(req, kCookie);
      c.cookie = true;
    }
    if (token.empty()) {
      error(res, 401, "not logged in");
      return std::nullopt;
    }
    auto user_name = session_user(sha256_hex(token));
    if (!user_name) {
      error(res, 401, "session expired or unknown");
      return std::nullopt;
    }
    const auto* u = pol->find_user(*user_name);
    if (!u) {  // removed from the policy since login
      error(res, 401, "user no longer exists");
      return std::nullopt;
    }
    // CSRF: a cross-site form cannot set a custom header, and no CORS preflight is answered.
    if (changes_state && c.cookie && req.get_header_value(kCsrfHeader) != "1") {
      error(res, 403, std::string("state-changing requests need the ") + kCsrfHeader + ": 1 header");
      return std::nullopt;
    }
    c.user = *u;
    return c;
  }

  static std::string cookie_value(const httplib::Request& req, const std::string& name) {
    auto cookies = req.get_header_value("Cookie");
    size_t pos = 0;
    while (pos < cookies.size()) {
      auto end = cookies.find(';', pos);
      if (end == std::string::npos) end = cookies.size();
      auto part = cookies.substr(pos, end - pos);
      auto b = part.find_first_not_of(' ');
      if (b != std::string::npos) part = part.substr(b);
      if (part.rfind(name + "=", 0) == 0) return part.substr(name.size() + 1);
      pos = end + 1;
    }
    return {};
  }

  // ---- policy --------------------------------------------------------------------------
  static policy::Decision decide(const Caller& c, Action a, const core::Alert& alert) {
    return c.pol->may(c.user, a, policy::view_of(alert));
  }
  static bool may(const Caller& c, Action a, const core::Alert& alert) { return decide(c, a, alert).allow; }
  static bool may(const Caller& c, Action a, const core::Incident& inc) {
    return c.pol->may(c.user, a, policy::view_of(inc)).allow;
  }
  static json out(const Caller& c, const core::Alert& a, bool unmasked = false) {
    json j = core::to_json(a);
    c.pol->redact(c.user, j, unmasked);
    return j;
  }
  static json out(const Caller& c, const core::Incident& i) {
    json j = core::to_json(i);
    c.pol->redact(c.user, j, false);
    return j;
  }

  AuditRecord audit_of(const Caller& c, std::string action, std::string object) const {
    AuditRecord r;
    r.actor = c.user.name;
    r.actor_tenant = c.user.tenant;
    r.actor_role = std::string(policy::to_string(c.user.role));
    r.source = "console " + c.source;
    r.action = std::move(action);
    r.object = std::move(object);
    return r;
  }

  // ---- changes: every one is a Request run by execute() (request.h) ---------------------
  // Standalone: through backend.write with this console's policy. Separate: over the control
  // socket (backend.request); the correlator re-decides with its policy (and the secondary store
  // catches up before the reply is used, so the analyst sees the change at once).
  Reply run(const Request& r) {
    if (backend.request) return backend.request(r);
    auto pol = policy->get();
    return execute_through(backend.write, *pol, r);
  }
  Request request_of(const Caller& c, std::string op, json params) const {
    return Request{std::move(op), c.user.name, "console " + c.source, std::move(params)};
  }
  // Standalone only: the change is announced to the other analysts' live queues from here
  // (Correlator::subscribe announces ingest only). A separate console hears of it from the
  // correlator's push, like of every other alert it writes.
  void publish_changed(const Reply& r) {
    if (backend.request || r.changed.empty()) return;
    publish(r.changed);
    if (backend.changed) backend.changed(r.changed);
  }

  // An audit entry on its own (logins, unmasking, exports, sensitive reads).
  core::Status audit_alone(const AuditRecord& r) {
    json p{{"action", r.action}, {"object", r.object}, {"decision", r.decision}, {"rule", r.rule}, {"reason", r.reason}};
    auto reply = run(Request{"audit", r.actor, r.source, std::move(p)});
    if (!reply.ok()) return core::make_error(reply.error_text());
    return {};
  }

  // ---- login ---------------------------------------------------------------------------
  // Per user: max_login_failures in the window; per address four times that (one office behind
  // a NAT shares an address).
  bool limited(const std::string& key, int64_t now) {
    auto& q = failures[key];
    while (!q.empty() && now - q.front() > config.login_window_usec) q.pop_front();
    int max = key.rfind("addr:", 0) == 0 ? 4 * config.max_login_failures : config.max_login_failures;
    return static_cast<int>(q.size()) >= max;
  }

  void login(const httplib::Request& req, httplib::Response& res) {
    auto body = json::parse(req.body, nullptr, false);
    if (!body.is_object() || !body.contains("user") || !body.contains("password") || !body["user"].is_string() ||
        !body["password"].is_string()) {
      return error(res, 400, "expected {\"user\": ..., \"password\": ...}");
    }
    std::string name = body["user"], password = body["password"];
    auto pol = policy->get();
    int64_t now = core::Timestamp::now().usec;
    std::string ukey = "user:" + name, akey = "addr:" + req.remote_addr;
    AuditRecord r;
    r.actor = name;
    r.source = "console " + req.remote_addr;
    r.object = "user:" + name;
    {
      std::lock_guard lock(sessions_mu);
      if (limited(ukey, now) || limited(akey, now)) {
        r.action = "login";
        r.decision = "deny";
        r.rule = "rate-limit";
        r.reason = "too many failed logins";
        (void)audit_alone(r);
        res.set_header("Retry-After", std::to_string(config.login_window_usec / 1000000));
        return error(res, 429, "too many failed logins; try again later");
      }
    }
    const auto* u = pol->find_user(name);
    bool ok = u && !u->password_hash.empty() &&
              policy::verify_password(u->password_hash, password);
    if (!ok) {
      {
        std::lock_guard lock(sessions_mu);
        failures[ukey].push_back(now);
        failures[akey].push_back(now);
      }
      r.action = "login";
      r.decision = "deny";
      r.rule = "password";
      r.reason = u ? "wrong password" : "unknown user";
      (void)audit_alone(r);
      return error(res, 401, "wrong user or password");
    }
    uint8_t raw[32];
    randombytes_buf(raw, sizeof raw);
    std::string token = hex(raw, sizeof raw);
    {
      std::lock_guard lock(sessions_mu);
      failures.erase(ukey);
      sessions[sha256_hex(token)] = Session{u->name, now, now};
    }
    r.action = "login";
    r.decision = "allow";
    r.actor_tenant = u->tenant;
    r.actor_role = std::string(policy::to_string(u->role));
    if (auto st = audit_alone(r); !st) return error(res, 503, "cannot record the login: " + st.error().to_string());
    std::string cookie = std::string(kCookie) + "=" + token + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                         std::to_string(config.session_ttl_usec / 1000000);
    if (!config.tls_cert_file.empty()) cookie += "; Secure";
    res.set_header("Set-Cookie", cookie);
    reply(res, 200, user_json(*u));
  }

  static json user_json(const policy::User& u) {
    return json{{"name", u.name},
                {"display_name", u.display_name.empty() ? u.name : u.display_name},
                {"tenant", u.tenant},
                {"scope", u.scope},
                {"role", std::string(policy::to_string(u.role))},
                {"clearance", std::string(policy::to_string(u.clearance))},
                {"may_unmask", u.may_unmask}};
  }

  // ---- alert queries -------------------------------------------------------------------
  // Fills q from the request's filters; returns an error message for a bad one.
  std::string parse_filters(const httplib::Request& req, store::AlertQuery& q, std::string& text) {
    if (req.has_param("from")) {
      auto t = parse_time(req.get_param_value("from"));
      if (!t) return "from: expected epoch seconds";
      q.from = *t;
    }
    if (req.has_param("to")) {
      auto t = parse_time(req.get_param_value("to"));
      if (!t) return "to: expected epoch seconds";
      q.to = *t;
    }
    auto nonempty = [&](const char* k) { return req.has_param(k) && !req.get_param_value(k).empty(); };
    if (nonempty("tenant")) q.tenant = req.get_param_value("tenant");
    for (auto [key, slot] : {std::pair{"ip", &q.ip}, std::pair{"src", &q.src_ip}, std::pair{"dest", &q.dst_ip}}) {
      if (!nonempty(key)) continue;
      auto ip = core::IpAddress::parse(req.get_param_value(key));
      if (!ip) return std::string(key) + ": not an IP address";
      *slot = *ip;
    }
    if (nonempty("sid")) {
      auto v = parse_i64(req.get_param_value("sid"));
      if (!v || *v < 0 || *v > UINT32_MAX) return "sid: expected a number";
      q.sid = static_cast<uint32_t>(*v);
    }
    if (nonempty("status")) {
      auto s = core::parse_alert_status(req.get_param_value("status"));
      if (!s) return "status: new, acknowledged, in-progress or closed";
      q.status = *s;
    }
    if (nonempty("severity")) {
      auto v = parse_i64(req.get_param_value("severity"));
      if (!v || *v < 1 || *v > 255) return "severity: 1 (most severe) to 4";
      q.max_severity = static_cast<uint8_t>(*v);
    }
    if (nonempty("assignee")) q.assignee = req.get_param_value("assignee");
    text = nonempty("q") ? lower(req.get_param_value("q")) : "";
    // A search for an address uses the address index.
    if (!text.empty() && !q.ip) {
      if (auto ip = core::IpAddress::parse(text)) {
        q.ip = *ip;
        text.clear();
      }
    }
    q.max_scan = config.max_scan;
    return {};
  }

  static bool text_match(const core::Alert& a, const std::string& text) {
    if (text.empty()) return true;
    if (lower(a.signature).find(text) != std::string::npos) return true;
    if (a.flow.src_ip.to_string().find(text) != std::string::npos) return true;
    if (a.flow.dst_ip.to_string().find(text) != std::string::npos) return true;
    return std::to_string(a.sid) == text;
  }

  void list_alerts(const Caller& c, const httplib::Request& req, httplib::Response& res) {
    store::AlertQuery q;
    std::string text;
    if (auto e = parse_filters(req, q, text); !e.empty()) return error(res, 400, e);
    q.newest_first = req.get_param_value("sort") != "oldest";
    q.limit = 50;
    if (req.has_param("limit")) {
      auto v = parse_i64(req.get_param_value("limit"));
      if (!v || *v < 1) return error(res, 400, "limit: expected a positive number");
      q.limit = std::min<size_t>(static_cast<size_t>(*v), config.max_page);
    }
    if (req.has_param("cursor") && !req.get_param_value("cursor").empty()) {
      auto id = core::RecordId::parse(req.get_param_value("cursor"));
      if (!id) return error(res, 400, "cursor: expected an alert id");
      q.cursor = *id;
    }
    q.filter = [&](const core::Alert& a) { return text_match(a, text) && may(c, Action::kList, a); };
    store::QueryStats stats;
    auto r = backend.store->query_alerts(q, &stats);
    if (!r) return error(res, 500, r.error().to_string());
    json list = json::array();
    for (const auto& a : *r) list.push_back(out(c, a));
    json body{{"alerts", std::move(list)}, {"index", stats.index}, {"scanned", stats.index_entries}, {"truncated", stats.truncated}};
    // A full page, or a scan stopped by max_scan, may have more behind it.
    if (!r->empty() && (r->size() == q.limit || stats.truncated)) body["next_cursor"] = r->back().id.to_string();
    else body["next_cursor"] = nullptr;
    reply(res, 200, body);
  }

  void groups(const Caller& c, const httplib::Request& req, httplib::Response& res) {
    store::AlertQuery q;
    std::string text;
    if (auto e = parse_filters(req, q, text); !e.empty()) return error(res, 400, e);
    std::string by = req.has_param("by") ? req.get_param_value("by") : "signature";
    if (by != "signature" && by != "src" && by != "dest" && by != "tenant") {
      return error(res, 400, "by: signature, src, dest or tenant");
    }
    struct G {
      std::string label;
      uint64_t alerts = 0, events = 0;
      int severity = 255;
      int64_t latest = 0;
      uint64_t open = 0;
    };
    std::map<std::string, G> groups;
    uint64_t total = 0;
    q.newest_first = true;
    q.limit = SIZE_MAX;
    // Counting happens inside the scan; nothing is collected.
    q.filter = [&](const core::Alert& a) {
      if (!text_match(a, text) || !may(c, Action::kCount, a)) return false;
      std::string key, label;
      if (by == "signature") {
        // The correlator's own alerts (classification findings, sequence/threshold rules, intel
        // matches) all have gid:sid 0:0; their title tells them apart.
        key = std::to_string(a.gid) + ":" + std::to_string(a.sid);
        if (a.sid == 0) key += ":" + a.signature;
        label = a.signature;
      }
      else if (by == "src") key = label = a.flow.src_ip.to_string();
      else if (by == "dest") key = label = a.flow.dst_ip.to_string();
      else key = label = a.tenant;
      auto& g = groups[key];
      if (g.label.empty()) g.label = label;
      ++g.alerts;
      g.events += a.count;
      g.severity = std::min<int>(g.severity, a.severity);
      g.latest = std::max(g.latest, a.last_seen.usec);
      if (a.status != core::AlertStatus::kClosed) ++g.open;
      ++total;
      return false;
    };
    store::QueryStats stats;
    auto r = backend.store->query_alerts(q, &stats);
    if (!r) return error(res, 500, r.error().to_string());
    std::vector<std::pair<std::string, G>> sorted(groups.begin(), groups.end());
    std::sort(sorted.begin(), sorted.end(), [](auto& a, auto& b) { return a.second.alerts > b.second.alerts; });
    if (sorted.size() > 200) sorted.resize(200);
    json list = json::array();
    for (auto& [k, g] : sorted) {
      list.push_back({{"key", k}, {"label", g.label}, {"alerts", g.alerts}, {"events", g.events}, {"open", g.open},
                      {"severity", g.severity}, {"latest_usec", g.latest}});
    }
    reply(res, 200, {{"by", by}, {"groups", std::move(list)}, {"total", total}, {"scanned", stats.index_entries},
                     {"truncated", stats.truncated}});
  }

  void dashboard(const Caller& c, const httplib::Request& req, httplib::Response& res) {
    store::AlertQuery q;
    std::string text;
    auto now = core::Timestamp::now();
    q.from = core::Timestamp{now.usec - 24ll * 3600 * 1000000};
    if (auto e = parse_filters(req, q, text); !e.empty()) return error(res, 400, e);
    int64_t bucket = 3600;
    if (req.has_param("bucket")) {
      auto v = parse_i64(req.get_param_value("bucket"));
      if (!v || *v < 60) return error(res, 400, "bucket: seconds, at least 60");
      bucket = *v;
    }
    int64_t bucket_usec = bucket * 1000000;
    struct T {
      std::map<int64_t, std::map<int, uint64_t>> series;  // bucket start -> severity -> alerts
      uint64_t alerts = 0, acked = 0, closed = 0, open = 0;
      double ack_sum = 0, close_sum = 0;
    };
    std::map<std::string, T> tenants;
    q.limit = SIZE_MAX;
    q.filter = [&](const core::Alert& a) {
      if (!text_match(a, text) || !may(c, Action::kCount, a)) return false;
      auto& t = tenants[a.tenant];
      int64_t b = a.first_seen.usec - (((a.first_seen.usec % bucket_usec) + bucket_usec) % bucket_usec);
      ++t.series[b][a.severity];
      ++t.alerts;
      if (a.acknowledged.usec > 0) ++t.acked, t.ack_sum += static_cast<double>(a.acknowledged.usec - a.first_seen.usec) / 1e6;
      if (a.closed.usec > 0) ++t.closed, t.close_sum += static_cast<double>(a.closed.usec - a.first_seen.usec) / 1e6;
      if (a.status != core::AlertStatus::kClosed) ++t.open;
      return false;
    };
    store::QueryStats stats;
    auto r = backend.store->query_alerts(q, &stats);
    if (!r) return error(res, 500, r.error().to_string());
    json list = json::array();
    for (auto& [name, t] : tenants) {
      json series = json::array();
      for (auto& [b, sev] : t.series) {
        json counts = json::object();
        for (auto& [s, n] : sev) counts[std::to_string(s)] = n;
        series.push_back({{"time", b / 1000000}, {"severity", std::move(counts)}});
      }
      list.push_back({{"tenant", name},
                      {"alerts", t.alerts},
                      {"open", t.open},
                      {"acknowledged", t.acked},
                      {"closed", t.closed},
                      {"mtta_seconds", t.acked ? json(t.ack_sum / static_cast<double>(t.acked)) : json(nullptr)},
                      {"mttr_seconds", t.closed ? json(t.close_sum / static_cast<double>(t.closed)) : json(nullptr)},
                      {"series", std::move(series)}});
    }
    reply(res, 200, {{"from", q.from.usec / 1000000}, {"to", std::min(q.to.usec, now.usec) / 1000000}, {"bucket", bucket},
                     {"tenants", std::move(list)}, {"scanned", stats.index_entries}, {"truncated", stats.truncated}});
  }

  // The alert, or nullopt after answering 404 (missing and invisible look the same).
  std::optional<core::Alert> visible_alert(const Caller& c, const std::string& id_text, httplib::Response& res) {
    auto id = core::RecordId::parse(id_text);
    if (!id) {
      error(res, 404, "no such alert");
      return std::nullopt;
    }
    auto a = backend.store->get_alert(*id);
    if (!a) {
      error(res, 500, a.error().to_string());
      return std::nullopt;
    }
    if (!a->has_value() || !may(c, Action::kRead, **a)) {
      error(res, 404, "no such alert");
      return std::nullopt;
    }
    return **a;
  }

  static bool same_flow(const core::FlowTuple& a, const core::FlowTuple& b) {
    if (a.proto != b.proto && a.proto && b.proto) return false;
    return (a.src_ip == b.src_ip && a.dst_ip == b.dst_ip && a.src_port == b.src_port && a.dst_port == b.dst_port) ||
           (a.src_ip == b.dst_ip && a.dst_ip == b.src_ip && a.src_port == b.dst_port && a.dst_port == b.src_port);
  }

  void alert_detail(const Caller& c, const httplib::Request& req, httplib::Response& res, bool unmask) {
    auto a = visible_alert(c, req.matches[1], res);
    if (!a) return;
    bool unmasked = false;
    if (unmask) {
      auto body = json::parse(req.body, nullptr, false);
      std::string reason = body.is_object() && body.contains("reason") && body["reason"].is_string() ? body["reason"].get<std::string>() : "";
      if (reason.size() < 5) return error(res, 400, "unmasking needs a typed reason (at least 5 characters)");
      // Decided and audited where writes happen; the data shown is what this console read.
      auto r = run(request_of(c, "alert.unmask", json{{"id", a->id.to_string()}, {"reason", reason}}));
      if (r.status == 404) return error(res, 404, "no such alert");
      if (!r.ok()) return error(res, r.status == 400 ? 400 : 503, "cannot record the unmasking: " + r.error_text());
      if (!r.body.value("allow", false)) return error(res, 403, "not allowed to unmask: " + r.body.value("reason", std::string()));
      unmasked = true;
    } else if (policy::parse_level(a->level).value_or(policy::Level::kInternal) >= policy::Level::kConfidential) {
      // Views of classified records are audited (DESIGN §7).
      auto r = audit_of(c, "alert.read", a->id.to_string());
      r.reason = "level " + a->level;
      (void)audit_alone(r);
    }
    json body{{"alert", out(c, *a, unmasked)}, {"unmasked", unmasked}};
    // The rule's text, when the rule files are configured.
    if (auto it = rules.find(a->sid); it != rules.end() && a->gid <= 1) {
      body["rule"] = {{"text", it->second.text}, {"where", it->second.where}};
    } else {
      body["rule"] = nullptr;
    }
    // Events it aggregates.
    json events = json::array();
    std::vector<core::EventRef> refs(a->events.begin(), a->events.begin() + std::min<size_t>(a->events.size(), 50));
    if (auto ev = backend.store->get_events(refs)) {
      for (auto& e : *ev) {
        json j = core::to_json(e);
        c.pol->redact(c.user, j, unmasked);
        events.push_back(std::move(j));
      }
    }
    body["events"] = std::move(events);
    // Protocol records of the same flow (either direction), around the alert's time.
    json proto = json::array();
    core::Timestamp from{a->first_seen.usec - 300'000'000}, to{a->last_seen.usec + 300'000'000};
    for (auto kind : {core::EventKind::kFlow, core::EventKind::kHttp, core::EventKind::kDns, core::EventKind::kTls}) {
      auto ev = backend.store->scan_events(kind, from, to, 20000);
      if (!ev) continue;
      for (auto& e : *ev) {
        if (proto.size() >= 100) break;
        if (!same_flow(e.event.flow, a->flow)) continue;
        json j = core::to_json(e);
        c.pol->redact(c.user, j, unmasked);
        proto.push_back(std::move(j));
      }
    }
    body["protocol"] = std::move(proto);
    // Related alerts: the same hosts, newest first, those the user may see.
    json related = json::array();
    for (const auto& ip : {a->flow.src_ip, a->flow.dst_ip}) {
      store::AlertQuery q;
      q.ip = ip;
      q.newest_first = true;
      q.limit = 10;
      q.max_scan = 5000;
      auto self = a->id;
      q.filter = [&](const core::Alert& o) { return o.id != self && may(c, Action::kList, o); };
      if (auto r = backend.store->query_alerts(q)) {
        for (auto& o : *r) {
          bool dup = std::any_of(related.begin(), related.end(), [&](const json& j) { return j["id"] == o.id.to_string(); });
          if (!dup) related.push_back(out(c, o));
        }
      }
    }
    body["related"] = std::move(related);
    reply(res, 200, body);
  }

  // ---- changes ---------------------------------------------------------------------------
  void alert_actions(const Caller& c, const httplib::Request& req, httplib::Response& res) {
    auto body = json::parse(req.body, nullptr, false);
    if (!body.is_object()) return error(res, 400, "expected {\"ids\": [...], \"action\": ...}");
    auto r = run(request_of(c, "alert.action", std::move(body)));
    if (!r.ok()) return reply(res, r.status, r.body);
    publish_changed(r);
    if (!r.changed.empty() || !r.changed_ids.empty()) nudge_feeds();  // closed true-positive or escalated: feed records
    reply(res, 200, r.body);
  }

  // ---- incidents --------------------------------------------------------------------------
  void list_incidents(const Caller& c, const httplib::Request& req, httplib::Response& res) {
    core::Timestamp from{INT64_MIN}, to{INT64_MAX};
    if (req.has_param("from")) {
      auto t = parse_time(req.get_param_value("from"));
      if (!t) return error(res, 400, "from: expected epoch seconds");
      from = *t;
    }
    if (req.has_param("to")) {
      auto t = parse_time(req.get_param_value("to"));
      if (!t) return error(res, 400, "to: expected epoch seconds");
      to = *t;
    }
    auto r = backend.store->list_incidents(from, to, 100000);
    if (!r) return error(res, 500, r.error().to_string());
    json list = json::array();
    // Newest first, visible only, at most max_page.
    for (auto it = r->rbegin(); it != r->rend() && list.size() < config.max_page; ++it) {
      if (may(c, Action::kList, *it)) list.push_back(out(c, *it));
    }
    reply(res, 200, {{"incidents", std::move(list)}});
  }

  std::optional<core::Incident> visible_incident(const Caller& c, const std::string& id_text, httplib::Response& res,
                                                 const store::Store& s) {
    auto id = core::RecordId::parse(id_text);
    if (!id) {
      error(res, 404, "no such incident");
      return std::nullopt;
    }
    auto i = s.get_incident(*id);
    if (!i) {
      error(res, 500, i.error().to_string());
      return std::nullopt;
    }
    if (!i->has_value() || !may(c, Action::kRead, **i)) {
      error(res, 404, "no such incident");
      return std::nullopt;
    }
    return **i;
  }

  void incident_detail(const Caller& c, const httplib::Request& req, httplib::Response& res) {
    auto inc = visible_incident(c, req.matches[1], res, *backend.store);
    if (!inc) return;
    json history = json::array();
    if (auto h = backend.store->incident_history(inc->id)) {
      for (auto& ch : *h) history.push_back(core::to_json(ch));
    }
    json alerts = json::array();
    for (const auto& id : inc->alerts) {
      auto a = backend.store->get_alert(id);
      if (a && a->has_value() && may(c, Action::kList, **a)) alerts.push_back(out(c, **a));
    }
    reply(res, 200, {{"incident", out(c, *inc)}, {"history", std::move(history)}, {"alerts", std::move(alerts)}});
  }

  void incident_actions(const Caller& c, const httplib::Request& req, httplib::Response& res) {
    auto body = json::parse(req.body, nullptr, false);
    if (!body.is_object()) return error(res, 400, "expected {\"action\": ...}");
    body["id"] = std::string(req.matches[1]);
    auto r = run(request_of(c, "incident.action", std::move(body)));
    if (!r.ok()) return reply(res, r.status, r.body);
    nudge_feeds();  // an incident closed (its verdict decides whether its alerts are published)
    reply(res, 200, r.body);
  }

  // ---- live queue (Server-Sent Events) -------------------------------------------------
  void stream(const Caller& c, const httplib::Request&, httplib::Response& res) {
    auto s = std::make_shared<Stream>();
    s->user = c.user.name;
    {
      std::lock_guard lock(streams_mu);
      streams.push_back(s);
    }
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, s](size_t, httplib::DataSink& sink) {
          std::deque<std::string> batch;
          {
            std::unique_lock lock(s->mu);
            s->cv.wait_for(lock, std::chrono::seconds(15), [&] { return !s->queue.empty() || s->closed || stopping; });
            if (s->closed || stopping) return false;
            batch.swap(s->queue);
          }
          if (batch.empty()) {
            static const std::string ping = ": ping\n\n";
            return sink.write(ping.data(), ping.size());
          }
          for (auto& m : batch) {
            if (!sink.write(m.data(), m.size())) return false;
          }
          return true;
        },
        [this, s](bool) {
          {
            std::lock_guard lock(s->mu);
            s->closed = true;
          }
          std::lock_guard lock(streams_mu);
          streams.remove(s);
        });
    // The first message says the stream is open (the UI shows "live").
    std::lock_guard lock(s->mu);
    s->queue.push_back("event: hello\ndata: {}\n\n");
  }

  void publish(const std::vector<core::Alert>& alerts) {
    std::vector<std::shared_ptr<Stream>> targets;
    {
      std::lock_guard lock(streams_mu);
      targets.assign(streams.begin(), streams.end());
    }
    if (targets.empty()) return;
    auto pol = policy->get();
    for (auto& s : targets) {
      const auto* u = pol->find_user(s->user);
      if (!u) continue;
      Caller c{*u, pol, true, ""};
      std::vector<std::string> msgs;
      for (const auto& a : alerts) {
        if (!may(c, Action::kList, a)) continue;
        msgs.push_back("event: alert\ndata: " + out(c, a).dump() + "\n\n");
      }
      if (msgs.empty()) continue;
      std::lock_guard lock(s->mu);
      for (auto& m : msgs) {
        if (s->queue.size() >= 2000) {  // a stalled browser: drop the oldest, it reloads the page
          s->queue.pop_front();
          ++s->dropped;
        }
        s->queue.push_back(std::move(m));
      }
      s->cv.notify_one();
    }
  }

  // ---- wiring ----------------------------------------------------------------------------
  template <typename Fn>
  httplib::Server::Handler authed(bool changes_state, Fn fn) {
    return [this, changes_state, fn](const httplib::Request& req, httplib::Response& res) {
      if (backend.reading) backend.reading();
      auto c = caller_of(req, res, changes_state);
      if (!c) return;
      fn(*c, req, res);
    };
  }

  void routes() {
    auto& s = *server;
    s.set_payload_max_length(4 << 20);
    s.set_tcp_nodelay(true);  // small JSON answers: no 40 ms Nagle/delayed-ACK stall
    s.set_post_routing_handler([](const httplib::Request& req, httplib::Response& res) {
      res.set_header("X-Content-Type-Options", "nosniff");
      res.set_header("X-Frame-Options", "DENY");
      res.set_header("Referrer-Policy", "no-referrer");
      res.set_header("Content-Security-Policy",
                     "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
                     "frame-ancestors 'none'");
      if (req.path.rfind("/api/", 0) == 0 && !res.has_header("Cache-Control")) res.set_header("Cache-Control", "no-store");
    });
    s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
      error(res, 500, "internal error");
    });
    s.Post("/api/v1/login", [this](const httplib::Request& req, httplib::Response& res) { login(req, res); });
    s.Post("/api/v1/logout", [this](const httplib::Request& req, httplib::Response& res) {
      auto token = cookie_value(req, kCookie);
      auto auth = req.get_header_value("Authorization");
      if (auth.rfind("Bearer ", 0) == 0) token = auth.substr(7);
      {
        std::lock_guard lock(sessions_mu);
        sessions.erase(sha256_hex(token));
      }
      res.set_header("Set-Cookie", std::string(kCookie) + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
      reply(res, 200, {{"ok", true}});
    });
    s.Get("/api/v1/me", authed(false, [](const Caller& c, const httplib::Request&, httplib::Response& res) {
            reply(res, 200, user_json(c.user));
          }));
    s.Get("/api/v1/alerts", authed(false, [this](const Caller& c, const httplib::Request& req, httplib::Response& res) {
            list_alerts(c, req, res);
          }));
    s.Get("/api/v1/alerts/groups", authed(false, [this](const Caller& c, const httplib::Request& req, httplib::Response& res) {
            groups(c, req, res);
          }));
    s.Get("/api/v1/alerts/stream", authed(false, [this](const Caller& c, const httplib::Request& req, httplib::Response& res) {
            stream(c, req, res);
          }));
    s.Get(R"(/api/v1/alerts/([0-9a-fA-F]{1,64}))",
          authed(false, [this](const Caller& c, const httplib::Request& req, httplib::Response& res) {
            alert_detail(c, req, res, false);
          }));
    s.Post(R"(/api/v1/alerts/([0-9a-fA-F]{1,64})/unmask)",
           authed(true, [this](const Caller& c, const httplib::Request& req, httplib::Response& res) {
             alert_detail(c, req, res, true);
           }));
    s.Post("/api/v1/alerts/actions", authed(true, [this](const Caller& c, const httplib::Request& req, httplib::Response& res) {
             alert_actions(c, req, res);
           }));
    s.Get("/api/v1/incidents", authed(false, [this](const Caller& c, const httplib::Request& req, httplib::Response& res) {
            list_incidents(c, req, res);
          }));
    s.Get(R"(/api/v1/incidents/([0-9a-fA-F]{1,64}))",
          authed(false, [this](const Caller& c, const httplib::Request& req, httplib::Response& res) {
            incident_detail(c, req, res);
          }));
    s.Post(R"(/api/v1/incidents/([0-9a-fA-F]{1,64})/actions)",
           authed(true, [this](const Caller& c, const httplib::Request& req, httplib::Response& res) {
             incident_actions(c, req, res);
           }));
    s.Get("/api/v1/dashboard", authed(false, [this](const Caller& c, const httplib::Request& req, httplib::Response& res) {
            dashboard(c, req, res);
          }));
    AuditRouteContext ctx;
    ctx.store = backend.store;
    ctx.auditor = [this](const httplib::Request& req, httplib::Response& res) -> std::optional<policy::User> {
      if (backend.reading) backend.reading();
      auto c = caller_of(req, res, req.method != "GET");
      if (!c) return std::nullopt;
      policy::RecordView v;
      v.kind = "audit";
      v.tenant = c->user.tenant;
      v.level = policy::Level::kPublic;
      auto d = c->pol->may(c->user, Action::kAudit, v);
      if (!d.allow) {
        error(res, 403, "not allowed to read the audit log: " + d.reason);
        return std::nullopt;
      }
      return c->user;
    };
    ctx.audit_read = [this](const policy::User& u, const httplib::Request& req, const std::string& action, const std::string& reason) {
      AuditRecord r;
      r.actor = u.name;
      r.actor_tenant = u.tenant;
      r.actor_role = std::string(policy::to_string(u.role));
      r.source = "console " + req.remote_addr;
      r.action = action;
      r.object = "audit";
      r.reason = reason;
      (void)audit_alone(r);
    };
    register_audit_routes(s, std::move(ctx));
    if (feeds) feeds::register_routes(s, *feeds);  // /taxii2/, /<api_root>/..., /misp/...
    s.Get("/api/v1/.*", [](const httplib::Request&, httplib::Response& res) { error(res, 404, "no such endpoint"); });
    if (!config.web_root.empty()) {
      s.set_mount_point("/", config.web_root);
      s.set_file_extension_and_mimetype_mapping("js", "text/javascript");
    }
  }

  core::Status load_rules() {
    static const std::regex sid_re(R"((?:^|[;(\s])sid\s*:\s*(\d+)\s*;)");
    for (const auto& f : config.rule_files) {
      std::ifstream in(f);
      if (!in) return core::make_error("cannot read rule file " + f, config.source);
      std::string line;
      size_t n = 0;
      while (std::getline(in, line)) {
        ++n;
        auto b = line.find_first_not_of(" \t");
        if (b == std::string::npos || line[b] == '#') continue;
        std::smatch m;
        if (!std::regex_search(line, m, sid_re)) continue;
        auto sid = parse_i64(m[1]);
        if (!sid || *sid < 0 || *sid > UINT32_MAX) continue;
        rules[static_cast<uint32_t>(*sid)] = Rule{line.substr(b), f + ":" + std::to_string(n)};
      }
    }
    return {};
  }
};

Console::Console(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Console::~Console() { stop(); }

core::Result<std::unique_ptr<Console>> Console::create(const ConsoleConfig& config, Backend backend,
                                                       std::shared_ptr<policy::PolicyHolder> policy) {
  if (sodium_init() < 0) return core::make_error("libsodium failed to initialise");
  if (!backend.store || (!backend.write && !backend.request)) return core::make_error("console: no store backend");
  if (!config.feeds_file.empty() && !backend.write) {
    return core::make_error("feeds: the agency feeds are served only by the console inside vigil-correlator "
                            "(standalone mode), not by a separate console", config.source + ": key 'feeds'");
  }
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->backend = std::move(backend);
  if (!policy) {
    std::error_code ec;
    impl->policy_mtime = std::filesystem::last_write_time(config.policy_file, ec);
    auto p = policy::Policy::load(config.policy_file);
    if (!p) return p.error();
    policy = std::make_shared<policy::PolicyHolder>(*p);
    impl->own_policy = true;
  }
  impl->policy = std::move(policy);
  if (auto st = impl->load_rules(); !st) return st.error();
  if (!config.feeds_file.empty()) {
    if (auto st = impl->make_feeds(); !st) return st.error();
  }
  if (!config.web_root.empty() && !std::filesystem::is_regular_file(std::filesystem::path(config.web_root) / "index.html")) {
    return core::make_error("web_root: no index.html in " + config.web_root, config.source);
  }
  if (!config.tls_cert_file.empty()) {
    auto tls = std::make_unique<httplib::SSLServer>(config.tls_cert_file.c_str(), config.tls_key_file.c_str());
    if (!tls->is_valid()) return core::make_error("cannot load TLS certificate/key " + config.tls_cert_file, config.source);
    impl->server = std::move(tls);
  } else {
    impl->server = std::make_unique<httplib::Server>();
  }
  int threads = config.threads;
  impl->server->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  impl->routes();
  return std::unique_ptr<Console>(new Console(std::move(impl)));
}

core::Status Console::start() {
  auto& im = *impl_;
  if (im.config.listen_port == 0) {
    im.port = im.server->bind_to_any_port(im.config.listen_host);
    if (im.port <= 0) return core::make_error("cannot bind " + im.config.listen_host, im.config.source);
  } else {
    if (!im.server->bind_to_port(im.config.listen_host, im.config.listen_port)) {
      return core::make_error("cannot bind " + im.config.listen_host + ":" + std::to_string(im.config.listen_port),
                              im.config.source);
    }
    im.port = im.config.listen_port;
  }
  if (im.feeds) {
    auto* svc = im.feeds.get();
    if (auto st = im.backend.write([svc](store::Store& s) { return svc->init(s); }); !st) {
      return core::make_error("feeds: " + st.error().to_string(), im.config.feeds_file);
    }
    const auto& fc = svc->config();
    if (!fc.push_endpoint.empty() && !im.push) {
      auto keys = core::read_curve_key_file(fc.push_key_file);
      if (!keys) return keys.error();
      auto p = feeds::PushFeed::bind({fc.push_endpoint, keys->public_key, keys->secret_key, fc.push_subscribers});
      if (!p) return p.error();
      im.push = std::move(*p);
      auto* push = im.push.get();
      svc->on_published([push](const std::vector<feeds::Published>& items) { push->publish(items); });
      core::logger("console")->info("feeds push on {}", push->endpoint());
    }
  }
  im.thread = std::thread([&im] { im.server->listen_after_bind(); });
  if (im.feeds) im.feed_syncer = std::thread([&im] { im.sync_feeds(); });
  if (im.own_policy) im.watcher = std::thread([&im] { im.watch_policy(); });
  core::logger("console")->info("console listening on {}", url());
  return {};
}

void Console::stop() {
  auto& im = *impl_;
  if (!im.thread.joinable()) return;
  im.stopping = true;
  {
    std::lock_guard lock(im.streams_mu);
    for (auto& s : im.streams) {
      std::lock_guard l2(s->mu);
      s->closed = true;
      s->cv.notify_all();
    }
  }
  {
    std::lock_guard lock(im.watch_mu);
    im.watch_cv.notify_all();
  }
  if (im.watcher.joinable()) im.watcher.join();
  {
    std::lock_guard lock(im.feed_mu);
    im.feed_cv.notify_all();
  }
  if (im.feed_syncer.joinable()) im.feed_syncer.join();
  im.server->stop();
  im.thread.join();
}

int Console::port() const { return impl_->port; }

std::string Console::url() const {
  std::string host = impl_->config.listen_host;
  if (host == "0.0.0.0" || host == "::") host = "127.0.0.1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return std::string(impl_->config.tls_cert_file.empty() ? "http" : "https") + "://" + host + ":" + std::to_string(impl_->port) + "/";
}

void Console::on_alerts(const std::vector<core::Alert>& alerts) {
  impl_->publish(alerts);
  if (auto* svc = impl_->feeds.get()) {
    // On the correlator's pipeline thread, where write() runs the function at once.
    auto st = impl_->backend.write([&](store::Store& s) { return svc->ingest(s, alerts); });
    if (!st) core::logger("console")->warn("feeds ingest: {}", st.error().to_string());
  }
}

}  // namespace vigil::console
