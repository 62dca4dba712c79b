#include "mmap_pcap.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

namespace vigil::sensor::detail {

namespace {

constexpr uint32_t kMagicUsec = 0xa1b2c3d4, kMagicNsec = 0xa1b23c4d;
constexpr uint32_t kMagicUsecSwapped = 0xd4c3b2a1, kMagicNsecSwapped = 0x4d3cb2a1;
constexpr size_t kFileHeader = 24, kRecordHeader = 16;
// Larger records are corrupt (libpcap's own limit for savefiles is 256 KiB for most links).
constexpr uint32_t kMaxCaplen = 262144;

uint32_t load32(const uint8_t* p, bool swap) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return swap ? __builtin_bswap32(v) : v;
}

class MmapPcapSource final : public PacketSource {
 public:
  MmapPcapSource(std::string name, const uint8_t* base, size_t size, bool swap, bool nsec, int dlt,
                 int snaplen)
      : name_(std::move(name)), base_(base), size_(size), pos_(kFileHeader), swap_(swap),
        nsec_(nsec), dlt_(dlt), snaplen_(snaplen) {}
  ~MmapPcapSource() override { munmap(const_cast<uint8_t*>(base_), size_); }

  ReadStatus next(RawPacket& out) override {
    if (stop_.load(std::memory_order_relaxed)) return ReadStatus::kEnd;
    if (pos_ == size_) return ReadStatus::kEnd;
    if (size_ - pos_ < kRecordHeader) return truncated();
    const uint8_t* h = base_ + pos_;
    uint32_t sec = load32(h, swap_), frac = load32(h + 4, swap_);
    uint32_t caplen = load32(h + 8, swap_), wirelen = load32(h + 12, swap_);
    if (caplen > kMaxCaplen) {
      last_error_ = name_ + ": packet " + std::to_string(stats_.packets + 1) + " has a bogus capture length " +
                    std::to_string(caplen) + " (corrupt file?)";
      return ReadStatus::kError;
    }
    if (size_ - pos_ - kRecordHeader < caplen) return truncated();
    out.data = h + kRecordHeader;
    out.caplen = caplen;
    out.wirelen = wirelen;
    out.ts = core::Timestamp::from_timeval(sec, nsec_ ? frac / 1000 : frac);
    out.datalink = dlt_;
    pos_ += kRecordHeader + caplen;
    release_behind();
    ++stats_.packets;
    stats_.bytes += caplen;
    return ReadStatus::kOk;
  }
  void break_loop() override { stop_.store(true, std::memory_order_relaxed); }
  [[nodiscard]] CaptureStats stats() const override { return stats_; }
  [[nodiscard]] int datalink() const override { return dlt_; }
  [[nodiscard]] int snaplen() const override { return snaplen_; }
  [[nodiscard]] const std::string& name() const override { return name_; }
  [[nodiscard]] const std::string& last_error() const override { return last_error_; }

 private:
  // Unmaps what was read long ago so that a large capture does not stay resident: only the
  // current packet is referenced once next() returns (workers copy what they queue).
  void release_behind() {
    constexpr size_t kChunk = size_t{16} << 20;
    if (pos_ - released_ < 2 * kChunk) return;
    size_t upto = (pos_ - kChunk) & ~(size_t{4095});
    madvise(const_cast<uint8_t*>(base_) + released_, upto - released_, MADV_DONTNEED);
    released_ = upto;
  }

  ReadStatus truncated() {
    // Same wording and outcome as libpcap: what was read counts, the file ends in an error.
    last_error_ = name_ + ": truncated dump file; tried to read past the end after packet " +
                  std::to_string(stats_.packets);
    pos_ = size_;
    return ReadStatus::kError;
  }

  std::string name_;
  const uint8_t* base_;
  size_t size_;
  size_t pos_;
  size_t released_ = 0;  // [0, released_) was handed back to the kernel
  bool swap_, nsec_;
  int dlt_, snaplen_;
  std::atomic<bool> stop_{false};
  CaptureStats stats_;
  std::string last_error_;
};

}  // namespace

std::unique_ptr<PacketSource> open_mmap_pcap(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < static_cast<off_t>(kFileHeader)) {
    ::close(fd);
    return nullptr;
  }
  size_t size = static_cast<size_t>(st.st_size);
  void* m = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED) return nullptr;
  madvise(m, size, MADV_SEQUENTIAL);
  const auto* base = static_cast<const uint8_t*>(m);
  uint32_t magic;
  std::memcpy(&magic, base, 4);
  bool swap = magic == kMagicUsecSwapped || magic == kMagicNsecSwapped;
  bool nsec = magic == kMagicNsec || magic == kMagicNsecSwapped;
  if (magic != kMagicUsec && magic != kMagicNsec && !swap) {
    munmap(m, size);
    return nullptr;  // pcapng or not a capture: libpcap decides
  }
  int snaplen = static_cast<int>(load32(base + 16, swap));
  // The link type is the low 16 bits; the upper bits carry FCS information.
  int dlt = static_cast<int>(load32(base + 20, swap) & 0xffff);
  return std::make_unique<MmapPcapSource>(path, base, size, swap, nsec, dlt, snaplen);
}

}  // namespace vigil::sensor::detail
