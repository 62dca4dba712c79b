#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "vigil/sensor/app/tls.h"

namespace app = vigil::sensor::app;
using vigil::rules::Buffer;

namespace {

std::vector<uint8_t> from_hex(std::string_view h) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string str(std::span<const uint8_t> s) {
  return {reinterpret_cast<const char*>(s.data()), s.size()};
}

std::vector<uint8_t> record(uint8_t type, std::span<const uint8_t> payload) {
  std::vector<uint8_t> r = {type, 0x03, 0x01, static_cast<uint8_t>(payload.size() >> 8),
                            static_cast<uint8_t>(payload.size() & 0xff)};
  r.insert(r.end(), payload.begin(), payload.end());
  return r;
}

std::vector<uint8_t> handshake(uint8_t type, const std::vector<uint8_t>& body) {
  std::vector<uint8_t> h = {type, static_cast<uint8_t>(body.size() >> 16),
                            static_cast<uint8_t>(body.size() >> 8),
                            static_cast<uint8_t>(body.size() & 0xff)};
  h.insert(h.end(), body.begin(), body.end());
  return h;
}

// A ClientHello built by hand (GREASE in ciphers, extensions, groups and supported_versions; SNI
// www.example.org; ALPN h2, http/1.1). Expected JA3/JA4 were computed separately with Python's
// hashlib from the field values.
const char* kClientHello =
    "010000b0030311111111111111111111111111111111111111111111111111111111111111112022222222222222"
    "22222222222222222222222222222222222222222222222222000c0a0a13011302c02bc02f009c0100005b1a1a00"
    "0000000014001200000f7777772e6578616d706c652e6f7267000a000800062a2a001d0017000b00020100000d00"
    "0800060403080404010010000e000c02683208687474702f312e31002b0007063a3a0304030300170000";

// Self-signed certificate: C=NL, O=Vigil Test, CN=test.vigil.example, serial 0xE41A2B3C.
const char* kCertDer =
    "3082027f308201e8a003020102020500e41a2b3c300d06092a864886f70d01010b0500303f310b300906035504061302"
    "4e4c31133011060355040a0c0a566967696c2054657374311b301906035504030c12746573742e766967696c2e657861"
    "6d706c65301e170d3236313132343032333134385a170d3237313132343032333134385a303f310b3009060355040613"
    "024e4c31133011060355040a0c0a566967696c2054657374311b301906035504030c12746573742e766967696c2e6578"
    "616d706c6530819f300d06092a864886f70d010101050003818d0030818902818100d724b55a904a7a4e41bf00040de3"
    "5839d3c61c11a9e2c2070a47c088ea8751e88c170baaab33ace54a19901c74b66eac7e1c0131ea67b5646b3cf7294532"
    "1f4655b2eda0ac6b172009fd1569ec796ecb63c91afbd757f9ff4f2615fe7c38a7f7373ead6e0ee48d79e19c41c976c0"
    "f8271ebad9fc2423dab6148dd811446d39d90203010001a38186308183301d0603551d0e0416041405612d6a1985489d"
    "de387c99ab85a90bee638621301f0603551d2304183016801405612d6a1985489dde387c99ab85a90bee638621300f06"
    "03551d130101ff040530030101ff30300603551d11042930278212746573742e766967696c2e6578616d706c65821161"
    "6c742e766967696c2e6578616d706c65300d06092a864886f70d01010b0500038181008226e789c15a0afb90da8aeb62"
    "e3615e7390cff119f9642989e5042ae47b56eeef1781219cc128df26c2c3c96a3cfebe93f946865e0fc30062084ef33c"
    "9cea8bc8d8e1b628ca8bddc742edc4cc1cf5e3060d5d52535d49a67f690f1df365edd9cb0ea7c24666660f4bca40bcad"
    "f9d769edf5570706f95d96ae46c9cdb1077288";

const vigil::core::Timestamp kTs{};

}  // namespace

TEST_CASE("tls: ClientHello split across records and segments", "[sensor][app][tls]") {
  const auto hs = from_hex(kClientHello);
  REQUIRE(hs.size() == 180);
  // Two records (handshake message cut at byte 50), then the byte stream cut at odd places.
  std::vector<uint8_t> stream = record(22, std::span(hs).first(50));
  const auto second = record(22, std::span(hs).subspan(50));
  stream.insert(stream.end(), second.begin(), second.end());
  for (size_t step : {size_t{1}, size_t{7}, size_t{64}, stream.size()}) {
    app::TlsParser p;
    for (size_t i = 0; i < stream.size(); i += step) {
      p.on_data(app::kToServer, std::span(stream).subspan(i, std::min(step, stream.size() - i)), kTs);
    }
    INFO("step " << step);
    const app::TlsState& s = p.state();
    REQUIRE(s.client_hello());
    CHECK(s.client_hello()->sni == "www.example.org");
    CHECK(str(s.buffer(Buffer::TlsSni)) == "www.example.org");
    CHECK(s.client_hello()->alpn == std::vector<std::string>{"h2", "http/1.1"});
    CHECK(s.client_hello()->supported_versions.size() == 3);
    CHECK(s.ja3_string() == "771,4865-4866-49195-49199-156,0-10-11-13-16-43-23,29-23,0");
    CHECK(s.ja3_hash() == "8b288bb543ba1d77729eecebfc0563c7");
    CHECK(str(s.buffer(Buffer::Ja3Hash)) == "8b288bb543ba1d77729eecebfc0563c7");
    CHECK(s.ja4() == "t13d0507h2_c03c18a8b7cd_1fdf4de06b7e");
    CHECK(p.stats().client_hellos == 1);
  }
}

TEST_CASE("tls: JA4 matches Suricata's reference vectors", "[sensor][app][tls]") {
  // From Suricata's rust/src/ja4.rs unit tests.
  app::TlsClientHello ch;
  ch.version = 0;
  CHECK(app::ja4(ch) == "t00i000000_e3b0c44298fc_d2e2adf7177b");
  ch.version = 0x0303;
  CHECK(app::ja4(ch, 'q') == "q12i000000_e3b0c44298fc_d2e2adf7177b");
  ch.extensions = {0x0a0a, 0x0000};
  CHECK(app::ja4(ch, 'q') == "q12d000100_e3b0c44298fc_d2e2adf7177b");
  ch.alpn = {"h3-16"};
  ch.extensions.push_back(0x0010);
  CHECK(app::ja4(ch, 'q') == "q12d0002h6_e3b0c44298fc_d2e2adf7177b");
  ch.ciphers = {0x1111, 0x0a20, 0xbada};
  CHECK(app::ja4(ch, 'q') == "q12d0302h6_f500716053f9_d2e2adf7177b");
  ch.extensions.insert(ch.extensions.end(), {0xface, 0x0121, 0x1234});
  ch.signature_algorithms = {0x6666};
  CHECK(app::ja4(ch, 'q') == "q12d0305h6_f500716053f9_2debc8880bae");

  app::TlsClientHello a;
  a.alpn = {std::string("\xab", 1)};
  CHECK(app::ja4(a).substr(0, 10) == "t00i0000ab");
  a.alpn = {std::string("\x30\xab", 2)};
  CHECK(app::ja4(a).substr(0, 10) == "t00i00003b");
  a.alpn = {std::string("\x2a\x2a", 2)};  // GREASE-looking pair
  CHECK(app::ja4(a).substr(0, 10) == "t00i000000");
  a.alpn = {"b"};
  CHECK(app::ja4(a).substr(0, 10) == "t00i0000bb");
}

TEST_CASE("tls: ServerHello, certificate, JA3S and EVE", "[sensor][app][tls]") {
  app::TlsParser p;
  p.on_data(app::kToServer, record(22, from_hex(kClientHello)), kTs);

  std::vector<uint8_t> sh = {0x03, 0x03};
  sh.insert(sh.end(), 32, 0x33);
  sh.push_back(0);                 // empty session id
  sh.insert(sh.end(), {0xc0, 0x2f, 0x00});  // cipher, compression
  sh.insert(sh.end(), {0x00, 0x09, 0xff, 0x01, 0x00, 0x01, 0x00, 0x00, 0x17, 0x00, 0x00});
  const auto der = from_hex(kCertDer);
  std::vector<uint8_t> certs = {static_cast<uint8_t>((der.size() + 3) >> 16),
                                static_cast<uint8_t>((der.size() + 3) >> 8),
                                static_cast<uint8_t>((der.size() + 3) & 0xff),
                                static_cast<uint8_t>(der.size() >> 16),
                                static_cast<uint8_t>(der.size() >> 8),
                                static_cast<uint8_t>(der.size() & 0xff)};
  certs.insert(certs.end(), der.begin(), der.end());
  std::vector<uint8_t> flight = handshake(2, sh);
  const auto cert_msg = handshake(11, certs);
  flight.insert(flight.end(), cert_msg.begin(), cert_msg.end());
  std::vector<uint8_t> stream = record(22, flight);
  const auto ccs = record(20, std::vector<uint8_t>{1});
  stream.insert(stream.end(), ccs.begin(), ccs.end());
  const auto appdata = record(23, std::vector<uint8_t>(40, 0xee));
  stream.insert(stream.end(), appdata.begin(), appdata.end());
  // Byte by byte: handshake messages must survive any segmentation.
  for (uint8_t b : stream) p.on_data(app::kToClient, std::span(&b, 1), kTs);

  const app::TlsState& s = p.state();
  REQUIRE(s.server_hello());
  CHECK(s.server_hello()->cipher == 0xc02f);
  CHECK(s.ja3s_string() == "771,49199,65281-23");
  CHECK(s.ja3s_hash() == app::md5_hex("771,49199,65281-23"));
  CHECK(s.version() == 0x0303);
  CHECK(s.server_encrypted());
  REQUIRE(s.certificate());
  CHECK(s.certificate()->subject == "C=NL, O=Vigil Test, CN=test.vigil.example");
  CHECK(s.certificate()->issuer == "C=NL, O=Vigil Test, CN=test.vigil.example");
  CHECK(s.certificate()->serial == "00:E4:1A:2B:3C");
  CHECK(s.certificate()->fingerprint ==
        "54:b5:6a:8e:f1:dc:c1:a8:ee:32:6b:1a:aa:57:3a:db:00:c4:d0:fc");
  CHECK(s.certificate()->sans == std::vector<std::string>{"test.vigil.example", "alt.vigil.example"});
  CHECK(s.certificate()->not_after - s.certificate()->not_before == 365 * 86400);
  CHECK(str(s.buffer(Buffer::TlsCertSubject)) == "C=NL, O=Vigil Test, CN=test.vigil.example");

  const nlohmann::json j = app::tls_eve(s);
  CHECK(j["sni"] == "www.example.org");
  CHECK(j["version"] == "TLS 1.2");
  CHECK(j["serial"] == "00:E4:1A:2B:3C");
  CHECK(j["issuerdn"] == "C=NL, O=Vigil Test, CN=test.vigil.example");
  CHECK(j["notbefore"].get<std::string>().size() == 19);
  CHECK(j["ja3"]["hash"] == "8b288bb543ba1d77729eecebfc0563c7");
  CHECK(j["ja3s"]["string"] == "771,49199,65281-23");
  CHECK(j["ja4"] == "t13d0507h2_c03c18a8b7cd_1fdf4de06b7e");
}

TEST_CASE("tls: version names and GREASE", "[sensor][app][tls]") {
  CHECK(app::tls_version_name(0x0301) == "TLSv1");
  CHECK(app::tls_version_name(0x0303) == "TLS 1.2");
  CHECK(app::tls_version_name(0x0304) == "TLS 1.3");
  CHECK(app::tls_version_name(0x0300) == "SSLv3");
  CHECK(app::tls_is_grease(0xfafa));
  CHECK_FALSE(app::tls_is_grease(0x0a1a));
}

TEST_CASE("tls: malformed input stops the direction and is counted", "[sensor][app][tls]") {
  SECTION("record too long") {
    app::TlsParser p;
    const std::vector<uint8_t> bad = {22, 3, 1, 0xff, 0xff};
    p.on_data(app::kToServer, bad, kTs);
    CHECK((p.state().anomalies() & app::tls_anomaly::kRecordTooLong) != 0);
    CHECK(p.stats().malformed == 1);
  }
  SECTION("truncated ClientHello inside a complete record") {
    app::TlsParser p;
    auto hs = from_hex(kClientHello);
    hs.resize(40);
    hs[1] = 0;
    hs[2] = 0;
    hs[3] = 36;  // the handshake header claims what the record holds
    p.on_data(app::kToServer, record(22, hs), kTs);
    CHECK_FALSE(p.state().client_hello());
    CHECK((p.state().anomalies() & app::tls_anomaly::kMalformedClientHello) != 0);
  }
  SECTION("bogus extension lengths are bounded") {
    app::TlsParser p;
    auto hs = from_hex(kClientHello);
    hs[hs.size() - 3] = 0xff;  // last extension claims 0xff.. bytes
    p.on_data(app::kToServer, record(22, hs), kTs);
    REQUIRE(p.state().client_hello());
    CHECK(p.state().client_hello()->sni == "www.example.org");
  }
}
