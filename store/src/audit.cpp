// Audit formats (canonical entry bytes, hashes, JSON forms) and the RFC 9162 verifier. The
// verifier functions below never call the generator (audit_proof.cpp): they implement the RFC's
// verification algorithms step by step, so a bug in one does not hide a bug in the other.
#include <sodium.h>

#include <bit>
#include <cstring>

#include "vigil/store/audit.h"

namespace vigil::store::audit {

using core::make_error;

namespace {

struct SodiumInit {
  // Idempotent; fails only without an entropy source, which only key generation needs
  // (AuditLog::Impl::open checks it there).
  SodiumInit() { ok = sodium_init() >= 0; }
  bool ok = false;
};
void ensure_sodium() { static SodiumInit once; }

void put_be64(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out += static_cast<char>(v >> (8 * i));
}
void put_be32(std::string& out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out += static_cast<char>(v >> (8 * i));
}
void put_str(std::string& out, const std::string& s) {
  put_be32(out, static_cast<uint32_t>(s.size()));
  out += s;
}

AuditHash sha256_parts(std::initializer_list<std::string_view> parts) {
  ensure_sodium();
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  for (auto p : parts) crypto_hash_sha256_update(&st, reinterpret_cast<const unsigned char*>(p.data()), p.size());
  AuditHash h;
  crypto_hash_sha256_final(&st, h.data());
  return h;
}

std::string_view view(const AuditHash& h) { return {reinterpret_cast<const char*>(h.data()), h.size()}; }

template <size_t N>
std::optional<std::array<uint8_t, N>> from_hex(std::string_view hex) {
  if (hex.size() != 2 * N) return std::nullopt;
  std::array<uint8_t, N> out{};
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < N; ++i) {
    int hi = nib(hex[2 * i]), lo = nib(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

}  // namespace

std::string canonical_bytes(const AuditEntry& e) {
  std::string out;
  out.reserve(17 + 11 * 4 + e.actor.size() + e.object.size() + e.reason.size() + 160);
  out += '\x01';
  put_be64(out, e.seq);
  put_be64(out, static_cast<uint64_t>(e.time.usec));
  for (const std::string* s : {&e.actor, &e.actor_tenant, &e.actor_role, &e.source, &e.action, &e.object, &e.before_hash,
                               &e.after_hash, &e.decision, &e.rule, &e.reason}) {
    put_str(out, *s);
  }
  return out;
}

AuditHash leaf_hash_of_bytes(std::string_view canonical) { return sha256_parts({std::string_view("\0", 1), canonical}); }
AuditHash leaf_hash(const AuditEntry& e) { return leaf_hash_of_bytes(canonical_bytes(e)); }
AuditHash node_hash(const AuditHash& l, const AuditHash& r) { return sha256_parts({"\x01", view(l), view(r)}); }
AuditHash empty_root() { return sha256_parts({}); }

std::string tree_head_message(const SignedTreeHead& h) {
  std::string m = "vigil-audit-sth-v1";
  put_be64(m, h.tree_size);
  put_be64(m, static_cast<uint64_t>(h.timestamp.usec));
  m += view(h.root_hash);
  return m;
}

std::string record_hash(std::string_view json_text) { return to_hex(sha256_parts({json_text})); }
std::string record_hash(const core::Alert& a) { return record_hash(core::to_json(a).dump()); }
std::string record_hash(const core::Incident& i) { return record_hash(core::to_json(i).dump()); }

std::string sanitize_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<uint8_t>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = n > 0 && i + n <= s.size();
    uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1f) : n == 3 ? (c & 0x0f) : (c & 0x07);
    for (size_t k = 1; ok && k < n; ++k) {
      auto d = static_cast<uint8_t>(s[i + k]);
      if ((d & 0xc0) != 0x80) ok = false;
      cp = cp << 6 | (d & 0x3f);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are invalid too.
    if (ok && ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
               (cp >= 0xd800 && cp <= 0xdfff))) {
      ok = false;
    }
    if (ok) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += "\xef\xbf\xbd";
      ++i;
    }
  }
  return out;
}

std::string to_hex(const uint8_t* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = d[p[i] >> 4];
    out[2 * i + 1] = d[p[i] & 15];
  }
  return out;
}
std::optional<AuditHash> hash_from_hex(std::string_view hex) { return from_hex<32>(hex); }
std::optional<AuditPublicKey> public_key_from_hex(std::string_view hex) { return from_hex<32>(hex); }
std::optional<AuditSignature> signature_from_hex(std::string_view hex) { return from_hex<64>(hex); }

nlohmann::json to_json(const AuditEntry& e) {
  return nlohmann::json{{"type", "entry"},
                        {"seq", e.seq},
                        {"time", e.time.usec},
                        {"time_text", core::format_eve_time(e.time)},
                        {"actor", e.actor},
                        {"actor_tenant", e.actor_tenant},
                        {"actor_role", e.actor_role},
                        {"source", e.source},
                        {"action", e.action},
                        {"object", e.object},
                        {"before_hash", e.before_hash},
                        {"after_hash", e.after_hash},
                        {"decision", e.decision},
                        {"rule", e.rule},
                        {"reason", e.reason}};
}

core::Result<AuditEntry> entry_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return make_error("audit entry is not a JSON object");
  AuditEntry e;
  auto num = [&](const char* key, auto& out) -> bool {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number_integer()) return false;
    out = it->get<std::remove_reference_t<decltype(out)>>();
    return true;
  };
  if (!num("seq", e.seq)) return make_error("audit entry: key 'seq' missing or not an integer");
  if (!num("time", e.time.usec)) return make_error("audit entry " + std::to_string(e.seq) + ": key 'time' missing or not an integer");
  struct F {
    const char* key;
    std::string* out;
  };
  for (F f : {F{"actor", &e.actor}, F{"actor_tenant", &e.actor_tenant}, F{"actor_role", &e.actor_role},
              F{"source", &e.source}, F{"action", &e.action}, F{"object", &e.object}, F{"before_hash", &e.before_hash},
              F{"after_hash", &e.after_hash}, F{"decision", &e.decision}, F{"rule", &e.rule}, F{"reason", &e.reason}}) {
    auto it = j.find(f.key);
    if (it == j.end() || !it->is_string()) {
      return make_error("audit entry " + std::to_string(e.seq) + ": key '" + f.key + "' missing or not a string");
    }
    *f.out = it->get<std::string>();
  }
  return e;
}

nlohmann::json to_json(const SignedTreeHead& h) {
  return nlohmann::json{{"type", "tree_head"},
                        {"tree_size", h.tree_size},
                        {"root_hash", to_hex(h.root_hash)},
                        {"timestamp", h.timestamp.usec},
                        {"timestamp_text", core::format_eve_time(h.timestamp)},
                        {"signature", to_hex(h.signature)}};
}

core::Result<SignedTreeHead> tree_head_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return make_error("tree head is not a JSON object");
  SignedTreeHead h;
  auto size = j.find("tree_size");
  if (size == j.end() || !size->is_number_unsigned()) return make_error("tree head: key 'tree_size' missing or not an unsigned integer");
  h.tree_size = size->get<uint64_t>();
  auto ts = j.find("timestamp");
  if (ts == j.end() || !ts->is_number_integer()) return make_error("tree head: key 'timestamp' missing or not an integer");
  h.timestamp.usec = ts->get<int64_t>();
  auto root = j.find("root_hash");
  std::optional<AuditHash> r;
  if (root == j.end() || !root->is_string() || !(r = hash_from_hex(root->get<std::string>()))) {
    return make_error("tree head: key 'root_hash' missing or not 64 hex digits");
  }
  h.root_hash = *r;
  auto sig = j.find("signature");
  std::optional<AuditSignature> s;
  if (sig == j.end() || !sig->is_string() || !(s = signature_from_hex(sig->get<std::string>()))) {
    return make_error("tree head: key 'signature' missing or not 128 hex digits");
  }
  h.signature = *s;
  return h;
}

// ---- verification ----

// RFC 9162 §2.1.3.2, step by step.
bool verify_inclusion(const AuditHash& leaf, uint64_t index, uint64_t tree_size, const std::vector<AuditHash>& path,
                      const AuditHash& root) {
  if (index >= tree_size) return false;  // 1
  uint64_t fn = index, sn = tree_size - 1;  // 2
  AuditHash r = leaf;  // 3
  for (const auto& p : path) {  // 4
    if (sn == 0) return false;  // 4a
    if ((fn & 1) || fn == sn) {  // 4b
      r = node_hash(p, r);
      if (!(fn & 1)) {
        while (fn != 0 && !(fn & 1)) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = node_hash(r, p);
    }
    fn >>= 1;  // 4c
    sn >>= 1;
  }
  return sn == 0 && r == root;  // 5
}

// RFC 9162 §2.1.4.2, step by step, plus the two trivial cases the RFC leaves to the caller.
bool verify_consistency(uint64_t first, uint64_t second, const AuditHash& first_root, const AuditHash& second_root,
                        const std::vector<AuditHash>& proof) {
  if (first > second) return false;
  if (first == second) return proof.empty() && first_root == second_root;
  if (first == 0) return proof.empty();
  if (proof.empty()) return false;  // 1
  std::vector<AuditHash> path;
  if (std::has_single_bit(first)) path.push_back(first_root);  // 2
  path.insert(path.end(), proof.begin(), proof.end());
  uint64_t fn = first - 1, sn = second - 1;  // 3
  while (fn & 1) {  // 4
    fn >>= 1;
    sn >>= 1;
  }
  AuditHash fr = path[0], sr = path[0];  // 5
  for (size_t i = 1; i < path.size(); ++i) {  // 6
    const auto& c = path[i];
    if (sn == 0) return false;  // 6a
    if ((fn & 1) || fn == sn) {  // 6b
      fr = node_hash(c, fr);
      sr = node_hash(c, sr);
      if (!(fn & 1)) {
        while (fn != 0 && !(fn & 1)) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = node_hash(sr, c);
    }
    fn >>= 1;  // 6c
    sn >>= 1;
  }
  return fr == first_root && sr == second_root && sn == 0;  // 7
}

bool verify_tree_head(const SignedTreeHead& head, const AuditPublicKey& key) {
  ensure_sodium();
  auto m = tree_head_message(head);
  return crypto_sign_verify_detached(head.signature.data(), reinterpret_cast<const unsigned char*>(m.data()), m.size(),
                                     key.data()) == 0;
}

// MTH by the RFC's definition: split at the largest power of two below n.
AuditHash root_from_leaves(const std::vector<AuditHash>& leaves) {
  if (leaves.empty()) return empty_root();
  std::function<AuditHash(size_t, size_t)> mth = [&](size_t b, size_t e) -> AuditHash {
    if (e - b == 1) return leaves[b];
    size_t k = std::bit_floor(e - b - 1);
    return node_hash(mth(b, b + k), mth(b + k, e));
  };
  return mth(0, leaves.size());
}

}  // namespace vigil::store::audit
