#include <catch2/catch.hpp>

#include "vigil/core/codec.h"

using namespace vigil::core;

namespace {
EventBatch sample() {
  EventBatch b;
  b.sensor_id = "s1";
  b.seq = 42;
  Event a;
  a.id = 7;
  a.time.usec = 1700000000123456;
  a.kind = EventKind::kAlert;
  a.flow.src_ip = *IpAddress::parse("10.1.2.3");
  a.flow.dst_ip = *IpAddress::parse("2001:db8::1");
  a.flow.src_port = 51000;
  a.flow.dst_port = 80;
  a.flow.proto = 6;
  a.community_id = "1:abc=";
  a.vlan = 12;
  a.vni = 5001;
  a.alert = {1, 2010937, 3, "ET SCAN", "Attempted Information Leak", 2, "allowed"};
  a.labels.tlp = "amber";
  a.labels.tags = {"x", "y"};
  b.events.push_back(a);
  Event h;
  h.id = 8;
  h.kind = EventKind::kHttp;
  h.app_json = R"({"hostname":"a.example"})";
  b.events.push_back(h);
  return b;
}
}  // namespace

TEST_CASE("batches round-trip through the wire codec", "[core][codec]") {
  auto b = sample();
  auto enc = encode_batch(b);
  REQUIRE(enc.ok());
  auto dec = decode_batch(*enc);
  REQUIRE(dec.ok());
  CHECK(*dec == b);

  // Unaligned input (as a socket may deliver it) decodes the same.
  std::string shifted = "x" + *enc;
  auto dec2 = decode_batch(std::string_view(shifted).substr(1));
  REQUIRE(dec2.ok());
  CHECK(*dec2 == b);
}

TEST_CASE("malformed, truncated and foreign bytes are errors, not crashes", "[core][codec]") {
  auto enc = *encode_batch(sample());
  for (size_t n = 0; n < enc.size(); n += 3) {
    CHECK_FALSE(decode_batch(std::string_view(enc).substr(0, n)).ok());
  }
  // Flip bytes one at a time: must never crash; most are rejected.
  for (size_t i = 8; i < enc.size(); ++i) {
    std::string bad = enc;
    bad[i] = static_cast<char>(bad[i] ^ 0xff);
    (void)decode_batch(bad);
  }
  CHECK_FALSE(decode_batch("hello world, not a batch").ok());
  CHECK_FALSE(decode_batch(encode_ack({"s1", 1, AckStatus::kOk, ""})).ok());

  auto future = sample();
  future.schema_version = kSchemaVersion + 1;
  auto r = decode_batch(*encode_batch(future));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("schema version") != std::string::npos);

  auto noseq = sample();
  noseq.seq = 0;
  CHECK_FALSE(decode_batch(*encode_batch(noseq)).ok());
}

TEST_CASE("acks round-trip", "[core][codec]") {
  BatchAck a{"sensor-9", 77, AckStatus::kRetry, "store busy"};
  auto d = decode_ack(encode_ack(a));
  REQUIRE(d.ok());
  CHECK(*d == a);
  CHECK_FALSE(decode_ack("junk").ok());
  CHECK(parse_event_kind("dns") == EventKind::kDns);
  CHECK(to_string(EventKind::kClassification) == "classification");
}
