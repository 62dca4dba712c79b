// IPv4 and IPv6 fragment reassembly. Private to the decoder.
//
// Overlaps are resolved with Suricata's default "bsd" policy (defrag.c, DEFRAG_POLICY_BSD):
// where two fragments overlap, the data of the fragment with the lower offset wins, and on
// equal offsets the fragment that arrived first wins. We store fragments untouched and apply
// that rule when the datagram is complete, by writing fragments in decreasing (offset, arrival)
// order so the winner is written last.
//
// Bounds: total fragment bytes held (memcap), number of datagrams in progress, fragments per
// datagram, and an idle timeout in packet time. All overflow paths drop the new fragment and
// count an anomaly.
#pragma once

#include <array>
#include <cstdint>
#include <list>
#include <memory>
#include <unordered_map>
#include <vector>

#include "vigil/core/time.h"
#include "vigil/sensor/decode.h"

namespace vigil::sensor {

class DecodeEventSink {
 public:
  virtual void on_event(DecodeEvent e) = 0;

 protected:
  ~DecodeEventSink() = default;
};

// One fragment as the decoder found it. Pointers are into the packet being decoded.
struct FragmentView {
  bool v6 = false;
  const uint8_t* ip = nullptr;  // start of the IP header
  // IPv4: the header length. IPv6: the bytes before the fragment header (fixed header and
  // unfragmentable extension headers).
  uint32_t unfrag_len = 0;
  // IPv6: offset (from `ip`) of the next-header byte that names the fragment header; it is
  // rewritten to `inner_proto` in the rebuilt datagram.
  uint32_t nh_pos = 0;
  uint8_t inner_proto = 0;
  const uint8_t* data = nullptr;  // fragment payload
  uint32_t data_len = 0;
  uint32_t offset = 0;  // bytes
  bool more = false;
  uint32_t id = 0;
  core::Timestamp ts;
  // Context that keeps fragments of different links/tunnels apart.
  uint16_t vlan[2] = {0, 0};
  uint32_t vni = 0;
  uint8_t tunnel_depth = 0;
};

class Defragmenter {
 public:
  explicit Defragmenter(const DecoderConfig& config) : config_(config) {}

  // Stores `frag`. Returns the rebuilt IP datagram (header + payload) when `frag` completed
  // one, else nullptr. Anomalies go to `sink`.
  std::shared_ptr<std::vector<uint8_t>> insert(const FragmentView& frag, DecodeEventSink& sink);

  // Drops datagrams idle for longer than the timeout at time `now`.
  void expire(core::Timestamp now, DecodeEventSink& sink);

  [[nodiscard]] size_t trackers() const { return index_.size(); }
  [[nodiscard]] size_t memuse() const { return memuse_; }

 private:
  struct Key {
    std::array<uint8_t, 16> src{};
    std::array<uint8_t, 16> dst{};
    uint32_t id = 0;
    uint32_t vni = 0;
    uint16_t vlan[2] = {0, 0};
    uint8_t v6 = 0;
    uint8_t proto = 0;  // IPv4 only: part of the IPv4 reassembly key (RFC 791)
    uint8_t tunnel_depth = 0;
    friend bool operator==(const Key& a, const Key& b) {
      return a.src == b.src && a.dst == b.dst && a.id == b.id && a.vni == b.vni &&
             a.vlan[0] == b.vlan[0] && a.vlan[1] == b.vlan[1] && a.v6 == b.v6 &&
             a.proto == b.proto && a.tunnel_depth == b.tunnel_depth;
    }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  struct Frag {
    uint32_t offset;
    uint32_t seq;  // arrival order within the datagram
    std::vector<uint8_t> data;
  };
  struct Tracker {
    Key key;
    std::vector<Frag> frags;
    std::vector<uint8_t> header;  // unfragmentable part, from the first offset-0 fragment
    bool have_first = false;
    bool seen_last = false;
    uint32_t total = 0;  // payload length, known once the last fragment is seen
    int64_t last_usec = 0;
    size_t mem = 0;
    uint32_t next_seq = 0;
  };
  using Lru = std::list<Tracker>;  // front = least recently updated

  void drop(Lru::iterator it);
  bool complete(const Tracker& t) const;
  std::shared_ptr<std::vector<uint8_t>> build(Tracker& t, DecodeEventSink& sink);

  const DecoderConfig& config_;
  Lru lru_;
  std::unordered_map<Key, Lru::iterator, KeyHash> index_;
  size_t memuse_ = 0;
};

}  // namespace vigil::sensor
