// Helpers shared by the fuzz targets: reading control bytes off the front of an input and
// splitting the rest into pieces the way TCP segments or datagrams would arrive.
//
// Everything is a pure function of the input bytes, so an input kept in corpus/<name>/ replays
// the same calls (fuzz_decode's static Decoder is the one deliberate exception).
#pragma once

#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <span>
#include <vector>

namespace vigil::fuzz {

// Deterministic chunk sizes (xorshift32 seeded from an input byte).
class Chunker {
 public:
  // `seed` picks the chunk size pattern; `max_chunk` bounds a piece (>= 1).
  Chunker(uint8_t seed, size_t max_chunk) : state_(0x9e3779b9u ^ (uint32_t{seed} * 0x01000193u)),
                                             max_(max_chunk == 0 ? 1 : max_chunk) {}
  // The next piece size, 1..max_chunk.
  size_t next() { return 1 + next_u32() % max_; }
  uint32_t next_u32() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 17;
    state_ ^= state_ << 5;
    return state_;
  }

 private:
  uint32_t state_;
  size_t max_;
};

// The header most stream targets use: [split_hi, split_lo, seed] then the stream bytes. The
// first `split` bytes (mod size+1) go to the server, the rest to the client.
struct TwoSided {
  std::span<const uint8_t> to_server;
  std::span<const uint8_t> to_client;
  uint8_t seed = 0;
  bool ok = false;  // false when the input is shorter than the header
};

inline TwoSided split_two_sided(const uint8_t* data, size_t size) {
  TwoSided t;
  if (size < 3) return t;
  const size_t split_raw = (size_t{data[0]} << 8) | data[1];
  t.seed = data[2];
  std::span<const uint8_t> rest(data + 3, size - 3);
  const size_t split = split_raw % (rest.size() + 1);
  t.to_server = rest.first(split);
  t.to_client = rest.subspan(split);
  t.ok = true;
  return t;
}

// Copies `s` into its own exactly-sized heap block so AddressSanitizer sees a read past its end
// (a span into the middle of the fuzzer's buffer would not trip it).
inline std::vector<uint8_t> own_copy(std::span<const uint8_t> s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

// Feeds both sides of `in` in interleaved pieces, as a TCP connection delivers them. The
// chunker sets each piece's size and, while both sides have bytes left, bit `dir_bit` of a draw
// picks the side. `on_piece(to_server, piece, progress)` gets each piece in its own heap block
// (own_copy), then the bytes delivered so far and the full sides, both indexed [1] = to server.
template <typename OnPiece>
void feed_interleaved(const TwoSided& in, Chunker& chunker, unsigned dir_bit, OnPiece&& on_piece) {
  const std::span<const uint8_t> side[2] = {in.to_client, in.to_server};  // [1] = to server
  size_t off[2] = {0, 0};
  while (off[0] < side[0].size() || off[1] < side[1].size()) {
    int dir;
    if (off[0] >= side[0].size()) {
      dir = 1;
    } else if (off[1] >= side[1].size()) {
      dir = 0;
    } else {
      dir = (chunker.next_u32() >> dir_bit) & 1;
    }
    const size_t n = std::min(chunker.next(), side[dir].size() - off[dir]);
    const auto piece = own_copy(side[dir].subspan(off[dir], n));
    off[dir] += n;
    on_piece(dir == 1, std::span<const uint8_t>(piece), off, side);
  }
}

// Reads every byte of `s` (so a dangling or short span is caught by ASan) and folds it into a
// value the compiler cannot drop.
inline uint32_t touch(std::span<const uint8_t> s) {
  uint32_t h = 2166136261u;
  for (uint8_t b : s) h = (h ^ b) * 16777619u;
  return h;
}

// A sink for touch() results and string sizes.
inline volatile uint32_t g_sink = 0;
inline void consume(uint32_t v) { g_sink = g_sink + v; }

}  // namespace vigil::fuzz
