// fuzz_dns: parse_dns_message on the bytes, DnsUdpParser on datagrams cut from them and
// DnsTcpParser on the two directions of a stream fed in pieces; the EVE objects and dns.query
// buffers of every updated transaction are read back.
//
// Input: [split_hi, split_lo, seed] rest (fuzz_util.h, TwoSided).
//   parse_dns_message(rest) (a seed file is then the 3 header bytes and one raw DNS message);
//   UDP: rest as one datagram to the server, then to the client, then rest cut into datagrams
//        by [u16 big-endian: bit 15 = to server, low 15 bits = length] frames;
//   TCP: to-server side and to-client side of the TwoSided split, pieces up to 1 << (seed & 7).
// seed bit 7: the tight DnsConfig (short names, few hops/records/transactions, 512-byte TCP).
#include <algorithm>

#include <nlohmann/json.hpp>

#include "fuzz_util.h"
#include "vigil/sensor/app/dns.h"

namespace {

using vigil::fuzz::consume;
using vigil::fuzz::touch;
using namespace vigil::sensor::app;

DnsConfig tight_config() {
  DnsConfig c;
  c.max_name_len = 20;
  c.max_pointer_hops = 3;
  c.max_records = 6;
  c.max_pending_txs = 2;
  c.max_tcp_message = 512;
  return c;
}

void read_message(const DnsMessage& m) {
  consume(uint32_t(m.id + m.flags + m.anomalies + m.well_formed() + m.opcode() + m.rcode()));
  consume(uint32_t(dns_rcode_name(m.rcode()).size()));
  for (const auto& q : m.questions) {
    consume(uint32_t(q.name.size() + dns_rrtype_name(q.rrtype).size()));
  }
  for (const auto* sec : {&m.answers, &m.authorities, &m.additionals}) {
    for (const auto& r : *sec) {
      consume(uint32_t(r.name.size() + r.rdata.size() + r.raw.size() + r.txt.size()));
      consume(uint32_t(dns_rrtype_name(r.rrtype).size()));
      if (r.soa) consume(uint32_t(r.soa->mname.size() + r.soa->rname.size()));
    }
  }
}

void read_tx(const DnsTx& tx) {
  for (auto b : tx.query_buffers()) consume(touch(b));
  for (const auto& j : dns_eve_queries(tx)) consume(uint32_t(j.dump().size()));
  if (auto a = dns_eve_answer(tx)) consume(uint32_t(a->dump().size()));
  if (tx.request) read_message(*tx.request);
  if (tx.response) read_message(*tx.response);
}

void read_updated(const DnsParserBase& p) {
  for (const DnsTx* tx : p.updated_txs()) read_tx(*tx);
}

void run_udp(std::span<const uint8_t> rest, const DnsConfig& config) {
  DnsUdpParser p(config);
  vigil::core::Timestamp ts{1'700'000'000'000'000};
  const auto whole = vigil::fuzz::own_copy(rest);
  p.on_data(true, whole, ts);
  read_updated(p);
  p.on_data(false, whole, ts);
  read_updated(p);
  size_t off = 0;
  while (off + 2 <= rest.size()) {
    const uint16_t hdr = uint16_t((rest[off] << 8) | rest[off + 1]);
    off += 2;
    const size_t len = std::min<size_t>(hdr & 0x7fff, rest.size() - off);
    const auto dgram = vigil::fuzz::own_copy(rest.subspan(off, len));
    off += len;
    ts.usec += 1000;
    p.on_data((hdr & 0x8000) != 0, dgram, ts);
    read_updated(p);
    if ((hdr & 3) == 0) p.release_completed();
  }
  p.on_close();
  read_updated(p);
  for (const auto& tx : p.txs()) read_tx(*tx);
  p.release_completed();
  consume(uint32_t(p.stats().malformed + p.failed()));
}

void run_tcp(const vigil::fuzz::TwoSided& in, const DnsConfig& config) {
  DnsTcpParser p(config);
  vigil::core::Timestamp ts{1'700'000'000'000'000};
  const unsigned shift = in.seed & 7;
  vigil::fuzz::Chunker chunker(in.seed, shift == 7 ? 65536 : (size_t{1} << shift));
  vigil::fuzz::feed_interleaved(in, chunker, 9, [&](bool to_server, std::span<const uint8_t> piece,
                                                      const size_t*, const std::span<const uint8_t>*) {
    ts.usec += 1000;
    p.on_data(to_server, piece, ts);
    read_updated(p);
    if ((chunker.next_u32() & 3) == 0) p.release_completed();
  });
  if ((in.seed & 0x40) != 0) {
    p.on_gap(true, 10);
    read_updated(p);
  }
  p.on_close();
  read_updated(p);
  for (const auto& tx : p.txs()) read_tx(*tx);
  p.release_completed();
  consume(uint32_t(p.stats().tcp_bad_length + p.failed()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const vigil::fuzz::TwoSided in = vigil::fuzz::split_two_sided(data, size);
  if (!in.ok) return 0;
  const DnsConfig config = (in.seed & 0x80) ? tight_config() : DnsConfig{};
  const std::span<const uint8_t> rest(data + 3, size - 3);

  {
    const auto msg_bytes = vigil::fuzz::own_copy(rest);
    if (auto m = parse_dns_message(msg_bytes, config)) read_message(*m);
  }
  run_udp(rest, config);
  run_tcp(in, config);
  return 0;
}
