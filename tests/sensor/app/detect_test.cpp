#include <catch2/catch.hpp>

#include <string_view>
#include <vector>

#include "vigil/sensor/app/app_parser.h"

namespace app = vigil::sensor::app;
using vigil::rules::AppProto;

namespace {

std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

AppProto tcp(std::string_view s, bool to_server, uint16_t sport = 40000, uint16_t dport = 8080) {
  return app::detect_app_proto(bytes(s), to_server, app::kIpProtoTcp, sport, dport);
}

}  // namespace

TEST_CASE("detect: http by content, any port", "[sensor][app][detect]") {
  CHECK(tcp("GET / HTTP/1.1\r\n", true) == AppProto::Http);
  CHECK(tcp("post\t/x", true) == AppProto::Http);
  CHECK(tcp("PROPFIND /dav", true) == AppProto::Http);
  CHECK(tcp("GE", true) == AppProto::Unknown);
  CHECK(tcp("GET", true) == AppProto::Unknown);
  CHECK(tcp("GETX /", true) == AppProto::Failed);
  CHECK(tcp("HTTP/1.1 200 OK\r\n", false) == AppProto::Http);
  CHECK(tcp("HTTP/", false) == AppProto::Unknown);
  CHECK(tcp("SSH-2.0-OpenSSH", true) == AppProto::Failed);
}

TEST_CASE("detect: tls record header", "[sensor][app][detect]") {
  const std::string ch("\x16\x03\x01\x00\xb4\x01", 6);
  const std::string sh("\x16\x03\x03\x00\x5a\x02", 6);
  CHECK(tcp(ch, true) == AppProto::Tls);
  CHECK(tcp(ch.substr(0, 3), true) == AppProto::Unknown);
  CHECK(tcp(sh, false) == AppProto::Tls);
  CHECK(tcp(sh, true) == AppProto::Failed);  // a ServerHello from the client is not TLS
  CHECK(tcp(std::string("\x16\x03\x07\x00\x10\x01", 6), true) == AppProto::Failed);
  CHECK(tcp(std::string("\x80\x2e\x01\x03\x01", 5), true) == AppProto::Tls);  // SSLv2 framing
}

TEST_CASE("detect: dns over udp and tcp", "[sensor][app][detect]") {
  // Query for example.com A.
  const std::vector<uint8_t> q = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 7, 'e', 'x',
                                  'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1};
  CHECK(app::detect_app_proto(q, true, app::kIpProtoUdp, 5353, 53) == AppProto::Dns);
  CHECK(app::detect_app_proto(q, true, app::kIpProtoUdp, 40000, 5300) == AppProto::Dns);
  // A response bit from the client side is not accepted off port 53.
  std::vector<uint8_t> r = q;
  r[2] |= 0x80;
  CHECK(app::detect_app_proto(r, true, app::kIpProtoUdp, 40000, 5300) == AppProto::Failed);
  CHECK(app::detect_app_proto(r, false, app::kIpProtoUdp, 53, 40000) == AppProto::Dns);
  const std::vector<uint8_t> junk = {1, 2, 3, 4, 5};
  CHECK(app::detect_app_proto(junk, true, app::kIpProtoUdp, 40000, 53) == AppProto::Failed);

  std::vector<uint8_t> tcpq = {0, static_cast<uint8_t>(q.size())};
  tcpq.insert(tcpq.end(), q.begin(), q.end());
  CHECK(app::detect_app_proto(tcpq, true, app::kIpProtoTcp, 40000, 53) == AppProto::Dns);
  CHECK(app::detect_app_proto(std::span(tcpq).first(6), true, app::kIpProtoTcp, 40000, 53) ==
        AppProto::Unknown);
  CHECK(app::detect_app_proto(tcpq, true, app::kIpProtoTcp, 40000, 5353) == AppProto::Failed);
}
