// libpcap-backed PacketSource for files and live interfaces.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <pcap/pcap.h>

#include <string>
#include <utility>

#include "vigil/sensor/capture.h"

#include "mmap_pcap.h"

namespace vigil::sensor {
namespace {

using core::make_error;

class PcapSource final : public PacketSource {
 public:
  PcapSource(pcap_t* handle, std::string name, bool live)
      : handle_(handle), name_(std::move(name)), live_(live),
        datalink_(pcap_datalink(handle)), snaplen_(pcap_snapshot(handle)) {}
  ~PcapSource() override { pcap_close(handle_); }
  PcapSource(const PcapSource&) = delete;
  PcapSource& operator=(const PcapSource&) = delete;

  ReadStatus next(RawPacket& out) override {
    pcap_pkthdr* hdr = nullptr;
    const u_char* bytes = nullptr;
    int rc = pcap_next_ex(handle_, &hdr, &bytes);
    switch (rc) {
      case 1:
        out.data = bytes;
        out.caplen = hdr->caplen;
        out.wirelen = hdr->len;
        out.ts = core::Timestamp::from_timeval(hdr->ts.tv_sec, hdr->ts.tv_usec);
        out.datalink = datalink_;
        ++packets_;
        bytes_ += hdr->caplen;
        return ReadStatus::kOk;
      case 0:
        return ReadStatus::kTimeout;
      case PCAP_ERROR_BREAK:  // end of file, or pcap_breakloop
        return ReadStatus::kEnd;
      default:
        last_error_ = name_ + ": " + pcap_geterr(handle_);
        return ReadStatus::kError;
    }
  }

  void break_loop() override { pcap_breakloop(handle_); }

  [[nodiscard]] CaptureStats stats() const override {
    CaptureStats s;
    s.packets = packets_;
    s.bytes = bytes_;
    if (live_) {
      pcap_stat ps{};
      if (pcap_stats(handle_, &ps) == 0) {
        s.kernel_received = ps.ps_recv;
        s.kernel_dropped = ps.ps_drop;
        s.if_dropped = ps.ps_ifdrop;
      }
    }
    return s;
  }

  [[nodiscard]] int datalink() const override { return datalink_; }
  [[nodiscard]] int snaplen() const override { return snaplen_; }
  [[nodiscard]] const std::string& name() const override { return name_; }
  [[nodiscard]] const std::string& last_error() const override { return last_error_; }

 private:
  pcap_t* handle_;
  std::string name_;
  bool live_;
  int datalink_;
  int snaplen_;
  uint64_t packets_ = 0;
  uint64_t bytes_ = 0;
  std::string last_error_;
};

// Compiles and installs `bpf` on `handle`; the error names `what` and the filter.
core::Status apply_filter(pcap_t* handle, const std::string& bpf, const std::string& what) {
  if (bpf.empty()) return {};
  bpf_program prog{};
  // PCAP_NETMASK_UNKNOWN: only "ip broadcast" filters need the real netmask.
  if (pcap_compile(handle, &prog, bpf.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
    return make_error("bad BPF filter '" + bpf + "': " + pcap_geterr(handle), what);
  }
  int rc = pcap_setfilter(handle, &prog);
  pcap_freecode(&prog);
  if (rc != 0) {
    return make_error("cannot set BPF filter '" + bpf + "': " + pcap_geterr(handle), what);
  }
  return {};
}

}  // namespace

core::Result<std::unique_ptr<PacketSource>> PacketSource::open_file(const std::string& path,
                                                                    const std::string& bpf) {
  if (bpf.empty()) {
    if (auto src = detail::open_mmap_pcap(path)) return src;
  }
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  // We open the file ourselves to give stdio a large buffer: libpcap's default reads 4 KiB per
  // system call, which costs more than decoding on a virtual machine. pcap_fopen_offline reads
  // both pcap and pcapng and owns the FILE from then on (pcap_close closes it).
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return make_error(std::string("cannot open capture file: ") + std::strerror(errno), path);
  }
  std::setvbuf(f, nullptr, _IOFBF, size_t{1} << 20);
  pcap_t* handle = pcap_fopen_offline(f, errbuf);
  if (handle == nullptr) {
    std::fclose(f);
    return make_error(std::string("cannot open capture file: ") + errbuf, path);
  }
  if (auto st = apply_filter(handle, bpf, path); !st) {
    pcap_close(handle);
    return st.error();
  }
  return std::unique_ptr<PacketSource>(new PcapSource(handle, path, false));
}

core::Result<std::unique_ptr<PacketSource>> PacketSource::open_live(const std::string& iface,
                                                                    const std::string& bpf,
                                                                    const LiveOptions& options) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* handle = pcap_create(iface.c_str(), errbuf);
  const std::string where = "interface " + iface;
  if (handle == nullptr) return make_error(std::string("cannot open: ") + errbuf, where);

  auto fail = [&](const std::string& what) -> core::Error {
    std::string msg = what + ": " + pcap_geterr(handle);
    pcap_close(handle);
    return make_error(msg, where);
  };
  if (pcap_set_snaplen(handle, options.snaplen) != 0) return fail("cannot set snaplen");
  if (pcap_set_promisc(handle, options.promisc ? 1 : 0) != 0) return fail("cannot set promisc");
  // Immediate mode: hand packets over as they arrive instead of when a TPACKET_V3 block fills,
  // which on quiet links would add up to the block timeout of latency.
  if (pcap_set_immediate_mode(handle, 1) != 0) return fail("cannot set immediate mode");
  if (pcap_set_buffer_size(handle, options.buffer_size_mb << 20) != 0) {
    return fail("cannot set buffer size");
  }
  if (pcap_set_timeout(handle, options.timeout_ms) != 0) return fail("cannot set timeout");

  int rc = pcap_activate(handle);
  if (rc < 0) {
    // pcap_statustostr covers PCAP_ERROR_NO_SUCH_DEVICE / PERM_DENIED; geterr has details.
    std::string msg = std::string("cannot activate capture (") + pcap_statustostr(rc) +
                      "): " + pcap_geterr(handle);
    pcap_close(handle);
    return make_error(msg, where);
  }
  // rc > 0 is a warning (e.g. promiscuous mode not supported): capture still works.
  if (auto st = apply_filter(handle, bpf, where); !st) {
    pcap_close(handle);
    return st.error();
  }
  return std::unique_ptr<PacketSource>(new PcapSource(handle, iface, true));
}

}  // namespace vigil::sensor
