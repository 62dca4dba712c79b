#include "spool.h"

#include <algorithm>
#include <unistd.h>

#include <cinttypes>
#include <filesystem>
#include <fstream>
#include <memory>

namespace vigil::sensor {

using core::make_error;
namespace fs = std::filesystem;

namespace {
constexpr size_t kHeader = 16;

uint32_t fnv32(const char* p, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; ++i) {
    h ^= static_cast<uint8_t>(p[i]);
    h *= 16777619u;
  }
  return h;
}
void put32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
void put64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
uint32_t get32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
uint64_t get64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
}  // namespace

Spool::~Spool() {
  if (active_) std::fclose(active_);
}

std::string Spool::segment_path(uint64_t first_seq) const {
  char name[64];
  std::snprintf(name, sizeof name, "seg-%020" PRIu64 ".spool", first_seq);
  return (fs::path(dir_) / name).string();
}

core::Result<std::unique_ptr<Spool>> Spool::open(const std::string& dir, uint64_t max_bytes, uint64_t segment_bytes) {
  std::unique_ptr<Spool> s(new Spool());
  s->dir_ = dir;
  s->max_bytes_ = max_bytes;
  s->segment_bytes_ = segment_bytes;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error("cannot create spool directory: " + ec.message(), dir);
  if (auto st = s->recover(); !st) return st.error();
  return s;
}

core::Status Spool::recover() {
  {
    std::ifstream in(fs::path(dir_) / "acked");
    uint64_t v = 0;
    if (in >> v) acked_through_ = v;
  }
  std::error_code ec;
  std::vector<fs::path> files;
  for (const auto& ent : fs::directory_iterator(dir_, ec)) {
    auto name = ent.path().filename().string();
    if (name.rfind("seg-", 0) == 0 && ent.path().extension() == ".spool") files.push_back(ent.path());
  }
  if (ec) return make_error("cannot list spool: " + ec.message(), dir_);
  std::sort(files.begin(), files.end());
  uint64_t max_seq = acked_through_;
  for (const auto& f : files) {
    uint64_t first = std::strtoull(f.filename().string().c_str() + 4, nullptr, 10);
    std::ifstream in(f, std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t off = 0;
    Segment seg{f.string(), 0, 0};
    while (off + kHeader <= data.size()) {
      uint32_t len = get32(data.data() + off);
      uint32_t sum = get32(data.data() + off + 4);
      uint64_t seq = get64(data.data() + off + 8);
      if (off + kHeader + len > data.size() || fnv32(data.data() + off + kHeader, len) != sum) break;
      if (seq > acked_through_) {
        records_[seq] = {first, off, len};
        bytes_ += kHeader + len;
      }
      seg.last_seq = std::max(seg.last_seq, seq);
      max_seq = std::max(max_seq, seq);
      off += kHeader + len;
    }
    if (off != data.size()) {
      // Torn or corrupt tail: keep what verified, cut the rest.
      fs::resize_file(f, off, ec);
      if (ec) return make_error("cannot truncate torn spool segment: " + ec.message(), f.string());
    }
    seg.size = off;
    if (seg.last_seq <= acked_through_) {
      fs::remove(f, ec);
      continue;
    }
    segments_[first] = seg;
  }
  next_seq_ = max_seq + 1;
  return {};
}

core::Status Spool::append(uint64_t seq, const std::string& bytes) {
  if (seq != next_seq_) return make_error("spool append out of order", dir_);
  if (bytes_ + kHeader + bytes.size() > max_bytes_) return make_error("spool full", dir_);
  if (!active_ || segments_[active_first_].size >= segment_bytes_) {
    if (active_) std::fclose(active_);
    active_first_ = seq;
    auto path = segment_path(seq);
    active_ = std::fopen(path.c_str(), "ab");
    if (!active_) return make_error("cannot open spool segment", path);
    segments_[seq] = {path, 0, 0};
  }
  char hdr[kHeader];
  put32(hdr, static_cast<uint32_t>(bytes.size()));
  put32(hdr + 4, fnv32(bytes.data(), bytes.size()));
  put64(hdr + 8, seq);
  auto& seg = segments_[active_first_];
  if (std::fwrite(hdr, 1, kHeader, active_) != kHeader ||
      std::fwrite(bytes.data(), 1, bytes.size(), active_) != bytes.size() || std::fflush(active_) != 0) {
    return make_error("spool write failed", seg.path);
  }
  records_[seq] = {active_first_, seg.size, static_cast<uint32_t>(bytes.size())};
  seg.size += kHeader + bytes.size();
  seg.last_seq = seq;
  bytes_ += kHeader + bytes.size();
  ++next_seq_;
  return {};
}

core::Result<std::string> Spool::read(uint64_t seq) {
  auto it = records_.find(seq);
  if (it == records_.end()) return make_error("seq " + std::to_string(seq) + " not in spool", dir_);
  const auto& seg = segments_[it->second.segment];
  std::ifstream in(seg.path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(it->second.offset + kHeader));
  std::string out(it->second.length, '\0');
  if (!in.read(out.data(), static_cast<std::streamsize>(out.size()))) return make_error("spool read failed", seg.path);
  return out;
}

core::Status Spool::ack(uint64_t seq) {
  auto it = records_.find(seq);
  if (it == records_.end()) return {};  // already acknowledged
  bytes_ -= kHeader + it->second.length;
  records_.erase(it);
  uint64_t before = acked_through_;
  // Every appended seq below the oldest pending one has been acknowledged.
  uint64_t limit = records_.empty() ? next_seq_ - 1 : records_.begin()->first - 1;
  acked_through_ = std::max(acked_through_, limit);
  if (acked_through_ == before) return {};
  if (auto st = write_acked(); !st) return st;
  // Drop segments whose every batch is acknowledged (never the one being appended to).
  for (auto s = segments_.begin(); s != segments_.end();) {
    if (s->second.last_seq <= acked_through_ && !(active_ && s->first == active_first_)) {
      std::error_code ec;
      fs::remove(s->second.path, ec);
      s = segments_.erase(s);
    } else {
      ++s;
    }
  }
  if (active_ && records_.empty() && segments_[active_first_].last_seq <= acked_through_ &&
      segments_[active_first_].size >= segment_bytes_ / 4) {
    std::fclose(active_);
    active_ = nullptr;
    std::error_code ec;
    fs::remove(segments_[active_first_].path, ec);
    segments_.erase(active_first_);
  }
  return {};
}

core::Status Spool::write_acked() {
  auto tmp = fs::path(dir_) / "acked.tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << acked_through_ << "\n";
    if (!out.flush()) return make_error("cannot write ack file", tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, fs::path(dir_) / "acked", ec);
  if (ec) return make_error("cannot replace ack file: " + ec.message(), dir_);
  return {};
}

std::vector<uint64_t> Spool::pending() const {
  std::vector<uint64_t> out;
  out.reserve(records_.size());
  for (const auto& [seq, loc] : records_) out.push_back(seq);
  return out;
}

}  // namespace vigil::sensor
