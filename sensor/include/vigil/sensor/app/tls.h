// TLS handshake parsing: records and handshake messages reassembled across record and segment
// boundaries, ClientHello / ServerHello / first server Certificate, JA3, JA3S and JA4 (as
// Suricata computes them), and the EVE "tls" object.
//
// Ownership: TlsParser owns one TlsState per flow (a TLS session is one transaction, as in
// Suricata); spans from TlsState::buffer() stay valid until the next call on the parser.
// Threading: one parser per flow, used by one thread.
// Errors: malformed records or handshakes are counted; the direction then stops being parsed.
// X.509 parsing uses OpenSSL's d2i_X509 behind this interface.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "vigil/sensor/app/app_parser.h"

namespace vigil::sensor::app {

struct TlsConfig {
  // Largest handshake message reassembled (certificate chains are the big ones).
  uint32_t max_handshake_message = 256 * 1024;
  // Largest record length accepted: 2^14 plus the expansion TLS allows for ciphertext.
  uint32_t max_record_len = 16384 + 2048;
};

namespace tls_anomaly {
constexpr uint32_t kBadRecordVersion = 1u << 0;
constexpr uint32_t kRecordTooLong = 1u << 1;
constexpr uint32_t kHandshakeTooLong = 1u << 2;
constexpr uint32_t kMalformedClientHello = 1u << 3;
constexpr uint32_t kMalformedServerHello = 1u << 4;
constexpr uint32_t kMalformedCertificate = 1u << 5;
constexpr uint32_t kInvalidContentType = 1u << 6;
constexpr uint32_t kSslv2 = 1u << 7;
constexpr uint32_t kGap = 1u << 8;
}  // namespace tls_anomaly

struct TlsClientHello {
  uint16_t version = 0;  // legacy_version field
  std::array<uint8_t, 32> random{};
  std::vector<uint8_t> session_id;
  std::vector<uint16_t> ciphers;              // as sent, GREASE included
  std::vector<uint16_t> extensions;           // types in order, GREASE included
  std::string sni;                            // first host_name entry
  std::vector<uint16_t> groups;               // supported_groups
  std::vector<uint8_t> ec_point_formats;
  std::vector<uint16_t> signature_algorithms;
  std::vector<std::string> alpn;
  std::vector<uint16_t> supported_versions;
};

struct TlsServerHello {
  uint16_t version = 0;  // legacy_version field
  std::array<uint8_t, 32> random{};
  std::vector<uint8_t> session_id;
  uint16_t cipher = 0;
  uint8_t compression = 0;
  std::vector<uint16_t> extensions;
  uint16_t selected_version = 0;  // supported_versions extension, 0 when absent
  std::string alpn;
};

struct TlsCertificate {
  std::string subject;      // "C=US, O=Example, CN=host"
  std::string issuer;
  std::string serial;       // "00:E4:1A:..." upper-case hex, colon separated (Suricata)
  std::string fingerprint;  // SHA-1 of the DER, lower-case hex, colon separated (Suricata)
  int64_t not_before = 0;   // seconds since the epoch, UTC
  int64_t not_after = 0;
  std::vector<std::string> sans;  // DNS names of subjectAltName
  std::vector<uint8_t> der;
};

// The TLS session of one flow.
class TlsState {
 public:
  [[nodiscard]] const std::optional<TlsClientHello>& client_hello() const { return client_hello_; }
  [[nodiscard]] const std::optional<TlsServerHello>& server_hello() const { return server_hello_; }
  // The server's leaf certificate (first in the chain), when sent in clear (TLS <= 1.2).
  [[nodiscard]] const std::optional<TlsCertificate>& certificate() const { return cert_; }
  [[nodiscard]] size_t certificate_count() const { return cert_count_; }

  [[nodiscard]] const std::string& ja3_string() const { return ja3_string_; }
  [[nodiscard]] const std::string& ja3_hash() const { return ja3_hash_; }
  [[nodiscard]] const std::string& ja3s_string() const { return ja3s_string_; }
  [[nodiscard]] const std::string& ja3s_hash() const { return ja3s_hash_; }
  [[nodiscard]] const std::string& ja4() const { return ja4_; }

  // Negotiated version: ServerHello selected_version, else its legacy version, else the
  // ClientHello's; 0 when nothing was seen.
  [[nodiscard]] uint16_t version() const;
  // True once a side switched to encrypted records (ChangeCipherSpec / application data).
  [[nodiscard]] bool client_encrypted() const { return encrypted_[1]; }
  [[nodiscard]] bool server_encrypted() const { return encrypted_[0]; }
  // The handshake in clear is over in both directions: no buffer will change any more.
  [[nodiscard]] bool handshake_done() const { return encrypted_[0] && encrypted_[1]; }
  [[nodiscard]] bool session_resumed() const;
  [[nodiscard]] uint32_t anomalies() const { return anomalies_; }

  // tls.sni, tls.cert_subject, tls.cert_issuer, ja3.hash, ja3.string, ja4.hash; empty otherwise.
  [[nodiscard]] std::span<const uint8_t> buffer(rules::Buffer b) const;

 private:
  friend class TlsParser;
  std::optional<TlsClientHello> client_hello_;
  std::optional<TlsServerHello> server_hello_;
  std::optional<TlsCertificate> cert_;
  size_t cert_count_ = 0;
  std::string ja3_string_, ja3_hash_, ja3s_string_, ja3s_hash_, ja4_;
  bool encrypted_[2] = {false, false};  // [0] server->client, [1] client->server
  uint32_t anomalies_ = 0;
};

struct TlsStats {
  uint64_t records = 0;
  uint64_t client_hellos = 0;
  uint64_t server_hellos = 0;
  uint64_t certificates = 0;
  uint64_t malformed = 0;       // any structural anomaly that stopped a direction
  uint64_t gaps = 0;
  uint64_t sslv2 = 0;
};

class TlsParser final : public AppParser {
 public:
  explicit TlsParser(const TlsConfig& config = {}) : config_(config) {}
  [[nodiscard]] AppProto proto() const override { return AppProto::Tls; }
  void on_data(bool to_server, std::span<const uint8_t> data, core::Timestamp ts) override;
  void on_gap(bool to_server, size_t len) override;
  void on_close() override {}
  [[nodiscard]] bool failed() const override { return dir_failed_[0] && dir_failed_[1]; }

  [[nodiscard]] const TlsState& state() const { return state_; }
  // True when the last call changed the state (a new handshake message was parsed).
  [[nodiscard]] bool updated() const { return updated_; }
  [[nodiscard]] const TlsStats& stats() const { return stats_; }

 private:
  void fail(int dir, uint32_t anomaly);
  void on_record(int dir, uint8_t type, std::span<const uint8_t> payload);
  void on_handshake(int dir, uint8_t type, std::span<const uint8_t> body);
  void parse_client_hello(std::span<const uint8_t> body);
  void parse_server_hello(std::span<const uint8_t> body);
  void parse_certificate(std::span<const uint8_t> body);

  TlsConfig config_;
  TlsState state_;
  TlsStats stats_;
  bool updated_ = false;
  std::vector<uint8_t> rec_buf_[2];  // partial record bytes, [0] to client, [1] to server
  std::vector<uint8_t> hs_buf_[2];   // partial handshake message bytes
  bool dir_failed_[2] = {false, false};
};

// JA3 / JA3S / JA4 building blocks, exposed for tests and for other parsers (QUIC later).
[[nodiscard]] bool tls_is_grease(uint16_t v);
[[nodiscard]] std::string ja3_string(const TlsClientHello& ch);
[[nodiscard]] std::string ja3s_string(const TlsServerHello& sh);
[[nodiscard]] std::string md5_hex(std::string_view s);
// `proto` is 't' (TCP), 'q' (QUIC) or 'd' (DTLS).
[[nodiscard]] std::string ja4(const TlsClientHello& ch, char proto = 't');

// Suricata's names: "SSLv2", "SSLv3", "TLSv1", "TLS 1.1", "TLS 1.2", "TLS 1.3", else
// "0x%04x" (and "UNDETERMINED" for 0).
[[nodiscard]] std::string tls_version_name(uint16_t version);

// The EVE "tls" object with Suricata's field names (output-json-tls.c): subject, issuerdn,
// serial, fingerprint, sni, version, notbefore, notafter, session_resumed, ja3{hash,string},
// ja3s{hash,string}, ja4. Absent fields are omitted.
[[nodiscard]] nlohmann::json tls_eve(const TlsState& state);

}  // namespace vigil::sensor::app
