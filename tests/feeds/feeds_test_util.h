// Shared fixtures of the feeds tests: a real store in a temp dir, alerts of two tenants, users.
#pragma once

#include <filesystem>
#include <random>
#include <string>

#include "support/temp_dir.h"
#include "vigil/core/alert.h"
#include "vigil/feeds/service.h"
#include "vigil/store/store.h"

namespace vigil::feeds::test {

using TempDir = vigil::test_support::TempDir;

inline core::IpAddress ip(const char* text) { return *core::IpAddress::parse(text); }

// Tenant networks of the tests: moh 10.1.0.0/16 and 198.51.100.0/25, mof 10.2.0.0/16.
inline bool test_internal(const core::IpAddress& a) {
  for (const char* c : {"10.1.0.0/16", "198.51.100.0/25", "10.2.0.0/16"}) {
    if (core::Cidr::parse(c)->contains(a)) return true;
  }
  return false;
}

inline core::Alert make_alert(uint64_t n, const std::string& tenant, const char* src, const char* dst, int64_t t) {
  core::Alert a;
  a.id = core::RecordId{t, n};
  a.tenant = tenant;
  a.sensor = "s1";
  a.rule = "aggregate";
  a.signature = "ET MALWARE test " + std::to_string(n);
  a.sid = static_cast<uint32_t>(2000000 + n);
  a.flow.src_ip = ip(src);
  a.flow.dst_ip = ip(dst);
  a.flow.src_port = 49152;
  a.flow.dst_port = 443;
  a.flow.proto = 6;
  a.first_seen.usec = t;
  a.last_seen.usec = t + 1000000;
  a.count = 3;
  a.status = core::AlertStatus::kClosed;
  a.verdict = "true-positive";
  a.updated.usec = t;
  return a;
}

inline policy::User agency_user(const std::string& name, const std::string& tenant) {
  policy::User u;
  u.name = name;
  u.tenant = tenant;
  u.scope = {tenant};
  u.role = policy::Role::kAgency;
  u.clearance = policy::Level::kInternal;
  u.api_tokens = {sha256_hex("token-" + name)};
  return u;
}

inline FeedService::UserLookup lookup(std::vector<policy::User> users) {
  return [users](std::string_view hex) -> std::optional<policy::User> {
    for (const auto& u : users) {
      for (const auto& t : u.api_tokens) {
        if (t == hex) return u;
      }
    }
    return std::nullopt;
  };
}

inline HttpRequest get(const std::string& path, const std::string& user, std::multimap<std::string, std::string> q = {}) {
  HttpRequest r;
  r.method = "GET";
  r.path = path;
  r.query = std::move(q);
  r.headers["accept"] = "application/taxii+json;version=2.1";
  if (!user.empty()) r.headers["authorization"] = "Bearer token-" + user;
  r.remote = "127.0.0.1";
  return r;
}

}  // namespace vigil::feeds::test
