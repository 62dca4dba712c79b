#include "audit_bridge.h"

#include <sstream>

#include "vigil/store/audit.h"

namespace vigil::console {

using json = nlohmann::json;

namespace {

void error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(json{{"error", message}}.dump(), "application/json");
}

std::optional<uint64_t> param_u64(const httplib::Request& req, const char* key) {
  if (!req.has_param(key)) return std::nullopt;
  const auto& s = req.get_param_value(key);
  if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoull(s);
}

std::optional<core::Timestamp> param_time(const httplib::Request& req, const char* key, core::Timestamp def) {
  if (!req.has_param(key) || req.get_param_value(key).empty()) return def;
  try {
    size_t used = 0;
    const auto& s = req.get_param_value(key);
    double v = std::stod(s, &used);
    if (used != s.size()) return std::nullopt;
    return core::Timestamp{static_cast<int64_t>(v * 1e6)};
  } catch (...) {
    return std::nullopt;
  }
}

json hashes(const std::vector<store::AuditHash>& v) {
  json a = json::array();
  for (const auto& h : v) a.push_back(store::audit::to_hex(h));
  return a;
}

// The entries an auditor asked for: by object, or by actor in a time range, or the latest.
core::Result<std::vector<store::AuditEntry>> select(const store::AuditLog& log, const httplib::Request& req, size_t limit) {
  if (req.has_param("object") && !req.get_param_value("object").empty()) {
    return log.query_object(req.get_param_value("object"), limit);
  }
  auto from = param_time(req, "from", core::Timestamp{INT64_MIN});
  auto to = param_time(req, "to", core::Timestamp{INT64_MAX});
  if (!from || !to) return core::make_error("from/to: expected epoch seconds");
  if (req.has_param("actor") && !req.get_param_value("actor").empty()) {
    return log.query_actor(req.get_param_value("actor"), *from, *to, limit);
  }
  uint64_t size = log.size();
  uint64_t first = size > limit ? size - limit + 1 : 1;
  if (size == 0) return std::vector<store::AuditEntry>{};
  auto r = log.range(first, size, limit);
  if (!r) return r;
  std::vector<store::AuditEntry> out;
  for (auto& e : *r) {
    if (e.time >= *from && e.time < *to) out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

void append_audit(store::CommitBatch& batch, const AuditRecord& r) {
  store::AuditEntry e;
  e.actor = r.actor;
  e.actor_tenant = r.actor_tenant;
  e.actor_role = r.actor_role;
  e.source = r.source;
  e.action = r.action;
  e.object = r.object;
  e.before_hash = r.before_hash;
  e.after_hash = r.after_hash;
  e.decision = r.decision;
  e.rule = r.rule;
  e.reason = r.reason;
  batch.append_audit(std::move(e));
}

bool audit_log_available() { return true; }

std::string sha256_hex(std::string_view data) { return store::audit::record_hash(data); }

void register_audit_routes(httplib::Server& server, AuditRouteContext ctx) {
  auto c = std::make_shared<AuditRouteContext>(std::move(ctx));
  server.Get("/api/v1/audit", [c](const httplib::Request& req, httplib::Response& res) {
    auto u = c->auditor(req, res);
    if (!u) return;
    size_t limit = 500;
    if (auto l = param_u64(req, "limit")) limit = std::clamp<size_t>(*l, 1, 10000);
    auto& log = c->store->audit();
    auto r = select(log, req, limit);
    if (!r) return error(res, 400, r.error().to_string());
    json list = json::array();
    for (auto& e : *r) list.push_back(store::audit::to_json(e));
    c->audit_read(*u, req, "audit.query",
                  "object=" + req.get_param_value("object") + " actor=" + req.get_param_value("actor"));
    res.set_content(json{{"entries", std::move(list)}, {"size", log.size()}}.dump(), "application/json");
  });
  server.Get("/api/v1/audit/head", [c](const httplib::Request& req, httplib::Response& res) {
    auto u = c->auditor(req, res);
    if (!u) return;
    auto& log = c->store->audit();
    auto h = log.tree_head();
    if (!h) return error(res, 500, h.error().to_string());
    bool ok = store::audit::verify_tree_head(*h, log.public_key());
    res.set_content(json{{"tree_head", store::audit::to_json(*h)},
                         {"public_key", store::audit::to_hex(log.public_key())},
                         {"signature_valid", ok}}
                        .dump(),
                    "application/json");
  });
  // An entry's inclusion proof against a tree size, checked with the independent verifier.
  server.Get("/api/v1/audit/proof/inclusion", [c](const httplib::Request& req, httplib::Response& res) {
    auto u = c->auditor(req, res);
    if (!u) return;
    auto& log = c->store->audit();
    auto seq = param_u64(req, "seq");
    uint64_t size = param_u64(req, "tree_size").value_or(log.size());
    if (!seq || *seq == 0 || *seq > size || size > log.size()) return error(res, 400, "seq and tree_size: 1 <= seq <= tree_size <= log size");
    auto e = log.get(*seq);
    auto path = log.inclusion_proof(*seq, size);
    auto root = log.root_at(size);
    if (!e || !path || !root || !e->has_value()) return error(res, 500, "cannot build the proof");
    auto leaf = store::audit::leaf_hash(**e);
    bool ok = store::audit::verify_inclusion(leaf, *seq - 1, size, *path, *root);
    res.set_content(json{{"seq", *seq},
                         {"tree_size", size},
                         {"entry", store::audit::to_json(**e)},
                         {"leaf_hash", store::audit::to_hex(leaf)},
                         {"path", hashes(*path)},
                         {"root_hash", store::audit::to_hex(*root)},
                         {"verified", ok}}
                        .dump(),
                    "application/json");
  });
  server.Get("/api/v1/audit/proof/consistency", [c](const httplib::Request& req, httplib::Response& res) {
    auto u = c->auditor(req, res);
    if (!u) return;
    auto& log = c->store->audit();
    auto old_size = param_u64(req, "old");
    uint64_t new_size = param_u64(req, "new").value_or(log.size());
    if (!old_size || *old_size > new_size || new_size > log.size()) return error(res, 400, "old and new: old <= new <= log size");
    auto proof = log.consistency_proof(*old_size, new_size);
    auto r1 = log.root_at(*old_size);
    auto r2 = log.root_at(new_size);
    if (!proof || !r1 || !r2) return error(res, 500, "cannot build the proof");
    bool ok = store::audit::verify_consistency(*old_size, new_size, *r1, *r2, *proof);
    res.set_content(json{{"old", *old_size},
                         {"new", new_size},
                         {"old_root", store::audit::to_hex(*r1)},
                         {"new_root", store::audit::to_hex(*r2)},
                         {"proof", hashes(*proof)},
                         {"verified", ok}}
                        .dump(),
                    "application/json");
  });
  // JSON lines with the signed head and an inclusion proof per entry, for offline verification
  // (vigil-audit verify). The export itself is audited.
  server.Get("/api/v1/audit/export", [c](const httplib::Request& req, httplib::Response& res) {
    auto u = c->auditor(req, res);
    if (!u) return;
    auto& log = c->store->audit();
    auto r = select(log, req, 100000);
    if (!r) return error(res, 400, r.error().to_string());
    c->audit_read(*u, req, "export",
                  "audit export object=" + req.get_param_value("object") + " actor=" + req.get_param_value("actor") +
                      " entries=" + std::to_string(r->size()));
    std::ostringstream out;
    if (auto st = log.export_jsonl(*r, out); !st) return error(res, 500, st.error().to_string());
    res.set_header("Content-Disposition", "attachment; filename=\"vigil-audit.jsonl\"");
    res.set_content(out.str(), "application/x-ndjson");
  });
}

}  // namespace vigil::console
