// The shipper's on-disk spool: append-only segment files of sealed batches plus an ack file.
//
//   <dir>/seg-<first seq, 20 digits>.spool   records: u32 length | u32 fnv32 | u64 seq | bytes
//   <dir>/acked                              highest seq below which everything is acknowledged
//
// A torn record at the end of a segment (crash mid-write) is truncated away on open. A segment
// is deleted once every batch in it is acknowledged. Not thread-safe: the shipper thread owns it.
#pragma once

#include <memory>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "vigil/core/result.h"

namespace vigil::sensor {

class Spool {
 public:
  ~Spool();
  static core::Result<std::unique_ptr<Spool>> open(const std::string& dir, uint64_t max_bytes, uint64_t segment_bytes);

  // The seq the next batch must carry.
  [[nodiscard]] uint64_t next_seq() const { return next_seq_; }
  // Appends a sealed batch with seq == next_seq(). Fails when the spool is full or on I/O errors.
  core::Status append(uint64_t seq, const std::string& bytes);
  // Reads a spooled, unacknowledged batch.
  core::Result<std::string> read(uint64_t seq);
  // Marks `seq` acknowledged; advances the ack file and deletes finished segments.
  core::Status ack(uint64_t seq);
  // Unacknowledged seqs in order.
  [[nodiscard]] std::vector<uint64_t> pending() const;
  [[nodiscard]] uint64_t depth() const { return records_.size(); }
  [[nodiscard]] uint64_t bytes() const { return bytes_; }
  [[nodiscard]] uint64_t acked_through() const { return acked_through_; }

 private:
  struct Loc {
    uint64_t segment;  // first seq of its segment
    uint64_t offset;
    uint32_t length;
  };
  struct Segment {
    std::string path;
    uint64_t size = 0;
    uint64_t last_seq = 0;
  };
  Spool() = default;
  core::Status recover();
  core::Status write_acked();
  std::string segment_path(uint64_t first_seq) const;

  std::string dir_;
  uint64_t max_bytes_ = 0;
  uint64_t segment_bytes_ = 0;
  uint64_t next_seq_ = 1;
  uint64_t acked_through_ = 0;
  uint64_t bytes_ = 0;
  std::map<uint64_t, Loc> records_;     // unacknowledged
  std::map<uint64_t, Segment> segments_;
  FILE* active_ = nullptr;
  uint64_t active_first_ = 0;
};

}  // namespace vigil::sensor
