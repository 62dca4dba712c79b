// The policy engine (DESIGN §6): classification levels and labels, the YAML policy (tenants and
// their networks, assets, users, roles, clearances, TLP defaults, retention per level) and the
// decisions every enforcement point asks for:
//
//   may(user, action, record)  -> Decision {allow, rule, reason}
//   redact(user, record json)  -> masks what the user may not see in clear
//   classify(labels...)        -> Classification {level, reasons}
//
// A Policy is immutable once loaded; reload by loading a new one and swapping the shared_ptr
// (PolicyHolder does that atomically). Nothing here throws; load errors name the file and key.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "vigil/core/alert.h"
#include "vigil/core/event.h"
#include "vigil/core/ip.h"
#include "vigil/core/result.h"

namespace vigil::policy {

// Handling levels, ordered. Names: "public", "internal", "confidential", "secret", "top-secret".
enum class Level : uint8_t { kPublic = 0, kInternal = 1, kConfidential = 2, kSecret = 3, kTopSecret = 4 };
std::string_view to_string(Level level);
std::optional<Level> parse_level(std::string_view text);

// TLP 2.0, ordered from least to most restrictive. Names: "clear", "green", "amber",
// "amber+strict", "red".
enum class Tlp : uint8_t { kClear = 0, kGreen = 1, kAmber = 2, kAmberStrict = 3, kRed = 4 };
std::string_view to_string(Tlp tlp);
std::optional<Tlp> parse_tlp(std::string_view text);

enum class Role : uint8_t { kAnalyst, kLead, kAgency, kAuditor, kAdmin };
std::string_view to_string(Role role);  // "analyst", "lead", "agency", "auditor", "admin"
std::optional<Role> parse_role(std::string_view text);

// What a user asks to do with a record.
enum class Action : uint8_t {
  kList,      // see it in a list or search result
  kCount,     // have it counted (dashboards, group counts)
  kRead,      // open it (detail view)
  kUpdate,    // status, verdict, assignment, escalation
  kNote,      // append a note
  kUnmask,    // see PII in clear (always audited, needs a reason)
  kExport,    // export / share outside the console
  kAudit,     // read the audit trail and proofs
  kAdmin,     // policy reload, users, keys
};
std::string_view to_string(Action action);
std::optional<Action> parse_action(std::string_view text);

// The level a record is handled at and why ("asset 10.1.2.0/24 sys_level 4", "pii sensitive",
// "sensor level confidential", "event 42 secrecy suspected-state-secret").
struct Classification {
  Level level = Level::kInternal;
  std::vector<std::string> reasons;
};

// The facts the engine decides on, taken from any record (alert, incident, event, indicator).
struct RecordView {
  std::string kind;    // "alert", "incident", "event", "indicator", "audit"
  std::string tenant;  // owning tenant ("" = none: attacker-only data)
  Level level = Level::kInternal;
  Tlp tlp = Tlp::kAmber;
  std::vector<std::string> shared_with;  // tenants it is shared with besides the owner
  bool has_pii = false;
};
// Reads alert.tenant, alert.level (an unknown name reads as top-secret), alert.labels.tlp (empty:
// amber; unknown: red), labels.pii / tags "pii" "pii-sensitive" (has_pii) and tags "shared:<tenant>"
// (shared_with).
RecordView view_of(const core::Alert& alert);
RecordView view_of(const core::Incident& incident);

struct User {
  std::string name;
  std::string tenant;              // home tenant
  std::vector<std::string> scope;  // tenants visible ("*" = all)
  Role role = Role::kAnalyst;
  Level clearance = Level::kInternal;
  bool may_unmask = false;
  std::string password_hash;            // argon2id string (libsodium crypto_pwhash_str), may be empty
  std::vector<std::string> api_tokens;  // sha256 hex of machine tokens, may be empty
  std::string display_name;
};

struct Decision {
  bool allow = false;
  std::string rule;    // which rule decided: "scope", "clearance", "role", "tlp", "unmask", ...
  std::string reason;  // human-readable, for the audit log ("clearance internal < secret")
};

struct Tenant {
  std::string name;
  std::string display_name;
  std::vector<core::Cidr> networks;
  std::vector<uint16_t> vlans;
  std::vector<uint32_t> vnis;
  Tlp default_tlp = Tlp::kAmber;
};

struct Asset {
  std::string name;
  std::string tenant;
  std::vector<core::Cidr> networks;
  uint8_t sys_level = 1;         // information-system security level 1..5 (Decree 85/2016)
  std::string importance = "other";  // "other", "important", "core"
};

struct Retention {
  // Per level, in microseconds; 0 = keep forever. Incidents and audit are never shorter than
  // 24 months whatever the file says (Law 116/2025); the loader enforces the floor.
  int64_t alert_usec[5] = {};
  int64_t event_usec[5] = {};
  int64_t protocol_usec = 0;  // flow/http/dns/tls records, any level
  int64_t incident_usec = 0;  // 0 = forever, else >= 730 days
  int64_t audit_usec = 0;     // 0 = forever, else >= 730 days
};

class Policy {
 public:
  // Parses and validates; errors name the file and the key ("policy.yaml: users[2].clearance:
  // unknown level 'secrt'").
  static core::Result<std::shared_ptr<const Policy>> load(const std::string& path);
  static core::Result<std::shared_ptr<const Policy>> parse(const std::string& yaml_text,
                                                           const std::string& source_name);

  [[nodiscard]] const std::vector<Tenant>& tenants() const;
  [[nodiscard]] const std::vector<Asset>& assets() const;
  [[nodiscard]] const std::vector<User>& users() const;
  [[nodiscard]] const Retention& retention() const;
  [[nodiscard]] const User* find_user(std::string_view name) const;
  [[nodiscard]] const User* find_user_by_token_sha256(std::string_view hex) const;
  [[nodiscard]] const Tenant* find_tenant(std::string_view name) const;
  // The configured handling level of a sensor or link (policy `sensors:`), nullopt when unset.
  [[nodiscard]] std::optional<Level> sensor_level(std::string_view sensor_id) const;
  [[nodiscard]] const std::string& source() const;
  // The tenant owning traffic of this address / VLAN / VNI ("" when none matches). VNI and VLAN
  // win over addresses; the most specific CIDR wins among addresses.
  [[nodiscard]] std::string tenant_for(const core::IpAddress& ip, uint16_t vlan, uint32_t vni) const;
  [[nodiscard]] const Asset* asset_for(const core::IpAddress& ip) const;

  // The classification of an alert from what it aggregates: the configured sensor/link level,
  // the assets of both flow ends, the labels raised by detectors. Highest wins; each
  // contribution leaves a reason.
  [[nodiscard]] Classification classify(const core::EventLabels& labels, const core::FlowTuple& flow,
                                        std::optional<Level> sensor_level) const;

  // Deny wins: every rule (role, scope, tlp, clearance, top-secret, unmask) must pass; the
  // Decision names the first that failed, or "allow" with the reasons it passed.
  [[nodiscard]] Decision may(const User& user, Action action, const RecordView& record) const;
  // Masks in place what `user` may not see in clear: PII values (already masked by the sensor)
  // stay masked, victim-internal addresses of tenants out of scope are removed, payload fields
  // are dropped above the user's clearance. `unmasked` = the user asked and was allowed to unmask.
  void redact(const User& user, nlohmann::json& record, bool unmasked = false) const;

  struct Impl;
  explicit Policy(std::unique_ptr<Impl> impl);
  ~Policy();

 private:
  std::unique_ptr<Impl> impl_;
};

// The current policy, swapped atomically on reload; readers take a snapshot per request.
class PolicyHolder {
 public:
  explicit PolicyHolder(std::shared_ptr<const Policy> initial) : current_(std::move(initial)) {}
  [[nodiscard]] std::shared_ptr<const Policy> get() const {
    std::lock_guard lock(mu_);
    return current_;
  }
  void set(std::shared_ptr<const Policy> next) {
    std::lock_guard lock(mu_);
    current_ = std::move(next);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Policy> current_;
};

}  // namespace vigil::policy
