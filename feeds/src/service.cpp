#include "vigil/feeds/service.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>

#include <openssl/sha.h>

#include "vigil/core/config.h"
#include "vigil/core/log.h"
#include "vigil/feeds/misp.h"
#include "vigil/feeds/stix.h"
#include "vigil/store/audit.h"
#include "vigil/store/indicators.h"

namespace vigil::feeds {

using core::make_error;
using nlohmann::json;

namespace {

constexpr const char* kTaxiiType = "application/taxii+json;version=2.1";
constexpr const char* kStixType = "application/stix+json;version=2.1";

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

HttpResponse error_response(int status, const std::string& title, const std::string& description = {}) {
  json e = {{"title", title}, {"http_status", std::to_string(status)}};
  if (!description.empty()) e["description"] = description;
  HttpResponse r;
  r.status = status;
  r.content_type = kTaxiiType;
  r.body = e.dump();
  if (status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"vigil-feeds\"");
  return r;
}

HttpResponse json_response(int status, const json& body, const char* type = kTaxiiType) {
  HttpResponse r;
  r.status = status;
  r.content_type = type;
  r.body = body.dump();
  return r;
}

// Parses "type/subtype; a=b; c=d" into (type/subtype, params) with lowercase names.
std::pair<std::string, std::map<std::string, std::string>> parse_media(std::string_view text) {
  std::map<std::string, std::string> params;
  auto semi = text.find(';');
  std::string base = lower(std::string(text.substr(0, semi)));
  base.erase(std::remove_if(base.begin(), base.end(), [](unsigned char c) { return std::isspace(c); }), base.end());
  while (semi != std::string_view::npos) {
    auto next = text.find(';', semi + 1);
    std::string p(text.substr(semi + 1, next == std::string_view::npos ? std::string_view::npos : next - semi - 1));
    p.erase(std::remove_if(p.begin(), p.end(), [](unsigned char c) { return std::isspace(c); }), p.end());
    auto eq = p.find('=');
    if (eq != std::string::npos) params[lower(p.substr(0, eq))] = lower(p.substr(eq + 1));
    semi = next;
  }
  return {base, params};
}

// Does one of the Accept header's ranges admit `type` (version 2.1 when a version is given)?
bool accepts(const std::string& accept_header, std::initializer_list<std::string_view> types) {
  if (accept_header.empty()) return true;
  size_t start = 0;
  while (start <= accept_header.size()) {
    auto comma = accept_header.find(',', start);
    std::string_view range = std::string_view(accept_header).substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    auto [base, params] = parse_media(range);
    if (base == "*/*" || base == "application/*") return true;
    for (auto t : types) {
      if (base == t) {
        auto v = params.find("version");
        if (v == params.end() || v->second == "2.1") return true;
      }
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return false;
}

std::string header(const HttpRequest& r, const std::string& name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? std::string() : it->second;
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start < path.size()) {
    auto slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    if (slash > start) parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

std::vector<std::string> query_values(const HttpRequest& r, const std::string& key) {
  std::vector<std::string> out;
  auto [b, e] = r.query.equal_range(key);
  for (auto it = b; it != e; ++it) {
    size_t start = 0;
    const std::string& v = it->second;
    while (start <= v.size()) {
      auto comma = v.find(',', start);
      out.push_back(v.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return out;
}

std::string hex(std::string_view s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

std::optional<std::string> unhex(std::string_view s) {
  if (s.size() % 2) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < s.size(); i += 2) {
    auto v = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    int hi = v(s[i]), lo = v(s[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi << 4 | lo);
  }
  return out;
}

// The paging token: where the previous page ended, (date_added, record key).
std::string make_next(int64_t usec, const std::string& key) { return std::to_string(usec) + "-" + hex(key); }
std::optional<std::pair<int64_t, std::string>> parse_next(const std::string& token) {
  auto dash = token.find('-');
  if (dash == std::string::npos || dash == 0) return std::nullopt;
  int64_t usec = 0;
  for (size_t i = 0; i < dash; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(token[i]))) return std::nullopt;
    usec = usec * 10 + (token[i] - '0');
  }
  auto key = unhex(std::string_view(token).substr(dash + 1));
  if (!key) return std::nullopt;
  return std::make_pair(usec, *key);
}

bool may_use_feeds(const policy::User& u) {
  return u.role == policy::Role::kAgency || u.role == policy::Role::kLead || u.role == policy::Role::kAdmin;
}

}  // namespace

std::string HttpResponse::header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (lower(k) == lower(name)) return v;
  }
  return {};
}

std::string sha256_hex(std::string_view data) {
  uint8_t d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(data.data()), data.size(), d);
  return hex(std::string_view(reinterpret_cast<const char*>(d), sizeof d));
}

std::string collection_id(const Audience& a) {
  return stix::uuid5("collection|" + std::string(policy::to_string(a.tlp)) + "|" + a.kind + "|" + a.name);
}

// ---- config ----

core::Result<FeedConfig> load_feed_config(const std::string& path) {
  auto root = core::load_yaml_file(path);
  if (!root) return root.error();
  core::ConfigReader r(*root, path);
  FeedConfig c;
  c.source = path;
  c.soc_name = r.get_string("soc_name", c.soc_name);
  c.api_root = r.get_string("taxii.api_root", c.api_root);
  c.title = r.get_string("taxii.title", c.title);
  c.page_default = static_cast<size_t>(r.get_int("taxii.page_default", 100, 1, 100000));
  c.page_max = static_cast<size_t>(r.get_int("taxii.page_max", 1000, 1, 100000));
  c.max_content_length = r.get_size("taxii.max_content_length", c.max_content_length);
  c.intel_dir = r.get_string("submissions.intel_dir", "");
  c.push_endpoint = r.get_string("push.endpoint", "");
  c.push_key_file = r.get_string("push.key_file", "");
  c.sync_interval_sec = r.get_int("sync_interval_sec", 30, 1, 86400);
  if (r.has("push.subscribers")) {
    auto subs = r.get_node("push.subscribers");
    if (!subs.IsSequence()) return make_error("must be a list of {user, public_key}", path + ": push.subscribers");
    for (size_t i = 0; i < subs.size(); ++i) {
      auto user = subs[i]["user"], key = subs[i]["public_key"];
      std::string where = path + ": push.subscribers[" + std::to_string(i) + "]";
      if (!user || !key || !user.IsScalar() || !key.IsScalar()) return make_error("needs user and public_key", where);
      if (subs[i].size() != 2) return make_error("only user and public_key are allowed", where);
      std::string k = key.as<std::string>();
      if (k.size() != 40) return make_error("public_key must be 40 Z85 characters", where + ".public_key");
      c.push_subscribers[k] = user.as<std::string>();
    }
  }
  if (r.has("tenant_names")) {
    auto names = r.get_node("tenant_names");
    if (!names.IsMap()) return make_error("must be a map tenant -> display name", path + ": tenant_names");
    for (const auto& kv : names) c.tenant_names[kv.first.as<std::string>()] = kv.second.as<std::string>();
  }
  if (!c.push_endpoint.empty() && c.push_key_file.empty()) return make_error("push.endpoint needs push.key_file", path + ": push.key_file");
  if (c.page_default > c.page_max) return make_error("must not exceed taxii.page_max", path + ": taxii.page_default");
  if (c.api_root.empty() || c.api_root == "taxii2" || c.api_root.find('/') != std::string::npos) {
    return make_error("must be one path segment other than 'taxii2'", path + ": taxii.api_root");
  }
  if (auto st = r.finish(); !st) return st.error();
  return c;
}

// ---- items ----

struct FeedService::Item {
  std::string key;
  int64_t date_added = 0;
  json record;
  json stix;
  std::string version;  // modified (or created)
  std::vector<Audience> audiences;
  bool everywhere = false;        // marking definitions and the SOC identity
  std::string tenant_identity;    // a tenant's identity: only its own collections
};

FeedService::FeedService(FeedConfig config, const store::Store* reader, Writer writer, UserLookup users, IsInternal is_internal)
    : config_(std::move(config)), reader_(reader), writer_(std::move(writer)), users_(std::move(users)),
      is_internal_(std::move(is_internal)), clock_([] { return core::Timestamp::now(); }) {}

void FeedService::set_clock(Clock clock) { clock_ = std::move(clock); }
void FeedService::on_published(std::function<void(const std::vector<Published>&)> fn) { published_fn_ = std::move(fn); }
void FeedService::on_intel_written(std::function<void()> fn) { intel_fn_ = std::move(fn); }

FeedService::Counters FeedService::counters() const {
  std::lock_guard lock(counters_mu_);
  return counters_;
}

core::Result<std::optional<FeedService::Item>> FeedService::decode(const store::FeedRecord& r) const {
  auto j = json::parse(r.value, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error("feed record is not JSON", "ind/r/" + r.key);
  Item it;
  it.key = r.key;
  it.date_added = r.date_added_usec;
  std::string kind = j.value("kind", "");
  if (kind == "indicator") {
    auto i = indicator_from_json(j);
    if (!i) return make_error(i.error().to_string(), "ind/r/" + r.key);
    it.stix = stix::to_stix(*i, config_.soc_name);
    it.audiences = placements(*i);
  } else if (kind == "sighting") {
    auto s = sighting_from_json(j);
    if (!s) return make_error(s.error().to_string(), "ind/r/" + r.key);
    it.audiences = placements(*s);
    bool red = effective_tlp(*s) == Tlp::kRed;
    it.stix = stix::to_stix(*s, config_.soc_name, !red);
  } else if (kind == "static") {
    it.stix = j.value("stix", json::object());
    it.everywhere = j.value("everywhere", false);
    it.tenant_identity = j.value("tenant", "");
  } else {
    return std::optional<Item>();
  }
  it.version = it.stix.value("modified", it.stix.value("created", ""));
  it.record = std::move(j);
  return std::optional<Item>(std::move(it));
}

namespace {

bool in_collection(const Audience& a, const std::vector<Audience>& audiences, bool everywhere, const std::string& tenant_identity) {
  if (everywhere) return true;
  if (!tenant_identity.empty()) return (a.kind == "tenant" || a.kind == "submissions") && a.name == tenant_identity;
  return std::find(audiences.begin(), audiences.end(), a) != audiences.end();
}

}  // namespace

int64_t FeedService::next_date_added(store::Store& s) {
  if (last_date_added_ == 0) {
    auto last = store::last_feed_date_added(s);
    if (last) last_date_added_ = *last;
  }
  int64_t now = clock_().usec;
  last_date_added_ = std::max(now, last_date_added_ + 1);
  return last_date_added_;
}

core::Status FeedService::upsert(store::Store& s, store::CommitBatch& b, const std::string& key, json record,
                                 std::vector<Published>* published, bool* changed_out) {
  auto existing = store::get_feed_record(s, key);
  if (!existing) return existing.error();
  std::string kind = record.value("kind", "");
  bool changed = true;
  std::optional<int64_t> before;
  int64_t now = clock_().usec;
  if (existing->has_value()) {
    before = (*existing)->date_added_usec;
    auto old = json::parse((*existing)->value, nullptr, false);
    if (!old.is_discarded()) {
      if (kind == "indicator") {
        auto into = indicator_from_json(old), in = indicator_from_json(record);
        if (!into || !in) return make_error("bad indicator record", key);
        changed = merge(*into, *in);
        if (changed) into->modified.usec = now;
        record = to_json(*into);
      } else if (kind == "sighting") {
        auto into = sighting_from_json(old), in = sighting_from_json(record);
        if (!into || !in) return make_error("bad sighting record", key);
        changed = merge(*into, *in);
        if (changed) into->modified.usec = now;
        record = to_json(*into);
      } else {
        changed = old != record;
      }
    }
  } else if (kind == "indicator" || kind == "sighting") {
    record["created"] = now;
    record["modified"] = now;
  }
  if (!changed && existing->has_value()) {
    // Only unpublished parts (refs) moved: keep the version and its date_added.
    if (existing->has_value() && (*existing)->value != record.dump()) {
      store::put_feed_record(b, {key, (*existing)->date_added_usec, record.dump()}, before);
    }
    if (changed_out) *changed_out = false;
    return {};
  }
  int64_t added = next_date_added(s);
  record["date_added"] = added;
  store::FeedRecord fr{key, added, record.dump()};
  store::put_feed_record(b, fr, before);
  {
    std::lock_guard lock(counters_mu_);
    ++counters_.records_written;
  }
  if (changed_out) *changed_out = true;
  if (published) {
    auto item = decode(fr);
    if (item && item->has_value()) {
      auto refs = refs_of((*item)->stix);
      for (const auto& a : (*item)->audiences) published->push_back({a, collection_id(a), (*item)->stix, refs});
    }
  }
  return {};
}

std::vector<json> FeedService::refs_of(const json& object) const {
  // The identity is marked too (CLEAR): its marking definition comes along, each one once.
  std::vector<json> refs, markings;
  auto add_markings = [&](const json& o) {
    for (const auto& ref : o.value("object_marking_refs", json::array())) {
      for (Tlp t : {Tlp::kClear, Tlp::kGreen, Tlp::kAmber, Tlp::kAmberStrict, Tlp::kRed}) {
        if (ref != stix::marking_id(t)) continue;
        auto m = stix::marking_definition(t);
        if (std::find(markings.begin(), markings.end(), m) == markings.end()) markings.push_back(std::move(m));
      }
    }
  };
  add_markings(object);
  if (object.value("created_by_ref", "") == stix::soc_identity_id(config_.soc_name)) {
    refs.push_back(stix::soc_identity(config_.soc_name, kStaticCreated));
    add_markings(refs.back());
  }
  markings.insert(markings.end(), refs.begin(), refs.end());
  return markings;
}

core::Status FeedService::init(store::Store& s) {
  store::CommitBatch b;
  auto created = kStaticCreated;
  for (Tlp t : {Tlp::kClear, Tlp::kGreen, Tlp::kAmber, Tlp::kAmberStrict, Tlp::kRed}) {
    json rec = {{"kind", "static"}, {"everywhere", true}, {"stix", stix::marking_definition(t)}};
    std::string key = "m|" + std::string(policy::to_string(t));
    auto have = store::get_feed_record(s, key);
    if (!have) return have.error();
    if (!have->has_value()) {
      if (auto st = upsert(s, b, key, rec, nullptr, nullptr); !st) return st;
    }
  }
  std::string key = "d|soc|" + config_.soc_name;
  auto have = store::get_feed_record(s, key);
  if (!have) return have.error();
  if (!have->has_value()) {
    json rec = {{"kind", "static"}, {"everywhere", true}, {"stix", stix::soc_identity(config_.soc_name, created)}};
    if (auto st = upsert(s, b, key, rec, nullptr, nullptr); !st) return st;
  }
  if (b.count() == 0) return {};
  return s.commit(b);
}

core::Status FeedService::ensure_tenant_identity(store::Store& s, store::CommitBatch& b, const std::string& tenant) {
  std::string key = "d|tenant|" + tenant;
  auto have = store::get_feed_record(s, key);
  if (!have) return have.error();
  if (have->has_value()) return {};
  auto name_it = config_.tenant_names.find(tenant);
  std::string display = name_it == config_.tenant_names.end() ? tenant : name_it->second;
  json rec = {{"kind", "static"},
              {"tenant", tenant},
              {"stix", stix::tenant_identity(tenant, display, config_.soc_name, clock_())}};
  // Two sightings of one new tenant in one batch: the first put wins, the second sees it missing
  // again and writes the same content, which is harmless (same key and value, later date).
  return upsert(s, b, key, rec, nullptr, nullptr);
}

core::Status FeedService::ingest(store::Store& s, const std::vector<core::Alert>& alerts) {
  std::vector<Published> published;
  store::CommitBatch b;
  std::vector<std::string> tenants_done;
  for (const auto& a : alerts) {
    std::optional<core::Incident> incident;
    if (!a.incident.empty()) {
      if (auto id = core::RecordId::parse(a.incident)) {
        auto inc = s.get_incident(*id);
        if (!inc) return inc.error();
        incident = *inc;
      }
    }
    if (!confirmed(a, incident ? &*incident : nullptr)) continue;
    auto events = s.get_events(a.events);
    std::vector<core::StoredEvent> evs;
    if (events) evs = std::move(*events);
    auto ex = extract(a, evs, is_internal_, tenant_tlp_);
    for (const auto& i : ex.indicators) {
      if (auto st = upsert(s, b, i.key(), to_json(i), &published, nullptr); !st) return st;
    }
    for (const auto& sg : ex.sightings) {
      if (std::find(tenants_done.begin(), tenants_done.end(), sg.tenant) == tenants_done.end()) {
        if (auto st = ensure_tenant_identity(s, b, sg.tenant); !st) return st;
        tenants_done.push_back(sg.tenant);
      }
      if (auto st = upsert(s, b, sg.key(), to_json(sg), &published, nullptr); !st) return st;
    }
    // Records of one alert may repeat across alerts in this batch: commit per alert so the next
    // alert's merge reads what this one wrote.
    if (b.count() > 0) {
      if (auto st = s.commit(b); !st) return st;
      b.clear();
    }
  }
  if (!published.empty()) {
    // Feed publication is audited (DESIGN §7): what became visible, to which collections.
    std::map<std::string, size_t> per_collection;
    for (const auto& p : published) ++per_collection[p.collection];
    for (const auto& [collection, n] : per_collection) {
      store::AuditEntry e;
      e.actor = "feeds";
      e.actor_role = "system";
      e.source = "feeds";
      e.action = "feed.publish";
      e.object = "collection:" + collection;
      e.decision = "allow";
      e.rule = "feeds.tlp";
      e.reason = std::to_string(n) + " objects";
      b.append_audit(std::move(e));
    }
    if (auto st = s.commit(b); !st) return st;
    if (published_fn_) published_fn_(published);
  }
  return {};
}

core::Status FeedService::sync(store::Store& s, core::Timestamp from, core::Timestamp to) {
  std::vector<core::Alert> batch;
  store::AlertQuery q;
  q.from = from;
  q.to = to;
  q.status = core::AlertStatus::kClosed;
  q.limit = 100000;
  auto closed = s.query_alerts(q);
  if (!closed) return closed.error();
  for (auto& a : *closed) {
    if (a.verdict == "true-positive") batch.push_back(std::move(a));
  }
  auto incidents = s.list_incidents(from, to, 100000);
  if (!incidents) return incidents.error();
  for (const auto& inc : *incidents) {
    if (inc.status == core::AlertStatus::kClosed && inc.verdict != "true-positive") continue;
    for (const auto& id : inc.alerts) {
      auto a = s.get_alert(id);
      if (!a) return a.error();
      if (a->has_value()) batch.push_back(**a);
    }
  }
  return ingest(s, batch);
}

core::Status FeedService::release(store::Store& s, const std::string& key, const std::string& actor) {
  auto r = store::get_feed_record(s, key);
  if (!r) return r.error();
  if (!r->has_value()) return make_error("no such feed record", key);
  auto j = json::parse((*r)->value, nullptr, false);
  if (j.is_discarded() || j.value("kind", "") != "indicator") return make_error("only indicators are released as CLEAR", key);
  j["released"] = true;
  store::CommitBatch b;
  std::vector<Published> published;
  if (auto st = upsert(s, b, key, j, &published, nullptr); !st) return st;
  store::AuditEntry e;
  e.actor = actor;
  e.actor_role = "lead";
  e.source = "feeds";
  e.action = "feed.release";
  e.object = "indicator:" + key;
  e.decision = "allow";
  e.reason = "released as TLP:CLEAR";
  b.append_audit(std::move(e));
  if (auto st = s.commit(b); !st) return st;
  if (!published.empty() && published_fn_) published_fn_(published);
  return {};
}

core::Status FeedService::share(store::Store& s, const std::string& key, const std::string& user, const std::string& actor) {
  auto r = store::get_feed_record(s, key);
  if (!r) return r.error();
  if (!r->has_value()) return make_error("no such feed record", key);
  auto j = json::parse((*r)->value, nullptr, false);
  if (j.is_discarded()) return make_error("bad feed record", key);
  if (j.value("level", "") == "top-secret") return make_error("top-secret items are never shared", key);
  auto rec = j.value("recipients", std::vector<std::string>{});
  if (std::find(rec.begin(), rec.end(), user) == rec.end()) rec.push_back(user);
  j["recipients"] = rec;
  store::CommitBatch b;
  if (auto st = upsert(s, b, key, j, nullptr, nullptr); !st) return st;
  store::AuditEntry e;
  e.actor = actor;
  e.actor_role = "lead";
  e.source = "feeds";
  e.action = "feed.share";
  e.object = "feed:" + key;
  e.decision = "allow";
  e.reason = "shared by hand with " + user;
  b.append_audit(std::move(e));
  return s.commit(b);
}

core::Status FeedService::for_each_item(const std::function<void(const json&, int64_t)>& fn) const {
  return store::scan_feed_records(*reader_, INT64_MIN, "", [&](const store::FeedRecord& r) {
    auto j = json::parse(r.value, nullptr, false);
    if (!j.is_discarded()) fn(j, r.date_added_usec);
    return true;
  });
}

core::Result<std::vector<std::pair<int64_t, json>>> FeedService::collection_objects(const Audience& a) const {
  std::vector<std::pair<int64_t, json>> out;
  core::Status inner;
  auto st = store::scan_feed_records(*reader_, INT64_MIN, "", [&](const store::FeedRecord& r) {
    auto item = decode(r);
    if (!item) {
      inner = item.error();
      return false;
    }
    if (item->has_value() && in_collection(a, (*item)->audiences, (*item)->everywhere, (*item)->tenant_identity)) {
      out.emplace_back(r.date_added_usec, std::move((*item)->stix));
    }
    return true;
  });
  if (!st) return st.error();
  if (!inner) return inner.error();
  return out;
}

// ---- collections ----

std::vector<Collection> FeedService::collections_for(const policy::User& u) const {
  std::vector<Collection> out;
  if (!may_use_feeds(u)) return out;
  auto add = [&](Audience a, std::string title, bool write) {
    Collection c;
    c.id = collection_id(a);
    c.title = std::move(title);
    c.audience = std::move(a);
    c.can_write = write;
    out.push_back(std::move(c));
  };
  add({Tlp::kClear, "agencies", ""}, "TLP:CLEAR indicators released for every agency", false);
  add({Tlp::kGreen, "agencies", ""}, "TLP:GREEN attacker indicators for subscribed agencies", false);
  if (!u.tenant.empty()) {
    add({Tlp::kAmberStrict, "tenant", u.tenant}, "TLP:AMBER+STRICT sightings at " + u.tenant + " (that agency only)", false);
    add({Tlp::kAmberStrict, "submissions", u.tenant}, "Indicators submitted by " + u.tenant, u.role == policy::Role::kAgency);
  }
  add({Tlp::kRed, "user", u.name}, "TLP:RED items shared by hand with " + u.name, false);
  return out;
}

// ---- audit ----

void FeedService::audit(const policy::User* user, const HttpRequest& req, const std::string& action,
                        const std::string& object, bool allowed, const std::string& reason) {
  if (!writer_) return;
  store::AuditEntry e;
  e.actor = user ? user->name : "anonymous";
  e.actor_tenant = user ? user->tenant : "";
  e.actor_role = user ? std::string(policy::to_string(user->role)) : "";
  e.source = "feeds " + req.remote;
  e.action = action;
  e.object = object;
  e.decision = allowed ? "allow" : "deny";
  e.rule = "feeds.tlp";
  e.reason = reason;
  auto st = writer_([&](store::Store& s) {
    store::CommitBatch b;
    b.append_audit(e);
    return s.commit(b);
  });
  if (!st) {
    std::lock_guard lock(counters_mu_);
    ++counters_.audit_failures;
    core::logger("feeds")->error("audit append failed: {}", st.error().to_string());
  }
}

// ---- HTTP ----

HttpResponse FeedService::handle(const HttpRequest& req) {
  {
    std::lock_guard lock(counters_mu_);
    ++counters_.requests;
  }
  std::string auth = header(req, "authorization");
  std::optional<policy::User> user;
  if (auth.size() > 7 && lower(auth.substr(0, 7)) == "bearer ") {
    std::string token = auth.substr(7);
    while (!token.empty() && token.back() == ' ') token.pop_back();
    if (users_) user = users_(sha256_hex(token));
  }
  if (!user) {
    {
      std::lock_guard lock(counters_mu_);
      ++counters_.unauthorized;
    }
    audit(nullptr, req, "feed.fetch", req.path, false, "no valid API token");
    return error_response(401, "Unauthorized", "a valid API token is required (Authorization: Bearer ...)");
  }
  if (!may_use_feeds(*user)) {
    {
      std::lock_guard lock(counters_mu_);
      ++counters_.forbidden;
    }
    audit(&*user, req, "feed.fetch", req.path, false, "role " + std::string(policy::to_string(user->role)) + " has no feeds");
    return error_response(403, "Forbidden", "this role has no access to the feeds");
  }
  return route(req, *user);
}

HttpResponse FeedService::route(const HttpRequest& req, const policy::User& user) {
  auto parts = split_path(req.path);
  const std::string& root = config_.api_root;
  bool is_misp = parts.size() == 3 && parts[0] == "misp";
  if (!is_misp && !accepts(header(req, "accept"), {"application/taxii+json", "application/stix+json"})) {
    return error_response(406, "Not Acceptable", "use Accept: application/taxii+json;version=2.1");
  }
  if (parts.size() == 1 && parts[0] == "taxii2" && req.method == "GET") {
    return json_response(200, {{"title", config_.title},
                               {"description", "TAXII 2.1 feeds of " + config_.soc_name},
                               {"default", "/" + root + "/"},
                               {"api_roots", {"/" + root + "/"}}});
  }
  auto find_collection = [&](const std::string& id) -> std::optional<Collection> {
    for (auto& c : collections_for(user)) {
      if (c.id == id) return c;
    }
    return std::nullopt;
  };
  if (is_misp) {
    auto c = find_collection(parts[1]);
    if (!c) {
      audit(&user, req, "feed.fetch", "collection:" + parts[1], false, "not visible to this user");
      return error_response(404, "Not Found", "no such collection");
    }
    return misp(req, user, *c, parts[2]);
  }
  if (parts.empty() || parts[0] != root) return error_response(404, "Not Found", "unknown path " + req.path);
  if (parts.size() == 1) {
    if (req.method != "GET") return error_response(405, "Method Not Allowed");
    return json_response(200, {{"title", config_.title},
                               {"versions", {kTaxiiType}},
                               {"max_content_length", config_.max_content_length}});
  }
  if (parts[1] == "status" && parts.size() == 3) return status(user, parts[2]);
  if (parts[1] != "collections") return error_response(404, "Not Found", "unknown path " + req.path);
  if (parts.size() == 2) {
    if (req.method != "GET") return error_response(405, "Method Not Allowed");
    json cs = json::array();
    for (const auto& c : collections_for(user)) {
      cs.push_back({{"id", c.id},
                    {"title", c.title},
                    {"can_read", c.can_read},
                    {"can_write", c.can_write},
                    {"media_types", {kStixType}}});
    }
    audit(&user, req, "feed.collections", "collections", true, std::to_string(cs.size()) + " collections");
    return json_response(200, {{"collections", cs}});
  }
  auto c = find_collection(parts[2]);
  if (!c) {
    // Another agency's collection does not exist for this user (DESIGN §6): 404, not 403.
    audit(&user, req, "feed.fetch", "collection:" + parts[2], false, "not visible to this user");
    {
      std::lock_guard lock(counters_mu_);
      ++counters_.forbidden;
    }
    return error_response(404, "Not Found", "no such collection");
  }
  if (parts.size() == 3) {
    if (req.method != "GET") return error_response(405, "Method Not Allowed");
    return json_response(200, {{"id", c->id},
                               {"title", c->title},
                               {"can_read", c->can_read},
                               {"can_write", c->can_write},
                               {"media_types", {kStixType}}});
  }
  if (parts[3] == "manifest" && parts.size() == 4) {
    if (req.method != "GET") return error_response(405, "Method Not Allowed");
    return objects(req, user, *c, true, "", false);
  }
  if (parts[3] == "objects") {
    if (parts.size() == 4) {
      if (req.method == "POST") return submit(req, user, *c);
      if (req.method != "GET") return error_response(405, "Method Not Allowed");
      return objects(req, user, *c, false, "", false);
    }
    if (parts.size() == 5 && req.method == "GET") return objects(req, user, *c, false, parts[4], false);
    if (parts.size() == 6 && parts[5] == "versions" && req.method == "GET") return objects(req, user, *c, false, parts[4], true);
    if (parts.size() == 5 && req.method == "DELETE") return error_response(403, "Forbidden", "objects are not deleted through TAXII");
    return error_response(405, "Method Not Allowed");
  }
  return error_response(404, "Not Found", "unknown path " + req.path);
}

HttpResponse FeedService::objects(const HttpRequest& req, const policy::User& user, const Collection& c, bool manifest,
                                  const std::string& object_id, bool versions) {
  // Filters.
  int64_t after = INT64_MIN;
  std::string after_key;
  auto added_after = query_values(req, "added_after");
  if (!added_after.empty()) {
    auto t = parse_time(added_after.front());
    if (!t) return error_response(400, "Bad Request", "added_after must be an RFC 3339 timestamp");
    after = *t;
  }
  auto next = query_values(req, "next");
  if (!next.empty()) {
    auto n = parse_next(next.front());
    if (!n) return error_response(400, "Bad Request", "bad next token");
    if (n->first > after || (n->first == after && after_key.empty())) {
      after = n->first;
      after_key = n->second;
    }
  }
  size_t limit = config_.page_default;
  auto lim = query_values(req, "limit");
  if (!lim.empty()) {
    char* end = nullptr;
    long v = std::strtol(lim.front().c_str(), &end, 10);
    if (lim.front().empty() || *end != '\0' || v <= 0) return error_response(400, "Bad Request", "limit must be a positive integer");
    limit = std::min(static_cast<size_t>(v), config_.page_max);
  }
  auto ids = query_values(req, "match[id]");
  if (!object_id.empty()) ids = {object_id};
  auto types = query_values(req, "match[type]");
  auto vers = query_values(req, "match[version]");
  auto specs = query_values(req, "match[spec_version]");
  for (const auto& sv : specs) {
    if (sv != "2.1") return error_response(400, "Bad Request", "only spec_version 2.1 is served");
  }
  bool version_all = vers.empty() || std::find(vers.begin(), vers.end(), "all") != vers.end() ||
                     std::find(vers.begin(), vers.end(), "last") != vers.end() ||
                     std::find(vers.begin(), vers.end(), "first") != vers.end();

  json list = json::array();
  int64_t first_added = 0, last_added = 0;
  bool more = false;
  std::string next_token;
  core::Status inner;
  int64_t last_seen_added = 0;
  std::string last_seen_key;
  auto st = store::scan_feed_records(*reader_, after, after_key, [&](const store::FeedRecord& r) {
    auto item = decode(r);
    if (!item) {
      inner = item.error();
      return false;
    }
    if (!item->has_value()) return true;
    const Item& it = **item;
    if (!in_collection(c.audience, it.audiences, it.everywhere, it.tenant_identity)) return true;
    std::string id = it.stix.value("id", "");
    std::string type = it.stix.value("type", "");
    if (!ids.empty() && std::find(ids.begin(), ids.end(), id) == ids.end()) return true;
    if (!types.empty() && std::find(types.begin(), types.end(), type) == types.end()) return true;
    if (!version_all && std::find(vers.begin(), vers.end(), it.version) == vers.end()) return true;
    if (list.size() == limit) {
      more = true;
      return false;
    }
    if (list.empty()) first_added = r.date_added_usec;
    last_added = r.date_added_usec;
    last_seen_added = r.date_added_usec;
    last_seen_key = r.key;
    if (versions) {
      list.push_back(it.version);
    } else if (manifest) {
      list.push_back({{"id", id}, {"date_added", taxii_time(r.date_added_usec)}, {"version", it.version}, {"media_type", kStixType}});
    } else {
      list.push_back(it.stix);
    }
    return true;
  });
  if (!st || !inner) {
    core::logger("feeds")->error("feed scan failed: {}", (!st ? st : inner).error().to_string());
    return error_response(500, "Internal Server Error", "the feed store could not be read");
  }
  if (more) next_token = make_next(last_seen_added, last_seen_key);
  if (!object_id.empty() && list.empty()) {
    audit(&user, req, "feed.fetch", "collection:" + c.id + "/" + object_id, false, "no such object here");
    return error_response(404, "Not Found", "no such object in this collection");
  }
  json body = json::object();
  if (versions) {
    body["versions"] = list;
  } else {
    body["objects"] = list;
  }
  body["more"] = more;
  if (more) body["next"] = next_token;
  HttpResponse resp = json_response(200, body);
  if (!list.empty()) {
    resp.headers.emplace_back("X-TAXII-Date-Added-First", taxii_time(first_added));
    resp.headers.emplace_back("X-TAXII-Date-Added-Last", taxii_time(last_added));
  }
  {
    std::lock_guard lock(counters_mu_);
    counters_.objects_served += list.size();
  }
  audit(&user, req, manifest ? "feed.manifest" : "feed.fetch", "collection:" + c.id, true,
        std::to_string(list.size()) + " objects, " + std::string(policy::to_string(c.audience.tlp)) + " " + c.audience.kind +
            (c.audience.name.empty() ? "" : " " + c.audience.name));
  return resp;
}

HttpResponse FeedService::status(const policy::User& user, const std::string& id) {
  auto v = reader_->get_meta("fst/" + id);
  if (!v || !v->has_value()) return error_response(404, "Not Found", "no such status");
  auto j = json::parse(**v, nullptr, false);
  if (j.is_discarded() || j.value("owner", "") != user.name) return error_response(404, "Not Found", "no such status");
  j.erase("owner");
  return json_response(200, j);
}

HttpResponse FeedService::submit(const HttpRequest& req, const policy::User& user, const Collection& c) {
  if (!c.can_write) {
    audit(&user, req, "feed.submit", "collection:" + c.id, false, "collection is read-only for this user");
    return error_response(403, "Forbidden", "this collection is not writable for you");
  }
  auto [ctype, params] = parse_media(header(req, "content-type"));
  auto ver = params.find("version");
  if ((ctype != "application/taxii+json" && ctype != "application/stix+json") || (ver != params.end() && ver->second != "2.1")) {
    return error_response(415, "Unsupported Media Type", "send application/taxii+json;version=2.1 (an envelope) or a STIX 2.1 bundle");
  }
  if (req.body.size() > config_.max_content_length) return error_response(413, "Payload Too Large");
  auto body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object() || !body.contains("objects") || !body["objects"].is_array()) {
    return error_response(400, "Bad Request", "the body must be a TAXII envelope or STIX bundle with an objects list");
  }
  if (body.contains("type") && body["type"] != "bundle") return error_response(400, "Bad Request", "type must be bundle");
  int64_t now = clock_().usec;
  std::string status_id = stix::uuid5("status|" + user.name + "|" + std::to_string(now) + "|" + sha256_hex(req.body));
  json successes = json::array(), failures = json::array();
  std::vector<Indicator> accepted;
  for (const auto& o : body["objects"]) {
    std::string id = o.is_object() ? o.value("id", "") : "";
    std::string version = o.is_object() ? o.value("modified", o.value("created", "")) : "";
    auto fail = [&](const std::string& msg) {
      failures.push_back({{"id", id}, {"version", version}, {"message", msg}});
    };
    std::string problem = stix::validate(o);
    if (!problem.empty()) {
      fail(problem);
      continue;
    }
    if (o["type"] != "indicator") {
      fail("only indicator objects are accepted");
      continue;
    }
    auto p = stix::parse_pattern(o["pattern"].get<std::string>());
    Indicator i;
    i.type = p->first;
    i.value = p->second;
    i.source = "agency:" + user.tenant;
    i.level = Level::kInternal;
    i.tlp = Tlp::kAmberStrict;
    // The submitter's marking is kept when it is stricter than AMBER+STRICT.
    for (const auto& ref : o.value("object_marking_refs", json::array())) {
      for (Tlp t : {Tlp::kRed}) {
        if (ref == stix::marking_id(t)) i.tlp = t;
      }
    }
    i.stix_id = id;
    i.created.usec = *parse_time(o["created"].get<std::string>());
    i.modified.usec = *parse_time(o["modified"].get<std::string>());
    i.first_seen.usec = *parse_time(o["valid_from"].get<std::string>());
    i.last_seen = i.first_seen;
    if (o.contains("name") && o["name"].is_string()) i.labels.push_back(o["name"].get<std::string>().substr(0, 200));
    if (o.contains("description") && o["description"].is_string()) i.description = o["description"].get<std::string>().substr(0, 2000);
    i.tenants.push_back(user.tenant);
    accepted.push_back(std::move(i));
    successes.push_back({{"id", id}, {"version", version}});
  }
  if (accepted.empty()) {
    // Nothing usable: refuse the whole request (TAXII 422) and change nothing — no records, no
    // status resource, no intel lists, no reload. The refusal is audited.
    std::string why;
    for (const auto& f : failures) {
      if (why.size() > 1500) {
        why += "; ...";
        break;
      }
      why += (why.empty() ? "" : "; ") + f.value("id", std::string("(no id)")) + ": " + f.value("message", std::string());
    }
    if (failures.empty()) why = "the bundle holds no objects";
    audit(&user, req, "feed.submit", "collection:" + c.id, false, "0 accepted, " + std::to_string(failures.size()) + " rejected");
    {
      std::lock_guard lock(counters_mu_);
      ++counters_.submissions_refused;
      counters_.submitted_objects_rejected += failures.size();
    }
    HttpResponse r = error_response(422, "Unprocessable Entity", "no object of the bundle was accepted: " + why);
    auto e = json::parse(r.body);
    e["details"] = {{"failures", failures}};
    r.body = e.dump();
    return r;
  }
  json status = {{"id", status_id},
                 {"status", "complete"},
                 {"request_timestamp", taxii_time(now)},
                 {"total_count", successes.size() + failures.size()},
                 {"success_count", successes.size()},
                 {"failure_count", failures.size()},
                 {"pending_count", 0},
                 {"successes", successes},
                 {"failures", failures}};
  json stored = status;
  stored["owner"] = user.name;
  core::Status wst = writer_ ? writer_([&](store::Store& s) -> core::Status {
    store::CommitBatch b;
    if (auto st = ensure_tenant_identity(s, b, user.tenant); !st) return st;
    for (const auto& i : accepted) {
      json rec = to_json(i);
      // Keep the agency's own created/modified: they are the object's version.
      auto existing = store::get_feed_record(s, i.key());
      if (!existing) return existing.error();
      std::optional<int64_t> before;
      if (existing->has_value()) before = (*existing)->date_added_usec;
      int64_t added = next_date_added(s);
      rec["date_added"] = added;
      store::put_feed_record(b, {i.key(), added, rec.dump()}, before);
    }
    b.put_meta("fst/" + status_id, stored.dump());
    store::AuditEntry e;
    e.actor = user.name;
    e.actor_tenant = user.tenant;
    e.actor_role = std::string(policy::to_string(user.role));
    e.source = "feeds " + req.remote;
    e.action = "feed.submit";
    e.object = "collection:" + c.id;
    e.decision = "allow";
    e.rule = "feeds.can_write";
    e.reason = std::to_string(accepted.size()) + " accepted, " + std::to_string(failures.size()) + " rejected";
    b.append_audit(std::move(e));
    if (auto st = s.commit(b); !st) return st;
    return write_intel(s, user.tenant);
  }) : make_error("no writer: submissions need the store's writing thread");
  if (!wst) {
    core::logger("feeds")->error("submission failed: {}", wst.error().to_string());
    return error_response(500, "Internal Server Error", "the submission could not be stored");
  }
  {
    std::lock_guard lock(counters_mu_);
    ++counters_.submissions;
    counters_.submitted_objects_rejected += failures.size();
  }
  if (intel_fn_) intel_fn_();
  return json_response(202, status);
}

core::Status FeedService::write_intel(store::Store& s, const std::string& tenant) {
  if (config_.intel_dir.empty()) return {};
  std::string ips, domains, hashes;
  std::string prefix = "u|" + tenant + "|";
  auto st = store::scan_feed_records(s, INT64_MIN, "", [&](const store::FeedRecord& r) {
    if (r.key.rfind(prefix, 0) != 0) return true;
    auto j = json::parse(r.value, nullptr, false);
    auto i = j.is_discarded() ? core::Result<Indicator>(make_error("bad")) : indicator_from_json(j);
    if (!i) return true;
    switch (i->type) {
      case IndicatorType::kIpv4:
      case IndicatorType::kIpv6: ips += i->value + "\n"; break;
      case IndicatorType::kDomain: domains += i->value + "\n"; break;
      case IndicatorType::kSha256:
      case IndicatorType::kMd5:
      case IndicatorType::kSha1: hashes += i->value + "\n"; break;
      case IndicatorType::kUrl: break;  // the correlator's lists have no URL type
    }
    return true;
  });
  if (!st) return st;
  std::error_code ec;
  std::filesystem::create_directories(config_.intel_dir, ec);
  if (ec) return make_error("cannot create " + config_.intel_dir + ": " + ec.message(), config_.source + ": submissions.intel_dir");
  for (auto [ext, text] : {std::pair{"ip", &ips}, std::pair{"domain", &domains}, std::pair{"hash", &hashes}}) {
    auto path = std::filesystem::path(config_.intel_dir) / ("agency-" + tenant + "." + ext);
    auto tmp = path.string() + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << "# indicators submitted by agency " << tenant << " (written by vigil feeds; do not edit)\n" << *text;
      if (!out) return make_error("cannot write " + tmp);
    }
    std::filesystem::rename(tmp, path, ec);
    if (ec) return make_error("cannot rename " + tmp + ": " + ec.message());
  }
  return {};
}

HttpResponse FeedService::misp(const HttpRequest& req, const policy::User& user, const Collection& c, const std::string& file) {
  auto objs = collection_objects(c.audience);
  if (!objs) return error_response(500, "Internal Server Error", "the feed store could not be read");
  std::vector<json> stix_objects;
  for (auto& [at, o] : *objs) stix_objects.push_back(std::move(o));
  auto feed = build_misp_feed(stix_objects, config_.soc_name, c.id);
  HttpResponse r;
  r.content_type = "application/json";
  if (file == "manifest.json") {
    r.body = feed.manifest.dump();
  } else if (file == "hashes.csv") {
    r.content_type = "text/csv";
    r.body = feed.hashes_csv;
  } else {
    auto dot = file.rfind(".json");
    auto it = dot == std::string::npos ? feed.events.end() : feed.events.find(file.substr(0, dot));
    if (it == feed.events.end()) return error_response(404, "Not Found", "no such MISP event");
    r.body = it->second.dump();
  }
  audit(&user, req, "feed.fetch", "misp:" + c.id + "/" + file, true, "MISP feed");
  return r;
}

}  // namespace vigil::feeds
