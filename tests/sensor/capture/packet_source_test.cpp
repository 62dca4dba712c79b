#include <pcap/pcap.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

#include "vigil/sensor/capture.h"

using vigil::sensor::PacketSource;
using vigil::sensor::RawPacket;
using vigil::sensor::ReadStatus;

namespace {

// Writes a small pcap: one UDP and one TCP packet over Ethernet (only headers matter to BPF).
std::string write_pcap() {
  std::string path = "/tmp/vigil_capture_test_" + std::to_string(getpid()) + ".pcap";
  pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
  pcap_dumper_t* dump = pcap_dump_open(dead, path.c_str());
  REQUIRE(dump != nullptr);
  for (int i = 0; i < 2; ++i) {
    uint8_t pkt[54] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00,
                       0x45, 0, 0, 40, 0, 1, 0, 0, 64, static_cast<uint8_t>(i == 0 ? 17 : 6), 0, 0,
                       10, 0, 0, 1, 10, 0, 0, 2, 0x04, 0xd2, 0x00, 0x35, 0, 20};
    pcap_pkthdr h{};
    h.ts.tv_sec = 1700000000 + i;
    h.ts.tv_usec = 250;
    h.caplen = sizeof(pkt);
    h.len = 60;
    pcap_dump(reinterpret_cast<u_char*>(dump), &h, pkt);
  }
  pcap_dump_close(dump);
  pcap_close(dead);
  return path;
}

}  // namespace

TEST_CASE("PacketSource reads a pcap file", "[sensor][capture]") {
  std::string path = write_pcap();
  auto src = PacketSource::open_file(path);
  REQUIRE(src.ok());
  CHECK((*src)->datalink() == DLT_EN10MB);
  CHECK((*src)->name() == path);
  RawPacket raw;
  REQUIRE((*src)->next(raw) == ReadStatus::kOk);
  CHECK(raw.caplen == 54);
  CHECK(raw.wirelen == 60);
  CHECK(raw.ts.usec == 1700000000LL * 1000000 + 250);
  CHECK(raw.datalink == DLT_EN10MB);
  CHECK(raw.data[23] == 17);
  REQUIRE((*src)->next(raw) == ReadStatus::kOk);
  CHECK((*src)->next(raw) == ReadStatus::kEnd);
  CHECK((*src)->stats().packets == 2);
  CHECK((*src)->stats().bytes == 108);

  auto tcp_only = PacketSource::open_file(path, "tcp");
  REQUIRE(tcp_only.ok());
  int n = 0;
  while ((*tcp_only)->next(raw) == ReadStatus::kOk) {
    ++n;
    CHECK(raw.data[23] == 6);
  }
  CHECK(n == 1);
  std::remove(path.c_str());
}

TEST_CASE("PacketSource errors name the file, filter or interface", "[sensor][capture]") {
  auto missing = PacketSource::open_file("/nonexistent/vigil.pcap");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().to_string().find("/nonexistent/vigil.pcap") != std::string::npos);

  auto bad_bpf = PacketSource::open_file(std::string(VIGIL_SHARED_DIR) +
                                             "/conformance/tests/decode-nsh-type2/input.pcap",
                                         "tcp port banana");
  REQUIRE_FALSE(bad_bpf.ok());
  CHECK(bad_bpf.error().to_string().find("tcp port banana") != std::string::npos);

  auto no_if = PacketSource::open_live("vigil-no-such0");
  REQUIRE_FALSE(no_if.ok());
  CHECK(no_if.error().to_string().find("vigil-no-such0") != std::string::npos);
}
