// A reader for classic pcap files that maps the file instead of copying it through read():
// on virtual machines the kernel copy costs more than decoding. pcapng files, BPF filters and
// live capture stay with libpcap (PcapSource).
#pragma once

#include <memory>
#include <string>

#include "vigil/sensor/capture.h"

namespace vigil::sensor::detail {

// Returns a source when `path` is a classic pcap file (any of the four magic numbers) that can
// be mapped; nullptr when it is not (the caller falls back to libpcap, which also reports errors).
std::unique_ptr<PacketSource> open_mmap_pcap(const std::string& path);

}  // namespace vigil::sensor::detail
