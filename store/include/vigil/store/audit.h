// The tamper-evident audit log (DESIGN §7, issue 5): append-only entries in the store's `audit`
// column family, a Merkle tree over them with RFC 6962/9162 hashing, signed tree heads (Ed25519),
// inclusion and consistency proofs, auditor queries and JSON-lines export. docs/audit.md has the
// formats (canonical entry bytes, the signed message, the export) for independent verifiers.
//
// Writing: build an AuditEntry (seq and time are left 0: the store assigns them) and pass it to
// CommitBatch::append_audit in the same batch as the state change it records; Store::commit
// applies both in one RocksDB WriteBatch, so the change and its entry are durable together or
// not at all. Seqs start at 1, follow commit order and have no gaps (also across restarts).
// Actors are pseudonyms (user names, service names), never clear PII.
//
// Reading (AuditLog): any thread, concurrently with commits. Every method returns a Result or
// Status; nothing throws.
//
// Verifying (namespace audit): pure functions that follow RFC 9162's verification algorithms
// (§2.1.3.2, §2.1.4.2) and never call the proof generator; the `vigil-audit` CLI uses them on
// exported data, offline.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "vigil/core/alert.h"
#include "vigil/core/result.h"
#include "vigil/core/time.h"

namespace vigil::store {

struct AuditEntry {
  uint64_t seq = 0;        // assigned at commit: 1, 2, 3, ... with no gaps
  core::Timestamp time;    // assigned at commit (never decreases with seq)
  std::string actor;       // user or service pseudonym ("analyst7", "correlator", "feeds")
  std::string actor_tenant;
  std::string actor_role;  // analyst, lead, agency, auditor, admin, or "system"
  std::string source;      // where the request came from: "cli", "console 10.0.0.5", "zmq"
  std::string action;      // "alert.status", "alert.assign", "alert.note", "incident.create", "policy.reload", "login", "unmask", "export", ...
  std::string object;      // alert/incident id (32 hex digits) or another object name ("policy", "user:x")
  std::string before_hash, after_hash;  // audit::record_hash of the record before/after ("" when none)
  std::string decision;    // policy decision: "allow", "deny" (or "" when no policy was asked)
  std::string rule;        // the policy rule behind the decision
  std::string reason;      // typed reason (unmask, export) or a short description

  friend bool operator==(const AuditEntry&, const AuditEntry&) = default;
};

using AuditHash = std::array<uint8_t, 32>;
using AuditPublicKey = std::array<uint8_t, 32>;
using AuditSignature = std::array<uint8_t, 64>;

// A signed tree head: the state of the whole log at tree_size entries.
struct SignedTreeHead {
  uint64_t tree_size = 0;
  AuditHash root_hash{};
  core::Timestamp timestamp;
  AuditSignature signature{};
  friend bool operator==(const SignedTreeHead&, const SignedTreeHead&) = default;
};

namespace audit {

// ---- formats (docs/audit.md) ----

// The bytes the leaf hash covers: 0x01 (format version), seq (8, BE), time usec (8, BE, two's
// complement), then the eleven strings of AuditEntry in declaration order, each as length (4, BE)
// and bytes.
std::string canonical_bytes(const AuditEntry& e);
AuditHash leaf_hash(const AuditEntry& e);                  // SHA-256(0x00 || canonical_bytes)
AuditHash leaf_hash_of_bytes(std::string_view canonical);  // SHA-256(0x00 || canonical)
AuditHash node_hash(const AuditHash& left, const AuditHash& right);  // SHA-256(0x01 || l || r)
AuditHash empty_root();                                    // SHA-256("")
// The message a tree head's signature covers: "vigil-audit-sth-v1" || tree_size (8, BE) ||
// timestamp usec (8, BE) || root_hash (32).
std::string tree_head_message(const SignedTreeHead& h);

// Hex SHA-256 of a record's JSON text, for before_hash/after_hash.
std::string record_hash(std::string_view json_text);
std::string record_hash(const core::Alert& a);     // of core::to_json(a).dump()
std::string record_hash(const core::Incident& i);  // of core::to_json(i).dump()

// Strings are stored as valid UTF-8 (invalid bytes become U+FFFD at append) so that every entry
// exports as JSON and round-trips to the same canonical bytes.
std::string sanitize_utf8(std::string_view s);

std::string to_hex(const uint8_t* p, size_t n);
template <size_t N>
std::string to_hex(const std::array<uint8_t, N>& a) { return to_hex(a.data(), N); }
// Parses exactly N bytes of hex (either case); nullopt on anything else.
std::optional<AuditHash> hash_from_hex(std::string_view hex);
std::optional<AuditPublicKey> public_key_from_hex(std::string_view hex);
std::optional<AuditSignature> signature_from_hex(std::string_view hex);

// JSON forms used by the export and the CLI. Entries: {"type":"entry","seq":..,"time":usec,
// "time_text":"...", "actor":..., ...}; tree heads: {"type":"tree_head","tree_size":..,
// "root_hash":hex,"timestamp":usec,"signature":hex}. The *_from_json parsers name the bad key.
nlohmann::json to_json(const AuditEntry& e);
core::Result<AuditEntry> entry_from_json(const nlohmann::json& j);
nlohmann::json to_json(const SignedTreeHead& h);
core::Result<SignedTreeHead> tree_head_from_json(const nlohmann::json& j);

// ---- verification (independent of the generator; RFC 9162) ----

// §2.1.3.2: is `leaf` at `index` (0-based: seq - 1) of a tree of `tree_size` with `root`?
bool verify_inclusion(const AuditHash& leaf, uint64_t index, uint64_t tree_size, const std::vector<AuditHash>& path,
                      const AuditHash& root);
// §2.1.4.2: is the tree (first, first_root) a prefix of (second, second_root)? first == second
// needs an empty proof and equal roots; first == 0 needs an empty proof.
bool verify_consistency(uint64_t first, uint64_t second, const AuditHash& first_root, const AuditHash& second_root,
                        const std::vector<AuditHash>& proof);
bool verify_tree_head(const SignedTreeHead& head, const AuditPublicKey& key);
// MTH (RFC 9162 §2.1.1) of a list of leaf hashes, computed from scratch.
AuditHash root_from_leaves(const std::vector<AuditHash>& leaves);

// ---- generation over any node source (used by AuditLog; public for tests) ----

// Returns the hash of the perfect subtree at `level` (0 = leaves) and `index` (covering leaves
// [index << level, (index + 1) << level)), or nullopt when it cannot be read.
using NodeSource = std::function<std::optional<AuditHash>(unsigned level, uint64_t index)>;
core::Result<AuditHash> subtree_root(const NodeSource& nodes, uint64_t begin, uint64_t end);  // MTH(D[begin:end])
core::Result<std::vector<AuditHash>> inclusion_path(const NodeSource& nodes, uint64_t index, uint64_t tree_size);
core::Result<std::vector<AuditHash>> consistency_path(const NodeSource& nodes, uint64_t first, uint64_t second);

}  // namespace audit

// The log as the store keeps it. Obtained from Store::audit(); lives as long as the Store.
class AuditLog {
 public:
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Entries durable so far (= the seq of the last one).
  [[nodiscard]] uint64_t size() const;
  // The latest signed tree head (one is signed and stored with every commit that appends
  // entries, and one for the empty log at first open).
  core::Result<SignedTreeHead> tree_head() const;
  // The stored signed head of exactly tree_size entries, if one was signed at that size.
  core::Result<std::optional<SignedTreeHead>> tree_head_at(uint64_t tree_size) const;
  // MTH of the first tree_size entries (O(log n) node reads).
  core::Result<AuditHash> root_at(uint64_t tree_size) const;
  // RFC 9162 §2.1.3.1: audit path of entry `seq` (1-based) in the tree of tree_size entries.
  core::Result<std::vector<AuditHash>> inclusion_proof(uint64_t seq, uint64_t tree_size) const;
  // RFC 9162 §2.1.4.1: consistency proof between the trees of old_size and new_size entries.
  core::Result<std::vector<AuditHash>> consistency_proof(uint64_t old_size, uint64_t new_size) const;

  // The leaf hash the tree recorded for entry `seq` when it was appended (compare with
  // audit::leaf_hash of the stored entry to find an edited entry).
  core::Result<AuditHash> recorded_leaf(uint64_t seq) const;

  core::Result<std::optional<AuditEntry>> get(uint64_t seq) const;
  // Entries with first_seq <= seq <= last_seq, at most limit.
  core::Result<std::vector<AuditEntry>> range(uint64_t first_seq, uint64_t last_seq, size_t limit = 100000) const;
  // Everything done to one object (alert/incident id or name), in seq order (index scan).
  core::Result<std::vector<AuditEntry>> query_object(const std::string& object, size_t limit = 100000) const;
  // Everything one actor did with from <= time < to, in time order (index scan).
  core::Result<std::vector<AuditEntry>> query_actor(const std::string& actor, core::Timestamp from, core::Timestamp to,
                                                    size_t limit = 100000) const;

  // JSON lines: each entry, then the latest signed tree head, then one inclusion proof
  // {"type":"inclusion_proof","seq","tree_size","leaf_hash","path":[hex...]} per entry against
  // that head. Entries must come from this log (seq <= size()).
  core::Status export_jsonl(const std::vector<AuditEntry>& entries, std::ostream& out) const;

  // The Ed25519 public key tree heads are signed with (zero when the log was opened without it).
  [[nodiscard]] const AuditPublicKey& public_key() const;

  struct Impl;

 private:
  friend class Store;
  explicit AuditLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::store
