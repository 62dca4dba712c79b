// Suricata rule text -> Rule.
//
// One RuleParser per rule: it walks the header, then the options left to right, keeping the
// content/pcre/isdataat items in one flat list tagged with their buffer, because Suricata's
// modifiers refer to "the last content" regardless of buffer and legacy modifiers (http_uri, ...)
// move a content into another buffer after the fact. The flat list is grouped per buffer only at
// the end, after all moves, so "relative to the previous item in the same buffer" is exact.
//
// Validation mirrors Suricata 7's Setup functions (detect-content.c, detect-distance.c,
// detect-within.c, detect-depth.c, detect-offset.c, detect-fast-pattern.c, detect-flow.c, ...):
// a rule Suricata refuses to load is refused here with the same reason.
#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <unordered_map>

#include "header_expr.h"
#include "vigil/rules/parser.h"

namespace vigil::rules {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

// Strips one pair of surrounding double quotes, if present.
std::string_view unquote(std::string_view s) {
  s = trim(s);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
}

bool parse_i64(std::string_view s, int64_t& out) {
  s = trim(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool parse_u32(std::string_view s, uint32_t& out) {
  int64_t v = 0;
  if (!parse_i64(s, v) || v < 0 || v > UINT32_MAX) return false;
  out = static_cast<uint32_t>(v);
  return true;
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// content:"..." value: optional leading '!', quotes, |hex| blocks, escapes \" \; \: \\.
bool decode_content(std::string_view raw, std::string& out, bool& negated, std::string& err) {
  std::string_view s = trim(raw);
  negated = false;
  if (!s.empty() && s.front() == '!') {
    negated = true;
    s = trim(s.substr(1));
  }
  if (!s.empty() && s.front() == '"') {
    if (s.size() < 2 || s.back() != '"' || (s.size() >= 3 && s[s.size() - 2] == '\\' &&
                                           (s.size() < 4 || s[s.size() - 3] != '\\'))) {
      err = "unterminated quoted string";
      return false;
    }
    s = s.substr(1, s.size() - 2);
  }
  out.clear();
  out.reserve(s.size());
  bool hex = false;
  int nibble = -1;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '|') {
      if (hex && nibble >= 0) {
        err = "odd number of hex digits";
        return false;
      }
      hex = !hex;
      continue;
    }
    if (hex) {
      if (c == ' ' || c == '\t') continue;
      int v = hexval(c);
      if (v < 0) {
        err = std::string("invalid hex character '") + c + "'";
        return false;
      }
      if (nibble < 0) {
        nibble = v;
      } else {
        out.push_back(static_cast<char>(nibble * 16 + v));
        nibble = -1;
      }
      continue;
    }
    if (c == '\\') {
      if (i + 1 >= s.size()) {
        err = "trailing backslash";
        return false;
      }
      char n = s[++i];
      if (n != '"' && n != ';' && n != ':' && n != '\\') {
        err = std::string("invalid escape '\\") + n + "'";
        return false;
      }
      out.push_back(n);
      continue;
    }
    if (c == '"') {
      err = "unescaped '\"' in content";
      return false;
    }
    out.push_back(c);
  }
  if (hex) {
    err = "unterminated |hex| block";
    return false;
  }
  if (out.empty()) {
    err = "empty content";
    return false;
  }
  return true;
}

// Which app-layer protocol a buffer implies (Suricata sets the rule's alproto from it).
AppProto implied_proto(Buffer b) {
  switch (b) {
    case Buffer::Payload:
    case Buffer::FileData:  // also SMTP/FTP/SMB files: no single protocol
    case Buffer::Count_:
      return AppProto::Unknown;
    case Buffer::DnsQuery:
      return AppProto::Dns;
    case Buffer::TlsSni:
    case Buffer::TlsCertSubject:
    case Buffer::TlsCertIssuer:
    case Buffer::Ja3Hash:
    case Buffer::Ja3String:
    case Buffer::Ja4Hash:
      return AppProto::Tls;
    default:
      return AppProto::Http;
  }
}

// The direction a buffer exists in: +1 only to the server (requests, client hellos), -1 only to
// the client (responses, server certificates), 0 both. Mirrors the directions the buffers are
// registered with in Suricata 7.
int buffer_direction(Buffer b) {
  switch (b) {
    case Buffer::HttpUri:
    case Buffer::HttpUriRaw:
    case Buffer::HttpMethod:
    case Buffer::HttpRequestLine:
    case Buffer::HttpHost:
    case Buffer::HttpHostRaw:
    case Buffer::HttpUserAgent:
    case Buffer::HttpRequestBody:
    case Buffer::HttpAccept:
    case Buffer::HttpReferer:
    case Buffer::DnsQuery:
    case Buffer::TlsSni:
    case Buffer::Ja3Hash:
    case Buffer::Ja3String:
    case Buffer::Ja4Hash:
      return 1;
    case Buffer::HttpStatCode:
    case Buffer::HttpStatMsg:
    case Buffer::HttpResponseLine:
    case Buffer::HttpResponseBody:
    case Buffer::TlsCertSubject:
    case Buffer::TlsCertIssuer:
      return -1;
    default:
      return 0;
  }
}

const char* app_proto_name(AppProto p) {
  switch (p) {
    case AppProto::Http: return "http";
    case AppProto::Dns: return "dns";
    case AppProto::Tls: return "tls";
    case AppProto::Failed: return "failed";
    case AppProto::Unknown: break;
  }
  return "unknown";
}

// App-layer protocol names Vigil knows. Anything else that looks like a protocol name is an
// app-layer protocol the engine cannot parse, so such rules are refused by name.
bool app_proto_from_name(std::string_view n, AppProto& out) {
  if (n == "http" || n == "http1") {
    out = AppProto::Http;
  } else if (n == "dns") {
    out = AppProto::Dns;
  } else if (n == "tls") {
    out = AppProto::Tls;
  } else {
    return false;
  }
  return true;
}

struct StickyDef {
  const char* name;
  Buffer buffer;
};
// Sticky buffer keywords: following contents inspect this buffer.
constexpr StickyDef kSticky[] = {
    {"http.uri", Buffer::HttpUri},
    {"http.uri.raw", Buffer::HttpUriRaw},
    {"http.method", Buffer::HttpMethod},
    {"http.protocol", Buffer::HttpProtocol},
    {"http_protocol", Buffer::HttpProtocol},
    {"http.request_line", Buffer::HttpRequestLine},
    {"http_request_line", Buffer::HttpRequestLine},
    {"http.host", Buffer::HttpHost},
    {"http.host.raw", Buffer::HttpHostRaw},
    {"http.user_agent", Buffer::HttpUserAgent},
    {"http.header", Buffer::HttpHeader},
    {"http.header.raw", Buffer::HttpHeaderRaw},
    {"http.cookie", Buffer::HttpCookie},
    {"http.stat_code", Buffer::HttpStatCode},
    {"http.stat_msg", Buffer::HttpStatMsg},
    {"http.response_line", Buffer::HttpResponseLine},
    {"http_response_line", Buffer::HttpResponseLine},
    {"http.request_body", Buffer::HttpRequestBody},
    {"http.response_body", Buffer::HttpResponseBody},
    {"file.data", Buffer::FileData},
    {"file_data", Buffer::FileData},
    {"http.content_type", Buffer::HttpContentType},
    {"http_content_type", Buffer::HttpContentType},
    {"http.content_len", Buffer::HttpContentLen},
    {"http_content_len", Buffer::HttpContentLen},
    {"http.accept", Buffer::HttpAccept},
    {"http_accept", Buffer::HttpAccept},
    {"http.referer", Buffer::HttpReferer},
    {"http_referer", Buffer::HttpReferer},
    {"http.connection", Buffer::HttpConnection},
    {"http_connection", Buffer::HttpConnection},
    {"http.start", Buffer::HttpStart},
    {"http_start", Buffer::HttpStart},
    {"dns.query", Buffer::DnsQuery},
    {"dns_query", Buffer::DnsQuery},
    {"tls.sni", Buffer::TlsSni},
    {"tls_sni", Buffer::TlsSni},
    {"tls.cert_subject", Buffer::TlsCertSubject},
    {"tls_cert_subject", Buffer::TlsCertSubject},
    {"tls.cert_issuer", Buffer::TlsCertIssuer},
    {"tls_cert_issuer", Buffer::TlsCertIssuer},
    {"ja3.hash", Buffer::Ja3Hash},
    {"ja3_hash", Buffer::Ja3Hash},
    {"ja3.string", Buffer::Ja3String},
    {"ja3_string", Buffer::Ja3String},
    {"ja4.hash", Buffer::Ja4Hash},
};

// Legacy content modifiers: they move the preceding content into the buffer.
constexpr StickyDef kLegacyModifiers[] = {
    {"http_uri", Buffer::HttpUri},
    {"http_raw_uri", Buffer::HttpUriRaw},
    {"http_method", Buffer::HttpMethod},
    {"http_host", Buffer::HttpHost},
    {"http_raw_host", Buffer::HttpHostRaw},
    {"http_user_agent", Buffer::HttpUserAgent},
    {"http_header", Buffer::HttpHeader},
    {"http_raw_header", Buffer::HttpHeaderRaw},
    {"http_cookie", Buffer::HttpCookie},
    {"http_stat_code", Buffer::HttpStatCode},
    {"http_stat_msg", Buffer::HttpStatMsg},
    {"http_client_body", Buffer::HttpRequestBody},
    {"http_server_body", Buffer::HttpResponseBody},
};

// pcre flags that select an HTTP buffer (detect-pcre.c).
bool pcre_buffer_flag(char f, Buffer& out) {
  switch (f) {
    case 'U': out = Buffer::HttpUri; return true;
    case 'I': out = Buffer::HttpUriRaw; return true;
    case 'P': out = Buffer::HttpRequestBody; return true;
    case 'Q': out = Buffer::FileData; return true;
    case 'H': out = Buffer::HttpHeader; return true;
    case 'D': out = Buffer::HttpHeaderRaw; return true;
    case 'M': out = Buffer::HttpMethod; return true;
    case 'C': out = Buffer::HttpCookie; return true;
    case 'S': out = Buffer::HttpStatCode; return true;
    case 'Y': out = Buffer::HttpStatMsg; return true;
    case 'V': out = Buffer::HttpUserAgent; return true;
    case 'W': out = Buffer::HttpHost; return true;
    case 'Z': out = Buffer::HttpHostRaw; return true;
    default: return false;
  }
}

struct IpProtoName {
  const char* name;
  int number;
};
// The /etc/protocols names Suricata's ip_proto accepts most often; numbers work for the rest.
constexpr IpProtoName kIpProtoNames[] = {
    {"hopopt", 0}, {"icmp", 1}, {"igmp", 2}, {"ggp", 3}, {"ipencap", 4}, {"ipip", 4}, {"st", 5},
    {"tcp", 6}, {"egp", 8}, {"igp", 9}, {"pup", 12}, {"udp", 17}, {"hmp", 20}, {"xns-idp", 22},
    {"rdp", 27}, {"ipv6", 41}, {"ipv6-route", 43}, {"ipv6-frag", 44}, {"idrp", 45}, {"rsvp", 46},
    {"gre", 47}, {"esp", 50}, {"ah", 51}, {"skip", 57}, {"ipv6-icmp", 58}, {"icmpv6", 58},
    {"ipv6-nonxt", 59}, {"ipv6-opts", 60}, {"rspf", 73}, {"vmtp", 81}, {"eigrp", 88},
    {"ospf", 89}, {"ax.25", 93}, {"ipip", 94}, {"etherip", 97}, {"encap", 98}, {"pim", 103},
    {"ipcomp", 108}, {"vrrp", 112}, {"l2tp", 115}, {"isis", 124}, {"sctp", 132}, {"fc", 133},
    {"mobility-header", 135}, {"udplite", 136}, {"mpls-in-ip", 137}, {"manet", 138},
    {"hip", 139}, {"shim6", 140}, {"wesp", 141}, {"rohc", 142}, {"ethernet", 143},
};

struct Failure {
  std::string keyword;
  std::string reason;
  std::string category;
};

struct PendingItem {
  Buffer buffer;
  BufferItem item;
};

class RuleParser;
using Handler = bool (RuleParser::*)(const std::string& kw, std::string_view value, bool has_value);

class RuleParser {
 public:
  RuleParser(const ParseContext& ctx, Rule& rule) : ctx_(ctx), rule_(rule) {}

  bool parse(std::string_view text);
  const Failure& failure() const { return failure_; }

 private:
  // Records the failure and returns false so call sites read `return fail(...)`.
  bool fail(std::string keyword, std::string reason, std::string category = "") {
    if (category.empty()) category = keyword.empty() ? "syntax" : "invalid value: " + keyword;
    failure_ = Failure{std::move(keyword), std::move(reason), std::move(category)};
    return false;
  }

  bool parse_header(std::string_view header);
  bool parse_options(std::string_view options);
  bool finish();

  Content* last_content(const std::string& kw) {
    if (last_content_ < 0) {
      fail(kw, kw + " needs a preceding content");
      return nullptr;
    }
    return &std::get<Content>(items_[static_cast<size_t>(last_content_)].item);
  }
  Buffer current_buffer() const { return sticky_.value_or(Buffer::Payload); }

  // Option handlers, one per keyword (or keyword family).
  bool kw_msg(const std::string& kw, std::string_view v, bool has);
  bool kw_sid(const std::string& kw, std::string_view v, bool has);
  bool kw_rev(const std::string& kw, std::string_view v, bool has);
  bool kw_gid(const std::string& kw, std::string_view v, bool has);
  bool kw_classtype(const std::string& kw, std::string_view v, bool has);
  bool kw_priority(const std::string& kw, std::string_view v, bool has);
  bool kw_reference(const std::string& kw, std::string_view v, bool has);
  bool kw_metadata(const std::string& kw, std::string_view v, bool has);
  bool kw_target(const std::string& kw, std::string_view v, bool has);
  bool kw_content(const std::string& kw, std::string_view v, bool has);
  bool kw_nocase(const std::string& kw, std::string_view v, bool has);
  bool kw_rawbytes(const std::string& kw, std::string_view v, bool has);
  bool kw_offset(const std::string& kw, std::string_view v, bool has);
  bool kw_depth(const std::string& kw, std::string_view v, bool has);
  bool kw_distance(const std::string& kw, std::string_view v, bool has);
  bool kw_within(const std::string& kw, std::string_view v, bool has);
  bool kw_startswith(const std::string& kw, std::string_view v, bool has);
  bool kw_endswith(const std::string& kw, std::string_view v, bool has);
  bool kw_fast_pattern(const std::string& kw, std::string_view v, bool has);
  bool kw_legacy_modifier(const std::string& kw, std::string_view v, bool has);
  bool kw_sticky(const std::string& kw, std::string_view v, bool has);
  bool kw_pkt_data(const std::string& kw, std::string_view v, bool has);
  bool kw_pcre(const std::string& kw, std::string_view v, bool has);
  bool kw_isdataat(const std::string& kw, std::string_view v, bool has);
  bool kw_flow(const std::string& kw, std::string_view v, bool has);
  bool kw_flowbits(const std::string& kw, std::string_view v, bool has);
  bool kw_noalert(const std::string& kw, std::string_view v, bool has);
  bool kw_threshold(const std::string& kw, std::string_view v, bool has);
  bool kw_numeric(const std::string& kw, std::string_view v, bool has);
  bool kw_ip_proto(const std::string& kw, std::string_view v, bool has);
  bool kw_sameip(const std::string& kw, std::string_view v, bool has);
  bool kw_ipopts(const std::string& kw, std::string_view v, bool has);
  bool kw_fragbits(const std::string& kw, std::string_view v, bool has);
  bool kw_flags(const std::string& kw, std::string_view v, bool has);
  bool kw_app_layer_protocol(const std::string& kw, std::string_view v, bool has);
  bool kw_tls_version(const std::string& kw, std::string_view v, bool has);

  bool need_value(const std::string& kw, std::string_view v, bool has) {
    if (!has || trim(v).empty()) return fail(kw, kw + " needs a value");
    return true;
  }
  bool no_value(const std::string& kw, bool has) {
    if (has) return fail(kw, kw + " takes no value");
    return true;
  }
  bool set_app_proto(AppProto p, const std::string& kw);

  static const std::unordered_map<std::string, Handler>& handlers();

  const ParseContext& ctx_;
  Rule& rule_;
  Failure failure_;
  std::vector<PendingItem> items_;
  int last_content_ = -1;  // index into items_ of the most recent content
  std::optional<Buffer> sticky_;
  bool fast_pattern_seen_ = false;
  bool sid_seen_ = false;
  bool dsize_seen_ = false;
};

const std::unordered_map<std::string, Handler>& RuleParser::handlers() {
  static const std::unordered_map<std::string, Handler> table = [] {
    std::unordered_map<std::string, Handler> t = {
        {"msg", &RuleParser::kw_msg},
        {"sid", &RuleParser::kw_sid},
        {"rev", &RuleParser::kw_rev},
        {"gid", &RuleParser::kw_gid},
        {"classtype", &RuleParser::kw_classtype},
        {"priority", &RuleParser::kw_priority},
        {"reference", &RuleParser::kw_reference},
        {"metadata", &RuleParser::kw_metadata},
        {"target", &RuleParser::kw_target},
        {"content", &RuleParser::kw_content},
        {"uricontent", &RuleParser::kw_content},
        {"nocase", &RuleParser::kw_nocase},
        {"rawbytes", &RuleParser::kw_rawbytes},
        {"offset", &RuleParser::kw_offset},
        {"depth", &RuleParser::kw_depth},
        {"distance", &RuleParser::kw_distance},
        {"within", &RuleParser::kw_within},
        {"startswith", &RuleParser::kw_startswith},
        {"endswith", &RuleParser::kw_endswith},
        {"fast_pattern", &RuleParser::kw_fast_pattern},
        {"pkt_data", &RuleParser::kw_pkt_data},
        {"pcre", &RuleParser::kw_pcre},
        {"isdataat", &RuleParser::kw_isdataat},
        {"flow", &RuleParser::kw_flow},
        {"flowbits", &RuleParser::kw_flowbits},
        {"noalert", &RuleParser::kw_noalert},
        {"threshold", &RuleParser::kw_threshold},
        {"detection_filter", &RuleParser::kw_threshold},
        {"dsize", &RuleParser::kw_numeric},
        {"ttl", &RuleParser::kw_numeric},
        {"tos", &RuleParser::kw_numeric},
        {"id", &RuleParser::kw_numeric},
        {"fragoffset", &RuleParser::kw_numeric},
        {"seq", &RuleParser::kw_numeric},
        {"ack", &RuleParser::kw_numeric},
        {"window", &RuleParser::kw_numeric},
        {"tcp.mss", &RuleParser::kw_numeric},
        {"itype", &RuleParser::kw_numeric},
        {"icode", &RuleParser::kw_numeric},
        {"icmp_id", &RuleParser::kw_numeric},
        {"icmp_seq", &RuleParser::kw_numeric},
        {"ip_proto", &RuleParser::kw_ip_proto},
        {"sameip", &RuleParser::kw_sameip},
        {"ipopts", &RuleParser::kw_ipopts},
        {"fragbits", &RuleParser::kw_fragbits},
        {"flags", &RuleParser::kw_flags},
        {"app-layer-protocol", &RuleParser::kw_app_layer_protocol},
        {"tls.version", &RuleParser::kw_tls_version},
    };
    for (const auto& s : kSticky) t.emplace(s.name, &RuleParser::kw_sticky);
    for (const auto& s : kLegacyModifiers) t.emplace(s.name, &RuleParser::kw_legacy_modifier);
    return t;
  }();
  return table;
}

// ---------------------------------------------------------------------------------------------
// Header

bool RuleParser::parse_header(std::string_view header) {
  // Split at whitespace outside brackets: Suricata's header regex allows no spaces inside an
  // address list, but tolerating "[a, b]" costs nothing and only widens what loads.
  std::vector<std::string_view> tok;
  int depth = 0;
  size_t start = std::string_view::npos;
  for (size_t i = 0; i <= header.size(); ++i) {
    char c = i < header.size() ? header[i] : ' ';
    bool space = (c == ' ' || c == '\t') && depth == 0;
    if (c == '[') ++depth;
    if (c == ']') --depth;
    if (space) {
      if (start != std::string_view::npos) tok.push_back(header.substr(start, i - start));
      start = std::string_view::npos;
    } else if (start == std::string_view::npos) {
      start = i;
    }
  }
  if (tok.size() != 7) {
    return fail("", "rule header needs 'action proto src sport -> dst dport', got " +
                        std::to_string(tok.size()) + " fields");
  }

  std::string action = lower(tok[0]);
  static const std::pair<const char*, Action> kActions[] = {
      {"alert", Action::Alert},         {"pass", Action::Pass},
      {"drop", Action::Drop},           {"reject", Action::Reject},
      {"rejectsrc", Action::RejectSrc}, {"rejectdst", Action::RejectDst},
      {"rejectboth", Action::RejectBoth},
  };
  bool found = false;
  for (const auto& [name, a] : kActions) {
    if (action == name) {
      rule_.action = a;
      found = true;
    }
  }
  if (!found) return fail("", "unknown action '" + std::string(tok[0]) + "'");

  std::string proto = lower(tok[1]);
  static const std::pair<const char*, Proto> kProtos[] = {
      {"ip", Proto::Ip},         {"tcp", Proto::Tcp},       {"tcp-pkt", Proto::TcpPkt},
      {"tcp-stream", Proto::TcpStream}, {"udp", Proto::Udp}, {"icmp", Proto::Icmp},
      {"icmpv4", Proto::Icmpv4}, {"icmpv6", Proto::Icmpv6}, {"sctp", Proto::Sctp},
  };
  found = false;
  for (const auto& [name, p] : kProtos) {
    if (proto == name) {
      rule_.proto = p;
      found = true;
    }
  }
  if (!found) {
    AppProto ap;
    if (app_proto_from_name(proto, ap)) {
      rule_.proto = Proto::App;
      rule_.app_proto = ap;
    } else {
      bool name_like = !proto.empty() && std::all_of(proto.begin(), proto.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
      });
      if (!name_like) return fail("", "bad protocol '" + std::string(tok[1]) + "'");
      return fail("", "app-layer protocol '" + proto + "' is not supported",
                  "unsupported protocol: " + proto);
    }
  }

  if (tok[4] == "<>") {
    rule_.bidirectional = true;
  } else if (tok[4] != "->") {
    return fail("", "bad direction '" + std::string(tok[4]) + "' (expected -> or <>)");
  }

  rule_.src_addr_text = std::string(tok[2]);
  rule_.src_port_text = std::string(tok[3]);
  rule_.dst_addr_text = std::string(tok[5]);
  rule_.dst_port_text = std::string(tok[6]);
  detail::ExprError err;
  auto expr_fail = [&](const char* what) {
    if (err.undefined_var) return fail("", err.reason, "undefined variable");
    return fail("", std::string(what) + ": " + err.reason);
  };
  if (!detail::parse_address(tok[2], ctx_.vars, rule_.src_addr, err)) return expr_fail("source address");
  if (!detail::parse_ports(tok[3], ctx_.vars, rule_.src_ports, err)) return expr_fail("source port");
  if (!detail::parse_address(tok[5], ctx_.vars, rule_.dst_addr, err)) return expr_fail("destination address");
  if (!detail::parse_ports(tok[6], ctx_.vars, rule_.dst_ports, err)) return expr_fail("destination port");
  return true;
}

// ---------------------------------------------------------------------------------------------
// Options

bool RuleParser::parse_options(std::string_view opts) {
  const auto& table = handlers();
  size_t i = 0;
  const size_t n = opts.size();
  while (i < n) {
    while (i < n && (opts[i] == ' ' || opts[i] == '\t')) ++i;
    if (i >= n) break;
    size_t name_start = i;
    while (i < n && opts[i] != ':' && opts[i] != ';') ++i;
    std::string_view name = trim(opts.substr(name_start, i - name_start));
    bool has_value = false;
    std::string_view value;
    if (i < n && opts[i] == ':') {
      has_value = true;
      size_t vstart = ++i;
      // The value runs to the first ';' not escaped by a backslash.
      bool escaped = false;
      while (i < n) {
        char c = opts[i];
        if (escaped) {
          escaped = false;
        } else if (c == '\\') {
          escaped = true;
        } else if (c == ';') {
          break;
        }
        ++i;
      }
      value = trim(opts.substr(vstart, i - vstart));
    }
    if (i < n) ++i;  // the ';'
    if (name.empty()) return fail("", "empty option");
    std::string kw = lower(name);
    auto it = table.find(kw);
    if (it == table.end()) {
      return fail(kw, "keyword '" + kw + "' is not supported", "unsupported keyword: " + kw);
    }
    if (!(this->*(it->second))(kw, value, has_value)) return false;
  }
  return true;
}

bool RuleParser::kw_msg(const std::string& kw, std::string_view v, bool has) {
  if (!need_value(kw, v, has)) return false;
  std::string_view s = unquote(v);
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) ++i;
    out.push_back(s[i]);
  }
  rule_.msg = std::move(out);
  return true;
}

bool RuleParser::kw_sid(const std::string& kw, std::string_view v, bool has) {
  if (!need_value(kw, v, has)) return false;
  uint32_t sid = 0;
  if (!parse_u32(unquote(v), sid)) return fail(kw, "invalid sid '" + std::string(v) + "'");
  if (sid == 0) return fail(kw, "sid 0 is not allowed");
  if (sid_seen_) return fail(kw, "sid set twice");
  rule_.sid = sid;
  sid_seen_ = true;
  return true;
}

bool RuleParser::kw_rev(const std::string& kw, std::string_view v, bool has) {
  if (!need_value(kw, v, has)) return false;
  if (!parse_u32(unquote(v), rule_.rev)) return fail(kw, "invalid rev '" + std::string(v) + "'");
  return true;
}

bool RuleParser::kw_gid(const std::string& kw, std::string_view v, bool has) {
  if (!need_value(kw, v, has)) return false;
  if (!parse_u32(unquote(v), rule_.gid)) return fail(kw, "invalid gid '" + std::string(v) + "'");
  return true;
}

bool RuleParser::kw_classtype(const std::string& kw, std::string_view v, bool has) {
  if (!need_value(kw, v, has)) return false;
  std::string name(trim(v));
  auto it = ctx_.classifications.types.find(name);
  if (it == ctx_.classifications.types.end()) {
    return fail(kw, "unknown classtype '" + name + "'", "unknown classtype");
  }
  if (!rule_.classtype.empty()) return fail(kw, "classtype set twice");
  rule_.classtype = name;
  rule_.category = it->second.description;
  if (!rule_.priority_set) rule_.priority = it->second.priority;
  return true;
}

bool RuleParser::kw_priority(const std::string& kw, std::string_view v, bool has) {
  if (!need_value(kw, v, has)) return false;
  int64_t p = 0;
  if (!parse_i64(unquote(v), p) || p < 1 || p > 255) {
    return fail(kw, "priority must be 1..255, got '" + std::string(v) + "'");
  }
  rule_.priority = static_cast<int>(p);
  rule_.priority_set = true;
  return true;
}

bool RuleParser::kw_reference(const std::string& kw, std::string_view v, bool has) {
  if (!need_value(kw, v, has)) return false;
  auto comma = v.find(',');
  if (comma == std::string_view::npos) return fail(kw, "reference needs 'type,value'");
  Reference r{std::string(trim(v.substr(0, comma))), std::string(unquote(v.substr(comma + 1)))};
  if (r.type.empty() || r.value.empty()) return fail(kw, "reference needs 'type,value'");
  rule_.references.push_back(std::move(r));
  return true;
}

bool RuleParser::kw_metadata(const std::string& kw, std::string_view v, bool has) {
  if (!need_value(kw, v, has)) return false;
  size_t start = 0;
  while (start <= v.size()) {
    size_t comma = v.find(',', start);
    auto part = trim(v.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (!part.empty()) rule_.metadata.emplace_back(part);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return true;
}

bool RuleParser::kw_target(const std::string& kw, std::string_view v, bool has) {
  if (!need_value(kw, v, has)) return false;
  std::string t(trim(v));
  if (t != "src_ip" && t != "dest_ip") return fail(kw, "target must be src_ip or dest_ip");
  rule_.target = t;
  return true;
}

bool RuleParser::kw_content(const std::string& kw, std::string_view v, bool has) {
  if (!need_value(kw, v, has)) return false;
  Content c;
  std::string err;
  if (!decode_content(v, c.bytes, c.negated, err)) return fail(kw, err);
  Buffer b = current_buffer();
  if (kw == "uricontent") {
    if (sticky_) return fail(kw, "uricontent cannot be used while a sticky buffer is active");
    b = Buffer::HttpUri;
  }
  items_.push_back(PendingItem{b, std::move(c)});
  last_content_ = static_cast<int>(items_.size()) - 1;
  return true;
}

bool RuleParser::kw_nocase(const std::string& kw, std::string_view v, bool has) {
  if (!no_value(kw, has)) return false;
  Content* c = last_content(kw);
  if (c == nullptr) return false;
  if (c->nocase) return fail(kw, "nocase set twice on the same content");
  c->nocase = true;
  return true;
}

bool RuleParser::kw_rawbytes(const std::string& kw, std::string_view v, bool has) {
  if (!no_value(kw, has)) return false;
  Content* c = last_content(kw);
  if (c == nullptr) return false;
  if (items_[static_cast<size_t>(last_content_)].buffer != Buffer::Payload) {
    return fail(kw, "rawbytes only applies to payload content");
  }
  c->rawbytes = true;
  return true;
}

// offset/depth/distance/within values: plain integers (byte_extract variables are not supported,
// and a rule using them is already refused for its byte_extract keyword).
static bool parse_modifier_value(std::string_view v, int64_t& out) { return parse_i64(unquote(v), out); }

bool RuleParser::kw_offset(const std::string& kw, std::string_view v, bool has) {
  if (!need_value(kw, v, has)) return false;
  Content* c = last_content(kw);
  if (c == nullptr) return false;
  int64_t x = 0;
  if (!parse_modifier_value(v, x) || x < 0 || x > 65535) return fail(kw, "invalid offset '" + std::string(v) + "'");
  if (c->offset) return fail(kw, "offset set twice on the same content");
  if (c->startswith) return fail(kw, "offset cannot be combined with startswith");
  if (c->relative()) return fail(kw, "offset cannot be combined with the relative distance/within");
  c->offset = static_cast<int32_t>(x);
  return true;
}

bool RuleParser::kw_depth(const std::string& kw, std::string_view v, bool has) {
  if (!need_value(kw, v, has)) return false;
  Content* c = last_content(kw);
  if (c == nullptr) return false;
  int64_t x = 0;
  if (!parse_modifier_value(v, x) || x < 1 || x > 65535) return fail(kw, "invalid depth '" + std::string(v) + "'");
  if (c->depth) return fail(kw, "depth set twice on the same content");
  if (c->startswith) return fail(kw, "depth cannot be combined with startswith");
  if (c->relative()) return fail(kw, "depth cannot be combined with the relative distance/within");
  if (x < static_cast<int64_t>(c->bytes.size())) {
    return fail(kw, "depth " + std::to_string(x) + " is smaller than the content length " +
                        std::to_string(c->bytes.size()));
  }
  c->depth = static_cast<int32_t>(x);
  return true;
}

bool RuleParser::kw_distance(const std::string& kw, std::string_view v, bool has) {
  if (!need_value(kw, v, has)) return false;
  Content* c = last_content(kw);
  if (c == nullptr) return false;
  int64_t x = 0;
  if (!parse_modifier_value(v, x) || x < INT32_MIN || x > INT32_MAX) {
    return fail(kw, "invalid distance '" + std::string(v) + "'");
  }
  if (c->distance) return fail(kw, "distance set twice on the same content");
  if (c->startswith) return fail(kw, "distance cannot be combined with startswith");
  if (c->offset || c->depth) return fail(kw, "distance cannot be combined with offset/depth");
  c->distance = static_cast<int32_t>(x);
  // Suricata widens within so that it still covers the content after the distance.
  const int64_t need = x + static_cast<int64_t>(c->bytes.size());
  if (c->within && need > *c->within) c->within = static_cast<int32_t>(std::min<int64_t>(need, INT32_MAX));
  return true;
}

bool RuleParser::kw_within(const std::string& kw, std::string_view v, bool has) {
  if (!need_value(kw, v, has)) return false;
  Content* c = last_content(kw);
  if (c == nullptr) return false;
  int64_t x = 0;
  if (!parse_modifier_value(v, x) || x < INT32_MIN || x > INT32_MAX) {
    return fail(kw, "invalid within '" + std::string(v) + "'");
  }
  if (c->within) return fail(kw, "within set twice on the same content");
  if (c->startswith) return fail(kw, "within cannot be combined with startswith");
  if (c->offset || c->depth) return fail(kw, "within cannot be combined with offset/depth");
  if (x < static_cast<int64_t>(c->bytes.size())) {
    return fail(kw, "within " + std::to_string(x) + " is smaller than the content length " +
                        std::to_string(c->bytes.size()) + ", so it can never match");
  }
  if (c->distance) {
    const int64_t need = *c->distance + static_cast<int64_t>(c->bytes.size());
    if (need > x) x = std::min<int64_t>(need, INT32_MAX);
  }
  c->within = static_cast<int32_t>(x);
  return true;
}

bool RuleParser::kw_startswith(const std::string& kw, std::string_view v, bool has) {
  if (!no_value(kw, has)) return false;
  Content* c = last_content(kw);
  if (c == nullptr) return false;
  if (c->startswith) return fail(kw, "startswith set twice");
  if (c->depth || c->offset) return fail(kw, "startswith cannot be combined with depth/offset");
  if (c->relative()) return fail(kw, "startswith cannot be combined with distance/within");
  c->startswith = true;
  return true;
}

bool RuleParser::kw_endswith(const std::string& kw, std::string_view v, bool has) {
  if (!no_value(kw, has)) return false;
  Content* c = last_content(kw);
  if (c == nullptr) return false;
  if (c->endswith) return fail(kw, "endswith set twice");
  c->endswith = true;
  return true;
}

bool RuleParser::kw_fast_pattern(const std::string& kw, std::string_view v, bool has) {
  Content* c = last_content(kw);
  if (c == nullptr) return false;
  if (fast_pattern_seen_) return fail(kw, "fast_pattern can be used on only one content per rule");
  fast_pattern_seen_ = true;
  c->fast_pattern = true;
  if (!has) return true;
  std::string_view arg = trim(v);
  if (arg == "only") {
    c->fast_pattern_only = true;
    return true;
  }
  auto comma = arg.find(',');
  int64_t off = 0;
  int64_t len = 0;
  if (comma == std::string_view::npos || !parse_i64(arg.substr(0, comma), off) ||
      !parse_i64(arg.substr(comma + 1), len) || off < 0 || len < 1 || off > 65535 || len > 65535) {
    return fail(kw, "fast_pattern takes no value, 'only' or '<offset>,<length>'");
  }
  if (off + len > static_cast<int64_t>(c->bytes.size())) {
    return fail(kw, "fast_pattern offset+length exceeds the content length");
  }
  c->fast_pattern_chop = std::pair<uint16_t, uint16_t>{static_cast<uint16_t>(off), static_cast<uint16_t>(len)};
  return true;
}

bool RuleParser::kw_legacy_modifier(const std::string& kw, std::string_view v, bool has) {
  if (!no_value(kw, has)) return false;
  Content* c = last_content(kw);
  if (c == nullptr) return false;
  if (sticky_) {
    return fail(kw, kw + " seen while a sticky buffer is active; reset it with pkt_data first");
  }
  auto& item = items_[static_cast<size_t>(last_content_)];
  if (item.buffer != Buffer::Payload) {
    return fail(kw, kw + " applied to a content that already inspects " + buffer_name(item.buffer));
  }
  if (c->rawbytes) return fail(kw, "rawbytes cannot be combined with " + kw);
  for (const auto& m : kLegacyModifiers) {
    if (kw == m.name) item.buffer = m.buffer;
  }
  return true;
}

bool RuleParser::kw_sticky(const std::string& kw, std::string_view v, bool has) {
  if (!no_value(kw, has)) return false;
  for (const auto& s : kSticky) {
    if (kw == s.name) sticky_ = s.buffer;
  }
  return true;
}

bool RuleParser::kw_pkt_data(const std::string& kw, std::string_view v, bool has) {
  if (!no_value(kw, has)) return false;
  sticky_.reset();
  return true;
}

bool RuleParser::kw_pcre(const std::string& kw, std::string_view v, bool has) {
  if (!need_value(kw, v, has)) return false;
  Pcre p;
  std::string_view s = trim(v);
  if (!s.empty() && s.front() == '!') {
    p.negated = true;
    s = trim(s.substr(1));
  }
  if (s.size() < 2 || s.front() != '"' || s.back() != '"') return fail(kw, "pcre must be quoted: \"/regex/flags\"");
  s = s.substr(1, s.size() - 2);
  if (s.empty() || s.front() != '/') return fail(kw, "pcre must start with '/'");
  auto last = s.rfind('/');
  if (last == 0) return fail(kw, "pcre has no closing '/'");
  p.pattern = std::string(s.substr(1, last - 1));
  if (p.pattern.empty()) return fail(kw, "empty pcre");
  std::optional<Buffer> flag_buffer;
  for (char f : s.substr(last + 1)) {
    Buffer b;
    switch (f) {
      case 'i': p.caseless = true; break;
      case 'm': p.multiline = true; break;
      case 's': p.dotall = true; break;
      case 'x': p.extended = true; break;
      case 'A': p.anchored = true; break;
      case 'E': p.dollar_endonly = true; break;
      case 'G': p.ungreedy = true; break;
      case 'R': p.relative = true; break;
      case 'B': p.rawbytes = true; break;
      case 'O': break;  // "override match limits": we apply our own limits anyway
      default:
        if (!pcre_buffer_flag(f, b)) return fail(kw, std::string("unknown pcre flag '") + f + "'");
        if (flag_buffer && *flag_buffer != b) return fail(kw, "pcre has two buffer flags");
        flag_buffer = b;
    }
  }
  Buffer target = current_buffer();
  if (flag_buffer) {
    // Suricata 7 keeps http.response_body and file.data in one list, so /Q fits either.
    const bool same_body = *flag_buffer == Buffer::FileData && sticky_ &&
                           (*sticky_ == Buffer::HttpResponseBody || *sticky_ == Buffer::FileData);
    if (same_body) flag_buffer = *sticky_;
    if (sticky_ && *sticky_ != *flag_buffer) {
      return fail(kw, std::string("pcre buffer flag selects ") + buffer_name(*flag_buffer) +
                          " but the sticky buffer is " + buffer_name(*sticky_));
    }
    target = *flag_buffer;
  } else if (!sticky_ && p.relative && !items_.empty()) {
    // A relative pcre continues from the previous content/pcre, wherever that lives.
    target = items_.back().buffer;
  }
  if (p.rawbytes && target != Buffer::Payload) return fail(kw, "pcre /B only applies to payload");
  items_.push_back(PendingItem{target, std::move(p)});
  return true;
}

bool RuleParser::kw_isdataat(const std::string& kw, std::string_view v, bool has) {
  if (!need_value(kw, v, has)) return false;
  IsDataAt d;
  std::string_view s = unquote(v);
  if (!s.empty() && s.front() == '!') {
    d.negated = true;
    s = trim(s.substr(1));
  }
  auto comma = s.find(',');
  std::string_view num = trim(s.substr(0, comma));
  int64_t x = 0;
  if (!parse_i64(num, x) || x < 0 || x > 65535) return fail(kw, "invalid isdataat offset '" + std::string(num) + "'");
  d.offset = static_cast<int32_t>(x);
  while (comma != std::string_view::npos) {
    size_t next = s.find(',', comma + 1);
    std::string_view opt = trim(s.substr(comma + 1, next == std::string_view::npos ? std::string_view::npos : next - comma - 1));
    if (opt == "relative") {
      d.relative = true;
    } else if (opt != "rawbytes") {
      return fail(kw, "unknown isdataat option '" + std::string(opt) + "'");
    }
    comma = next;
  }
  Buffer target = current_buffer();
  if (!sticky_ && d.relative && !items_.empty()) target = items_.back().buffer;
  items_.push_back(PendingItem{target, d});
  return true;
}

bool RuleParser::kw_flow(const std::string& kw, std::string_view v, bool has) {
  if (!need_value(kw, v, has)) return false;
  FlowOpt f = rule_.flow.value_or(FlowOpt{});
  size_t start = 0;
  while (start <= v.size()) {
    size_t comma = v.find(',', start);
    std::string opt = lower(trim(v.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start)));
    if (opt == "to_server" || opt == "from_client") {
      f.to_server = true;
    } else if (opt == "to_client" || opt == "from_server") {
      f.to_client = true;
    } else if (opt == "established") {
      f.established = true;
    } else if (opt == "not_established") {
      f.not_established = true;
    } else if (opt == "stateless") {
      f.stateless = true;
    } else if (opt == "only_stream") {
      f.only_stream = true;
    } else if (opt == "no_stream") {
      f.no_stream = true;
    } else if (opt == "only_frag") {
      f.only_frag = true;
    } else if (opt == "no_frag") {
      f.no_frag = true;
    } else {
      return fail(kw, "unknown flow option '" + opt + "'");
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (f.to_server && f.to_client) return fail(kw, "flow cannot be both to_server and to_client");
  if (int(f.established) + int(f.not_established) + int(f.stateless) > 1) {
    return fail(kw, "flow: established, not_established and stateless exclude each other");
  }
  if (f.only_stream && f.no_stream) return fail(kw, "flow cannot be both only_stream and no_stream");
  if (f.only_frag && f.no_frag) return fail(kw, "flow cannot be both only_frag and no_frag");
  rule_.flow = f;
  return true;
}

bool RuleParser::kw_flowbits(const std::string& kw, std::string_view v, bool has) {
  if (!need_value(kw, v, has)) return false;
  auto comma = v.find(',');
  std::string cmd = lower(trim(v.substr(0, comma)));
  Flowbit fb;
  if (cmd == "set") {
    fb.cmd = Flowbit::Cmd::Set;
  } else if (cmd == "unset") {
    fb.cmd = Flowbit::Cmd::Unset;
  } else if (cmd == "toggle") {
    fb.cmd = Flowbit::Cmd::Toggle;
  } else if (cmd == "isset") {
    fb.cmd = Flowbit::Cmd::IsSet;
  } else if (cmd == "isnotset") {
    fb.cmd = Flowbit::Cmd::IsNotSet;
  } else if (cmd == "noalert") {
    fb.cmd = Flowbit::Cmd::NoAlert;
  } else {
    return fail(kw, "unknown flowbits command '" + cmd + "'");
  }
  if (fb.cmd == Flowbit::Cmd::NoAlert) {
    if (comma != std::string_view::npos) return fail(kw, "flowbits:noalert takes no name");
    rule_.noalert = true;
    rule_.flowbits.push_back(std::move(fb));
    return true;
  }
  if (comma == std::string_view::npos) return fail(kw, "flowbits:" + cmd + " needs a name");
  std::string_view names = trim(v.substr(comma + 1));
  bool has_or = names.find('|') != std::string_view::npos;
  bool has_and = names.find('&') != std::string_view::npos;
  if (has_or && has_and) return fail(kw, "flowbits names cannot mix '|' and '&'");
  if (has_or && fb.cmd != Flowbit::Cmd::IsSet && fb.cmd != Flowbit::Cmd::IsNotSet) {
    return fail(kw, "flowbits '|' (any of) is only allowed with isset/isnotset");
  }
  fb.any_of = has_or;
  const char sep = has_or ? '|' : '&';
  size_t start = 0;
  while (start <= names.size()) {
    size_t p = names.find(sep, start);
    auto name = trim(names.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
    if (name.empty() || name.find_first_of(" \t,") != std::string_view::npos) {
      return fail(kw, "invalid flowbit name '" + std::string(name) + "'");
    }
    fb.names.emplace_back(name);
    if (p == std::string_view::npos) break;
    start = p + 1;
  }
  rule_.flowbits.push_back(std::move(fb));
  return true;
}

bool RuleParser::kw_noalert(const std::string& kw, std::string_view v, bool has) {
  if (!no_value(kw, has)) return false;
  rule_.noalert = true;
  return true;
}

bool RuleParser::kw_threshold(const std::string& kw, std::string_view v, bool has) {
  if (!need_value(kw, v, has)) return false;
  const bool is_filter = kw == "detection_filter";
  if (is_filter ? rule_.detection_filter.has_value() : rule_.threshold.has_value()) {
    return fail(kw, kw + " set twice");
  }
  if (is_filter ? rule_.threshold.has_value() : rule_.detection_filter.has_value()) {
    return fail(kw, "threshold and detection_filter cannot be used in the same rule");
  }
  std::optional<Threshold::Type> type;
  std::optional<Track> track;
  std::optional<uint32_t> count;
  std::optional<uint32_t> seconds;
  size_t start = 0;
  while (start <= v.size()) {
    size_t comma = v.find(',', start);
    auto part = trim(v.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    auto sp = part.find_first_of(" \t");
    std::string key = lower(part.substr(0, sp));
    std::string val = sp == std::string_view::npos ? "" : lower(trim(part.substr(sp)));
    if (key == "type" && !is_filter) {
      if (val == "limit") {
        type = Threshold::Type::Limit;
      } else if (val == "threshold") {
        type = Threshold::Type::Threshold;
      } else if (val == "both") {
        type = Threshold::Type::Both;
      } else {
        return fail(kw, "unknown threshold type '" + val + "'");
      }
    } else if (key == "track") {
      if (val == "by_src") {
        track = Track::BySrc;
      } else if (val == "by_dst") {
        track = Track::ByDst;
      } else if (val == "by_rule") {
        track = Track::ByRule;
      } else if (val == "by_both") {
        track = Track::ByBoth;
      } else if (val == "by_flow") {
        track = Track::ByFlow;
      } else {
        return fail(kw, "unknown track '" + val + "'");
      }
    } else if (key == "count") {
      uint32_t x = 0;
      if (!parse_u32(val, x)) return fail(kw, "invalid count '" + val + "'");
      count = x;
    } else if (key == "seconds") {
      uint32_t x = 0;
      if (!parse_u32(val, x)) return fail(kw, "invalid seconds '" + val + "'");
      seconds = x;
    } else {
      return fail(kw, "unknown " + kw + " option '" + std::string(part) + "'");
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if ((!is_filter && !type) || !track || !count || !seconds) {
    return fail(kw, kw + (is_filter ? " needs track, count and seconds" : " needs type, track, count and seconds"));
  }
  if (is_filter) {
    if (*track == Track::ByBoth) return fail(kw, "detection_filter cannot track by_both");
    rule_.detection_filter = DetectionFilter{*track, *count, *seconds};
  } else {
    rule_.threshold = Threshold{*type, *track, *count, *seconds};
  }
  return true;
}

// Suricata's unsigned-integer keyword syntax (detect-engine-uint.c): N, =N, !N, <N, <=N, >N,
// >=N, A-B and A<>B (both ranges exclusive). `forms` limits what a keyword accepts.
enum NumForms : unsigned { kPlain = 0, kNot = 1, kCmp = 2, kRange = 4, kAll = 7 };

bool parse_numcmp(std::string_view s, int64_t max, unsigned forms, bool allow_hex, NumCmp& out,
                  std::string& err) {
  s = unquote(s);
  auto number = [&](std::string_view t, int64_t& v) {
    t = trim(t);
    if (allow_hex && !t.empty() && (t.front() == 'x' || t.front() == 'X' || (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')))) {
      t.remove_prefix(t.front() == '0' ? 2 : 1);
      auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v, 16);
      return !t.empty() && ec == std::errc() && p == t.data() + t.size() && v >= 0 && v <= max;
    }
    return parse_i64(t, v) && v >= 0 && v <= max;
  };
  auto bad = [&]() {
    err = "invalid value '" + std::string(s) + "'";
    return false;
  };
  if (auto r = s.find("<>"); r != std::string_view::npos) {
    if (!(forms & kRange)) return bad();
    out.op = NumCmp::Op::RangeExclusive;
    if (!number(s.substr(0, r), out.a) || !number(s.substr(r + 2), out.b) || out.a >= out.b) return bad();
    return true;
  }
  if (auto r = s.find('-'); r != std::string_view::npos && r > 0) {
    if (!(forms & kRange)) return bad();
    out.op = NumCmp::Op::RangeExclusive;
    if (!number(s.substr(0, r), out.a) || !number(s.substr(r + 1), out.b) || out.a >= out.b) return bad();
    return true;
  }
  out.op = NumCmp::Op::Eq;
  if (s.substr(0, 2) == "<=" || s.substr(0, 2) == ">=") {
    if (!(forms & kCmp)) return bad();
    out.op = s[0] == '<' ? NumCmp::Op::Le : NumCmp::Op::Ge;
    s.remove_prefix(2);
  } else if (!s.empty() && (s[0] == '<' || s[0] == '>')) {
    if (!(forms & kCmp)) return bad();
    out.op = s[0] == '<' ? NumCmp::Op::Lt : NumCmp::Op::Gt;
    s.remove_prefix(1);
  } else if (!s.empty() && s[0] == '!') {
    if (!(forms & kNot)) return bad();
    out.op = NumCmp::Op::Ne;
    s.remove_prefix(1);
  } else if (!s.empty() && s[0] == '=') {
    s.remove_prefix(1);
  }
  if (!number(s, out.a)) return bad();
  return true;
}

bool RuleParser::kw_numeric(const std::string& kw, std::string_view v, bool has) {
  if (!need_value(kw, v, has)) return false;
  struct Spec {
    const char* name;
    HeaderCheck::Kind kind;
    int64_t max;
    unsigned forms;
  };
  static constexpr Spec kSpecs[] = {
      {"dsize", HeaderCheck::Kind::Dsize, 65535, kAll},
      {"ttl", HeaderCheck::Kind::Ttl, 255, kAll},
      {"tos", HeaderCheck::Kind::Tos, 255, kNot},
      {"id", HeaderCheck::Kind::IpId, 65535, kPlain},
      {"fragoffset", HeaderCheck::Kind::FragOffset, 8191, kNot | kCmp},
      {"seq", HeaderCheck::Kind::TcpSeq, UINT32_MAX, kPlain},
      {"ack", HeaderCheck::Kind::TcpAck, UINT32_MAX, kPlain},
      {"window", HeaderCheck::Kind::TcpWindow, 65535, kNot},
      {"tcp.mss", HeaderCheck::Kind::TcpMss, 65535, kAll},
      {"itype", HeaderCheck::Kind::IcmpType, 255, kAll},
      {"icode", HeaderCheck::Kind::IcmpCode, 255, kAll},
      {"icmp_id", HeaderCheck::Kind::IcmpId, 65535, kPlain},
      {"icmp_seq", HeaderCheck::Kind::IcmpSeq, 65535, kPlain},
  };
  for (const auto& spec : kSpecs) {
    if (kw != spec.name) continue;
    if (spec.kind == HeaderCheck::Kind::Dsize) {
      if (dsize_seen_) return fail(kw, "dsize set twice");
      dsize_seen_ = true;
    }
    HeaderCheck hc;
    hc.kind = spec.kind;
    std::string err;
    if (!parse_numcmp(v, spec.max, spec.forms, spec.kind == HeaderCheck::Kind::Tos, hc.cmp, err)) {
      return fail(kw, err);
    }
    hc.negated = hc.cmp.op == NumCmp::Op::Ne;
    rule_.header_checks.push_back(hc);
    return true;
  }
  return fail(kw, "internal: no numeric spec for " + kw);
}

bool RuleParser::kw_ip_proto(const std::string& kw, std::string_view v, bool has) {
  if (!need_value(kw, v, has)) return false;
  std::string_view s = unquote(v);
  HeaderCheck hc;
  hc.kind = HeaderCheck::Kind::IpProto;
  hc.cmp.op = NumCmp::Op::Eq;
  if (!s.empty() && (s[0] == '!' || s[0] == '<' || s[0] == '>')) {
    hc.cmp.op = s[0] == '!' ? NumCmp::Op::Ne : (s[0] == '<' ? NumCmp::Op::Lt : NumCmp::Op::Gt);
    hc.negated = s[0] == '!';
    s = trim(s.substr(1));
  }
  int64_t n = -1;
  if (!parse_i64(s, n)) {
    std::string name = lower(s);
    for (const auto& p : kIpProtoNames) {
      if (name == p.name) n = p.number;
    }
    if (n < 0) return fail(kw, "unknown IP protocol '" + std::string(s) + "'");
  }
  if (n < 0 || n > 255) return fail(kw, "IP protocol out of range");
  hc.cmp.a = n;
  rule_.header_checks.push_back(hc);
  return true;
}

bool RuleParser::kw_sameip(const std::string& kw, std::string_view v, bool has) {
  if (!no_value(kw, has)) return false;
  HeaderCheck hc;
  hc.kind = HeaderCheck::Kind::SameIp;
  rule_.header_checks.push_back(hc);
  return true;
}

bool RuleParser::kw_ipopts(const std::string& kw, std::string_view v, bool has) {
  if (!need_value(kw, v, has)) return false;
  static const std::pair<const char*, uint32_t> kOpts[] = {
      {"rr", kIpOptRr},     {"eol", kIpOptEol},   {"nop", kIpOptNop},   {"ts", kIpOptTs},
      {"sec", kIpOptSec},   {"esec", kIpOptEsec}, {"lsrr", kIpOptLsrr}, {"ssrr", kIpOptSsrr},
      {"satid", kIpOptSatid}, {"any", kIpOptAny},
  };
  std::string name = lower(unquote(v));
  for (const auto& [n, bit] : kOpts) {
    if (name == n) {
      HeaderCheck hc;
      hc.kind = HeaderCheck::Kind::IpOpts;
      hc.bits = bit;
      rule_.header_checks.push_back(hc);
      return true;
    }
  }
  return fail(kw, "unknown ip option '" + name + "'");
}

bool RuleParser::kw_fragbits(const std::string& kw, std::string_view v, bool has) {
  if (!need_value(kw, v, has)) return false;
  std::string_view s = unquote(v);
  HeaderCheck hc;
  hc.kind = HeaderCheck::Kind::FragBits;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+' || c == '*' || c == '!') {
      if (hc.bits_mode != 0) return fail(kw, "fragbits has two modifiers");
      hc.bits_mode = static_cast<uint8_t>(c);
    } else if (c == 'M' || c == 'm') {
      hc.bits |= kFragMore;
    } else if (c == 'D' || c == 'd') {
      hc.bits |= kFragDontFrag;
    } else if (c == 'R' || c == 'r') {
      hc.bits |= kFragReserved;
    } else if (c != ' ') {
      return fail(kw, std::string("unknown fragbits flag '") + c + "'");
    }
  }
  if (hc.bits == 0) return fail(kw, "fragbits needs at least one of M, D, R");
  rule_.header_checks.push_back(hc);
  return true;
}

bool RuleParser::kw_flags(const std::string& kw, std::string_view v, bool has) {
  if (!need_value(kw, v, has)) return false;
  std::string_view s = unquote(v);
  auto comma = s.find(',');
  std::string_view main = trim(s.substr(0, comma));
  HeaderCheck hc;
  hc.kind = HeaderCheck::Kind::TcpFlags;
  auto bit = [](char c) -> int {
    switch (c) {
      case 'F': case 'f': return 0x01;
      case 'S': case 's': return 0x02;
      case 'R': case 'r': return 0x04;
      case 'P': case 'p': return 0x08;
      case 'A': case 'a': return 0x10;
      case 'U': case 'u': return 0x20;
      case 'E': case 'e': case '2': return 0x40;
      case 'C': case 'c': case '1': return 0x80;
      default: return -1;
    }
  };
  bool have_mod = false;
  bool zero = false;
  for (char c : main) {
    if (c == '+' || c == '*' || c == '!') {
      if (have_mod) return fail(kw, "flags has two modifiers");
      have_mod = true;
      hc.tcp_flags.mode = c == '+' ? TcpFlags::Mode::Plus : (c == '*' ? TcpFlags::Mode::Any : TcpFlags::Mode::Not);
    } else if (c == '0') {
      zero = true;
    } else if (c == ' ') {
      continue;
    } else {
      int b = bit(c);
      if (b < 0) return fail(kw, std::string("unknown TCP flag '") + c + "'");
      hc.tcp_flags.flags = static_cast<uint8_t>(hc.tcp_flags.flags | b);
    }
  }
  if (zero && hc.tcp_flags.flags != 0) return fail(kw, "flag 0 (no flags) cannot be combined with others");
  if (!zero && hc.tcp_flags.flags == 0) return fail(kw, "flags needs at least one flag");
  if (comma != std::string_view::npos) {
    for (char c : trim(s.substr(comma + 1))) {
      int b = bit(c);
      if (b < 0) return fail(kw, std::string("unknown TCP flag '") + c + "' in mask");
      hc.tcp_flags.ignore_mask = static_cast<uint8_t>(hc.tcp_flags.ignore_mask | b);
    }
  }
  rule_.header_checks.push_back(hc);
  return true;
}

bool RuleParser::set_app_proto(AppProto p, const std::string& kw) {
  if (rule_.app_proto != AppProto::Unknown && rule_.app_proto != p) {
    return fail(kw, std::string("conflicting app-layer protocols: ") + app_proto_name(rule_.app_proto) +
                        " and " + app_proto_name(p), "conflicting protocols");
  }
  rule_.app_proto = p;
  return true;
}

bool RuleParser::kw_app_layer_protocol(const std::string& kw, std::string_view v, bool has) {
  if (!need_value(kw, v, has)) return false;
  std::string_view s = unquote(v);
  bool negated = false;
  if (!s.empty() && s.front() == '!') {
    negated = true;
    s = trim(s.substr(1));
  }
  std::string name = lower(s);
  AppProto p;
  if (name == "failed") {
    p = AppProto::Failed;
  } else if (!app_proto_from_name(name, p)) {
    return fail(kw, "app-layer protocol '" + name + "' is not supported", "unsupported protocol: " + name);
  }
  if (rule_.proto == Proto::App) {
    return fail(kw, "app-layer-protocol cannot be used in a rule whose header names an app-layer protocol");
  }
  if (rule_.app_proto != AppProto::Unknown) return fail(kw, "app-layer protocol set twice");
  rule_.app_proto = p;
  rule_.app_proto_negated = negated;
  return true;
}

bool RuleParser::kw_tls_version(const std::string& kw, std::string_view v, bool has) {
  if (!need_value(kw, v, has)) return false;
  std::string ver(unquote(v));
  static const char* kVersions[] = {"1.0", "1.1", "1.2", "1.3", "2.0", "3.0", "ssl2", "ssl3"};
  if (std::none_of(std::begin(kVersions), std::end(kVersions), [&](const char* k) { return ver == k; })) {
    return fail(kw, "unknown TLS version '" + ver + "'");
  }
  if (!set_app_proto(AppProto::Tls, kw)) return false;
  rule_.tls_versions.push_back(std::move(ver));
  return true;
}

// ---------------------------------------------------------------------------------------------
// Final checks and grouping

bool RuleParser::finish() {
  if (!sid_seen_) return fail("sid", "rule has no sid", "missing sid");
  for (const auto& it : items_) {
    const auto* c = std::get_if<Content>(&it.item);
    if (c == nullptr) continue;
    if (c->fast_pattern && c->negated &&
        (c->relative() || c->offset.has_value() || c->depth.has_value())) {
      return fail("fast_pattern", "fast_pattern cannot be used on a negated content with "
                                  "offset/depth/distance/within");
    }
    if (c->fast_pattern_only &&
        (c->negated || c->relative() || c->offset.has_value() || c->depth.has_value())) {
      return fail("fast_pattern", "fast_pattern:only cannot be used on a negated content or with "
                                  "offset/depth/distance/within");
    }
    if (c->fast_pattern_chop && c->fast_pattern_only) {
      return fail("fast_pattern", "fast_pattern:only cannot be chopped");
    }
    if (c->rawbytes && it.buffer != Buffer::Payload) {
      return fail("rawbytes", "rawbytes only applies to payload content");
    }
    if (it.buffer == Buffer::Ja3Hash &&
        (c->bytes.size() != 32 ||
         !std::all_of(c->bytes.begin(), c->bytes.end(), [](char ch) { return hexval(ch) >= 0; }))) {
      return fail("ja3.hash", "a JA3 hash is 32 hex characters");
    }
    // http.host is lower-cased by the engine, so an upper-case pattern without nocase can never
    // match; Suricata refuses it (DetectHttpHHValidateCallback).
    if (it.buffer == Buffer::HttpHost && !c->nocase &&
        std::any_of(c->bytes.begin(), c->bytes.end(), [](char ch) { return ch >= 'A' && ch <= 'Z'; })) {
      return fail("http.host", "http.host content has upper-case characters but no nocase; the "
                               "buffer is lower-cased, so it would never match");
    }
  }

  // Group per buffer, in order of first appearance, keeping rule order inside a buffer.
  std::array<int, kBufferCount> slot;
  slot.fill(-1);
  for (auto& it : items_) {
    auto b = static_cast<size_t>(it.buffer);
    if (slot[b] < 0) {
      slot[b] = static_cast<int>(rule_.buffers.size());
      rule_.buffers.push_back(BufferMatch{it.buffer, {}});
    }
    rule_.buffers[static_cast<size_t>(slot[b])].items.push_back(std::move(it.item));
  }

  // Suricata (detect-distance.c / detect-within.c): a relative content cannot hang off a
  // fast_pattern:only content, since "only" means that content is never inspected after the
  // prefilter and so has no match position to be relative to.
  for (const auto& bm : rule_.buffers) {
    for (size_t i = 1; i < bm.items.size(); ++i) {
      const auto* c = std::get_if<Content>(&bm.items[i]);
      const auto* prev = std::get_if<Content>(&bm.items[i - 1]);
      if (c != nullptr && prev != nullptr && c->relative() && prev->fast_pattern_only) {
        return fail("fast_pattern", "a relative content follows a fast_pattern:only content");
      }
    }
  }

  // Suricata 7's SigValidate: buffers that only exist in opposite directions, or a buffer whose
  // direction contradicts flow:to_server/to_client, can never match together.
  const Buffer* to_server = nullptr;
  const Buffer* to_client = nullptr;
  for (const auto& bm : rule_.buffers) {
    int d = buffer_direction(bm.buffer);
    if (d > 0 && to_server == nullptr) to_server = &bm.buffer;
    if (d < 0 && to_client == nullptr) to_client = &bm.buffer;
  }
  if (to_server != nullptr && to_client != nullptr) {
    return fail(buffer_name(*to_client), std::string("mixes the request-side ") + buffer_name(*to_server) +
                                             " with the response-side " + buffer_name(*to_client),
                "conflicting directions");
  }
  if (rule_.flow && !rule_.bidirectional) {
    if (to_server != nullptr && rule_.flow->to_client) {
      return fail("flow", std::string("flow:to_client conflicts with the request-side ") + buffer_name(*to_server),
                  "conflicting directions");
    }
    if (to_client != nullptr && rule_.flow->to_server) {
      return fail("flow", std::string("flow:to_server conflicts with the response-side ") + buffer_name(*to_client),
                  "conflicting directions");
    }
  }

  // Buffers imply the app-layer protocol (Suricata's DetectBufferSetActiveList sets alproto).
  for (const auto& bm : rule_.buffers) {
    AppProto p = implied_proto(bm.buffer);
    if (p == AppProto::Unknown) continue;
    if (rule_.app_proto_negated || rule_.app_proto == AppProto::Failed) {
      return fail(buffer_name(bm.buffer), "buffer conflicts with the rule's app-layer-protocol",
                  "conflicting protocols");
    }
    if (!set_app_proto(p, buffer_name(bm.buffer))) return false;
    const bool udp_ok = p == AppProto::Dns;
    if (rule_.proto == Proto::Icmp || rule_.proto == Proto::Icmpv4 || rule_.proto == Proto::Icmpv6 ||
        rule_.proto == Proto::Sctp || (rule_.proto == Proto::Udp && !udp_ok)) {
      return fail(buffer_name(bm.buffer), std::string(buffer_name(bm.buffer)) +
                                              " cannot be used with this header protocol",
                  "conflicting protocols");
    }
  }
  return true;
}

bool RuleParser::parse(std::string_view text) {
  text = trim(text);
  auto open = text.find('(');
  if (open == std::string_view::npos) return fail("", "rule has no option list '(...)'");
  auto close = text.rfind(')');
  if (close == std::string_view::npos || close < open) return fail("", "option list is not closed with ')'");
  if (!trim(text.substr(close + 1)).empty()) return fail("", "text after the closing ')'");
  if (!parse_header(trim(text.substr(0, open)))) return false;
  if (!parse_options(text.substr(open + 1, close - open - 1))) return false;
  return finish();
}

// Best-effort sid for reporting a rule that failed before (or without) its sid option.
uint32_t scan_sid(std::string_view text) {
  size_t pos = 0;
  while ((pos = text.find("sid", pos)) != std::string_view::npos) {
    bool boundary = pos == 0 || text[pos - 1] == ';' || text[pos - 1] == ' ' || text[pos - 1] == '(';
    size_t p = pos + 3;
    while (p < text.size() && text[p] == ' ') ++p;
    if (boundary && p < text.size() && text[p] == ':') {
      size_t e = text.find(';', p);
      uint32_t sid = 0;
      if (parse_u32(text.substr(p + 1, e == std::string_view::npos ? std::string_view::npos : e - p - 1), sid)) {
        return sid;
      }
    }
    pos += 3;
  }
  return 0;
}

}  // namespace

std::string RuleError::to_string() const {
  std::string out = file.empty() ? std::string("<rule>") : file;
  out.append(":").append(std::to_string(line)).append(": sid ").append(std::to_string(sid)).append(": ");
  if (!keyword.empty()) out += keyword + ": ";
  out += reason;
  return out;
}

core::Result<Rule> parse_rule(std::string_view text, const ParseContext& ctx, const std::string& file,
                              int line, RuleError* error) {
  Rule rule;
  rule.file = file;
  rule.line = line;
  RuleParser parser(ctx, rule);
  if (parser.parse(text)) {
    rule.text = std::string(trim(text));
    return rule;
  }
  const Failure& f = parser.failure();
  RuleError e{file, line, rule.sid != 0 ? rule.sid : scan_sid(text), f.keyword, f.reason, f.category};
  std::string where = file + ":" + std::to_string(line);
  std::string message = (f.keyword.empty() ? "" : f.keyword + ": ") + f.reason;
  if (error != nullptr) *error = std::move(e);
  return core::make_error(std::move(message), std::move(where));
}

}  // namespace vigil::rules
