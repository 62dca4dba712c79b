// Reading network-order integers and computing Internet checksums (RFC 1071).
// Private to the decoder. Callers check lengths before reading.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace vigil::sensor::wire {

inline uint16_t rd16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t rd24(const uint8_t* p) {
  return (uint32_t{p[0]} << 16) | (uint32_t{p[1]} << 8) | p[2];
}
inline uint32_t rd32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// Adds `n` bytes to a ones'-complement accumulator. Words are loaded in native byte order:
// the ones'-complement sum is byte-order independent up to a final byte swap (RFC 1071 2.B),
// and a correct checksum folds to 0xffff in either order, so no swapping is needed to verify.
// Every chunk but the last must have an even length so that byte pairs stay aligned.
inline uint64_t csum_add(const uint8_t* d, size_t n, uint64_t acc) {
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, d, 8);
    acc += w;
    acc += (acc < w);  // end-around carry
    d += 8;
    n -= 8;
  }
  uint64_t tail = 0;
  if (n >= 4) {
    uint32_t w;
    std::memcpy(&w, d, 4);
    tail += w;
    d += 4;
    n -= 4;
  }
  if (n >= 2) {
    uint16_t w;
    std::memcpy(&w, d, 2);
    tail += w;
    d += 2;
    n -= 2;
  }
  if (n == 1) {
    uint8_t b[2] = {d[0], 0};  // an odd last byte is padded with a zero byte
    uint16_t w;
    std::memcpy(&w, b, 2);
    tail += w;
  }
  acc += tail;
  acc += (acc < tail);
  return acc;
}

inline uint16_t csum_fold(uint64_t acc) {
  acc = (acc & 0xffffffffu) + (acc >> 32);
  acc = (acc & 0xffffffffu) + (acc >> 32);
  acc = (acc & 0xffffu) + (acc >> 16);
  acc = (acc & 0xffffu) + (acc >> 16);
  return static_cast<uint16_t>(acc);
}

// True when the bytes, checksum field included, sum to all ones.
inline bool csum_valid(uint64_t acc) { return csum_fold(acc) == 0xffff; }

}  // namespace vigil::sensor::wire
