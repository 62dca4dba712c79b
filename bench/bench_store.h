// What the store benchmarks (console_bench, store_query_bench) share: their options
//   --alerts N --queries Q --dir PATH
// and a store opened for unsynced loading (the queries are what is measured), in --dir or in a
// fresh temp dir that is removed with the BenchStore.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include "vigil/store/store.h"

namespace vigil::bench {

struct BenchStore {
  size_t alerts = 0;
  size_t queries = 0;
  std::string dir;
  bool temp = false;  // dir was made here (no --dir): removed by the destructor
  std::unique_ptr<store::Store> store;

  BenchStore() = default;
  BenchStore(const BenchStore&) = delete;
  BenchStore& operator=(const BenchStore&) = delete;
  ~BenchStore() {
    store.reset();
    if (temp) {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  }
};

// Parses argv over the given defaults and opens the store; null after printing why not.
// `name` names the temp dir (vigil-<name>-<random>).
inline std::unique_ptr<BenchStore> open_bench_store(int argc, char** argv, size_t alerts, size_t queries,
                                                    const char* name) {
  auto b = std::make_unique<BenchStore>();
  b->alerts = alerts;
  b->queries = queries;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--alerts")) b->alerts = std::strtoull(argv[i + 1], nullptr, 10);
    if (!std::strcmp(argv[i], "--queries")) b->queries = std::strtoull(argv[i + 1], nullptr, 10);
    if (!std::strcmp(argv[i], "--dir")) b->dir = argv[i + 1];
  }
  if (b->dir.empty()) {
    std::random_device rd;
    b->dir = (std::filesystem::temp_directory_path() / ("vigil-" + std::string(name) + "-" + std::to_string(rd()))).string();
    b->temp = true;
  }
  store::StoreOptions so;
  so.path = b->dir;
  so.sync = false;
  auto st = store::Store::open(so);
  if (!st) {
    std::fprintf(stderr, "%s\n", st.error().to_string().c_str());
    return nullptr;
  }
  b->store = std::move(*st);
  return b;
}

}  // namespace vigil::bench
