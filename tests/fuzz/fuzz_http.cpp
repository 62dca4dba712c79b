// fuzz_http: HttpParser (libhtp underneath) fed a request stream and a response stream in
// pieces, with every sticky buffer and the EVE object of every updated transaction read back.
//
// Input: [split_hi, split_lo, seed] request-bytes response-bytes (fuzz_util.h, TwoSided).
// seed bits 0-2: largest piece (1 << n bytes; 7 = whole side at once); bit 6: a gap in one
// direction halfway; bit 7: the alternative engine (small body limits, double decoding,
// uri-include-all, 4 pending transactions).
#include <algorithm>
#include <memory>

#include <nlohmann/json.hpp>

#include "fuzz_util.h"
#include "vigil/sensor/app/http.h"

namespace {

using vigil::sensor::app::HttpConfig;
using vigil::sensor::app::HttpEngine;
using vigil::sensor::app::HttpParser;
using vigil::sensor::app::HttpTx;

const std::shared_ptr<const HttpEngine>& default_engine() {
  static const auto engine = HttpEngine::create(HttpConfig{});
  return engine;
}

const std::shared_ptr<const HttpEngine>& alt_engine() {
  static const auto engine = [] {
    HttpConfig c;
    c.request_body_limit = 512;
    c.response_body_limit = 1024;
    c.response_decompress_layer_limit = 3;
    c.compression_bomb_limit = 64 * 1024;
    c.lzma_layers = 1;
    c.lzma_memlimit = 64 * 1024;
    c.meta_field_limit = 256;
    c.max_headers = 8;
    c.max_pending_txs = 4;
    c.double_decode_path = true;
    c.double_decode_query = true;
    c.uri_include_all = true;
    return HttpEngine::create(c);
  }();
  return engine;
}

void read_tx(const HttpTx& tx) {
  using vigil::fuzz::consume;
  using vigil::fuzz::touch;
  for (int i = 0; i < vigil::rules::kBufferCount; ++i) {
    const auto b = static_cast<vigil::rules::Buffer>(i);
    for (bool to_server : {true, false}) {
      consume(touch(tx.buffer(b, to_server)));
      consume(tx.buffer_final(b, to_server) ? 1u : 0u);
    }
  }
  for (const auto& [k, v] : tx.request_headers()) consume(uint32_t(k.size() + v.size()));
  for (const auto& [k, v] : tx.response_headers()) consume(uint32_t(k.size() + v.size()));
  if (const std::string* h = tx.request_header("host")) consume(uint32_t(h->size()));
  if (const std::string* h = tx.response_header("Content-Type")) consume(uint32_t(h->size()));
  consume(uint32_t(tx.status() + tx.request_port() + tx.anomalies()));
  consume(uint32_t(tx.request_message_len() + tx.response_message_len()));
  consume(uint32_t(tx.request_body_seen() + tx.response_body_seen()));
  consume(uint32_t(vigil::sensor::app::http_eve(tx).dump().size()));
}

void read_updated(HttpParser& p) {
  for (const HttpTx* tx : p.updated_txs()) read_tx(*tx);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const vigil::fuzz::TwoSided in = vigil::fuzz::split_two_sided(data, size);
  if (!in.ok) return 0;
  const auto& engine = (in.seed & 0x80) ? alt_engine() : default_engine();
  if (!engine) return 0;

  const unsigned shift = in.seed & 7;
  const size_t max_chunk = shift == 7 ? size : (size_t{1} << shift);
  vigil::fuzz::Chunker chunker(in.seed, max_chunk);
  vigil::core::Timestamp ts{1'700'000'000'000'000};
  HttpParser parser(engine, 49152, 80, ts);

  const bool gap = (in.seed & 0x40) != 0;
  const bool gap_to_server = (chunker.next_u32() & 1) != 0;
  bool gap_done = !gap;
  vigil::fuzz::feed_interleaved(in, chunker, 7, [&](bool to_server, std::span<const uint8_t> piece,
                                                      const size_t* off, const std::span<const uint8_t>* side) {
    ts.usec += 1000;
    parser.on_data(to_server, piece, ts);
    read_updated(parser);
    if (!gap_done && off[gap_to_server ? 1 : 0] * 2 >= side[gap_to_server ? 1 : 0].size()) {
      gap_done = true;
      parser.on_gap(gap_to_server, 1 + chunker.next_u32() % 3000);
      read_updated(parser);
    }
    if ((chunker.next_u32() & 3) == 0) parser.release_completed();
  });
  parser.on_close();
  read_updated(parser);
  for (const auto& tx : parser.txs()) read_tx(*tx);
  const auto& st = parser.stats();
  vigil::fuzz::consume(uint32_t(st.requests + st.responses + st.txs_dropped + parser.failed()));
  parser.release_completed();
  return 0;
}
