#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "vigil/sensor/app/dns.h"

namespace app = vigil::sensor::app;

namespace {

struct Builder {
  std::vector<uint8_t> b;
  Builder& u8(uint8_t v) {
    b.push_back(v);
    return *this;
  }
  Builder& u16(uint16_t v) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v & 0xff));
    return *this;
  }
  Builder& u32(uint32_t v) {
    u16(static_cast<uint16_t>(v >> 16));
    return u16(static_cast<uint16_t>(v & 0xffff));
  }
  Builder& name(const std::string& dotted) {
    size_t start = 0;
    while (start < dotted.size()) {
      size_t dot = dotted.find('.', start);
      if (dot == std::string::npos) dot = dotted.size();
      u8(static_cast<uint8_t>(dot - start));
      b.insert(b.end(), dotted.begin() + static_cast<long>(start), dotted.begin() + static_cast<long>(dot));
      start = dot + 1;
    }
    return u8(0);
  }
  Builder& ptr(uint16_t off) { return u16(static_cast<uint16_t>(0xc000 | off)); }
  Builder& header(uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns = 0,
                  uint16_t ar = 0) {
    return u16(id).u16(flags).u16(qd).u16(an).u16(ns).u16(ar);
  }
};

std::vector<uint8_t> query(uint16_t id, const std::string& qname, uint16_t type = 1) {
  Builder q;
  q.header(id, 0x0100, 1, 0).name(qname).u16(type).u16(1);
  return q.b;
}

// A response with compression: answers point back at the question name (offset 12).
std::vector<uint8_t> response(uint16_t id) {
  Builder r;
  r.header(id, 0x8180, 1, 5, 1, 0).name("www.example.com").u16(1).u16(1);
  r.ptr(12).u16(app::dns_rrtype::kCname).u16(1).u32(300);
  const size_t rdlen_at = r.b.size();
  r.u16(0);
  const size_t cname_at = r.b.size();
  r.u8(4).u8('e').u8('d').u8('g').u8('e').ptr(16);  // edge.example.com
  const uint16_t len = static_cast<uint16_t>(r.b.size() - cname_at);
  r.b[rdlen_at] = static_cast<uint8_t>(len >> 8);
  r.b[rdlen_at + 1] = static_cast<uint8_t>(len);
  r.ptr(static_cast<uint16_t>(cname_at)).u16(app::dns_rrtype::kA).u16(1).u32(60).u16(4);
  r.u8(93).u8(184).u8(216).u8(34);
  r.ptr(static_cast<uint16_t>(cname_at)).u16(app::dns_rrtype::kAaaa).u16(1).u32(60).u16(16);
  for (uint8_t v : {0x26, 0x06, 0x28, 0x00, 0x02, 0x20, 0x00, 0x01, 0x02, 0x48, 0x18, 0x93, 0x25,
                    0xc8, 0x19, 0x46}) {
    r.u8(v);
  }
  r.ptr(12).u16(app::dns_rrtype::kMx).u16(1).u32(60).u16(4).u16(10).ptr(16);
  r.ptr(12).u16(app::dns_rrtype::kTxt).u16(1).u32(60).u16(10);
  r.u8(3).u8('a').u8('b').u8('c').u8(5).u8('d').u8('e').u8('f').u8('g').u8('h');
  // Authority: SOA for example.com.
  r.ptr(16).u16(app::dns_rrtype::kSoa).u16(1).u32(900);
  const size_t soa_len_at = r.b.size();
  r.u16(0);
  const size_t soa_at = r.b.size();
  r.u8(2).u8('n').u8('s').ptr(16).u8(4).u8('r').u8('o').u8('o').u8('t').ptr(16);
  r.u32(2024010101).u32(7200).u32(3600).u32(1209600).u32(300);
  const uint16_t soa_len = static_cast<uint16_t>(r.b.size() - soa_at);
  r.b[soa_len_at] = static_cast<uint8_t>(soa_len >> 8);
  r.b[soa_len_at + 1] = static_cast<uint8_t>(soa_len);
  return r.b;
}

const vigil::core::Timestamp kTs{};

}  // namespace

TEST_CASE("dns: query and compressed response", "[sensor][app][dns]") {
  const auto q = app::parse_dns_message(query(0x1234, "www.Example.com"));
  REQUIRE(q);
  CHECK_FALSE(q->is_response());
  CHECK(q->rd());
  REQUIRE(q->questions.size() == 1);
  CHECK(q->questions[0].name == "www.Example.com");  // no case folding
  CHECK(q->well_formed());

  const auto r = app::parse_dns_message(response(0x1234));
  REQUIRE(r);
  CHECK(r->well_formed());
  CHECK(r->is_response());
  CHECK(r->rcode() == 0);
  REQUIRE(r->answers.size() == 5);
  CHECK(r->answers[0].name == "www.example.com");
  CHECK(r->answers[0].rdata == "edge.example.com");
  CHECK(r->answers[1].name == "edge.example.com");
  CHECK(r->answers[1].rdata == "93.184.216.34");
  CHECK(r->answers[2].rdata == "2606:2800:0220:0001:0248:1893:25c8:1946");
  CHECK(r->answers[3].rdata == "example.com");
  CHECK(r->answers[3].mx_preference == 10);
  CHECK(r->answers[4].txt == std::vector<std::string>{"abc", "defgh"});
  REQUIRE(r->authorities.size() == 1);
  REQUIRE(r->authorities[0].soa);
  CHECK(r->authorities[0].soa->mname == "ns.example.com");
  CHECK(r->authorities[0].soa->rname == "root.example.com");
  CHECK(r->authorities[0].soa->minimum == 300);
}

TEST_CASE("dns: hostile names", "[sensor][app][dns]") {
  SECTION("pointer to itself") {
    Builder b;
    b.header(1, 0x0100, 1, 0).ptr(12).u16(1).u16(1);
    const auto m = app::parse_dns_message(b.b);
    REQUIRE(m);
    CHECK((m->anomalies & app::dns_anomaly::kPointerLoop) != 0);
    CHECK_FALSE(m->well_formed());
  }
  SECTION("two pointers chasing each other") {
    Builder b;
    b.header(1, 0x0100, 1, 0).u8(1).u8('a').ptr(16).ptr(12).u16(1).u16(1);
    const auto m = app::parse_dns_message(b.b);
    REQUIRE(m);
    CHECK((m->anomalies & app::dns_anomaly::kPointerLoop) != 0);
  }
  SECTION("pointer past the end") {
    Builder b;
    b.header(1, 0x0100, 1, 0).ptr(0x3fff).u16(1).u16(1);
    const auto m = app::parse_dns_message(b.b);
    REQUIRE(m);
    CHECK((m->anomalies & app::dns_anomaly::kBadPointer) != 0);
  }
  SECTION("name longer than 255") {
    std::string longname;
    for (int i = 0; i < 10; ++i) longname += std::string(60, static_cast<char>('a' + i)) + ".";
    longname += "com";
    const auto m = app::parse_dns_message(query(7, longname));
    REQUIRE(m);
    REQUIRE(m->questions.size() == 1);
    CHECK(m->questions[0].name.size() == 255);
    CHECK(m->questions[0].name_truncated);
    CHECK((m->anomalies & app::dns_anomaly::kNameTooLong) != 0);
    CHECK(m->well_formed());  // still parsed to the end
  }
  SECTION("reserved label type") {
    Builder b;
    b.header(1, 0x0100, 1, 0).u8(0x40).u8(0).u16(1).u16(1);
    const auto m = app::parse_dns_message(b.b);
    REQUIRE(m);
    CHECK((m->anomalies & app::dns_anomaly::kBadLabel) != 0);
  }
  SECTION("too many records") {
    app::DnsConfig cfg;
    cfg.max_records = 3;
    Builder b;
    b.header(1, 0x0100, 5, 0).name("a.example").u16(1).u16(1);
    for (int i = 0; i < 4; ++i) b.ptr(12).u16(1).u16(1);
    const auto m = app::parse_dns_message(b.b, cfg);
    REQUIRE(m);
    CHECK(m->questions.size() == 3);
    CHECK((m->anomalies & app::dns_anomaly::kTooManyRecords) != 0);
  }
}

TEST_CASE("dns: truncated messages at every length", "[sensor][app][dns]") {
  const auto full = response(9);
  CHECK_FALSE(app::parse_dns_message(std::span(full).first(11)));
  for (size_t n = 12; n < full.size(); ++n) {
    const auto m = app::parse_dns_message(std::span(full).first(n));
    REQUIRE(m);
    INFO("length " << n);
    CHECK_FALSE(m->well_formed());
  }
}

TEST_CASE("dns: udp transactions and EVE", "[sensor][app][dns]") {
  app::DnsUdpParser p;
  p.on_data(app::kToServer, query(0x1234, "www.example.com"), kTs);
  REQUIRE(p.updated_txs().size() == 1);
  const app::DnsTx* tx = p.updated_txs().front();
  const auto qb = tx->query_buffers();
  REQUIRE(qb.size() == 1);
  CHECK(std::string(reinterpret_cast<const char*>(qb[0].data()), qb[0].size()) == "www.example.com");
  const auto queries = app::dns_eve_queries(*tx);
  REQUIRE(queries.size() == 1);
  CHECK(queries[0]["type"] == "query");
  CHECK(queries[0]["id"] == 0x1234);
  CHECK(queries[0]["rrname"] == "www.example.com");
  CHECK(queries[0]["rrtype"] == "A");
  CHECK(queries[0]["tx_id"] == 0);

  p.on_data(app::kToClient, response(0x1234), kTs);
  REQUIRE(p.updated_txs().size() == 1);
  CHECK(p.updated_txs().front() == tx);
  CHECK(tx->complete());
  const auto a = app::dns_eve_answer(*tx);
  REQUIRE(a);
  CHECK((*a)["version"] == 2);
  CHECK((*a)["type"] == "answer");
  CHECK((*a)["flags"] == "8180");
  CHECK((*a)["qr"] == true);
  CHECK((*a)["rd"] == true);
  CHECK((*a)["ra"] == true);
  CHECK((*a)["rcode"] == "NOERROR");
  CHECK((*a)["rrname"] == "www.example.com");
  CHECK((*a)["answers"].size() == 5);
  CHECK((*a)["answers"][1]["rdata"] == "93.184.216.34");
  CHECK((*a)["grouped"]["A"][0] == "93.184.216.34");
  CHECK((*a)["grouped"]["CNAME"][0] == "edge.example.com");
  CHECK((*a)["authorities"][0]["soa"]["mname"] == "ns.example.com");

  // An unrelated response is its own transaction, flagged.
  p.on_data(app::kToClient, response(0x9999), kTs);
  CHECK(p.stats().unsolicited_responses == 1);
  p.release_completed();
  CHECK(p.txs().empty());
}

TEST_CASE("dns: tcp framing across segments", "[sensor][app][dns]") {
  std::vector<uint8_t> stream;
  for (uint16_t id : {1, 2, 3}) {
    const auto q = query(id, "host" + std::to_string(id) + ".example.net", app::dns_rrtype::kAaaa);
    stream.push_back(static_cast<uint8_t>(q.size() >> 8));
    stream.push_back(static_cast<uint8_t>(q.size()));
    stream.insert(stream.end(), q.begin(), q.end());
  }
  for (size_t step : {size_t{1}, size_t{3}, size_t{31}, stream.size()}) {
    app::DnsTcpParser p;
    for (size_t i = 0; i < stream.size(); i += step) {
      p.on_data(app::kToServer, std::span(stream).subspan(i, std::min(step, stream.size() - i)), kTs);
    }
    INFO("step " << step);
    REQUIRE(p.txs().size() == 3);
    CHECK(p.txs()[2]->request->questions[0].name == "host3.example.net");
    CHECK(p.txs()[2]->request->questions[0].rrtype == app::dns_rrtype::kAaaa);
  }
  SECTION("zero length prefix fails the direction") {
    app::DnsTcpParser p;
    const std::vector<uint8_t> bad = {0, 0, 1, 2, 3};
    p.on_data(app::kToServer, bad, kTs);
    CHECK(p.stats().tcp_bad_length == 1);
    p.on_data(app::kToServer, stream, kTs);
    CHECK(p.txs().empty());
  }
}

TEST_CASE("dns: names", "[sensor][app][dns]") {
  CHECK(app::dns_rrtype_name(1) == "A");
  CHECK(app::dns_rrtype_name(28) == "AAAA");
  CHECK(app::dns_rrtype_name(65) == "HTTPS");
  CHECK(app::dns_rrtype_name(4242) == "4242");
  CHECK(app::dns_rcode_name(3) == "NXDOMAIN");
  CHECK(app::dns_rcode_name(15) == "15");
}
