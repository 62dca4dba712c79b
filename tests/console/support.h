// Helpers shared by the console's unit tests (api_test.cpp, control_test.cpp): a temp dir, the
// test policy (analyst, lead, auditor, agency-mof with one password hash) and alert records.
#pragma once

#include <filesystem>
#include <random>
#include <string>

#include "support/temp_dir.h"
#include "vigil/core/alert.h"
#include "vigil/policy/password.h"

namespace vigil::console_test {

using TempDir = vigil::test_support::TempDir;

// One hash for every test user (argon2id is slow on purpose).
inline const std::string& password_hash() {
  static const std::string h = *policy::hash_password("s3cret-pass");
  return h;
}

inline std::string policy_yaml(const std::string& agency_token_sha) {
  return R"(version: 1
tenants:
  - name: soc
  - name: mof
    networks: [10.20.0.0/16]
  - name: hanoi
    networks: [10.10.0.0/16]
users:
  - name: analyst
    tenant: soc
    scope: ["*"]
    role: analyst
    clearance: confidential
    password_hash: ")" + password_hash() + R"("
  - name: lead
    tenant: soc
    scope: ["*"]
    role: lead
    clearance: secret
    may_unmask: true
    password_hash: ")" + password_hash() + R"("
  - name: auditor
    tenant: soc
    scope: ["*"]
    role: auditor
    clearance: secret
    password_hash: ")" + password_hash() + R"("
  - name: agency-mof
    tenant: mof
    scope: [mof]
    role: agency
    clearance: confidential
    password_hash: ")" + password_hash() + R"("
    api_tokens: [")" + agency_token_sha + R"("]
)";
}

inline core::Alert make_alert(int64_t t, uint64_t h, const std::string& tenant, const std::string& level, uint32_t sid,
                       uint32_t dst) {
  core::Alert a;
  a.id = {t, h};
  a.tenant = tenant;
  a.sensor = "s1";
  a.rule = "aggregate";
  a.severity = static_cast<uint8_t>(1 + sid % 3);
  a.gid = 1;
  a.sid = sid;
  a.signature = "ET TEST signature " + std::to_string(sid);
  a.flow.src_ip = core::IpAddress::v4(0xcb007105);  // 203.0.113.5
  a.flow.dst_ip = core::IpAddress::v4(dst);
  a.flow.src_port = 40000;
  a.flow.dst_port = 80;
  a.flow.proto = 6;
  a.first_seen.usec = t;
  a.last_seen.usec = t;
  a.count = 1;
  a.level = level;
  a.level_reasons = {"test " + level};
  return a;
}

inline constexpr uint32_t kMofHost = 0x0a140a0a;    // 10.20.10.10
inline constexpr uint32_t kHanoiHost = 0x0a0a0505;  // 10.10.5.5

}  // namespace vigil::console_test
