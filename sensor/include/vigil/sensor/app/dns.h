// DNS messages over UDP (one message per datagram) and TCP (2-byte length framing), paired into
// request/response transactions the way Suricata's DNS parser pairs them (by message id).
//
// Ownership: DnsMessage and DnsTx are plain values holding copies of everything they show.
// Parsers own their transactions until release_completed(); spans from DnsTx::query_buffers()
// point into the transaction and are valid until the next call on the parser.
// Threading: one parser per flow, used by one thread; DnsConfig is an immutable value.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "vigil/sensor/app/app_parser.h"

namespace vigil::sensor::app {

struct DnsConfig {
  uint32_t max_name_len = 255;       // longer names are cut and flagged (RFC 1035 limit)
  uint32_t max_pointer_hops = 64;    // compression pointers followed per name
  uint32_t max_records = 1024;       // questions + answers + authorities + additionals
  uint32_t max_pending_txs = 256;    // unanswered/unreleased transactions kept per flow
  uint32_t max_tcp_message = 65535;  // length prefix above this is malformed (it cannot be, but
                                     // a smaller limit can be configured)
};

namespace dns_rrtype {
constexpr uint16_t kA = 1, kNs = 2, kCname = 5, kSoa = 6, kNull = 10, kPtr = 12, kMx = 15,
                   kTxt = 16, kAaaa = 28, kSrv = 33, kOpt = 41, kSshfp = 44, kAny = 255;
}

// Per-message anomaly bits (also counted in DnsStats).
namespace dns_anomaly {
constexpr uint32_t kTruncatedHeader = 1u << 0;  // fewer than 12 bytes
constexpr uint32_t kTruncatedRecord = 1u << 1;  // a section ran past the end
constexpr uint32_t kNameTooLong = 1u << 2;
constexpr uint32_t kPointerLoop = 1u << 3;      // too many compression hops
constexpr uint32_t kBadPointer = 1u << 4;       // pointer out of bounds or forward-looping
constexpr uint32_t kBadLabel = 1u << 5;         // reserved label type (0x40/0x80)
constexpr uint32_t kTooManyRecords = 1u << 6;
constexpr uint32_t kTrailingData = 1u << 7;     // bytes after the last record
constexpr uint32_t kBadRdata = 1u << 8;         // rdata shorter/longer than its type needs
constexpr uint32_t kUnsolicitedResponse = 1u << 9;
}  // namespace dns_anomaly

struct DnsQuestion {
  std::string name;  // dotted, bytes as in the packet (no case folding); "" for the root
  bool name_truncated = false;
  uint16_t rrtype = 0;
  uint16_t rrclass = 0;
};

struct DnsSoa {
  std::string mname, rname;
  uint32_t serial = 0, refresh = 0, retry = 0, expire = 0, minimum = 0;
};

struct DnsRecord {
  std::string name;
  bool name_truncated = false;
  uint16_t rrtype = 0;
  uint16_t rrclass = 0;
  uint32_t ttl = 0;
  // Text form of rdata as Suricata logs it: A/AAAA address; CNAME/NS/PTR name; MX exchange
  // name; TXT the character-strings (one entry each in `txt`, first one here). Empty for other
  // types, whose bytes are in `raw`.
  std::string rdata;
  std::vector<std::string> txt;
  uint16_t mx_preference = 0;
  std::optional<DnsSoa> soa;
  std::vector<uint8_t> raw;  // the rdata bytes as on the wire (names not decompressed)
};

struct DnsMessage {
  uint16_t id = 0;
  uint16_t flags = 0;
  std::vector<DnsQuestion> questions;
  std::vector<DnsRecord> answers;
  std::vector<DnsRecord> authorities;
  std::vector<DnsRecord> additionals;
  uint32_t anomalies = 0;

  [[nodiscard]] bool is_response() const { return (flags & 0x8000) != 0; }
  [[nodiscard]] uint8_t opcode() const { return (flags >> 11) & 0xf; }
  [[nodiscard]] uint8_t rcode() const { return flags & 0xf; }
  [[nodiscard]] bool aa() const { return (flags & 0x0400) != 0; }
  [[nodiscard]] bool tc() const { return (flags & 0x0200) != 0; }
  [[nodiscard]] bool rd() const { return (flags & 0x0100) != 0; }
  [[nodiscard]] bool ra() const { return (flags & 0x0080) != 0; }
  [[nodiscard]] bool z() const { return (flags & 0x0040) != 0; }
  // No structural anomaly: header and every record parsed within bounds.
  [[nodiscard]] bool well_formed() const {
    return (anomalies & (dns_anomaly::kTruncatedHeader | dns_anomaly::kTruncatedRecord |
                         dns_anomaly::kBadPointer | dns_anomaly::kPointerLoop |
                         dns_anomaly::kBadLabel)) == 0;
  }
};

// Parses one DNS message (a UDP datagram, or a TCP message without its length prefix).
// Returns nullopt when there is not even a 12-byte header; otherwise the message with whatever
// parsed, its anomalies set for anything malformed (parsing stops at the first structural error).
[[nodiscard]] std::optional<DnsMessage> parse_dns_message(std::span<const uint8_t> data,
                                                          const DnsConfig& config = {});

// "A", "AAAA", ..., or the number in decimal for types Suricata has no name for.
[[nodiscard]] std::string dns_rrtype_name(uint16_t rrtype);
// "NOERROR", "NXDOMAIN", ..., or the number.
[[nodiscard]] std::string dns_rcode_name(uint8_t rcode);

// A request and its response, paired by id.
struct DnsTx {
  uint64_t id = 0;
  std::optional<DnsMessage> request;
  std::optional<DnsMessage> response;

  // dns.query is a multi-buffer: one buffer per question name of the request.
  [[nodiscard]] std::vector<std::span<const uint8_t>> query_buffers() const;
  [[nodiscard]] bool complete() const { return request.has_value() && response.has_value(); }
};

struct DnsStats {
  uint64_t requests = 0;
  uint64_t responses = 0;
  uint64_t malformed = 0;         // messages with a structural anomaly (incl. short header)
  uint64_t name_too_long = 0;
  uint64_t pointer_loops = 0;
  uint64_t too_many_records = 0;
  uint64_t unsolicited_responses = 0;
  uint64_t txs_dropped = 0;       // max_pending_txs forced a release
  uint64_t gaps = 0;
  uint64_t tcp_bad_length = 0;    // TCP length prefix 0 or above max_tcp_message
};

// Transactions of one flow, shared by the UDP and TCP parsers.
class DnsParserBase : public AppParser {
 public:
  explicit DnsParserBase(const DnsConfig& config) : config_(config) {}
  [[nodiscard]] AppProto proto() const override { return AppProto::Dns; }
  [[nodiscard]] bool failed() const override { return failed_; }

  // Transactions changed by the last call, oldest first.
  [[nodiscard]] const std::vector<DnsTx*>& updated_txs() const { return updated_; }
  [[nodiscard]] const std::deque<std::unique_ptr<DnsTx>>& txs() const { return txs_; }
  // Frees answered transactions (and unanswered requests once the flow closed).
  void release_completed();
  [[nodiscard]] const DnsStats& stats() const { return stats_; }

 protected:
  // Parses one whole message and files it into a transaction.
  void on_message(std::span<const uint8_t> msg);
  void begin_call() { updated_.clear(); }

  DnsConfig config_;
  std::deque<std::unique_ptr<DnsTx>> txs_;
  std::vector<DnsTx*> updated_;
  uint64_t next_id_ = 0;
  bool failed_ = false;
  bool closed_ = false;
  DnsStats stats_;
};

// DNS over UDP: each on_data call is one datagram.
class DnsUdpParser final : public DnsParserBase {
 public:
  explicit DnsUdpParser(const DnsConfig& config = {}) : DnsParserBase(config) {}
  void on_data(bool to_server, std::span<const uint8_t> datagram, core::Timestamp ts) override;
  void on_gap(bool to_server, size_t len) override {}
  void on_close() override;
};

// DNS over TCP: messages framed by a 2-byte big-endian length, split anywhere across segments.
class DnsTcpParser final : public DnsParserBase {
 public:
  explicit DnsTcpParser(const DnsConfig& config = {}) : DnsParserBase(config) {}
  void on_data(bool to_server, std::span<const uint8_t> data, core::Timestamp ts) override;
  // A gap loses the framing: that direction stops being parsed.
  void on_gap(bool to_server, size_t len) override;
  void on_close() override;

 private:
  std::vector<uint8_t> buf_[2];  // [0] to client, [1] to server
  bool dir_failed_[2] = {false, false};
};

// The EVE "dns" objects for a transaction (Suricata 7, version 2 format): one object per query
// of the request ({"type":"query","id","rrname","rrtype","tx_id","opcode"}) and, when answered,
// one {"version":2,"type":"answer","id","flags","qr","rd","ra",..,"opcode","rrname","rrtype",
// "rcode","answers":[...],"grouped":{...},"authorities":[...]}.
[[nodiscard]] std::vector<nlohmann::json> dns_eve_queries(const DnsTx& tx);
[[nodiscard]] std::optional<nlohmann::json> dns_eve_answer(const DnsTx& tx);

}  // namespace vigil::sensor::app
