// Protocol detection by content. Patterns follow Suricata's registrations: the HTTP method list
// of HTPRegisterPatternsForProtocolDetection, TLS record + handshake type, DNS by structure.
#include <array>
#include <string_view>

#include "app/text_util.h"
#include "vigil/sensor/app/app_parser.h"
#include "vigil/sensor/app/dns.h"

namespace vigil::sensor::app {

namespace {

enum class Match { No, Maybe, Yes };

constexpr std::array<std::string_view, 28> kMethods = {
    "GET",      "PUT",        "POST",       "HEAD",       "TRACE",      "OPTIONS",
    "CONNECT",  "DELETE",     "PATCH",      "PROPFIND",   "PROPPATCH",  "MKCOL",
    "COPY",     "MOVE",       "LOCK",       "UNLOCK",     "CHECKOUT",   "UNCHECKOUT",
    "CHECKIN",  "UPDATE",     "LABEL",      "REPORT",     "MKWORKSPACE", "MKACTIVITY",
    "MERGE",    "INVALID",    "VERSION-CONTROL", "BASELINE-CONTROL"};

std::string_view as_sv(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

Match http_request(std::span<const uint8_t> b) {
  const std::string_view s = as_sv(b);
  Match best = Match::No;
  for (std::string_view m : kMethods) {
    if (s.size() > m.size()) {
      if (istarts_with(s, m) && (s[m.size()] == ' ' || s[m.size()] == '\t')) return Match::Yes;
    } else if (iequals(s, m.substr(0, s.size()))) {
      best = Match::Maybe;
    }
  }
  return best;
}

Match http_response(std::span<const uint8_t> b) {
  const std::string_view s = as_sv(b);
  for (std::string_view v : {std::string_view("HTTP/1."), std::string_view("HTTP/0.9")}) {
    if (s.size() >= v.size()) {
      if (istarts_with(s, v)) return Match::Yes;
    } else if (iequals(s, v.substr(0, s.size()))) {
      return Match::Maybe;
    }
  }
  return Match::No;
}

Match tls(std::span<const uint8_t> b, bool to_server) {
  if (b.empty()) return Match::Maybe;
  if (b[0] == 0x16) {
    if (b.size() >= 2 && b[1] != 0x03) return Match::No;
    if (b.size() >= 3 && b[2] > 0x04) return Match::No;
    if (b.size() < 6) return Match::Maybe;
    return b[5] == (to_server ? 1 : 2) ? Match::Yes : Match::No;
  }
  // SSLv2-framed ClientHello (2-byte header with the high bit set, message type 1, version
  // 0x0002 or 0x03xx), still sent by some old clients.
  if (to_server && (b[0] & 0x80) != 0) {
    if (b.size() < 4) return Match::Maybe;
    return b[2] == 0x01 && (b[3] == 0x03 || b[3] == 0x00) ? Match::Yes : Match::No;
  }
  return Match::No;
}

// A DNS header that is plausible for the direction: right QR bit, a standard opcode, at least
// one question and not absurd counts.
bool dns_header_ok(std::span<const uint8_t> h, bool to_server) {
  if (h.size() < 12) return false;
  const uint16_t flags = static_cast<uint16_t>((h[2] << 8) | h[3]);
  const bool qr = (flags & 0x8000) != 0;
  const uint8_t opcode = (flags >> 11) & 0xf;
  const uint16_t qd = static_cast<uint16_t>((h[4] << 8) | h[5]);
  if (qr == to_server) return false;
  if (opcode > 6 || opcode == 3) return false;
  return qd >= 1 && qd <= 16;
}

Match dns_udp(std::span<const uint8_t> b, bool to_server, bool port53) {
  const auto m = parse_dns_message(b);
  if (!m) return Match::No;
  if (port53) return m->questions.empty() && !dns_header_ok(b, to_server) ? Match::No : Match::Yes;
  // Off port 53 nothing but a clean, conventional message counts.
  if (!dns_header_ok(b, to_server) || !m->well_formed() ||
      (m->anomalies & dns_anomaly::kTrailingData) != 0 || m->questions.size() != 1) {
    return Match::No;
  }
  return Match::Yes;
}

Match dns_tcp(std::span<const uint8_t> b, bool to_server) {
  if (b.size() < 2 + 12) return Match::Maybe;
  const size_t len = static_cast<size_t>((b[0] << 8) | b[1]);
  if (len < 12) return Match::No;
  return dns_header_ok(b.subspan(2), to_server) ? Match::Yes : Match::No;
}

}  // namespace

AppProto detect_app_proto(std::span<const uint8_t> first_bytes, bool to_server, uint8_t ip_proto,
                          uint16_t sport, uint16_t dport) {
  const bool port53 = sport == 53 || dport == 53;
  if (ip_proto == kIpProtoUdp) {
    return dns_udp(first_bytes, to_server, port53) == Match::Yes ? AppProto::Dns
                                                                 : AppProto::Failed;
  }
  if (ip_proto != kIpProtoTcp) return AppProto::Failed;
  if (first_bytes.empty()) return AppProto::Unknown;

  bool maybe = false;
  const Match h = to_server ? http_request(first_bytes) : http_response(first_bytes);
  if (h == Match::Yes) return AppProto::Http;
  maybe |= h == Match::Maybe;

  const Match t = tls(first_bytes, to_server);
  if (t == Match::Yes) return AppProto::Tls;
  maybe |= t == Match::Maybe;

  if (port53) {
    const Match d = dns_tcp(first_bytes, to_server);
    if (d == Match::Yes) return AppProto::Dns;
    maybe |= d == Match::Maybe;
  }
  return maybe ? AppProto::Unknown : AppProto::Failed;
}

}  // namespace vigil::sensor::app
