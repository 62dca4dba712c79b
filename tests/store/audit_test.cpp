// The audit log: RFC 6962/9162 hashing against the Certificate Transparency test vectors, proof
// generation checked by the independent verifier for every tree size 1..64, every index and
// every pair of sizes, the store's append path (seq gap-free across restarts, atomic with the
// state change), signed heads, queries, export, tamper and truncation detection.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <bit>
#include <chrono>
#include <filesystem>
#include <random>
#include <sstream>


#include "raw_db.h"
#include "support/temp_dir.h"
#include "vigil/store/audit.h"
#include "vigil/store/store.h"

using namespace vigil;
using namespace vigil::store;

namespace {

using AuditTempDir = vigil::test_support::TempDir;

std::string unhex(const std::string& h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out += static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16));
  return out;
}
AuditHash H(const std::string& hex) {
  auto h = audit::hash_from_hex(hex);
  REQUIRE(h);
  return *h;
}

// An in-memory node source over a list of leaves (perfect aligned subtrees by the RFC's MTH).
audit::NodeSource memory_nodes(const std::vector<AuditHash>& leaves) {
  return [&leaves](unsigned level, uint64_t index) -> std::optional<AuditHash> {
    uint64_t b = index << level, e = (index + 1) << level;
    if (e > leaves.size()) return std::nullopt;
    return audit::root_from_leaves(std::vector<AuditHash>(leaves.begin() + b, leaves.begin() + e));
  };
}

const char* kCtLeaves[] = {"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                           "606162636465666768696a6b6c6d6e6f"};
const char* kCtRoots[] = {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                          "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
                          "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
                          "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                          "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
                          "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
                          "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
                          "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};

AuditEntry make_entry(const std::string& actor, const std::string& action, const std::string& object) {
  AuditEntry e;
  e.actor = actor;
  e.actor_tenant = "soc";
  e.actor_role = "analyst";
  e.source = "test";
  e.action = action;
  e.object = object;
  e.reason = "because";
  return e;
}

std::unique_ptr<Store> open_store(const std::filesystem::path& p, bool sync = false) {
  StoreOptions o;
  o.path = p.string();
  o.sync = sync;
  auto s = Store::open(o);
  if (!s) FAIL(s.error().to_string());
  return std::move(*s);
}

void append(Store& s, const AuditEntry& e) {
  CommitBatch b;
  b.append_audit(e);
  auto st = s.commit(b);
  if (!st) FAIL(st.error().to_string());
}

}  // namespace

TEST_CASE("audit: RFC 6962 hashing matches the Certificate Transparency test vectors", "[audit]") {
  std::vector<AuditHash> leaves;
  for (auto* l : kCtLeaves) leaves.push_back(audit::leaf_hash_of_bytes(unhex(l)));
  CHECK(audit::to_hex(audit::empty_root()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(audit::to_hex(audit::root_from_leaves({})) == audit::to_hex(audit::empty_root()));
  auto nodes = memory_nodes(leaves);
  for (size_t n = 1; n <= 8; ++n) {
    std::vector<AuditHash> prefix(leaves.begin(), leaves.begin() + n);
    CHECK(audit::to_hex(audit::root_from_leaves(prefix)) == kCtRoots[n - 1]);
    auto r = audit::subtree_root(nodes, 0, n);
    REQUIRE(r);
    CHECK(audit::to_hex(*r) == kCtRoots[n - 1]);
  }
  // Inclusion proofs (leaf 0 and 5 of 8) and consistency proofs (2->8, 6->8, 2->5), as published.
  struct Inc {
    uint64_t index, size;
    std::vector<std::string> path;
  };
  for (const Inc& v : {Inc{0, 8, {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                                  "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                                  "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
                       Inc{5, 8, {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                                  "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                                  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}}}) {
    auto p = audit::inclusion_path(nodes, v.index, v.size);
    REQUIRE(p);
    std::vector<std::string> got;
    std::vector<AuditHash> want;
    for (auto& h : *p) got.push_back(audit::to_hex(h));
    for (auto& h : v.path) want.push_back(H(h));
    CHECK(got == v.path);
    CHECK(audit::verify_inclusion(leaves[v.index], v.index, v.size, want, H(kCtRoots[v.size - 1])));
  }
  struct Cons {
    uint64_t first, second;
    std::vector<std::string> path;
  };
  for (const Cons& v : {Cons{2, 8, {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
                        Cons{6, 8, {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
                        Cons{2, 5, {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}}}) {
    auto p = audit::consistency_path(nodes, v.first, v.second);
    REQUIRE(p);
    std::vector<std::string> got;
    std::vector<AuditHash> want;
    for (auto& h : *p) got.push_back(audit::to_hex(h));
    for (auto& h : v.path) want.push_back(H(h));
    CHECK(got == v.path);
    CHECK(audit::verify_consistency(v.first, v.second, H(kCtRoots[v.first - 1]), H(kCtRoots[v.second - 1]), want));
  }
}

TEST_CASE("audit: every proof of every tree up to 64 leaves verifies, and mangled ones do not", "[audit]") {
  std::vector<AuditHash> leaves;
  for (int i = 0; i < 64; ++i) leaves.push_back(audit::leaf_hash_of_bytes("leaf " + std::to_string(i)));
  auto nodes = memory_nodes(leaves);
  std::vector<AuditHash> roots{audit::empty_root()};
  for (size_t n = 1; n <= 64; ++n) roots.push_back(audit::root_from_leaves({leaves.begin(), leaves.begin() + n}));
  AuditHash junk;
  junk.fill(0xab);
  size_t inclusion = 0, consistency = 0;
  for (uint64_t n = 1; n <= 64; ++n) {
    for (uint64_t i = 0; i < n; ++i) {
      auto p = audit::inclusion_path(nodes, i, n);
      REQUIRE(p);
      REQUIRE(audit::verify_inclusion(leaves[i], i, n, *p, roots[n]));
      ++inclusion;
      // Wrong leaf, index, size or root; a flipped, dropped or extra path element.
      CHECK_FALSE(audit::verify_inclusion(leaves[(i + 1) % 64], i, n, *p, roots[n]));
      if (n > 1) CHECK_FALSE(audit::verify_inclusion(leaves[i], (i + 1) % n, n, *p, roots[n]));
      CHECK_FALSE(audit::verify_inclusion(leaves[i], i, n, *p, roots[n - 1]));
      CHECK_FALSE(audit::verify_inclusion(leaves[i], n, n, *p, roots[n]));
      if (!p->empty()) {
        auto flipped = *p;
        flipped.back()[7] ^= 1;
        CHECK_FALSE(audit::verify_inclusion(leaves[i], i, n, flipped, roots[n]));
        CHECK_FALSE(audit::verify_inclusion(leaves[i], i, n, {p->begin(), p->end() - 1}, roots[n]));
      }
      auto longer = *p;
      longer.push_back(junk);
      CHECK_FALSE(audit::verify_inclusion(leaves[i], i, n, longer, roots[n]));
    }
  }
  for (uint64_t n = 0; n <= 64; ++n) {
    for (uint64_t m = 0; m <= n; ++m) {
      auto p = audit::consistency_path(nodes, m, n);
      REQUIRE(p);
      REQUIRE(audit::verify_consistency(m, n, roots[m], roots[n], *p));
      ++consistency;
      if (m > 0 && m < n) {
        CHECK_FALSE(audit::verify_consistency(m, n, roots[m - 1], roots[n], *p));  // another old head
        CHECK_FALSE(audit::verify_consistency(m, n, roots[m], roots[n - 1], *p));
        CHECK_FALSE(audit::verify_consistency(m, n, roots[m], roots[n], {}));
        auto flipped = *p;
        flipped.front()[3] ^= 0x80;
        CHECK_FALSE(audit::verify_consistency(m, n, roots[m], roots[n], flipped));
        CHECK_FALSE(audit::verify_consistency(m, n, roots[m], roots[n], {p->begin(), p->end() - 1}));
        auto longer = *p;
        longer.push_back(junk);
        CHECK_FALSE(audit::verify_consistency(m, n, roots[m], roots[n], longer));
      }
    }
  }
  CHECK_FALSE(audit::verify_consistency(5, 4, roots[5], roots[4], {}));
  CHECK(audit::verify_consistency(4, 4, roots[4], roots[4], {}));
  CHECK_FALSE(audit::verify_consistency(4, 4, roots[4], roots[5], {}));
  CHECK(inclusion == 64 * 65 / 2);
  CHECK(consistency == 65 * 66 / 2);
  CHECK_FALSE(audit::inclusion_path(nodes, 5, 5));
  CHECK_FALSE(audit::consistency_path(nodes, 6, 5));
}

TEST_CASE("audit: canonical bytes, JSON round trip and UTF-8 sanitising", "[audit]") {
  AuditEntry e = make_entry("analyst7", "alert.status", "0123456789abcdef0123456789abcdef");
  e.seq = 42;
  e.time.usec = 1700000000123456;
  e.before_hash = audit::record_hash(std::string_view("{}"));
  auto j = audit::to_json(e);
  auto back = audit::entry_from_json(nlohmann::json::parse(j.dump()));
  REQUIRE(back);
  CHECK(*back == e);
  CHECK(audit::leaf_hash(*back) == audit::leaf_hash(e));
  auto changed = e;
  changed.reason = "because!";
  CHECK(audit::leaf_hash(changed) != audit::leaf_hash(e));
  // Field boundaries are length-prefixed: moving a byte between two fields changes the bytes.
  auto shifted = e;
  shifted.actor = "analyst";
  shifted.actor_tenant = "7soc";
  CHECK(audit::canonical_bytes(shifted) != audit::canonical_bytes(e));
  j.erase("actor_role");
  auto bad = audit::entry_from_json(j);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("actor_role") != std::string::npos);

  CHECK(audit::sanitize_utf8("Tuyệt mật") == "Tuyệt mật");
  CHECK(audit::sanitize_utf8(std::string("a\xff") + "b") == "a\xef\xbf\xbd" "b");
  CHECK(audit::sanitize_utf8("\xc0\xaf") == "\xef\xbf\xbd\xef\xbf\xbd");  // overlong '/'
  CHECK(audit::sanitize_utf8("\xed\xa0\x80").find("\xed") == std::string::npos);  // surrogate
}

TEST_CASE("audit: the store assigns seqs in commit order, gap-free across restarts, with signed heads", "[audit]") {
  AuditTempDir dir;
  AuditPublicKey key{};
  {
    auto s = open_store(dir.path, true);
    auto& log = s->audit();
    CHECK(log.size() == 0);
    auto h0 = log.tree_head();
    REQUIRE(h0);
    CHECK(h0->tree_size == 0);
    CHECK(h0->root_hash == audit::empty_root());
    key = log.public_key();
    CHECK(audit::verify_tree_head(*h0, key));
    // The secret key is private to the owner.
    struct stat st {};
    REQUIRE(::stat((dir.path / "audit.key").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);

    for (int i = 0; i < 5; ++i) append(*s, make_entry("a" + std::to_string(i % 2), "alert.note", "obj" + std::to_string(i % 3)));
    CommitBatch two;
    two.append_audit(make_entry("a0", "alert.status", "obj9"));
    two.append_audit(make_entry("a1", "alert.status", "obj9"));
    CHECK(two.count() == 2);
    REQUIRE(s->commit(two));
    CHECK(log.size() == 7);
  }
  {
    auto s = open_store(dir.path);
    auto& log = s->audit();
    CHECK(log.size() == 7);
    CHECK(log.public_key() == key);
    append(*s, make_entry("a2", "login", "user:a2"));
    CHECK(log.size() == 8);
    auto all = log.range(1, UINT64_MAX);
    REQUIRE(all);
    REQUIRE(all->size() == 8);
    for (size_t i = 0; i < all->size(); ++i) {
      CHECK((*all)[i].seq == i + 1);
      if (i) CHECK((*all)[i].time >= (*all)[i - 1].time);
    }
    auto head = log.tree_head();
    REQUIRE(head);
    CHECK(head->tree_size == 8);
    CHECK(audit::verify_tree_head(*head, key));
    std::vector<AuditHash> leaves;
    for (auto& e : *all) leaves.push_back(audit::leaf_hash(e));
    CHECK(head->root_hash == audit::root_from_leaves(leaves));
    auto tampered = *head;
    tampered.tree_size = 9;
    CHECK_FALSE(audit::verify_tree_head(tampered, key));
    // Every earlier commit left its signed head.
    auto h7 = log.tree_head_at(7);
    REQUIRE(h7);
    REQUIRE(h7->has_value());
    CHECK((*h7)->root_hash == audit::root_from_leaves({leaves.begin(), leaves.begin() + 7}));
    CHECK(audit::verify_tree_head(**h7, key));
  }
}

TEST_CASE("audit: store proofs for every size 1..40 verify against recomputed roots", "[audit]") {
  AuditTempDir dir;
  auto s = open_store(dir.path);
  auto& log = s->audit();
  std::vector<AuditHash> leaves;
  std::vector<AuditHash> roots{audit::empty_root()};
  for (int n = 1; n <= 40; ++n) {
    append(*s, make_entry("actor" + std::to_string(n % 4), "alert.note", "o" + std::to_string(n % 5)));
    auto e = log.get(n);
    REQUIRE(e);
    REQUIRE(e->has_value());
    leaves.push_back(audit::leaf_hash(**e));
    roots.push_back(audit::root_from_leaves(leaves));
    auto head = log.tree_head();
    REQUIRE(head);
    REQUIRE(head->root_hash == roots.back());
  }
  for (uint64_t n = 1; n <= 40; ++n) {
    auto r = log.root_at(n);
    REQUIRE(r);
    CHECK(*r == roots[n]);
    for (uint64_t seq = 1; seq <= n; ++seq) {
      auto p = log.inclusion_proof(seq, n);
      REQUIRE(p);
      CHECK(audit::verify_inclusion(leaves[seq - 1], seq - 1, n, *p, roots[n]));
    }
    for (uint64_t m = 0; m <= n; ++m) {
      auto p = log.consistency_proof(m, n);
      REQUIRE(p);
      CHECK(audit::verify_consistency(m, n, roots[m], roots[n], *p));
    }
  }
  CHECK_FALSE(log.inclusion_proof(0, 5));
  CHECK_FALSE(log.inclusion_proof(6, 5));
  CHECK_FALSE(log.inclusion_proof(1, 41));
  CHECK_FALSE(log.consistency_proof(5, 41));
}

TEST_CASE("audit: queries by object and by actor and time use the indexes", "[audit]") {
  AuditTempDir dir;
  auto s = open_store(dir.path);
  for (int i = 0; i < 30; ++i) append(*s, make_entry(i % 3 == 0 ? "alice" : "bob", "alert.note", "obj" + std::to_string(i % 4)));
  append(*s, make_entry("alicex", "login", "obj1x"));  // a longer name sharing the prefix
  auto& log = s->audit();
  auto o1 = log.query_object("obj1");
  REQUIRE(o1);
  REQUIRE(o1->size() == 8);  // i = 1, 5, ..., 29
  for (size_t i = 0; i < o1->size(); ++i) {
    CHECK((*o1)[i].object == "obj1");
    if (i) CHECK((*o1)[i].seq > (*o1)[i - 1].seq);
  }
  auto alice = log.query_actor("alice", core::Timestamp{INT64_MIN}, core::Timestamp{INT64_MAX});
  REQUIRE(alice);
  CHECK(alice->size() == 10);
  for (auto& e : *alice) CHECK(e.actor == "alice");
  // A time window: [time of alice's 3rd entry, time of her 6th) holds exactly those between.
  auto from = (*alice)[2].time, to = (*alice)[5].time;
  auto window = log.query_actor("alice", from, to);
  REQUIRE(window);
  for (auto& e : *window) CHECK((e.time >= from && e.time < to));
  size_t expect = 0;
  for (auto& e : *alice) expect += e.time >= from && e.time < to;
  CHECK(window->size() == expect);
  auto limited = log.query_object("obj1", 3);
  REQUIRE(limited);
  CHECK(limited->size() == 3);
  auto none = log.query_object("nothing");
  REQUIRE(none);
  CHECK(none->empty());
}

TEST_CASE("audit: update_alert appends entries with before/after hashes in the same commit", "[audit]") {
  AuditTempDir dir;
  auto s = open_store(dir.path);
  core::Alert a;
  a.id = {1700000000000000, 7};
  a.tenant = "moh";
  a.sensor = "s1";
  a.rule = "aggregate";
  a.severity = 2;
  a.first_seen = a.last_seen = a.updated = core::Timestamp{1700000000000000};
  CommitBatch b;
  b.put_alert(a, nullptr);
  REQUIRE(s->commit(b));
  auto before = audit::record_hash(a);
  REQUIRE(s->update_alert(a.id, [](core::Alert& x) { x.status = core::AlertStatus::kAcknowledged; },
                          {make_entry("analyst7", "alert.status", "")}));
  auto now = s->get_alert(a.id);
  REQUIRE(now);
  REQUIRE(now->has_value());
  auto entries = s->audit().query_object(a.id.to_string());
  REQUIRE(entries);
  REQUIRE(entries->size() == 1);
  const auto& e = entries->front();
  CHECK(e.seq == 1);
  CHECK(e.before_hash == before);
  CHECK(e.after_hash == audit::record_hash(**now));
  CHECK(e.before_hash != e.after_hash);
  // A change of a missing alert writes neither the change nor an entry.
  CHECK_FALSE(s->update_alert({1, 1}, [](core::Alert&) {}, {make_entry("x", "alert.status", "")}));
  CHECK(s->audit().size() == 1);
}

TEST_CASE("audit: export carries entries, the signed head and proofs; tampering names the entry", "[audit]") {
  AuditTempDir dir;
  {
    auto s = open_store(dir.path);
    for (int i = 0; i < 9; ++i) append(*s, make_entry("bob", "alert.note", "obj" + std::to_string(i % 2)));
    auto& log = s->audit();
    auto es = log.query_object("obj1");
    REQUIRE(es);
    std::ostringstream out;
    REQUIRE(log.export_jsonl(*es, out));
    std::istringstream in(out.str());
    std::string line;
    std::vector<nlohmann::json> lines;
    while (std::getline(in, line)) lines.push_back(nlohmann::json::parse(line));
    REQUIRE(lines.size() == 4 + 1 + 4);
    CHECK(lines[0]["type"] == "entry");
    CHECK(lines[4]["type"] == "tree_head");
    CHECK(lines[5]["type"] == "inclusion_proof");
    auto head = audit::tree_head_from_json(lines[4]);
    REQUIRE(head);
    CHECK(head->tree_size == 9);
    CHECK(audit::verify_tree_head(*head, log.public_key()));
    for (int i = 0; i < 4; ++i) {
      auto e = audit::entry_from_json(lines[i]);
      REQUIRE(e);
      std::vector<AuditHash> path;
      for (auto& h : lines[5 + i]["path"]) path.push_back(H(h.get<std::string>()));
      CHECK(lines[5 + i]["seq"] == e->seq);
      CHECK(audit::verify_inclusion(audit::leaf_hash(*e), e->seq - 1, head->tree_size, path, head->root_hash));
    }
  }
  // Edit entry 4 directly in RocksDB: its content no longer matches the leaf the tree recorded.
  {
    store_test::RawDb raw(dir.path);
    auto& db = raw.db;
    auto* audit_cf = raw[store_test::RawDb::kAudit];
    std::string key("e");
    for (int i = 7; i >= 0; --i) key += static_cast<char>(i == 0 ? 4 : 0);
    std::string v;
    REQUIRE(db->Get(rocksdb::ReadOptions(), audit_cf, key, &v).ok());
    auto pos = v.find("bob");
    REQUIRE(pos != std::string::npos);
    v[pos] = 'B';
    REQUIRE(db->Put(rocksdb::WriteOptions(), audit_cf, key, v).ok());
  }
  {
    auto s = open_store(dir.path);
    auto& log = s->audit();
    auto es = log.range(1, 9);
    REQUIRE(es);
    std::ostringstream out;
    REQUIRE(log.export_jsonl(*es, out));
    auto head = log.tree_head();
    REQUIRE(head);
    std::vector<uint64_t> failed;
    for (auto& e : *es) {
      auto p = log.inclusion_proof(e.seq, head->tree_size);
      REQUIRE(p);
      if (!audit::verify_inclusion(audit::leaf_hash(e), e.seq - 1, head->tree_size, *p, head->root_hash)) {
        failed.push_back(e.seq);
      }
    }
    CHECK(failed == std::vector<uint64_t>{4});
  }
}

TEST_CASE("audit: a history truncated in RocksDB and regrown fails the consistency check", "[audit]") {
  AuditTempDir dir;
  SignedTreeHead old_head;
  AuditPublicKey key{};
  {
    auto s = open_store(dir.path);
    for (int i = 0; i < 10; ++i) append(*s, make_entry("alice", "alert.note", "o" + std::to_string(i)));
    auto h = s->audit().tree_head();
    REQUIRE(h);
    old_head = *h;  // what an auditor kept
    key = s->audit().public_key();
  }
  // Delete entries 7..10 with their index entries and heads, as someone with disk access would.
  {
    store_test::RawDb raw(dir.path);
    auto& db = raw.db;
    auto* audit_cf = raw[store_test::RawDb::kAudit];
    auto k = [](char tag, uint64_t v) {
      std::string s(1, tag);
      for (int i = 7; i >= 0; --i) s += static_cast<char>(v >> (8 * i));
      return s;
    };
    REQUIRE(db->DeleteRange(rocksdb::WriteOptions(), audit_cf, k('e', 7), k('e', 11)).ok());
    REQUIRE(db->DeleteRange(rocksdb::WriteOptions(), audit_cf, k('h', 7), k('h', 11)).ok());
  }
  auto s = open_store(dir.path);
  auto& log = s->audit();
  CHECK(log.size() == 6);
  // Asking for a proof from the kept head of 10 exposes the truncation at once...
  CHECK_FALSE(log.consistency_proof(10, 6));
  // ...and after regrowing past 10 (signed with the same key), the proof does not verify.
  for (int i = 0; i < 6; ++i) append(*s, make_entry("mallory", "alert.note", "x" + std::to_string(i)));
  auto now = log.tree_head();
  REQUIRE(now);
  CHECK(now->tree_size == 12);
  CHECK(audit::verify_tree_head(*now, key));
  auto p = log.consistency_proof(10, 12);
  REQUIRE(p);
  CHECK_FALSE(audit::verify_consistency(10, 12, old_head.root_hash, now->root_hash, *p));
  // The first 6 entries are untouched: a head kept at 6 still verifies.
  auto r6 = log.root_at(6);
  REQUIRE(r6);
  auto p6 = log.consistency_proof(6, 12);
  REQUIRE(p6);
  CHECK(audit::verify_consistency(6, 12, *r6, now->root_hash, *p6));
}

TEST_CASE("audit: readers open the log read-only or as a secondary while the writer runs", "[audit]") {
  AuditTempDir dir;
  auto w = open_store(dir.path);
  for (int i = 0; i < 5; ++i) append(*w, make_entry("alice", "alert.note", "o"));
  StoreOptions so;
  so.path = dir.path.string();
  so.secondary_path = (dir.path / "secondary").string();
  auto r = Store::open(so);
  REQUIRE(r);
  auto& rl = (*r)->audit();
  CHECK(rl.size() == 5);
  CHECK(rl.public_key() == w->audit().public_key());
  auto h = rl.tree_head();
  REQUIRE(h);
  CHECK(h->tree_size == 5);
  CHECK(audit::verify_tree_head(*h, rl.public_key()));
  // A reader cannot append.
  CommitBatch b;
  b.append_audit(make_entry("x", "y", "z"));
  CHECK_FALSE((*r)->commit(b));
  CHECK(w->audit().size() == 5);
  // catch_up: the secondary follows the writer (entries and a head signed after it opened).
  for (int i = 0; i < 3; ++i) append(*w, make_entry("bob", "alert.note", "o"));
  CHECK(rl.size() == 5);
  REQUIRE((*r)->catch_up());
  CHECK(rl.size() == 8);
  auto h8 = rl.tree_head();
  REQUIRE(h8);
  CHECK(h8->tree_size == 8);
  CHECK(h8->root_hash == w->audit().tree_head()->root_hash);
  CHECK(audit::verify_tree_head(*h8, rl.public_key()));
  CHECK_FALSE(w->catch_up());  // a primary has nothing to catch up with
}

TEST_CASE("audit: proofs read O(log n) subtree hashes, also for huge trees", "[audit]") {
  // A node source that counts reads and returns a value derived from (level, index): the
  // generator's cost does not depend on the values.
  size_t reads = 0;
  audit::NodeSource nodes = [&reads](unsigned level, uint64_t index) -> std::optional<AuditHash> {
    ++reads;
    AuditHash h{};
    h[0] = static_cast<uint8_t>(level);
    for (int i = 0; i < 8; ++i) h[1 + i] = static_cast<uint8_t>(index >> (8 * i));
    return h;
  };
  for (uint64_t n : {uint64_t{1000}, uint64_t{1} << 20, (uint64_t{1} << 40) + 12345, (uint64_t{1} << 62) + 3}) {
    unsigned lg = 64 - std::countl_zero(n);
    for (uint64_t i : {uint64_t{0}, n / 3, n - 1}) {
      reads = 0;
      REQUIRE(audit::inclusion_path(nodes, i, n));
      CHECK(reads <= 2 * lg + 2);
    }
    for (uint64_t m : {uint64_t{1}, n / 2 + 1, n - 1}) {
      reads = 0;
      REQUIRE(audit::consistency_path(nodes, m, n));
      CHECK(reads <= 3 * lg + 2);
    }
    reads = 0;
    REQUIRE(audit::subtree_root(nodes, 0, n));
    CHECK(reads <= lg);
  }
}

// Not run by default (hidden tag): vigil_store_tests "[audit-bench]" prints the append rate and
// proof times on a log of 200,000 entries (docs/audit.md quotes them).
TEST_CASE("audit: append and proof timings", "[.][audit-bench]") {
  AuditTempDir dir;
  auto s = open_store(dir.path, false);
  using Clock = std::chrono::steady_clock;
  const int kEntries = 200000, kPerCommit = 100;
  auto t0 = Clock::now();
  for (int c = 0; c < kEntries / kPerCommit; ++c) {
    CommitBatch b;
    for (int i = 0; i < kPerCommit; ++i) b.append_audit(make_entry("analyst" + std::to_string(i % 50), "alert.note", "obj" + std::to_string((c * kPerCommit + i) % 1000)));
    REQUIRE(s->commit(b));
  }
  double append_s = std::chrono::duration<double>(Clock::now() - t0).count();
  auto& log = s->audit();
  REQUIRE(log.size() == kEntries);
  auto head = log.tree_head();
  REQUIRE(head);
  t0 = Clock::now();
  const int kProofs = 2000;
  for (int i = 0; i < kProofs; ++i) {
    auto p = log.inclusion_proof(1 + (i * 7919) % kEntries, kEntries);
    REQUIRE(p);
  }
  double inc_us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / kProofs;
  t0 = Clock::now();
  for (int i = 0; i < kProofs; ++i) {
    auto p = log.consistency_proof(1 + (i * 7919) % kEntries, kEntries);
    REQUIRE(p);
  }
  double cons_us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / kProofs;
  t0 = Clock::now();
  auto q = log.query_object("obj7");
  double q_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  REQUIRE(q);
  CHECK(q->size() == kEntries / 1000);
  // Synced single-entry commits (what an analyst action costs).
  auto synced = open_store(dir.path / "synced", true);
  t0 = Clock::now();
  for (int i = 0; i < 200; ++i) append(*synced, make_entry("a", "alert.status", "o"));
  double single_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count() / 200;
  WARN("append " << kEntries / append_s << " entries/s (batches of " << kPerCommit << ", sync off); synced single-entry commit "
                 << single_ms << " ms; inclusion proof " << inc_us << " us; consistency proof " << cons_us
                 << " us; query_object of " << q->size() << " entries " << q_ms << " ms");
}

TEST_CASE("audit: a checkpoint carries the signing key and goes on appending after a restore", "[audit]") {
  AuditTempDir dir;
  auto backup = dir.path / "backup";
  {
    auto s = open_store(dir.path / "db");
    for (int i = 0; i < 3; ++i) append(*s, make_entry("alice", "alert.note", "o"));
    REQUIRE(s->checkpoint(backup.string()));
  }
  struct stat st {};
  REQUIRE(::stat((backup / "audit.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto r = open_store(backup);
  CHECK(r->audit().size() == 3);
  append(*r, make_entry("bob", "alert.note", "o"));
  auto h = r->audit().tree_head();
  REQUIRE(h);
  CHECK(h->tree_size == 4);
  CHECK(audit::verify_tree_head(*h, r->audit().public_key()));
}
