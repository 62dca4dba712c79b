// The console's side of the audit log (DESIGN §7, store/include/vigil/store/audit.h): one place
// that turns what happened into an audit entry appended to the same CommitBatch as the change,
// and that serves the auditor endpoints. Kept apart so the rest of the console does not depend
// on the audit log's query API.
#pragma once

#include <string>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "vigil/policy/policy.h"
#include "vigil/store/store.h"

namespace vigil::console {

struct AuditRecord {
  std::string actor, actor_tenant, actor_role, source;
  std::string action;  // "alert.acknowledge", "login.failure", "alert.unmask", ...
  std::string object;  // "alert/<id>", "incident/<id>", "user/<name>"
  std::string before_hash, after_hash;
  std::string decision = "allow";
  std::string rule, reason;
};

// Appends to the batch; seq and time are assigned at commit.
void append_audit(store::CommitBatch& batch, const AuditRecord& record);
// True when the store has the audit log (false only in a build without it).
bool audit_log_available();

// sha256 hex of a record's JSON text (before/after hashes).
std::string sha256_hex(std::string_view data);

// GET /api/v1/audit..., answered for users the policy lets audit. `authorize` returns the user or
// fills the response with the refusal.
struct AuditRouteContext {
  const store::Store* store = nullptr;
  std::function<std::optional<policy::User>(const httplib::Request&, httplib::Response&)> auditor;
  std::function<void(const policy::User&, const httplib::Request&, const std::string& action, const std::string& reason)> audit_read;
};
void register_audit_routes(httplib::Server& server, AuditRouteContext context);

}  // namespace vigil::console
