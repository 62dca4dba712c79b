// The parsed form of a Suricata-syntax rule.
//
// A Rule is an immutable value produced by the parser (parser.h) and consumed by the Hyperscan
// compiler and the detection engine. It holds no pointers into the rule text. Option order is
// kept where Suricata's semantics depend on it: content/pcre items are grouped per inspection
// buffer in the order they appear, and relative modifiers refer to the previous item in the same
// buffer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "vigil/core/ip.h"
#include "vigil/rules/address.h"

namespace vigil::rules {

enum class Action : uint8_t { Alert, Pass, Drop, Reject, RejectSrc, RejectDst, RejectBoth };

// The protocol named in the rule header.
enum class Proto : uint8_t {
  Ip,         // any IP packet
  Tcp,        // TCP: payload content inspects packets and the reassembled stream
  TcpPkt,     // TCP, packet payloads only
  TcpStream,  // TCP, reassembled stream only
  Udp,
  Icmp,       // ICMPv4 and ICMPv6
  Icmpv4,
  Icmpv6,
  Sctp,
  App,        // an application-layer protocol; see Rule::app_proto
};

// Application-layer protocols the engine knows. `Unknown` is "no app-layer requirement".
enum class AppProto : uint8_t { Unknown, Http, Dns, Tls, Failed };

// The buffer a content/pcre item inspects (Suricata's "sticky buffers").
enum class Buffer : uint8_t {
  Payload,          // packet payload and/or reassembled stream (see Proto)
  HttpUri,          // http.uri / http_uri / uricontent: normalised request URI
  HttpUriRaw,       // http.uri.raw / http_raw_uri
  HttpMethod,       // http.method / http_method
  HttpProtocol,     // http.protocol
  HttpRequestLine,  // http.request_line
  HttpHost,         // http.host / http_host: normalised (lower-cased) Host
  HttpHostRaw,      // http.host.raw / http_raw_host
  HttpUserAgent,    // http.user_agent / http_user_agent
  HttpHeader,       // http.header / http_header: normalised headers, both directions
  HttpHeaderRaw,    // http.header.raw / http_raw_header
  HttpCookie,       // http.cookie / http_cookie
  HttpStatCode,     // http.stat_code / http_stat_code
  HttpStatMsg,      // http.stat_msg / http_stat_msg
  HttpResponseLine, // http.response_line
  HttpRequestBody,  // http.request_body / http_client_body
  HttpResponseBody, // http.response_body / http_server_body
  FileData,         // file.data / file_data: response body (or request body to server)
  HttpContentType,  // http.content_type
  HttpContentLen,   // http.content_len
  HttpAccept,       // http.accept
  HttpReferer,      // http.referer
  HttpConnection,   // http.connection
  HttpStart,        // http.start
  DnsQuery,         // dns.query / dns_query
  TlsSni,           // tls.sni / tls_sni
  TlsCertSubject,   // tls.cert_subject
  TlsCertIssuer,    // tls.cert_issuer
  Ja3Hash,          // ja3.hash / ja3_hash
  Ja3String,        // ja3.string
  Ja4Hash,          // ja4.hash
  Count_,           // number of buffers; not a buffer
};
constexpr int kBufferCount = static_cast<int>(Buffer::Count_);

// The canonical keyword name of a buffer ("http.uri"), for reports and EVE.
const char* buffer_name(Buffer b);

// content:"..." with its modifiers.
struct Content {
  std::string bytes;  // with |hex| and escapes resolved
  bool negated = false;
  bool nocase = false;
  bool startswith = false;
  bool endswith = false;
  bool rawbytes = false;
  bool fast_pattern = false;       // explicitly chosen as the fast pattern
  bool fast_pattern_only = false;  // fast_pattern:only (legacy)
  // fast_pattern:<offset>,<length>: only that slice of `bytes` goes to the prefilter.
  std::optional<std::pair<uint16_t, uint16_t>> fast_pattern_chop;
  std::optional<int32_t> offset;
  std::optional<int32_t> depth;
  std::optional<int32_t> distance;  // may be negative
  std::optional<int32_t> within;
  // Relative to the previous item's match in the same buffer.
  [[nodiscard]] bool relative() const { return distance.has_value() || within.has_value(); }
};

// pcre:"/.../flags".
struct Pcre {
  std::string pattern;  // without delimiters
  bool negated = false;
  bool relative = false;    // R: starts after the previous match in the buffer
  bool caseless = false;    // i
  bool multiline = false;   // m
  bool dotall = false;      // s
  bool extended = false;    // x
  bool anchored = false;    // A
  bool dollar_endonly = false;  // E
  bool ungreedy = false;    // G
  bool rawbytes = false;    // B
};

// isdataat:[!]N[,relative].
struct IsDataAt {
  int32_t offset = 0;
  bool negated = false;
  bool relative = false;
};

// One step of inspection within a buffer, in rule order.
using BufferItem = std::variant<Content, Pcre, IsDataAt>;

struct BufferMatch {
  Buffer buffer = Buffer::Payload;
  std::vector<BufferItem> items;
};

// Numeric comparisons used by dsize, ttl, itype, icode, ...: "N", "<N", ">N", "<=N", ">=N",
// "!N", "A<>B" (exclusive range), "A-B" (inclusive range, for some keywords).
struct NumCmp {
  enum class Op : uint8_t { Eq, Ne, Lt, Le, Gt, Ge, RangeExclusive, RangeInclusive };
  Op op = Op::Eq;
  int64_t a = 0;
  int64_t b = 0;
  [[nodiscard]] bool matches(int64_t v) const {
    switch (op) {
      case Op::Eq: return v == a;
      case Op::Ne: return v != a;
      case Op::Lt: return v < a;
      case Op::Le: return v <= a;
      case Op::Gt: return v > a;
      case Op::Ge: return v >= a;
      case Op::RangeExclusive: return v > a && v < b;
      case Op::RangeInclusive: return v >= a && v <= b;
    }
    return false;
  }
};

// flow:...
struct FlowOpt {
  bool to_server = false;      // also from_client
  bool to_client = false;      // also from_server
  bool established = false;
  bool not_established = false;
  bool stateless = false;
  bool only_stream = false;
  bool no_stream = false;
  bool only_frag = false;
  bool no_frag = false;
};

struct Flowbit {
  enum class Cmd : uint8_t { Set, Unset, Toggle, IsSet, IsNotSet, NoAlert };
  Cmd cmd = Cmd::Set;
  std::vector<std::string> names;  // several for "a|b" (any-of) or "a&b" (all-of)
  bool any_of = false;             // names joined with '|'
};

enum class Track : uint8_t { BySrc, ByDst, ByRule, ByBoth, ByFlow };

struct Threshold {
  enum class Type : uint8_t { Limit, Threshold, Both };
  Type type = Type::Limit;
  Track track = Track::BySrc;
  uint32_t count = 1;
  uint32_t seconds = 60;
};

struct DetectionFilter {
  Track track = Track::BySrc;
  uint32_t count = 1;
  uint32_t seconds = 60;
};

// flags:[modifier]<flags>[,<mask>].  Bits are TCP flag bits (FIN=0x01 ... CWR=0x80).
struct TcpFlags {
  enum class Mode : uint8_t { Exact, Plus /* + all of these and maybe others */,
                              Any /* * any of these */, Not /* ! none of these */ };
  Mode mode = Mode::Exact;
  uint8_t flags = 0;
  uint8_t ignore_mask = 0;  // bits to ignore (the ",mask" part, e.g. "S,12" ignores CWR/ECE)
};

// HeaderCheck::bits for ipopts (one option per keyword, as in Suricata's detect-ipopts.c).
constexpr uint32_t kIpOptRr = 0x0001;     // rr: record route
constexpr uint32_t kIpOptEol = 0x0002;    // eol: end of list
constexpr uint32_t kIpOptNop = 0x0004;    // nop
constexpr uint32_t kIpOptTs = 0x0008;     // ts: timestamp
constexpr uint32_t kIpOptSec = 0x0010;    // sec: IP security
constexpr uint32_t kIpOptEsec = 0x0020;   // esec: extended security
constexpr uint32_t kIpOptLsrr = 0x0040;   // lsrr: loose source routing
constexpr uint32_t kIpOptSsrr = 0x0080;   // ssrr: strict source routing
constexpr uint32_t kIpOptSatid = 0x0100;  // satid: stream identifier
constexpr uint32_t kIpOptAny = 0xffff;    // any: at least one option present

// HeaderCheck::bits for fragbits.
constexpr uint32_t kFragMore = 0x1;      // M
constexpr uint32_t kFragDontFrag = 0x2;  // D
constexpr uint32_t kFragReserved = 0x4;  // R

// A check on packet headers, evaluated per packet. Each is a named keyword.
struct HeaderCheck {
  enum class Kind : uint8_t {
    Ttl, Tos, IpId, IpProto, SameIp, IpOpts, FragBits, FragOffset, Dsize,
    TcpFlags, TcpSeq, TcpAck, TcpWindow, TcpMss,
    IcmpType, IcmpCode, IcmpId, IcmpSeq,
  };
  Kind kind = Kind::Ttl;
  NumCmp cmp;          // for numeric kinds
  TcpFlags tcp_flags;  // for TcpFlags
  uint32_t bits = 0;   // ipopts (one option bit) / fragbits (M=1 D=2 R=4)
  uint8_t bits_mode = 0;  // fragbits modifier: 0 exact, '+', '*', '!'
  bool negated = false;   // for ip_proto:!N, sameip (never), ...
};

struct Reference {
  std::string type;
  std::string value;
};

// A parsed rule. Field order follows the rule text: header, then options.
struct Rule {
  // Where the rule came from, for reports.
  std::string file;
  int line = 0;
  std::string text;  // the original rule text (one line, continuation lines joined)

  // Header.
  Action action = Action::Alert;
  Proto proto = Proto::Ip;
  AppProto app_proto = AppProto::Unknown;  // from the header (alert http) or app-layer-protocol
  bool app_proto_negated = false;          // app-layer-protocol:!http
  std::string src_addr_text, src_port_text, dst_addr_text, dst_port_text;  // as written
  AddressSet src_addr = AddressSet::any();
  AddressSet dst_addr = AddressSet::any();
  PortSet src_ports = PortSet::any();
  PortSet dst_ports = PortSet::any();
  bool bidirectional = false;              // "<>"

  // Meta.
  uint32_t gid = 1;
  uint32_t sid = 0;
  uint32_t rev = 0;
  std::string msg;
  std::string classtype;
  std::string category;  // from classification.config (classtype's description)
  int priority = 3;      // explicit priority, else the classtype's, else 3
  bool priority_set = false;
  std::vector<Reference> references;
  std::vector<std::string> metadata;  // "key value" pairs as written
  std::string target;                 // target:src_ip|dest_ip

  // Detection.
  std::vector<BufferMatch> buffers;  // content/pcre/isdataat grouped per buffer, in rule order
  std::vector<HeaderCheck> header_checks;
  std::optional<FlowOpt> flow;
  std::vector<Flowbit> flowbits;  // in rule order; checks (IsSet/IsNotSet) and actions mixed
  bool noalert = false;           // flowbits:noalert or noalert keyword
  std::optional<Threshold> threshold;
  std::optional<DetectionFilter> detection_filter;
  std::vector<std::string> tls_versions;  // tls.version:1.2 (any of)

  // True when the rule inspects a buffer whose items include at least one non-negated content.
  [[nodiscard]] bool has_content() const;
  // Finds the buffer match list for `b`, or nullptr.
  [[nodiscard]] const BufferMatch* buffer(Buffer b) const;
};

}  // namespace vigil::rules
