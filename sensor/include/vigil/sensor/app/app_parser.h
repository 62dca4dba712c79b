// Application-layer parsers: the common per-flow interface and protocol detection by content.
//
// A flow owns at most one AppParser, chosen by detect_app_proto() once enough bytes of the first
// payload in either direction are known. The parser consumes in-order bytes per direction (TCP
// reassembly is the caller's job) and turns them into transactions (HttpTx, DnsTx, TlsState)
// from which the detection engine reads sticky buffers and the EVE writer reads fields.
//
// Threading: a parser belongs to one flow and is used by the worker thread that owns the flow; no
// method is thread-safe. Configuration objects (HttpEngine, DnsConfig, TlsConfig) are immutable
// after creation and may be shared between threads.
//
// Errors: no method throws on malformed input. Malformed or hostile input is counted in the
// parser's stats and, where it belongs to a transaction, in that transaction's anomaly flags.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "vigil/core/time.h"
#include "vigil/rules/rule.h"

namespace vigil::sensor::app {

using rules::AppProto;

// Which way bytes travel. `true` for client to server everywhere in this folder.
inline constexpr bool kToServer = true;
inline constexpr bool kToClient = false;

constexpr uint8_t kIpProtoTcp = 6;
constexpr uint8_t kIpProtoUdp = 17;

// Detects the application protocol from the first payload bytes seen in one direction.
//
// `first_bytes` are the first in-order payload bytes of the flow in direction `to_server` (for
// UDP: one datagram). Returns:
//   Http   request method + space/tab (to server) or "HTTP/" (to client), case-insensitive,
//   Tls    TLS record header 0x16 0x03 0x00..0x04 with a ClientHello (to server) or ServerHello
//          (to client) handshake, or an SSLv2-framed ClientHello,
//   Dns    UDP: a datagram that parses as a DNS message, on port 53 a lenient header check and
//          elsewhere a strict full parse; TCP: port 53 and a length-prefixed DNS header,
//   Unknown when the bytes so far are a prefix of something that could still match (call again
//          with more bytes),
//   Failed  when it is none of these.
[[nodiscard]] AppProto detect_app_proto(std::span<const uint8_t> first_bytes, bool to_server,
                                        uint8_t ip_proto, uint16_t sport, uint16_t dport);

// The per-flow parser interface for stream (TCP) protocols.
class AppParser {
 public:
  virtual ~AppParser() = default;
  AppParser() = default;
  AppParser(const AppParser&) = delete;
  AppParser& operator=(const AppParser&) = delete;

  [[nodiscard]] virtual AppProto proto() const = 0;

  // In-order bytes of one direction. `data` is only read during the call.
  virtual void on_data(bool to_server, std::span<const uint8_t> data, core::Timestamp ts) = 0;
  // `len` bytes of one direction were lost (reassembly gave up on a hole).
  virtual void on_gap(bool to_server, size_t len) = 0;
  // Both directions ended (FIN/RST or flow timeout): finish what can be finished.
  virtual void on_close() = 0;

  // True once the parser gave up on the flow (unrecoverable protocol error); later data is
  // dropped and counted.
  [[nodiscard]] virtual bool failed() const = 0;
};

}  // namespace vigil::sensor::app
