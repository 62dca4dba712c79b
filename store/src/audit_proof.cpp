// Proof generation, RFC 9162 §2.1.3.1 (PATH) and §2.1.4.1 (SUBPROOF), over a NodeSource that
// returns the hashes of perfect, aligned subtrees. Every subtree the RFC's recursion touches on
// the left is perfect and aligned, and the right-hand remainder decomposes into at most log2(n)
// of them, so a proof costs O(log n) node reads.
#include <bit>

#include "vigil/store/audit.h"

namespace vigil::store::audit {

using core::make_error;

namespace {

// Largest power of two strictly less than n (n >= 2).
uint64_t split(uint64_t n) { return std::bit_floor(n - 1); }

core::Status node_error(unsigned level, uint64_t index) {
  return make_error("audit tree node level " + std::to_string(level) + " index " + std::to_string(index) + " is missing",
                    "audit");
}

core::Status mth(const NodeSource& nodes, uint64_t begin, uint64_t end, AuditHash& out) {
  uint64_t n = end - begin;
  if (std::has_single_bit(n) && begin % n == 0) {
    auto level = static_cast<unsigned>(std::countr_zero(n));
    auto h = nodes(level, begin >> level);
    if (!h) return node_error(level, begin >> level);
    out = *h;
    return {};
  }
  uint64_t k = split(n);
  AuditHash l, r;
  if (auto st = mth(nodes, begin, begin + k, l); !st) return st;
  if (auto st = mth(nodes, begin + k, end, r); !st) return st;
  out = node_hash(l, r);
  return {};
}

// PATH(m, D[begin:end]), appended to `out` bottom-up.
core::Status path(const NodeSource& nodes, uint64_t m, uint64_t begin, uint64_t end, std::vector<AuditHash>& out) {
  uint64_t n = end - begin;
  if (n <= 1) return {};
  uint64_t k = split(n);
  AuditHash sib;
  if (m < k) {
    if (auto st = path(nodes, m, begin, begin + k, out); !st) return st;
    if (auto st = mth(nodes, begin + k, end, sib); !st) return st;
  } else {
    if (auto st = path(nodes, m - k, begin + k, end, out); !st) return st;
    if (auto st = mth(nodes, begin, begin + k, sib); !st) return st;
  }
  out.push_back(sib);
  return {};
}

// SUBPROOF(m, D[begin:end], b).
core::Status subproof(const NodeSource& nodes, uint64_t m, uint64_t begin, uint64_t end, bool b,
                      std::vector<AuditHash>& out) {
  uint64_t n = end - begin;
  if (m == n) {
    if (b) return {};
    AuditHash h;
    if (auto st = mth(nodes, begin, end, h); !st) return st;
    out.push_back(h);
    return {};
  }
  uint64_t k = split(n);
  AuditHash sib;
  if (m <= k) {
    if (auto st = subproof(nodes, m, begin, begin + k, b, out); !st) return st;
    if (auto st = mth(nodes, begin + k, end, sib); !st) return st;
  } else {
    if (auto st = subproof(nodes, m - k, begin + k, end, false, out); !st) return st;
    if (auto st = mth(nodes, begin, begin + k, sib); !st) return st;
  }
  out.push_back(sib);
  return {};
}

}  // namespace

core::Result<AuditHash> subtree_root(const NodeSource& nodes, uint64_t begin, uint64_t end) {
  if (begin > end) return make_error("bad subtree range", "audit");
  if (begin == end) return empty_root();
  AuditHash h;
  if (auto st = mth(nodes, begin, end, h); !st) return st.error();
  return h;
}

core::Result<std::vector<AuditHash>> inclusion_path(const NodeSource& nodes, uint64_t index, uint64_t tree_size) {
  if (index >= tree_size) {
    return make_error("no entry " + std::to_string(index + 1) + " in a tree of " + std::to_string(tree_size), "audit");
  }
  std::vector<AuditHash> out;
  if (auto st = path(nodes, index, 0, tree_size, out); !st) return st.error();
  return out;
}

core::Result<std::vector<AuditHash>> consistency_path(const NodeSource& nodes, uint64_t first, uint64_t second) {
  if (first > second) {
    return make_error("consistency proof from " + std::to_string(first) + " to a smaller tree of " + std::to_string(second),
                      "audit");
  }
  std::vector<AuditHash> out;
  if (first == 0 || first == second) return out;
  if (auto st = subproof(nodes, first, 0, second, true, out); !st) return st.error();
  return out;
}

}  // namespace vigil::store::audit
