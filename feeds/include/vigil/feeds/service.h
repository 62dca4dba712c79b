// FeedService: the agency feeds over one store (DESIGN §6 point 3, §8 Feeds).
//
// Producing: ingest() takes alerts the correlator wrote (Correlator::subscribe) and sync() scans
// the store for alerts analysts confirmed since (their changes come through Correlator::write,
// which subscribe does not announce); both turn confirmed alerts into indicator and sighting
// records (vigil/store/indicators.h) with a stable, growing date_added. release() (CLEAR) and
// share() (RED to a named user) are the by-hand decisions. submit() stores an agency's STIX
// bundle as its own indicators and rewrites its correlator intel lists.
//
// Consuming: handle() answers TAXII 2.1 and the MISP feed for one HTTP request (pure: request in,
// response out; vigil/feeds/http_routes.h mounts it on an httplib::Server). Every request is
// authenticated with a bearer API token looked up in the policy; every fetch, refusal and upload
// appends an audit entry through the writer.
//
// Threading: handle() may run on many threads at once (reads from the store; writes only through
// the writer). ingest()/sync()/release()/share() take the Store they may write to: call them on
// the store's writing thread (inside Correlator::write or a subscriber, or the writer given
// here). Nothing throws.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "vigil/core/result.h"
#include "vigil/feeds/indicator.h"
#include "vigil/policy/policy.h"
#include "vigil/store/indicators.h"
#include "vigil/store/store.h"

namespace vigil::feeds {

struct FeedConfig {
  std::string source;                  // the file it came from
  std::string soc_name = "Vigil SOC";  // the reporting SOC's identity name
  std::string api_root = "feeds";      // TAXII API root path segment: /feeds/
  std::string title = "Vigil threat feeds";
  size_t page_default = 100;
  size_t page_max = 1000;
  size_t max_content_length = 10u << 20;  // largest accepted upload
  std::string intel_dir;                  // submissions as correlator intel lists ("" = off)
  std::map<std::string, std::string> tenant_names;  // tenant -> display name for identities
  // Live push (vigil/feeds/push.h); empty endpoint = off.
  std::string push_endpoint;
  std::string push_key_file;                          // the feed's CURVE key pair (vigil-keygen)
  std::map<std::string, std::string> push_subscribers;  // CURVE public key (Z85) -> user name
  int64_t sync_interval_sec = 30;
};

// feeds.yaml (deploy/config/feeds.yaml documents every key); unknown keys are errors.
core::Result<FeedConfig> load_feed_config(const std::string& path);

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query string
  std::multimap<std::string, std::string> query;  // decoded
  std::map<std::string, std::string> headers;     // names lowercase
  std::string body;
  std::string remote;  // peer address, for the audit log
};

struct HttpResponse {
  int status = 200;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  [[nodiscard]] std::string header(const std::string& name) const;
};

// A collection as one user sees it.
struct Collection {
  std::string id;  // UUID
  Audience audience;
  std::string title;
  bool can_read = true;
  bool can_write = false;
};
std::string collection_id(const Audience& a);

// One item that became visible (new or changed), for the live push feed.
struct Published {
  Audience audience;
  std::string collection;  // id
  nlohmann::json stix;     // the object
  std::vector<nlohmann::json> refs;  // what it refers to: its marking definition, its creator's identity
};

class FeedService {
 public:
  using Writer = std::function<core::Status(const std::function<core::Status(store::Store&)>&)>;
  using UserLookup = std::function<std::optional<policy::User>(std::string_view token_sha256_hex)>;
  using Clock = std::function<core::Timestamp()>;

  // `reader` must outlive the service; `writer` runs a function on the store's writing thread.
  FeedService(FeedConfig config, const store::Store* reader, Writer writer, UserLookup users, IsInternal is_internal);

  // Writes the static records (marking definitions, the SOC identity) when missing.
  core::Status init(store::Store& s);

  core::Status ingest(store::Store& s, const std::vector<core::Alert>& alerts);
  // Confirmed alerts first seen in [from, to) (closed true-positive ones by the status index, and
  // the alerts of incidents created in that range).
  core::Status sync(store::Store& s, core::Timestamp from, core::Timestamp to);
  // By hand: mark an indicator CLEAR / share an item RED with a named user. `key` is a record key
  // ("i|ipv4|203.0.113.5", "s|ipv4|203.0.113.5|tenant-a"). Audited with `actor`.
  core::Status release(store::Store& s, const std::string& key, const std::string& actor);
  core::Status share(store::Store& s, const std::string& key, const std::string& user, const std::string& actor);

  // TAXII 2.1 + MISP feed over HTTP (see docs/feeds.md for the routes).
  HttpResponse handle(const HttpRequest& req);

  [[nodiscard]] std::vector<Collection> collections_for(const policy::User& user) const;
  // Every record currently in the store, decoded (indicators and sightings), for exports.
  core::Status for_each_item(const std::function<void(const nlohmann::json& record, int64_t date_added)>& fn) const;
  // The STIX objects of a collection in date_added order (all of them: exports and tests).
  core::Result<std::vector<std::pair<int64_t, nlohmann::json>>> collection_objects(const Audience& a) const;

  // Called (on the writing thread) with what each ingest/sync/release/submit made visible.
  void on_published(std::function<void(const std::vector<Published>&)> fn);
  // Called after a submission rewrote a tenant's intel lists (wire to the correlator's reload).
  void on_intel_written(std::function<void()> fn);

  void set_clock(Clock clock);  // tests
  void set_tenant_tlp(TenantTlp fn) { tenant_tlp_ = std::move(fn); }
  [[nodiscard]] const FeedConfig& config() const { return config_; }

  struct Counters {
    uint64_t requests = 0, unauthorized = 0, forbidden = 0, objects_served = 0, submissions = 0,
             submissions_refused = 0, submitted_objects_rejected = 0, records_written = 0, audit_failures = 0;
  };
  [[nodiscard]] Counters counters() const;

 private:
  struct Item;  // a decoded record with its STIX object and placements
  core::Result<std::optional<Item>> decode(const store::FeedRecord& r) const;
  core::Status upsert(store::Store& s, store::CommitBatch& b, const std::string& key, nlohmann::json record,
                      std::vector<Published>* published, bool* changed_out);
  core::Status ensure_tenant_identity(store::Store& s, store::CommitBatch& b, const std::string& tenant);
  int64_t next_date_added(store::Store& s);
  void audit(const policy::User* user, const HttpRequest& req, const std::string& action, const std::string& object,
             bool allowed, const std::string& reason);
  HttpResponse route(const HttpRequest& req, const policy::User& user);
  HttpResponse objects(const HttpRequest& req, const policy::User& user, const Collection& c, bool manifest,
                       const std::string& object_id, bool versions);
  HttpResponse submit(const HttpRequest& req, const policy::User& user, const Collection& c);
  HttpResponse status(const policy::User& user, const std::string& id);
  HttpResponse misp(const HttpRequest& req, const policy::User& user, const Collection& c, const std::string& file);
  core::Status write_intel(store::Store& s, const std::string& tenant);
  // The static objects `object` refers to (its marking definitions, the SOC identity), as served.
  [[nodiscard]] std::vector<nlohmann::json> refs_of(const nlohmann::json& object) const;

  // Creation time of the static objects (marking definitions, the SOC identity): 2022-10-01, as
  // the TLP 2.0 definitions, so they are the same objects in every store.
  static constexpr core::Timestamp kStaticCreated{1664582400000000};

  FeedConfig config_;
  const store::Store* reader_;
  Writer writer_;
  UserLookup users_;
  IsInternal is_internal_;
  TenantTlp tenant_tlp_;
  Clock clock_;
  int64_t last_date_added_ = 0;
  std::function<void(const std::vector<Published>&)> published_fn_;
  std::function<void()> intel_fn_;
  mutable std::mutex counters_mu_;
  Counters counters_;
};

// SHA-256 hex of a token, as policy users' api_tokens hold them.
std::string sha256_hex(std::string_view data);
// UserLookup over a PolicyHolder (the current policy at each request).
FeedService::UserLookup users_from_policy(std::shared_ptr<const policy::PolicyHolder> holder);
// IsInternal over a PolicyHolder: an address some tenant owns.
IsInternal internal_from_policy(std::shared_ptr<const policy::PolicyHolder> holder);
// TenantTlp over a PolicyHolder: tenants[].default_tlp.
TenantTlp tenant_tlp_from_policy(std::shared_ptr<const policy::PolicyHolder> holder);

}  // namespace vigil::feeds
