// vigil-audit: export, prove and verify the audit log (docs/audit.md).
//
//   vigil-audit head --data-dir DIR [--size N]          the latest (or the stored size-N) signed tree head
//   vigil-audit public-key --data-dir DIR               the Ed25519 public key, hex
//   vigil-audit export --data-dir DIR [--object ID | --actor NAME [--from T] [--to T]] [--since HEAD.json] [-o FILE]
//                                                       JSON lines: entries, the signed head, inclusion
//                                                       proofs (and a consistency proof from --since)
//   vigil-audit prove-inclusion --data-dir DIR --seq N [--size M]
//   vigil-audit prove-consistency --data-dir DIR --old N [--new M]
//   vigil-audit check --data-dir DIR                    recompute every stored leaf and the root
//   vigil-audit verify --export FILE [--public-key FILE] [--old-head HEAD.json]
//   vigil-audit verify-inclusion --head HEAD.json --entry ENTRY.json --proof PROOF.json [--public-key FILE]
//   vigil-audit verify-consistency --old HEAD.json --new HEAD.json --proof PROOF.json [--public-key FILE]
//
// DIR is the store's directory (the correlator's data_dir/db). The store is opened as a RocksDB
// secondary instance, so this works while the correlator runs and never writes to it.
// Times (--from/--to) are epoch seconds (fractions allowed) or YYYY-MM-DDTHH:MM:SS[Z].
// Exit status: 0 verified / done, 1 verification failed (each failure printed, naming the entry
// seq), 2 usage or I/O error.
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include <CLI/CLI.hpp>

#include "vigil/core/log.h"
#include "vigil/store/audit.h"
#include "vigil/store/store.h"

using namespace vigil;
using store::AuditHash;
using store::SignedTreeHead;
namespace audit = vigil::store::audit;
using json = nlohmann::json;

namespace {

int usage_error(const std::string& what) {
  std::cerr << "vigil-audit: " << what << "\n";
  return 2;
}

std::optional<core::Timestamp> parse_time(const std::string& s) {
  if (s.empty()) return std::nullopt;
  if (s.find('-') != std::string::npos && s.find('T') != std::string::npos) {
    struct tm tm {};
    const char* end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    if (!end || (*end != '\0' && std::string(end) != "Z")) return std::nullopt;
    return core::Timestamp{static_cast<int64_t>(timegm(&tm)) * 1000000};
  }
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (!end || *end != '\0') return std::nullopt;
  return core::Timestamp{static_cast<int64_t>(v * 1e6)};
}

// A temporary directory for the secondary instance's own files, removed on exit.
struct SecondaryDir {
  std::string path;
  SecondaryDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "vigil-audit-XXXXXX").string();
    if (mkdtemp(tmpl.data())) path = tmpl;
  }
  ~SecondaryDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
};

core::Result<std::unique_ptr<store::Store>> open_store(const std::string& dir, const SecondaryDir& sec) {
  if (!std::filesystem::exists(dir + "/CURRENT")) return core::make_error("not a store directory", dir);
  if (sec.path.empty()) return core::make_error("cannot create a temporary directory");
  store::StoreOptions o;
  o.path = dir;
  o.secondary_path = sec.path;
  return store::Store::open(o);
}

core::Result<json> read_json_file(const std::string& path) {
  std::ifstream f(path);
  if (!f) return core::make_error("cannot read", path);
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  // A file may hold one object or JSON lines; the first line of the wanted type is taken by callers.
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded()) {
    auto nl = text.find('\n');
    j = json::parse(text.substr(0, nl), nullptr, false);
    if (j.is_discarded()) return core::make_error("not JSON", path);
  }
  return j;
}

core::Result<store::AuditPublicKey> read_public_key(const std::string& path) {
  std::ifstream f(path);
  if (!f) return core::make_error("cannot read", path);
  std::string text;
  f >> text;
  auto k = audit::public_key_from_hex(text);
  if (!k) return core::make_error("not an Ed25519 public key (64 hex digits)", path);
  return *k;
}

core::Result<std::vector<AuditHash>> path_from_json(const json& j, const std::string& where) {
  std::vector<AuditHash> out;
  auto it = j.find("path");
  if (it == j.end() || !it->is_array()) return core::make_error("key 'path' missing or not an array", where);
  for (const auto& h : *it) {
    std::optional<AuditHash> v;
    if (!h.is_string() || !(v = audit::hash_from_hex(h.get<std::string>()))) {
      return core::make_error("'path' holds something other than 64 hex digits", where);
    }
    out.push_back(*v);
  }
  return out;
}

json path_json(const std::vector<AuditHash>& p) {
  json a = json::array();
  for (const auto& h : p) a.push_back(audit::to_hex(h));
  return a;
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// Which key a tree head's signature is checked with: --public-key when given (trusted), else
// the one the head carries (which only shows the export is self-consistent).
struct KeyChoice {
  std::optional<store::AuditPublicKey> trusted;
  bool warned = false;
  bool check(const json& head_json, const SignedTreeHead& h, const std::string& what, std::vector<std::string>& failures) {
    std::optional<store::AuditPublicKey> key = trusted;
    if (!key) {
      auto it = head_json.find("public_key");
      if (it != head_json.end() && it->is_string()) key = audit::public_key_from_hex(it->get<std::string>());
      if (key && !warned) {
        std::cout << "note: signatures checked against the key carried in the data itself; pass --public-key "
                     "with the key you hold for a real check\n";
        warned = true;
      }
    }
    if (!key) {
      failures.push_back(what + ": no public key to check the signature with (pass --public-key)");
      return false;
    }
    if (!audit::verify_tree_head(h, *key)) {
      failures.push_back(what + " (tree size " + std::to_string(h.tree_size) + "): signature does not verify");
      return false;
    }
    return true;
  }
};

int report(const std::vector<std::string>& failures, const std::string& ok_text) {
  for (const auto& f : failures) std::cout << "FAIL: " << f << "\n";
  if (!failures.empty()) {
    std::cout << "verification FAILED (" << failures.size() << " problem" << (failures.size() == 1 ? "" : "s") << ")\n";
    return 1;
  }
  std::cout << "OK: " << ok_text << "\n";
  return 0;
}

int cmd_verify(const std::string& export_file, KeyChoice& keys, const std::string& old_head_file) {
  std::ifstream in(export_file);
  if (!in) return usage_error("cannot read " + export_file);
  std::vector<std::string> failures;
  std::vector<store::AuditEntry> entries;
  std::map<uint64_t, json> proofs;
  std::optional<SignedTreeHead> head;
  json head_json;
  std::optional<json> consistency;
  std::string line;
  size_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty()) continue;
    std::string where = export_file + ":" + std::to_string(lineno);
    auto j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return usage_error(where + ": not a JSON object");
    std::string type = j.value("type", "");
    if (type == "entry") {
      auto e = audit::entry_from_json(j);
      if (!e) return usage_error(where + ": " + e.error().to_string());
      entries.push_back(std::move(*e));
    } else if (type == "tree_head") {
      if (head) return usage_error(where + ": a second tree head");
      auto h = audit::tree_head_from_json(j);
      if (!h) return usage_error(where + ": " + h.error().to_string());
      head = *h;
      head_json = j;
    } else if (type == "inclusion_proof") {
      if (!j.contains("seq") || !j["seq"].is_number_unsigned()) return usage_error(where + ": key 'seq' missing");
      proofs[j["seq"].get<uint64_t>()] = j;
    } else if (type == "consistency_proof") {
      consistency = j;
    } else {
      return usage_error(where + ": unknown record type '" + type + "'");
    }
  }
  if (!head) return usage_error(export_file + ": no tree_head record");
  keys.check(head_json, *head, "tree head", failures);

  std::set<uint64_t> seen;
  std::vector<AuditHash> leaves;
  for (const auto& e : entries) {
    std::string name = "entry " + std::to_string(e.seq);
    if (!seen.insert(e.seq).second) {
      failures.push_back(name + ": appears twice");
      continue;
    }
    AuditHash leaf = audit::leaf_hash(e);
    leaves.push_back(leaf);
    auto p = proofs.find(e.seq);
    if (p == proofs.end()) {
      failures.push_back(name + ": no inclusion proof");
      continue;
    }
    if (p->second.value("tree_size", uint64_t{0}) != head->tree_size) {
      failures.push_back(name + ": inclusion proof is for another tree size");
      continue;
    }
    auto path = path_from_json(p->second, name);
    if (!path) {
      failures.push_back(path.error().to_string());
      continue;
    }
    if (p->second.value("leaf_hash", "") != audit::to_hex(leaf)) {
      failures.push_back(name + " (" + e.action + " on " + e.object + " by " + e.actor +
                         "): content does not match the leaf hash the log recorded when it was appended");
    }
    if (!audit::verify_inclusion(leaf, e.seq - 1, head->tree_size, *path, head->root_hash)) {
      failures.push_back(name + ": not included in the signed tree head (inclusion proof fails)");
    }
  }
  std::string summary = std::to_string(entries.size()) + " entries included in the signed tree head of " +
                        std::to_string(head->tree_size) + " entries (root " + audit::to_hex(head->root_hash) + ")";
  // A full export: the root recomputed from the leaves must be the signed one.
  bool full = entries.size() == head->tree_size && !seen.empty() && *seen.begin() == 1 && *seen.rbegin() == head->tree_size;
  if (full) {
    std::vector<AuditHash> ordered(head->tree_size);
    for (size_t i = 0; i < entries.size(); ++i) ordered[entries[i].seq - 1] = leaves[i];
    if (audit::root_from_leaves(ordered) != head->root_hash) {
      failures.push_back("root recomputed from all " + std::to_string(head->tree_size) + " entries differs from the signed root");
    } else {
      summary += "; root recomputed from all entries matches";
    }
  }
  if (!old_head_file.empty()) {
    auto oj = read_json_file(old_head_file);
    if (!oj) return usage_error(oj.error().to_string());
    auto old = audit::tree_head_from_json(*oj);
    if (!old) return usage_error(old_head_file + ": " + old.error().to_string());
    keys.check(*oj, *old, "old tree head", failures);
    if (old->tree_size > head->tree_size) {
      failures.push_back("history truncated: the old head has " + std::to_string(old->tree_size) +
                         " entries, the export's head only " + std::to_string(head->tree_size));
    } else if (!consistency) {
      if (old->tree_size == head->tree_size && old->root_hash == head->root_hash) {
        summary += "; same head as the old one";
      } else {
        failures.push_back("no consistency proof in the export (export with --since OLD-HEAD)");
      }
    } else {
      auto cp = path_from_json(*consistency, "consistency proof");
      if (!cp) return usage_error(cp.error().to_string());
      if (consistency->value("old_size", uint64_t{0}) != old->tree_size ||
          consistency->value("new_size", uint64_t{0}) != head->tree_size) {
        failures.push_back("the consistency proof is for other tree sizes than the old head and the export's head");
      } else if (!audit::verify_consistency(old->tree_size, head->tree_size, old->root_hash, head->root_hash, *cp)) {
        failures.push_back("consistency proof from " + std::to_string(old->tree_size) + " to " +
                           std::to_string(head->tree_size) + " entries fails: history was rewritten or truncated");
      } else {
        summary += "; consistent with the old head of " + std::to_string(old->tree_size) + " entries";
      }
    }
  } else if (consistency) {
    summary += "; consistency proof present but not checked (no --old-head)";
  }
  return report(failures, summary);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vigil-audit: export, prove and verify the audit log"};
  app.require_subcommand(1);
  std::string data_dir, out_file, object, actor, from, to, since, export_file, public_key_file, old_head, head_file,
      entry_file, proof_file, old_file, new_file;
  uint64_t size = 0, seq = 0, old_size = 0, new_size = 0;

  auto* head = app.add_subcommand("head", "print the latest signed tree head");
  head->add_option("--data-dir", data_dir, "the store directory (data_dir/db)")->required();
  head->add_option("--size", size, "the head stored at this tree size");
  auto* pub = app.add_subcommand("public-key", "print the public key tree heads are signed with");
  pub->add_option("--data-dir", data_dir)->required();
  auto* exp = app.add_subcommand("export", "entries, the signed head and inclusion proofs as JSON lines");
  exp->add_option("--data-dir", data_dir)->required();
  exp->add_option("--object", object, "everything done to this alert/incident id or object");
  exp->add_option("--actor", actor, "everything this actor did");
  exp->add_option("--from", from, "with --actor: time >= (epoch seconds or YYYY-MM-DDTHH:MM:SSZ)");
  exp->add_option("--to", to, "with --actor: time <");
  exp->add_option("--since", since, "a tree head JSON you hold: add a consistency proof from it");
  exp->add_option("-o,--out", out_file, "write here instead of stdout");
  auto* pinc = app.add_subcommand("prove-inclusion", "inclusion proof of one entry");
  pinc->add_option("--data-dir", data_dir)->required();
  pinc->add_option("--seq", seq)->required();
  pinc->add_option("--size", size, "tree size (default: the latest head)");
  auto* pcons = app.add_subcommand("prove-consistency", "consistency proof between two tree sizes");
  pcons->add_option("--data-dir", data_dir)->required();
  pcons->add_option("--old", old_size)->required();
  pcons->add_option("--new", new_size, "default: the latest head");
  auto* check = app.add_subcommand("check", "recompute every stored leaf and the root against the signed head");
  check->add_option("--data-dir", data_dir)->required();
  check->add_option("--public-key", public_key_file, "the public key you trust (hex)");
  auto* verify = app.add_subcommand("verify", "verify an export offline");
  verify->add_option("--export", export_file)->required();
  verify->add_option("--public-key", public_key_file, "the public key you trust (hex)");
  verify->add_option("--old-head", old_head, "an earlier tree head you hold: the export must be consistent with it");
  auto* vinc = app.add_subcommand("verify-inclusion", "verify one entry's inclusion proof offline");
  vinc->add_option("--head", head_file)->required();
  vinc->add_option("--entry", entry_file)->required();
  vinc->add_option("--proof", proof_file)->required();
  vinc->add_option("--public-key", public_key_file);
  auto* vcons = app.add_subcommand("verify-consistency", "verify that a new tree head extends an old one");
  vcons->add_option("--old", old_file)->required();
  vcons->add_option("--new", new_file)->required();
  vcons->add_option("--proof", proof_file)->required();
  vcons->add_option("--public-key", public_key_file);
  CLI11_PARSE(app, argc, argv);
  (void)core::set_log_level("warn");

  KeyChoice keys;
  if (!public_key_file.empty()) {
    auto k = read_public_key(public_key_file);
    if (!k) return usage_error(k.error().to_string());
    keys.trusted = *k;
  }

  if (*verify) return cmd_verify(export_file, keys, old_head);

  if (*vinc || *vcons) {
    std::vector<std::string> failures;
    auto load_head = [&](const std::string& f, json& j) -> core::Result<SignedTreeHead> {
      auto r = read_json_file(f);
      if (!r) return r.error();
      j = *r;
      auto h = audit::tree_head_from_json(j);
      if (!h) return core::make_error(h.error().to_string(), f);
      return *h;
    };
    auto pj = read_json_file(proof_file);
    if (!pj) return usage_error(pj.error().to_string());
    auto path = path_from_json(*pj, proof_file);
    if (!path) return usage_error(path.error().to_string());
    if (*vinc) {
      json hj;
      auto h = load_head(head_file, hj);
      if (!h) return usage_error(h.error().to_string());
      auto ej = read_json_file(entry_file);
      if (!ej) return usage_error(ej.error().to_string());
      auto e = audit::entry_from_json(*ej);
      if (!e) return usage_error(entry_file + ": " + e.error().to_string());
      keys.check(hj, *h, "tree head", failures);
      if (pj->value("seq", uint64_t{0}) != e->seq || pj->value("tree_size", uint64_t{0}) != h->tree_size) {
        failures.push_back("entry " + std::to_string(e->seq) + ": the proof is for another entry or tree size");
      } else if (!audit::verify_inclusion(audit::leaf_hash(*e), e->seq - 1, h->tree_size, *path, h->root_hash)) {
        failures.push_back("entry " + std::to_string(e->seq) + ": not included in the tree head of " +
                           std::to_string(h->tree_size) + " entries");
      }
      return report(failures, "entry " + std::to_string(e->seq) + " is included in the signed tree head of " +
                                  std::to_string(h->tree_size) + " entries");
    }
    json oj, nj;
    auto o = load_head(old_file, oj);
    if (!o) return usage_error(o.error().to_string());
    auto n = load_head(new_file, nj);
    if (!n) return usage_error(n.error().to_string());
    keys.check(oj, *o, "old tree head", failures);
    keys.check(nj, *n, "new tree head", failures);
    if (o->tree_size > n->tree_size) {
      failures.push_back("history truncated: the new head has " + std::to_string(n->tree_size) + " entries, the old one " +
                         std::to_string(o->tree_size));
    } else if (pj->value("old_size", uint64_t{0}) != o->tree_size || pj->value("new_size", uint64_t{0}) != n->tree_size) {
      failures.push_back("the proof is for other tree sizes than the two heads");
    } else if (!audit::verify_consistency(o->tree_size, n->tree_size, o->root_hash, n->root_hash, *path)) {
      failures.push_back("consistency proof from " + std::to_string(o->tree_size) + " to " + std::to_string(n->tree_size) +
                         " entries fails: history was rewritten or truncated");
    }
    return report(failures, "the head of " + std::to_string(n->tree_size) + " entries extends the head of " +
                                std::to_string(o->tree_size) + " entries");
  }

  // Commands that read the store.
  SecondaryDir sec;
  auto st = open_store(data_dir, sec);
  if (!st) return usage_error(st.error().to_string());
  auto& log = (*st)->audit();
  auto latest = log.tree_head();
  if (!latest) return usage_error(latest.error().to_string());
  auto head_out = [&](const SignedTreeHead& h) {
    auto j = audit::to_json(h);
    j["public_key"] = audit::to_hex(log.public_key());
    return j;
  };

  if (*head) {
    if (size == 0 || size == latest->tree_size) {
      std::cout << dump(head_out(*latest)) << "\n";
      return 0;
    }
    auto h = log.tree_head_at(size);
    if (!h) return usage_error(h.error().to_string());
    if (!h->has_value()) return usage_error("no head was signed at tree size " + std::to_string(size));
    std::cout << dump(head_out(**h)) << "\n";
    return 0;
  }
  if (*pub) {
    std::cout << audit::to_hex(log.public_key()) << "\n";
    return 0;
  }
  if (*pinc) {
    uint64_t n = size ? size : latest->tree_size;
    auto p = log.inclusion_proof(seq, n);
    if (!p) return usage_error(p.error().to_string());
    auto leaf = log.recorded_leaf(seq);
    if (!leaf) return usage_error(leaf.error().to_string());
    std::cout << dump({{"type", "inclusion_proof"}, {"seq", seq}, {"tree_size", n}, {"leaf_hash", audit::to_hex(*leaf)},
                       {"path", path_json(*p)}})
              << "\n";
    return 0;
  }
  if (*pcons) {
    uint64_t n = new_size ? new_size : latest->tree_size;
    if (old_size > n) {
      std::cout << "FAIL: the log has " << n << " entries, fewer than the old size " << old_size << ": truncated\n";
      return 1;
    }
    auto p = log.consistency_proof(old_size, n);
    if (!p) return usage_error(p.error().to_string());
    std::cout << dump({{"type", "consistency_proof"}, {"old_size", old_size}, {"new_size", n}, {"path", path_json(*p)}})
              << "\n";
    return 0;
  }
  if (*check) {
    std::vector<std::string> failures;
    std::vector<AuditHash> leaves;
    const uint64_t n = latest->tree_size;
    for (uint64_t first = 1; first <= n; first += 10000) {
      auto es = log.range(first, std::min(n, first + 9999));
      if (!es) return usage_error(es.error().to_string());
      for (const auto& e : *es) {
        if (e.seq != leaves.size() + 1) {
          failures.push_back("entry " + std::to_string(leaves.size() + 1) + ": missing");
          leaves.push_back({});
          continue;
        }
        AuditHash leaf = audit::leaf_hash(e);
        auto rec = log.recorded_leaf(e.seq);
        if (!rec) return usage_error(rec.error().to_string());
        if (*rec != leaf) {
          failures.push_back("entry " + std::to_string(e.seq) + " (" + e.action + " on " + e.object + " by " + e.actor +
                             "): content does not match the leaf hash the log recorded when it was appended");
        }
        leaves.push_back(leaf);
      }
    }
    if (leaves.size() != n) failures.push_back("the log holds " + std::to_string(leaves.size()) + " entries, the head says " + std::to_string(n));
    keys.check(head_out(*latest), *latest, "tree head", failures);
    if (audit::root_from_leaves(leaves) != latest->root_hash) {
      failures.push_back("root recomputed from the stored entries differs from the signed root");
    }
    return report(failures, std::to_string(n) + " entries; every leaf and the root match the signed tree head");
  }
  if (*exp) {
    std::vector<store::AuditEntry> entries;
    if (!object.empty() && !actor.empty()) return usage_error("--object and --actor exclude each other");
    if (!object.empty()) {
      auto r = log.query_object(object, SIZE_MAX);
      if (!r) return usage_error(r.error().to_string());
      entries = std::move(*r);
    } else if (!actor.empty()) {
      core::Timestamp f{INT64_MIN}, t{INT64_MAX};
      if (!from.empty()) {
        auto v = parse_time(from);
        if (!v) return usage_error("--from: expected epoch seconds or YYYY-MM-DDTHH:MM:SSZ");
        f = *v;
      }
      if (!to.empty()) {
        auto v = parse_time(to);
        if (!v) return usage_error("--to: expected epoch seconds or YYYY-MM-DDTHH:MM:SSZ");
        t = *v;
      }
      auto r = log.query_actor(actor, f, t, SIZE_MAX);
      if (!r) return usage_error(r.error().to_string());
      entries = std::move(*r);
    } else {
      if (!from.empty() || !to.empty()) return usage_error("--from/--to go with --actor");
      auto r = log.range(1, latest->tree_size, SIZE_MAX);
      if (!r) return usage_error(r.error().to_string());
      entries = std::move(*r);
    }
    std::ofstream file;
    if (!out_file.empty()) {
      file.open(out_file, std::ios::trunc);
      if (!file) return usage_error("cannot write " + out_file);
    }
    std::ostream& out = out_file.empty() ? std::cout : file;
    if (auto s = log.export_jsonl(entries, out); !s) return usage_error(s.error().to_string());
    if (!since.empty()) {
      auto oj = read_json_file(since);
      if (!oj) return usage_error(oj.error().to_string());
      auto old = audit::tree_head_from_json(*oj);
      if (!old) return usage_error(since + ": " + old.error().to_string());
      if (old->tree_size > latest->tree_size) {
        std::cerr << "vigil-audit: the log has " << latest->tree_size << " entries, fewer than the " << old->tree_size
                  << " of " << since << ": history truncated\n";
        return 1;
      }
      auto p = log.consistency_proof(old->tree_size, latest->tree_size);
      if (!p) return usage_error(p.error().to_string());
      out << dump({{"type", "consistency_proof"}, {"old_size", old->tree_size}, {"new_size", latest->tree_size},
                   {"path", path_json(*p)}})
          << "\n";
    }
    out.flush();
    if (!out) return usage_error("write failed");
    return 0;
  }
  return usage_error("no command");
}
