// Every change the console makes, as a value (DESIGN §8): a Request names the operation, the
// acting user and where the request came from, and carries the operation's parameters as JSON.
// execute() is the ONE function that carries a change out — it runs where writes are allowed
// (inside Correlator::write, on the correlator's pipeline thread), re-reads the records, asks
// the policy for that actor (looked up by name in the policy the executing process holds: the
// correlator re-decides, it never trusts a decision made by a console), changes them and appends
// the audit entries in the same CommitBatch.
//
// Both deployment modes use it: the in-process console (standalone) passes it to
// Correlator::write itself; a separate vigil-console sends the Request over the control socket
// (vigil/console/control.h) and the correlator runs the same execute().
//
// Operations ("op"):
//   alert.action     params {ids: [...], action: acknowledge|assign|close|note|escalate|reopen,
//                    assignee, verdict, note, title}  -> {action, updated, not_found, denied, incident}
//   incident.action  params {id, action: acknowledge|assign|close|note, assignee, verdict, note}
//                    -> {action, incident}
//   alert.unmask     params {id, reason}  -> {allow, rule, reason}  (the decision is audited)
//   audit            params {action, object, decision, rule, reason}: an entry on its own (logins,
//                    sensitive reads, audit exports, policy reloads); the actor need not be a
//                    policy user (a failed login names whoever tried)
// Bad parameters answer 400, invisible or missing records 404, refusals 403 (audited), as the
// HTTP API does; store failures are errors (the caller answers 500).
//
// Thread-safety: the encoders are pure; execute() must run where store writes are allowed.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vigil/core/alert.h"
#include "vigil/core/result.h"
#include "vigil/policy/policy.h"
#include "vigil/store/store.h"

namespace vigil::console {

struct Request {
  std::string op;
  std::string actor;   // the policy user acting (for "audit": whoever the entry names)
  std::string source;  // where it came from, for the audit entry ("console 10.0.0.5")
  nlohmann::json params = nlohmann::json::object();
};

struct Reply {
  int status = 200;     // HTTP-like: 200, 400, 403, 404, 500, 503
  nlohmann::json body;  // the API answer, or {"error": ...}
  // Alerts the change wrote, for the live queues. On the wire only their ids travel.
  std::vector<core::Alert> changed;
  std::vector<core::RecordId> changed_ids;  // filled by reply_from_json (and by execute)

  static Reply error(int status, const std::string& message);
  [[nodiscard]] bool ok() const { return status == 200; }
  [[nodiscard]] std::string error_text() const;  // body["error"] or ""
};

nlohmann::json to_json(const Request& r);
// Errors name the offending field.
core::Result<Request> request_from_json(const nlohmann::json& j);
nlohmann::json to_json(const Reply& r);
core::Result<Reply> reply_from_json(const nlohmann::json& j);

// Carries the request out on `store` (see above). Never throws.
core::Result<Reply> execute(store::Store& store, const policy::Policy& policy, const Request& request);

// The write hook of a deployment: runs a function where store writes are allowed
// (Correlator::write) and returns its status.
using WriteFn = std::function<core::Status(const std::function<core::Status(store::Store&)>&)>;

// execute() through `write`; a failure (the store, the write hook) becomes a 500 reply.
Reply execute_through(const WriteFn& write, const policy::Policy& policy, const Request& request);

}  // namespace vigil::console
