// AuditLog: the audit column family (layout in audit_internal.h), the in-memory frontier of the
// Merkle tree (one complete subtree hash per level, enough to append and to compute the root),
// the signing key, queries and export.
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "audit_internal.h"
#include "keys.h"
#include "vigil/core/log.h"

namespace vigil::store {

using core::make_error;
using core::Result;
using core::Status;

namespace {

constexpr char kEntry = 'e', kNode = 'n', kHead = 'h', kObject = 'o', kActor = 'a', kKey = 'k';

std::string entry_key(uint64_t seq) {
  std::string k(1, kEntry);
  keys::put_be64(k, seq);
  return k;
}
std::string node_key(unsigned level, uint64_t index) {
  std::string k(1, kNode);
  k += static_cast<char>(level);
  keys::put_be64(k, index);
  return k;
}
std::string head_key(uint64_t size) {
  std::string k(1, kHead);
  keys::put_be64(k, size);
  return k;
}
std::string name_prefix(char tag, std::string_view name) {
  std::string k(1, tag);
  name = name.substr(0, 255);
  k += static_cast<char>(name.size());
  k.append(name);
  return k;
}

std::string_view sv(const rocksdb::Slice& s) { return {s.data(), s.size()}; }

core::Error rocks_status(const rocksdb::Status& s, const std::string& what) {
  return make_error(what + ": " + s.ToString(), "audit");
}

std::string encode_head(const SignedTreeHead& h) {
  std::string v;
  keys::put_be64(v, static_cast<uint64_t>(h.timestamp.usec));
  v.append(reinterpret_cast<const char*>(h.root_hash.data()), 32);
  v.append(reinterpret_cast<const char*>(h.signature.data()), 64);
  return v;
}
std::optional<SignedTreeHead> decode_head(uint64_t size, std::string_view v) {
  if (v.size() != 8 + 32 + 64) return std::nullopt;
  SignedTreeHead h;
  h.tree_size = size;
  h.timestamp.usec = static_cast<int64_t>(keys::get_be64(v, 0));
  std::memcpy(h.root_hash.data(), v.data() + 8, 32);
  std::memcpy(h.signature.data(), v.data() + 40, 64);
  return h;
}

// The inverse of audit::canonical_bytes.
std::optional<AuditEntry> decode_entry(std::string_view v) {
  if (v.size() < 17 || v[0] != '\x01') return std::nullopt;
  AuditEntry e;
  e.seq = keys::get_be64(v, 1);
  e.time.usec = static_cast<int64_t>(keys::get_be64(v, 9));
  size_t at = 17;
  for (std::string* s : {&e.actor, &e.actor_tenant, &e.actor_role, &e.source, &e.action, &e.object, &e.before_hash,
                         &e.after_hash, &e.decision, &e.rule, &e.reason}) {
    if (at + 4 > v.size()) return std::nullopt;
    uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n = n << 8 | static_cast<uint8_t>(v[at + i]);
    at += 4;
    if (at + n > v.size()) return std::nullopt;
    s->assign(v.data() + at, n);
    at += n;
  }
  if (at != v.size()) return std::nullopt;
  return e;
}

AuditHash root_of(const std::array<AuditHash, 64>& frontier, uint64_t size) {
  if (size == 0) return audit::empty_root();
  // The perfect subtrees of a tree of `size` leaves are the set bits of size, largest leftmost;
  // the RFC's MTH folds them from the right.
  int low = std::countr_zero(size);
  AuditHash acc = frontier[low];
  for (int l = low + 1; l < 64; ++l) {
    if (size >> l & 1) acc = audit::node_hash(frontier[l], acc);
  }
  return acc;
}

Status read_file(const std::string& path, std::string& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return make_error("cannot read: " + std::string(std::strerror(errno)), path);
  std::stringstream ss;
  ss << f.rdbuf();
  out = ss.str();
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' ')) out.pop_back();
  return {};
}

// Writes `text` to a new file with `mode`; fails when it exists.
Status write_new_file(const std::string& path, const std::string& text, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return make_error("cannot create: " + std::string(std::strerror(errno)), path);
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string err = std::strerror(errno);
      ::close(fd);
      return make_error("cannot write: " + err, path);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return make_error("cannot write: " + std::string(std::strerror(errno)), path);
  return {};
}

}  // namespace

AuditLog::AuditLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AuditLog::~AuditLog() = default;
AuditLog::Impl::~Impl() { sodium_memzero(secret_key.data(), secret_key.size()); }

std::optional<AuditHash> AuditLog::Impl::node(unsigned level, uint64_t index) const {
  std::string v;
  auto s = db->Get(rocksdb::ReadOptions(), cf, node_key(level, index), &v);
  if (!s.ok() || v.size() != 32) return std::nullopt;
  AuditHash h;
  std::memcpy(h.data(), v.data(), 32);
  return h;
}

audit::NodeSource AuditLog::Impl::nodes() const {
  return [this](unsigned level, uint64_t index) { return node(level, index); };
}

Status AuditLog::Impl::load_state(State& st, bool* have_head) const {
  st = State{};
  *have_head = false;
  // Size and time of the last entry.
  {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), cf));
    it->SeekForPrev(entry_key(UINT64_MAX));
    if (!it->status().ok()) return rocks_status(it->status(), "read audit log");
    if (it->Valid() && it->key().size() == 9 && it->key()[0] == kEntry) {
      st.size = keys::get_be64(sv(it->key()), 1);
      auto e = decode_entry(sv(it->value()));
      if (!e) return make_error("audit entry " + std::to_string(st.size) + " is corrupt", "audit");
      st.last_time = e->time.usec;
    }
  }
  for (unsigned l = 0; l < 64 && (st.size >> l) != 0; ++l) {
    uint64_t index = (st.size >> l) - 1;
    auto h = node(l, index);
    if (!h) {
      return make_error("audit tree node level " + std::to_string(l) + " index " + std::to_string(index) +
                            " is missing (log of " + std::to_string(st.size) + " entries)",
                        "audit");
    }
    st.frontier[l] = *h;
  }
  // The latest signed head.
  {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), cf));
    it->SeekForPrev(head_key(UINT64_MAX));
    if (!it->status().ok()) return rocks_status(it->status(), "read audit head");
    if (it->Valid() && it->key().size() == 9 && it->key()[0] == kHead) {
      auto h = decode_head(keys::get_be64(sv(it->key()), 1), sv(it->value()));
      if (!h) return make_error("stored audit tree head is corrupt", "audit");
      st.head = *h;
      *have_head = true;
    }
  }
  return {};
}

Status AuditLog::Impl::reload() {
  State next;
  bool have_head = false;
  if (auto st = load_state(next, &have_head); !st) return st;
  if (public_key == AuditPublicKey{}) {
    std::string stored_key;
    if (db->Get(rocksdb::ReadOptions(), cf, std::string(1, kKey), &stored_key).ok() && stored_key.size() == 32) {
      std::memcpy(public_key.data(), stored_key.data(), 32);
    }
  }
  publish(next);
  return {};
}

Result<std::unique_ptr<AuditLog>> AuditLog::Impl::open(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
                                                       const std::string& key_file, bool writable, bool sync) {
  if (sodium_init() < 0) return make_error("libsodium failed to initialise", "audit");
  auto im = std::make_unique<Impl>();
  im->db = db;
  im->cf = cf;
  auto log = core::logger("store");

  // The signing key: created on the first writable open, secret file mode 0600. Readers never
  // load it: they take the public key stored in the log.
  if (!key_file.empty() && writable) {
    std::error_code ec;
    bool exists = std::filesystem::exists(key_file, ec);
    if (!exists && writable) {
      AuditPublicKey pk;
      crypto_sign_keypair(pk.data(), im->secret_key.data());
      if (auto st = write_new_file(key_file, audit::to_hex(im->secret_key) + "\n", 0600); !st) return st.error();
      std::string pub_file = key_file + ".pub";
      std::filesystem::remove(pub_file, ec);
      if (auto st = write_new_file(pub_file, audit::to_hex(pk) + "\n", 0644); !st) return st.error();
      im->public_key = pk;
      im->can_sign = true;
      log->info("audit: created signing key {} (public key {})", key_file, audit::to_hex(pk));
    } else if (exists) {
      std::string text;
      if (auto st = read_file(key_file, text); !st) {
        return st.error();
      } else {
        auto sk = audit::signature_from_hex(text);  // 64 bytes, same shape as a signature
        if (!sk) return make_error("not an Ed25519 secret key (128 hex digits)", key_file);
        im->secret_key = *sk;
        crypto_sign_ed25519_sk_to_pk(im->public_key.data(), im->secret_key.data());
        im->can_sign = true;
        struct stat stt {};
        if (::stat(key_file.c_str(), &stt) == 0 && (stt.st_mode & 077) != 0) {
          log->warn("audit: signing key {} is readable by group or others (mode {:o}); chmod 600 it", key_file,
                    stt.st_mode & 0777);
        }
      }
    }
  }

  std::string stored_key;
  auto s = db->Get(rocksdb::ReadOptions(), cf, std::string(1, kKey), &stored_key);
  if (!s.ok() && !s.IsNotFound()) return rocks_status(s, "read audit key");
  if (s.ok()) {
    if (stored_key.size() != 32) return make_error("stored audit public key is corrupt", "audit");
    AuditPublicKey pk;
    std::memcpy(pk.data(), stored_key.data(), 32);
    if (im->can_sign && pk != im->public_key) {
      return make_error("signing key does not match the key this audit log was signed with (" + audit::to_hex(pk) + ")",
                        key_file);
    }
    im->public_key = pk;
  }

  bool have_head = false;
  if (auto ls = im->load_state(im->state, &have_head); !ls) return ls.error();
  State& st = im->state;
  if (writable && im->can_sign && (!have_head || st.head.tree_size != st.size || stored_key.empty())) {
    SignedTreeHead h;
    h.tree_size = st.size;
    h.root_hash = root_of(st.frontier, st.size);
    h.timestamp = core::Timestamp::now();
    auto m = audit::tree_head_message(h);
    crypto_sign_detached(h.signature.data(), nullptr, reinterpret_cast<const unsigned char*>(m.data()), m.size(),
                         im->secret_key.data());
    rocksdb::WriteBatch wb;
    (void)wb.Put(cf, head_key(h.tree_size), encode_head(h));
    (void)wb.Put(cf, std::string(1, kKey),
                 std::string(reinterpret_cast<const char*>(im->public_key.data()), im->public_key.size()));
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    if (auto ws = db->Write(wo, &wb); !ws.ok()) return rocks_status(ws, "write audit head");
    st.head = h;
  }
  return std::unique_ptr<AuditLog>(new AuditLog(std::move(im)));
}

Status AuditLog::Impl::stage(std::vector<AuditEntry>& entries, rocksdb::WriteBatch& wb, State& next) {
  if (!can_sign) return make_error("the audit log is read-only here (no signing key)", "audit");
  next = snapshot();
  auto now = core::Timestamp::now();
  int64_t t = std::max(now.usec, next.last_time);
  for (auto& e : entries) {
    for (std::string* s : {&e.actor, &e.actor_tenant, &e.actor_role, &e.source, &e.action, &e.object, &e.before_hash,
                           &e.after_hash, &e.decision, &e.rule, &e.reason}) {
      *s = audit::sanitize_utf8(*s);
    }
    e.seq = ++next.size;
    e.time.usec = t;
    next.last_time = t;
    std::string bytes = audit::canonical_bytes(e);
    AuditHash cur = audit::leaf_hash_of_bytes(bytes);
    if (auto s = wb.Put(cf, entry_key(e.seq), bytes); !s.ok()) return rocks_status(s, "audit batch");
    // Append leaf e.seq - 1: every level where the new leaf completes a subtree gets a node.
    uint64_t idx = e.seq - 1;
    unsigned level = 0;
    (void)wb.Put(cf, node_key(0, idx), rocksdb::Slice(reinterpret_cast<const char*>(cur.data()), 32));
    while (idx & 1) {
      AuditHash left = next.frontier[level];
      next.frontier[level] = cur;
      cur = audit::node_hash(left, cur);
      idx >>= 1;
      ++level;
      (void)wb.Put(cf, node_key(level, idx), rocksdb::Slice(reinterpret_cast<const char*>(cur.data()), 32));
    }
    next.frontier[level] = cur;

    std::string ok = name_prefix(kObject, e.object);
    keys::put_be64(ok, e.seq);
    (void)wb.Put(cf, ok, rocksdb::Slice());
    std::string ak = name_prefix(kActor, e.actor);
    keys::put_be64(ak, keys::ordered_time(e.time.usec));
    keys::put_be64(ak, e.seq);
    (void)wb.Put(cf, ak, rocksdb::Slice());
  }
  SignedTreeHead& h = next.head;
  h.tree_size = next.size;
  h.root_hash = root_of(next.frontier, next.size);
  h.timestamp.usec = std::max(now.usec, h.timestamp.usec);
  auto m = audit::tree_head_message(h);
  crypto_sign_detached(h.signature.data(), nullptr, reinterpret_cast<const unsigned char*>(m.data()), m.size(),
                       secret_key.data());
  if (auto s = wb.Put(cf, head_key(h.tree_size), encode_head(h)); !s.ok()) return rocks_status(s, "audit batch");
  return {};
}

void AuditLog::Impl::publish(const State& next) {
  std::lock_guard<std::mutex> g(state_mu);
  state = next;
}

// ---- AuditLog ----

uint64_t AuditLog::size() const { return impl_->snapshot().size; }

Result<SignedTreeHead> AuditLog::tree_head() const {
  auto st = impl_->snapshot();
  if (st.head.tree_size != st.size) {
    return make_error("no signed tree head for the current " + std::to_string(st.size) +
                          " entries (the log was opened read-only before any head was signed)",
                      "audit");
  }
  return st.head;
}

Result<std::optional<SignedTreeHead>> AuditLog::tree_head_at(uint64_t tree_size) const {
  std::string v;
  auto s = impl_->db->Get(rocksdb::ReadOptions(), impl_->cf, head_key(tree_size), &v);
  if (s.IsNotFound()) return std::optional<SignedTreeHead>();
  if (!s.ok()) return rocks_status(s, "read audit head");
  auto h = decode_head(tree_size, v);
  if (!h) return make_error("stored audit tree head " + std::to_string(tree_size) + " is corrupt", "audit");
  return std::optional<SignedTreeHead>(*h);
}

Result<AuditHash> AuditLog::root_at(uint64_t tree_size) const {
  if (tree_size > size()) {
    return make_error("tree size " + std::to_string(tree_size) + " is beyond the log (" + std::to_string(size()) + ")",
                      "audit");
  }
  return audit::subtree_root(impl_->nodes(), 0, tree_size);
}

Result<std::vector<AuditHash>> AuditLog::inclusion_proof(uint64_t seq, uint64_t tree_size) const {
  if (tree_size > size()) {
    return make_error("tree size " + std::to_string(tree_size) + " is beyond the log (" + std::to_string(size()) + ")",
                      "audit");
  }
  if (seq == 0 || seq > tree_size) {
    return make_error("no entry " + std::to_string(seq) + " in a tree of " + std::to_string(tree_size), "audit");
  }
  return audit::inclusion_path(impl_->nodes(), seq - 1, tree_size);
}

Result<std::vector<AuditHash>> AuditLog::consistency_proof(uint64_t old_size, uint64_t new_size) const {
  if (new_size > size()) {
    return make_error("tree size " + std::to_string(new_size) + " is beyond the log (" + std::to_string(size()) + ")",
                      "audit");
  }
  return audit::consistency_path(impl_->nodes(), old_size, new_size);
}

Result<AuditHash> AuditLog::recorded_leaf(uint64_t seq) const {
  if (seq == 0 || seq > size()) return make_error("no audit entry " + std::to_string(seq), "audit");
  auto h = impl_->node(0, seq - 1);
  if (!h) return make_error("audit leaf " + std::to_string(seq) + " is missing", "audit");
  return *h;
}

Result<std::optional<AuditEntry>> AuditLog::get(uint64_t seq) const {
  std::string v;
  auto s = impl_->db->Get(rocksdb::ReadOptions(), impl_->cf, entry_key(seq), &v);
  if (s.IsNotFound()) return std::optional<AuditEntry>();
  if (!s.ok()) return rocks_status(s, "read audit entry");
  auto e = decode_entry(v);
  if (!e) return make_error("audit entry " + std::to_string(seq) + " is corrupt", "audit");
  return std::optional<AuditEntry>(std::move(*e));
}

namespace {

Result<std::vector<AuditEntry>> fetch(const AuditLog::Impl& im, const std::vector<uint64_t>& seqs) {
  std::vector<std::string> ks;
  ks.reserve(seqs.size());
  for (auto s : seqs) ks.push_back(entry_key(s));
  std::vector<rocksdb::Slice> slices(ks.begin(), ks.end());
  std::vector<rocksdb::PinnableSlice> values(ks.size());
  std::vector<rocksdb::Status> statuses(ks.size());
  im.db->MultiGet(rocksdb::ReadOptions(), im.cf, slices.size(), slices.data(), values.data(), statuses.data());
  std::vector<AuditEntry> out;
  out.reserve(seqs.size());
  for (size_t i = 0; i < ks.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;
    if (!statuses[i].ok()) return rocks_status(statuses[i], "read audit entry");
    auto e = decode_entry(sv(values[i]));
    if (!e) return make_error("audit entry " + std::to_string(seqs[i]) + " is corrupt", "audit");
    out.push_back(std::move(*e));
  }
  return out;
}

}  // namespace

Result<std::vector<AuditEntry>> AuditLog::range(uint64_t first_seq, uint64_t last_seq, size_t limit) const {
  std::vector<AuditEntry> out;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cf));
  std::string end = entry_key(last_seq);
  for (it->Seek(entry_key(first_seq)); it->Valid() && it->key().compare(end) <= 0 && out.size() < limit; it->Next()) {
    auto e = decode_entry(sv(it->value()));
    if (!e) return make_error("audit entry " + std::to_string(keys::get_be64(sv(it->key()), 1)) + " is corrupt", "audit");
    out.push_back(std::move(*e));
  }
  if (!it->status().ok()) return rocks_status(it->status(), "read audit log");
  return out;
}

Result<std::vector<AuditEntry>> AuditLog::query_object(const std::string& object, size_t limit) const {
  std::string prefix = name_prefix(kObject, object);
  std::vector<AuditEntry> out;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cf));
  it->Seek(prefix);
  while (out.size() < limit) {
    std::vector<uint64_t> seqs;
    for (; it->Valid() && it->key().starts_with(prefix) && seqs.size() < 256; it->Next()) {
      if (it->key().size() == prefix.size() + 8) seqs.push_back(keys::get_be64(sv(it->key()), prefix.size()));
    }
    if (!it->status().ok()) return rocks_status(it->status(), "audit object index");
    if (seqs.empty()) break;
    auto es = fetch(*impl_, seqs);
    if (!es) return es.error();
    for (auto& e : *es) {
      if (e.object == object && out.size() < limit) out.push_back(std::move(e));  // names past 255 bytes share a prefix
    }
  }
  return out;
}

Result<std::vector<AuditEntry>> AuditLog::query_actor(const std::string& actor, core::Timestamp from,
                                                      core::Timestamp to, size_t limit) const {
  std::string prefix = name_prefix(kActor, actor);
  std::string begin = prefix, end = prefix;
  keys::put_be64(begin, keys::ordered_time(from.usec));
  keys::put_be64(end, keys::ordered_time(to.usec));
  std::vector<AuditEntry> out;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cf));
  it->Seek(begin);
  while (out.size() < limit) {
    std::vector<uint64_t> seqs;
    for (; it->Valid() && it->key().compare(end) < 0 && seqs.size() < 256; it->Next()) {
      if (it->key().size() == prefix.size() + 16) seqs.push_back(keys::get_be64(sv(it->key()), prefix.size() + 8));
    }
    if (!it->status().ok()) return rocks_status(it->status(), "audit actor index");
    if (seqs.empty()) break;
    auto es = fetch(*impl_, seqs);
    if (!es) return es.error();
    for (auto& e : *es) {
      if (e.actor == actor && e.time >= from && e.time < to && out.size() < limit) out.push_back(std::move(e));
    }
  }
  return out;
}

Status AuditLog::export_jsonl(const std::vector<AuditEntry>& entries, std::ostream& out) const {
  auto head = tree_head();
  if (!head) return head.error();
  auto dump = [](const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); };
  for (const auto& e : entries) {
    if (e.seq == 0 || e.seq > head->tree_size) {
      return make_error("entry " + std::to_string(e.seq) + " is not in the log of " + std::to_string(head->tree_size),
                        "audit export");
    }
    out << dump(audit::to_json(e)) << '\n';
  }
  auto hj = audit::to_json(*head);
  hj["public_key"] = audit::to_hex(impl_->public_key);
  out << dump(hj) << '\n';
  for (const auto& e : entries) {
    auto path = inclusion_proof(e.seq, head->tree_size);
    if (!path) return path.error();
    // The leaf as the tree recorded it at append time (not recomputed from the entry): a changed
    // entry then no longer matches its own proof.
    auto leaf = impl_->node(0, e.seq - 1);
    if (!leaf) return make_error("audit leaf " + std::to_string(e.seq) + " is missing", "audit export");
    nlohmann::json p = nlohmann::json::array();
    for (const auto& h : *path) p.push_back(audit::to_hex(h));
    out << dump({{"type", "inclusion_proof"},
                 {"seq", e.seq},
                 {"tree_size", head->tree_size},
                 {"leaf_hash", audit::to_hex(*leaf)},
                 {"path", p}})
        << '\n';
  }
  if (!out) return make_error("write failed", "audit export");
  return {};
}

const AuditPublicKey& AuditLog::public_key() const { return impl_->public_key; }

}  // namespace vigil::store
