// fuzz_tls: TlsParser fed the client and server sides of a handshake in pieces, with the TLS
// sticky buffers and the EVE object read after every update.
//
// Input: [split_hi, split_lo, seed] client-bytes server-bytes (fuzz_util.h, TwoSided).
// seed bits 0-2: largest piece (1 << n bytes; 7 = whole side at once); bit 6: a gap in one
// direction halfway; bit 7: the tight TlsConfig (4 KiB handshake messages, 1 KiB records).
#include <algorithm>

#include <nlohmann/json.hpp>

#include "fuzz_util.h"
#include "vigil/sensor/app/tls.h"

namespace {

using vigil::fuzz::consume;
using vigil::fuzz::touch;
using namespace vigil::sensor::app;

void read_state(const TlsState& s) {
  using vigil::rules::Buffer;
  for (Buffer b : {Buffer::TlsSni, Buffer::TlsCertSubject, Buffer::TlsCertIssuer, Buffer::Ja3Hash,
                   Buffer::Ja3String, Buffer::Ja4Hash, Buffer::Payload, Buffer::HttpUri}) {
    consume(touch(s.buffer(b)));
  }
  consume(uint32_t(s.version() + s.session_resumed() + s.handshake_done() + s.anomalies()));
  consume(uint32_t(tls_version_name(s.version()).size() + s.certificate_count()));
  if (const auto& ch = s.client_hello()) {
    consume(uint32_t(ja3_string(*ch).size() + ja4(*ch, 'q').size() + ja4(*ch, 'd').size()));
  }
  if (const auto& sh = s.server_hello()) consume(uint32_t(ja3s_string(*sh).size()));
  if (const auto& c = s.certificate()) {
    consume(uint32_t(c->subject.size() + c->issuer.size() + c->sans.size() + c->der.size()));
  }
  consume(uint32_t(tls_eve(s).dump().size()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const vigil::fuzz::TwoSided in = vigil::fuzz::split_two_sided(data, size);
  if (!in.ok) return 0;
  TlsConfig config;
  if (in.seed & 0x80) {
    config.max_handshake_message = 4096;
    config.max_record_len = 1024;
  }
  TlsParser parser(config);
  vigil::core::Timestamp ts{1'700'000'000'000'000};

  const unsigned shift = in.seed & 7;
  vigil::fuzz::Chunker chunker(in.seed, shift == 7 ? size : (size_t{1} << shift));
  const bool gap = (in.seed & 0x40) != 0;
  const bool gap_to_server = (chunker.next_u32() & 1) != 0;
  bool gap_done = !gap;
  vigil::fuzz::feed_interleaved(in, chunker, 7, [&](bool to_server, std::span<const uint8_t> piece,
                                                      const size_t* off, const std::span<const uint8_t>* side) {
    ts.usec += 1000;
    parser.on_data(to_server, piece, ts);
    if (parser.updated()) read_state(parser.state());
    if (!gap_done && off[gap_to_server ? 1 : 0] * 2 >= side[gap_to_server ? 1 : 0].size()) {
      gap_done = true;
      parser.on_gap(gap_to_server, 1 + chunker.next_u32() % 3000);
    }
  });
  parser.on_close();
  read_state(parser.state());
  consume(uint32_t(parser.stats().records + parser.failed()));
  return 0;
}
