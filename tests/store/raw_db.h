// The store's RocksDB opened directly, as someone with disk access would: for tests that tamper
// with a store or fake an older layout. Closed when the scope ends (open the Store after that).
#pragma once

#include <catch2/catch.hpp>

#include <filesystem>
#include <memory>
#include <vector>

#include <rocksdb/db.h>

namespace vigil::store_test {

struct RawDb {
  // The column families in the store's order (store/src/store.cpp kCfNames).
  enum Family { kDefault, kEvents, kAlerts, kIncidents, kIdx, kAudit, kMeta };

  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;

  explicit RawDb(const std::filesystem::path& dir) {
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const char* n : {"default", "events", "alerts", "incidents", "idx", "audit", "meta"}) {
      cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    }
    rocksdb::DB* raw = nullptr;
    REQUIRE(rocksdb::DB::Open(rocksdb::DBOptions(), dir.string(), cfs, &handles, &raw).ok());
    db.reset(raw);
  }
  ~RawDb() {
    for (auto* h : handles) (void)db->DestroyColumnFamilyHandle(h);
    (void)db->Close();
  }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  rocksdb::ColumnFamilyHandle* operator[](Family f) const { return handles[f]; }
};

}  // namespace vigil::store_test
