// The audit log's state inside the store (store.cpp calls stage/publish around its WriteBatch).
//
// audit column family:
//   'e' seq(8)                              -> canonical entry bytes (audit::canonical_bytes)
//   'n' level(1) index(8)                   -> 32-byte hash of a perfect subtree (level 0: leaves)
//   'h' tree_size(8)                        -> signed tree head: timestamp(8) root(32) signature(64)
//   'o' len(1) object(<=255) seq(8)         -> ""  (index: everything done to an object)
//   'a' len(1) actor(<=255) time(8) seq(8)  -> ""  (index: everything an actor did, by time)
//   'k'                                     -> the Ed25519 public key (32) heads are signed with
// All integers big-endian; times sign-flipped so they sort.
#pragma once

#include <mutex>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "vigil/store/audit.h"

namespace vigil::store {

struct AuditLog::Impl {
  rocksdb::DB* db = nullptr;
  rocksdb::ColumnFamilyHandle* cf = nullptr;
  bool can_sign = false;
  std::array<uint8_t, 64> secret_key{};
  AuditPublicKey public_key{};

  // Held by Store::commit from stage() until publish() (or failure), so seqs follow commit order.
  std::mutex append_mu;

  // The published state (what readers see); guarded by state_mu.
  struct State {
    uint64_t size = 0;
    int64_t last_time = INT64_MIN;
    std::array<AuditHash, 64> frontier{};  // frontier[l] = last complete subtree at level l
    SignedTreeHead head;
  };
  mutable std::mutex state_mu;
  State state;

  ~Impl();

  // Loads the state; when `key_file` is non-empty, loads or creates the signing key there (0600)
  // and, when writable, signs and stores a head for the current size if there is none.
  static core::Result<std::unique_ptr<AuditLog>> open(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
                                                      const std::string& key_file, bool writable, bool sync);

  // Assigns seq and time to `entries`, adds their keys, tree nodes and a new signed head to `wb`,
  // and computes the state after the write into `next`. Caller holds append_mu.
  core::Status stage(std::vector<AuditEntry>& entries, rocksdb::WriteBatch& wb, State& next);
  void publish(const State& next);
  // Reads size, frontier and latest head from the database into `st` (open, and reload).
  core::Status load_state(State& st, bool* have_head) const;
  // Readers of a store that follows a writer (Store::catch_up): re-read the state and publish it.
  core::Status reload();

  State snapshot() const {
    std::lock_guard<std::mutex> g(state_mu);
    return state;
  }
  std::optional<AuditHash> node(unsigned level, uint64_t index) const;
  audit::NodeSource nodes() const;
};

}  // namespace vigil::store
