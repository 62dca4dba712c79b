#include <cstring>

#include "vigil/sensor/decode.h"

namespace vigil::sensor {
namespace {

uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

// One endpoint (address, port) mixed into 64 bits.
uint64_t endpoint(const core::IpAddress& a, uint16_t port) {
  uint64_t hi, lo;
  std::memcpy(&hi, a.bytes().data(), 8);
  std::memcpy(&lo, a.bytes().data() + 8, 8);
  return mix64(hi ^ mix64(lo ^ (uint64_t{port} << 1 | 1)));
}

}  // namespace

uint32_t flow_hash(const Packet& p) {
  if (p.ip_version == 0) return 0;
  const bool ports = !p.is_fragment;
  const uint64_t a = endpoint(p.src, ports ? p.sport : 0);
  const uint64_t b = endpoint(p.dst, ports ? p.dport : 0);
  // Addition is commutative, so swapping the endpoints gives the same value; mixing the sum
  // again keeps it well spread.
  uint64_t h = mix64(a + b);
  const uint64_t ctx = (uint64_t{p.vlan[0]} << 48) | (uint64_t{p.vlan[1]} << 32) | p.vni;
  const uint64_t proto = ports ? p.proto : 0;
  h = mix64(h ^ ctx ^ (proto << 24 << 32));
  return static_cast<uint32_t>(h ^ (h >> 32));
}

}  // namespace vigil::sensor
