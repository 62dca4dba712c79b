#include <catch2/catch.hpp>

#include "vigil/rules/parser.h"

using namespace vigil::rules;

namespace {

// Parses a full rule; REQUIREs success.
Rule ok(const std::string& text, const ParseContext& ctx = {}) {
  RuleError err;
  auto r = parse_rule(text, ctx, "t.rules", 3, &err);
  INFO(text);
  INFO(err.to_string());
  REQUIRE(r.ok());
  return std::move(r).value();
}

// Parses "alert tcp any any -> any any (<opts> sid:1;)"; REQUIREs success.
Rule opts(const std::string& o) { return ok("alert tcp any any -> any any (" + o + " sid:1;)"); }

RuleError bad(const std::string& text) {
  RuleError err;
  auto r = parse_rule(text, ParseContext{}, "t.rules", 3, &err);
  INFO(text);
  REQUIRE_FALSE(r.ok());
  CHECK_FALSE(r.error().message.empty());
  CHECK_FALSE(err.reason.empty());
  CHECK_FALSE(err.category.empty());
  return err;
}

RuleError bad_opts(const std::string& o) {
  return bad("alert tcp any any -> any any (" + o + " sid:9;)");
}

const Content& content(const Rule& r, Buffer b, size_t i) {
  const BufferMatch* bm = r.buffer(b);
  REQUIRE(bm != nullptr);
  REQUIRE(i < bm->items.size());
  REQUIRE(std::holds_alternative<Content>(bm->items[i]));
  return std::get<Content>(bm->items[i]);
}

const Pcre& pcre(const Rule& r, Buffer b, size_t i) {
  const BufferMatch* bm = r.buffer(b);
  REQUIRE(bm != nullptr);
  REQUIRE(i < bm->items.size());
  REQUIRE(std::holds_alternative<Pcre>(bm->items[i]));
  return std::get<Pcre>(bm->items[i]);
}

const HeaderCheck& check(const Rule& r, HeaderCheck::Kind k) {
  for (const auto& h : r.header_checks) {
    if (h.kind == k) return h;
  }
  FAIL("no header check of that kind");
  return r.header_checks.front();
}

}  // namespace

TEST_CASE("header: actions, protocols, direction", "[rules][parser]") {
  auto r = ok("alert tcp 1.2.3.4 80 -> any any (msg:\"x\"; sid:5;)");
  CHECK(r.action == Action::Alert);
  CHECK(r.proto == Proto::Tcp);
  CHECK(r.sid == 5);
  CHECK(r.gid == 1);
  CHECK(r.line == 3);
  CHECK(r.file == "t.rules");
  CHECK_FALSE(r.bidirectional);
  CHECK(r.text.rfind("alert tcp", 0) == 0);

  const std::pair<const char*, Action> actions[] = {
      {"pass", Action::Pass},           {"drop", Action::Drop},
      {"reject", Action::Reject},       {"rejectsrc", Action::RejectSrc},
      {"rejectdst", Action::RejectDst}, {"rejectboth", Action::RejectBoth}};
  for (const auto& [name, a] : actions) {
    CHECK(ok(std::string(name) + " ip any any -> any any (sid:1;)").action == a);
  }
  const std::pair<const char*, Proto> protos[] = {
      {"ip", Proto::Ip},         {"tcp-pkt", Proto::TcpPkt}, {"tcp-stream", Proto::TcpStream},
      {"udp", Proto::Udp},       {"icmp", Proto::Icmp},      {"icmpv4", Proto::Icmpv4},
      {"icmpv6", Proto::Icmpv6}, {"sctp", Proto::Sctp}};
  for (const auto& [name, p] : protos) {
    CHECK(ok(std::string("alert ") + name + " any any -> any any (sid:1;)").proto == p);
  }
  r = ok("alert http any any -> any any (sid:1;)");
  CHECK(r.proto == Proto::App);
  CHECK(r.app_proto == AppProto::Http);
  CHECK(ok("alert dns any any -> any any (sid:1;)").app_proto == AppProto::Dns);
  CHECK(ok("alert tls any any -> any any (sid:1;)").app_proto == AppProto::Tls);
  CHECK(ok("alert ip any any <> any any (sid:1;)").bidirectional);
}

TEST_CASE("header errors", "[rules][parser]") {
  auto e = bad("alert smb any any -> any any (sid:7;)");
  CHECK(e.category == "unsupported protocol: smb");
  CHECK(e.sid == 7);
  CHECK(bad("alert ftp any any -> any any (sid:7;)").category == "unsupported protocol: ftp");
  CHECK(bad("alert krb5 any any -> any any (sid:7;)").category == "unsupported protocol: krb5");
  CHECK(bad("warn ip any any -> any any (sid:1;)").category == "syntax");
  CHECK(bad("alert ip any any <- any any (sid:1;)").category == "syntax");
  CHECK(bad("alert ip any any -> any (sid:1;)").category == "syntax");
  CHECK(bad("alert ip any any -> any any sid:1;").category == "syntax");
  CHECK(bad("alert ip any any -> any any (sid:1;").category == "syntax");
  CHECK(bad("alert ip any any -> any any (sid:1;) trailing").category == "syntax");
}

TEST_CASE("meta keywords", "[rules][parser][meta]") {
  auto r = ok("alert tcp any any -> any any (msg:\"a \\\"quoted\\\" \\; msg\"; gid:3; sid:1000; rev:7; "
              "classtype:trojan-activity; reference:url,example.com/x; reference:cve,2020-1234; "
              "metadata:created_at 2020_01_01, former_category MALWARE; target:dest_ip;)");
  CHECK(r.msg == "a \"quoted\" ; msg");
  CHECK(r.gid == 3);
  CHECK(r.sid == 1000);
  CHECK(r.rev == 7);
  CHECK(r.classtype == "trojan-activity");
  CHECK(r.category == "A Network Trojan was detected");
  CHECK(r.priority == 1);
  CHECK_FALSE(r.priority_set);
  REQUIRE(r.references.size() == 2);
  CHECK(r.references[0].type == "url");
  CHECK(r.references[0].value == "example.com/x");
  CHECK(r.references[1].type == "cve");
  REQUIRE(r.metadata.size() == 2);
  CHECK(r.metadata[0] == "created_at 2020_01_01");
  CHECK(r.metadata[1] == "former_category MALWARE");
  CHECK(r.target == "dest_ip");
}

TEST_CASE("priority: explicit wins, else classtype, else 3", "[rules][parser][meta]") {
  CHECK(opts("").priority == 3);
  CHECK(opts("classtype:misc-attack;").priority == 2);
  auto r = opts("priority:4; classtype:trojan-activity;");
  CHECK(r.priority == 4);
  CHECK(r.priority_set);
  CHECK(opts("classtype:trojan-activity; priority:5;").priority == 5);
  CHECK(bad_opts("priority:0;").keyword == "priority");
}

TEST_CASE("classification.config from a file", "[rules][parser][meta]") {
  auto builtin = Classifications::builtin();
  CHECK(builtin.types.size() >= 40);
  CHECK(builtin.types.at("bad-unknown").priority == 2);
  CHECK(builtin.types.at("command-and-control").description == "Malware Command and Control Activity Detected");

  CHECK_FALSE(load_classifications("/nonexistent/classification.config").ok());
#ifdef VIGIL_SHARED_DIR
  auto c = load_classifications(VIGIL_SHARED_DIR "/rules/et-open/classification.config");
  if (c.ok()) {
    CHECK(c->types.size() == builtin.types.size());
    CHECK(c->types.at("trojan-activity").priority == 1);
  } else {
    WARN("shared classification.config missing: " << c.error().to_string());
  }
#endif
  ParseContext ctx;
  ctx.classifications.types = {{"mine", ClassType{"mine", "My Class", 2}}};
  auto r = ok("alert ip any any -> any any (classtype:mine; sid:1;)", ctx);
  CHECK(r.category == "My Class");
  CHECK(r.priority == 2);
  RuleError err;
  CHECK_FALSE(parse_rule("alert ip any any -> any any (classtype:trojan-activity; sid:1;)", ctx, "", 0, &err).ok());
  CHECK(err.category == "unknown classtype");
}

TEST_CASE("meta errors", "[rules][parser][meta]") {
  auto e = bad("alert ip any any -> any any (msg:\"no sid\";)");
  CHECK(e.category == "missing sid");
  CHECK(e.keyword == "sid");
  CHECK(bad("alert ip any any -> any any (sid:0;)").keyword == "sid");
  CHECK(bad("alert ip any any -> any any (sid:abc;)").keyword == "sid");
  e = bad_opts("classtype:no-such-class;");
  CHECK(e.category == "unknown classtype");
  CHECK(e.keyword == "classtype");
  CHECK(e.sid == 9);  // found even though the error came before the sid option
  CHECK(bad_opts("reference:nocomma;").keyword == "reference");
  CHECK(bad_opts("target:both;").keyword == "target");
}

TEST_CASE("content: hex, escapes, negation", "[rules][parser][content]") {
  auto r = opts("content:\"GET |20 2F|a\\\"b\\;c\\\\d\\:e\";");
  auto c = content(r, Buffer::Payload, 0);
  CHECK(c.bytes == "GET  /a\"b;c\\d:e");
  CHECK_FALSE(c.negated);
  c = content(opts("content:!\"|00|abc|FF|\";"), Buffer::Payload, 0);
  CHECK(c.negated);
  CHECK(c.bytes == std::string("\0abc\xff", 5));
  c = content(opts("content:|41 42|;"), Buffer::Payload, 0);  // unquoted
  CHECK(c.bytes == "AB");
  CHECK(opts("content:\"a\";").has_content());
  CHECK_FALSE(opts("content:!\"a\";").has_content());

  CHECK(bad_opts("content:\"\";").keyword == "content");
  CHECK(bad_opts("content:\"|4|\";").keyword == "content");
  CHECK(bad_opts("content:\"|zz|\";").keyword == "content");
  CHECK(bad_opts("content:\"|41\";").keyword == "content");
  CHECK(bad_opts("content:\"a\\xb\";").keyword == "content");
  CHECK(bad_opts("content:\"a\"b\";").keyword == "content");
}

TEST_CASE("content modifiers", "[rules][parser][content]") {
  auto r = opts("content:\"abc\"; nocase; offset:2; depth:10; content:\"def\"; distance:-1; within:5; "
                "content:\"xyz\"; endswith; rawbytes; fast_pattern;");
  const auto& a = content(r, Buffer::Payload, 0);
  CHECK(a.nocase);
  CHECK(a.offset == 2);
  CHECK(a.depth == 10);
  CHECK_FALSE(a.relative());
  const auto& b = content(r, Buffer::Payload, 1);
  CHECK(b.distance == -1);
  CHECK(b.within == 5);
  CHECK(b.relative());
  const auto& z = content(r, Buffer::Payload, 2);
  CHECK(z.endswith);
  CHECK(z.rawbytes);
  CHECK(z.fast_pattern);

  CHECK(content(opts("content:\"ab\"; startswith;"), Buffer::Payload, 0).startswith);
  auto fp = content(opts("content:\"abcdef\"; fast_pattern:only;"), Buffer::Payload, 0);
  CHECK(fp.fast_pattern_only);
  fp = content(opts("content:\"abcdef\"; fast_pattern:2,3;"), Buffer::Payload, 0);
  REQUIRE(fp.fast_pattern_chop);
  CHECK(fp.fast_pattern_chop->first == 2);
  CHECK(fp.fast_pattern_chop->second == 3);

  // Relative modifiers on the first content of a buffer are allowed (relative to its start).
  CHECK(content(opts("content:\"a\"; distance:0;"), Buffer::Payload, 0).distance == 0);
  // Suricata widens within to cover distance + length.
  CHECK(content(opts("content:\"abcd\"; distance:10; within:4;"), Buffer::Payload, 0).within == 14);
  CHECK(content(opts("content:\"abcd\"; within:4; distance:10;"), Buffer::Payload, 0).within == 14);
  // Suricata accepts a plain negated fast_pattern.
  CHECK(content(opts("content:!\"a\"; fast_pattern;"), Buffer::Payload, 0).fast_pattern);
}

TEST_CASE("content modifier errors", "[rules][parser][content]") {
  CHECK(bad_opts("nocase;").keyword == "nocase");
  CHECK(bad_opts("content:\"abcd\"; depth:3;").keyword == "depth");
  CHECK(bad_opts("content:\"abcd\"; within:3;").keyword == "within");
  CHECK(bad_opts("content:\"ab\"; depth:4; startswith;").keyword == "startswith");
  CHECK(bad_opts("content:\"ab\"; startswith; depth:4;").keyword == "depth");
  CHECK(bad_opts("content:\"ab\"; startswith; offset:1;").keyword == "offset");
  CHECK(bad_opts("content:\"ab\"; offset:1; distance:0;").keyword == "distance");
  CHECK(bad_opts("content:\"ab\"; within:5; depth:5;").keyword == "depth");
  CHECK(bad_opts("content:\"ab\"; nocase; nocase;").keyword == "nocase");
  CHECK(bad_opts("content:\"ab\"; depth:5; depth:6;").keyword == "depth");
  CHECK(bad_opts("content:\"a\"; fast_pattern; content:\"b\"; fast_pattern;").keyword == "fast_pattern");
  CHECK(bad_opts("content:\"abc\"; fast_pattern:2,5;").keyword == "fast_pattern");
  CHECK(bad_opts("content:\"abc\"; fast_pattern:bogus;").keyword == "fast_pattern");
  CHECK(bad_opts("content:!\"abc\"; fast_pattern; depth:5;").keyword == "fast_pattern");
  CHECK(bad_opts("content:!\"abc\"; fast_pattern:only;").keyword == "fast_pattern");
  CHECK(bad_opts("content:\"abc\"; fast_pattern:only; offset:1;").keyword == "fast_pattern");
  CHECK(bad_opts("content:\"one\"; fast_pattern:only; content:\"two\"; distance:10;").keyword == "fast_pattern");
  CHECK(bad_opts("content:\"one\"; content:\"two\"; within:10; fast_pattern:only;").keyword == "fast_pattern");
  CHECK(bad_opts("content:\"one\"; fast_pattern:65534,2;").keyword == "fast_pattern");
  CHECK(bad_opts("content:\"abc\"; offset:x;").keyword == "offset");
  CHECK(bad_opts("content:\"abc\"; offset:-1;").keyword == "offset");
  CHECK(bad_opts("content:\"abc\"; depth;").keyword == "depth");
  CHECK(bad_opts("content:\"abc\"; nocase:1;").keyword == "nocase");
}

TEST_CASE("sticky buffers and legacy modifiers", "[rules][parser][buffers]") {
  auto r = ok("alert http any any -> any any (content:\"GET\"; http_method; content:\"/x\"; http_uri; "
              "content:\"pay\"; http.host; content:\"ex.com\"; content:\"le\"; distance:0; sid:1;)");
  CHECK(content(r, Buffer::HttpMethod, 0).bytes == "GET");
  CHECK(content(r, Buffer::HttpUri, 0).bytes == "/x");
  CHECK(content(r, Buffer::Payload, 0).bytes == "pay");
  CHECK(content(r, Buffer::HttpHost, 0).bytes == "ex.com");
  CHECK(content(r, Buffer::HttpHost, 1).bytes == "le");
  // Buffers appear in order of first use.
  REQUIRE(r.buffers.size() == 4);
  CHECK(r.buffers[0].buffer == Buffer::HttpMethod);
  CHECK(r.buffers[3].buffer == Buffer::HttpHost);

  // A legacy modifier moves a content that already has relative modifiers.
  r = opts("content:\"a\"; http_uri; content:\"b\"; distance:0; http_uri;");
  CHECK(r.buffer(Buffer::HttpUri)->items.size() == 2);
  CHECK(r.buffer(Buffer::Payload) == nullptr);
  CHECK(r.app_proto == AppProto::Http);  // implied by the buffer

  r = opts("uricontent:\"/cgi\"; nocase;");
  CHECK(content(r, Buffer::HttpUri, 0).nocase);

  r = opts("file_data; content:\"MZ\"; pkt_data; content:\"raw\";");
  CHECK(content(r, Buffer::FileData, 0).bytes == "MZ");
  CHECK(content(r, Buffer::Payload, 0).bytes == "raw");

  const std::pair<const char*, Buffer> sticky[] = {
      {"http.uri", Buffer::HttpUri},
      {"http.uri.raw", Buffer::HttpUriRaw},
      {"http.method", Buffer::HttpMethod},
      {"http.protocol", Buffer::HttpProtocol},
      {"http.request_line", Buffer::HttpRequestLine},
      {"http.host", Buffer::HttpHost},
      {"http.host.raw", Buffer::HttpHostRaw},
      {"http.user_agent", Buffer::HttpUserAgent},
      {"http.header", Buffer::HttpHeader},
      {"http.header.raw", Buffer::HttpHeaderRaw},
      {"http.cookie", Buffer::HttpCookie},
      {"http.stat_code", Buffer::HttpStatCode},
      {"http.stat_msg", Buffer::HttpStatMsg},
      {"http.response_line", Buffer::HttpResponseLine},
      {"http.request_body", Buffer::HttpRequestBody},
      {"http.response_body", Buffer::HttpResponseBody},
      {"file.data", Buffer::FileData},
      {"http.content_type", Buffer::HttpContentType},
      {"http.content_len", Buffer::HttpContentLen},
      {"http.accept", Buffer::HttpAccept},
      {"http.referer", Buffer::HttpReferer},
      {"http.connection", Buffer::HttpConnection},
      {"http.start", Buffer::HttpStart},
      {"dns.query", Buffer::DnsQuery},
      {"dns_query", Buffer::DnsQuery},
      {"tls.sni", Buffer::TlsSni},
      {"tls_sni", Buffer::TlsSni},
      {"tls.cert_subject", Buffer::TlsCertSubject},
      {"tls.cert_issuer", Buffer::TlsCertIssuer},
      {"ja3.string", Buffer::Ja3String},
      {"ja4.hash", Buffer::Ja4Hash},
  };
  for (const auto& [kw, b] : sticky) {
    INFO(kw);
    auto rr = opts(std::string(kw) + "; content:\"v\";");
    CHECK(content(rr, b, 0).bytes == "v");
    CHECK(std::string(buffer_name(b)).find('.') != std::string::npos);
  }
  const std::pair<const char*, Buffer> legacy[] = {
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
  for (const auto& [kw, b] : legacy) {
    INFO(kw);
    auto rr = opts(std::string("content:\"v\"; ") + kw + ";");
    CHECK(content(rr, b, 0).bytes == "v");
  }
  auto ja3 = opts("ja3.hash; content:\"e7d705a3286e19ea42f587b344ee6865\";");
  CHECK(content(ja3, Buffer::Ja3Hash, 0).bytes.size() == 32);
  CHECK(ja3.app_proto == AppProto::Tls);
  CHECK(opts("ja3_hash; content:\"e7d705a3286e19ea42f587b344ee6865\";").buffer(Buffer::Ja3Hash) != nullptr);
}

TEST_CASE("buffer errors", "[rules][parser][buffers]") {
  CHECK(bad_opts("http.uri; content:\"a\"; http_header;").keyword == "http_header");
  CHECK(bad_opts("content:\"a\"; http_uri; http_header;").keyword == "http_header");
  CHECK(bad_opts("content:\"a\"; rawbytes; http_uri;").keyword == "http_uri");
  CHECK(bad_opts("http.uri; content:\"a\"; rawbytes;").keyword == "rawbytes");
  CHECK(bad_opts("ja3.hash; content:\"abc\";").keyword == "ja3.hash");
  CHECK(bad_opts("ja3.hash; content:\"e7d705a3286e19ea42f587b344ee686z\";").keyword == "ja3.hash");
  CHECK(bad_opts("http.host; content:\"Example.com\";").keyword == "http.host");
  CHECK(bad_opts("content:\"Example.com\"; http_host;").keyword == "http.host");
  CHECK(content(opts("http.host; content:\"Example.com\"; nocase;"), Buffer::HttpHost, 0).nocase);
  CHECK(opts("http.host.raw; content:\"Example.com\";").buffer(Buffer::HttpHostRaw) != nullptr);
  auto e = bad("alert dns any any -> any any (http.uri; content:\"a\"; sid:1;)");
  CHECK(e.category == "conflicting protocols");
  CHECK(bad("alert udp any any -> any any (http.uri; content:\"a\"; sid:1;)").category == "conflicting protocols");
  CHECK(ok("alert udp any any -> any 53 (dns.query; content:\"a\"; sid:1;)").app_proto == AppProto::Dns);
  e = bad_opts("http.uri; content:\"/a\"; http.stat_code; content:\"200\";");
  CHECK(e.category == "conflicting directions");
  CHECK(bad_opts("flow:to_client; http.uri; content:\"/a\";").category == "conflicting directions");
  CHECK(bad_opts("flow:to_server; content:\"200\"; http_stat_code;").category == "conflicting directions");
  CHECK(opts("flow:to_client; http.header; content:\"a\"; file.data; content:\"b\";").flow->to_client);
  CHECK(opts("flow:to_server; http.uri; content:\"/a\"; http.header; content:\"b\";").flow->to_server);
  e = bad_opts("http.header_names; content:\"a\";");
  CHECK(e.category == "unsupported keyword: http.header_names");
}

TEST_CASE("pcre", "[rules][parser][pcre]") {
  auto r = opts("content:\"x\"; pcre:\"/a\\;b\\/c/ismxAEGRBO\";");
  const auto& p = pcre(r, Buffer::Payload, 1);
  CHECK(p.pattern == "a\\;b\\/c");  // kept verbatim: PCRE reads \; as ';'
  CHECK(p.caseless);
  CHECK(p.multiline);
  CHECK(p.dotall);
  CHECK(p.extended);
  CHECK(p.anchored);
  CHECK(p.dollar_endonly);
  CHECK(p.ungreedy);
  CHECK(p.relative);
  CHECK(p.rawbytes);
  CHECK_FALSE(p.negated);

  CHECK(pcre(opts("pcre:!\"/x/\";"), Buffer::Payload, 0).negated);
  const std::pair<char, Buffer> flags[] = {
      {'U', Buffer::HttpUri},       {'I', Buffer::HttpUriRaw},     {'P', Buffer::HttpRequestBody},
      {'H', Buffer::HttpHeader},    {'D', Buffer::HttpHeaderRaw},  {'M', Buffer::HttpMethod},
      {'C', Buffer::HttpCookie},    {'S', Buffer::HttpStatCode},   {'Y', Buffer::HttpStatMsg},
      {'V', Buffer::HttpUserAgent}, {'W', Buffer::HttpHost},       {'Q', Buffer::FileData},
      {'Z', Buffer::HttpHostRaw}};
  for (const auto& [f, b] : flags) {
    INFO(f);
    auto rr = opts(std::string("pcre:\"/x/") + f + "\";");
    CHECK(pcre(rr, b, 0).pattern == "x");
  }
  // A pcre after a sticky buffer joins it; a relative pcre in the same buffer follows its content.
  r = opts("http.uri; content:\"/a\"; pcre:\"/b/R\";");
  CHECK(pcre(r, Buffer::HttpUri, 1).relative);
  r = opts("http.uri; content:\"/a\"; pcre:\"/b/U\";");
  CHECK(r.buffer(Buffer::HttpUri)->items.size() == 2);
  r = opts("http.response_body; content:\"a\"; pcre:\"/b/Q\";");
  CHECK(r.buffer(Buffer::HttpResponseBody)->items.size() == 2);

  CHECK(bad_opts("pcre:\"abc\";").keyword == "pcre");
  CHECK(bad_opts("pcre:\"/abc\";").keyword == "pcre");
  CHECK(bad_opts("pcre:\"/abc/q\";").keyword == "pcre");
  CHECK(bad_opts("pcre:\"/abc/UH\";").keyword == "pcre");
  CHECK(bad_opts("http.header; pcre:\"/abc/U\";").keyword == "pcre");
  CHECK(bad_opts("pcre:/abc/;").keyword == "pcre");
}

TEST_CASE("isdataat", "[rules][parser][content]") {
  auto r = opts("content:\"a\"; isdataat:!2,relative;");
  REQUIRE(r.buffer(Buffer::Payload)->items.size() == 2);
  auto d = std::get<IsDataAt>(r.buffer(Buffer::Payload)->items[1]);
  CHECK(d.negated);
  CHECK(d.relative);
  CHECK(d.offset == 2);
  r = opts("tls.sni; content:\"x.com\"; isdataat:!1,relative;");
  CHECK(r.buffer(Buffer::TlsSni)->items.size() == 2);
  r = opts("content:\"a\"; http_uri; isdataat:5,relative;");
  CHECK(r.buffer(Buffer::HttpUri)->items.size() == 2);
  CHECK_FALSE(std::get<IsDataAt>(opts("isdataat:10;").buffer(Buffer::Payload)->items[0]).relative);
  CHECK(bad_opts("isdataat:x;").keyword == "isdataat");
  CHECK(bad_opts("isdataat:1,sideways;").keyword == "isdataat");
}

TEST_CASE("flow", "[rules][parser][flow]") {
  auto f = *opts("flow:established,to_server;").flow;
  CHECK(f.established);
  CHECK(f.to_server);
  CHECK_FALSE(f.to_client);
  f = *opts("flow:from_server, not_established, only_stream;").flow;
  CHECK(f.to_client);
  CHECK(f.not_established);
  CHECK(f.only_stream);
  f = *opts("flow:stateless,no_frag;").flow;
  CHECK(f.stateless);
  CHECK(f.no_frag);
  CHECK(opts("flow:from_client,only_frag,no_stream;").flow->only_frag);
  CHECK(bad_opts("flow:to_server,to_client;").keyword == "flow");
  CHECK(bad_opts("flow:established,not_established;").keyword == "flow");
  CHECK(bad_opts("flow:sideways;").keyword == "flow");
  CHECK(bad_opts("flow:only_stream,no_stream;").keyword == "flow");
}

TEST_CASE("flowbits and noalert", "[rules][parser][flowbits]") {
  auto r = opts("flowbits:set,a; flowbits:isset,b|c; flowbits:unset,d&e; flowbits:toggle,f; "
                "flowbits:isnotset,g; flowbits:noalert;");
  REQUIRE(r.flowbits.size() == 6);
  CHECK(r.flowbits[0].cmd == Flowbit::Cmd::Set);
  CHECK(r.flowbits[0].names == std::vector<std::string>{"a"});
  CHECK(r.flowbits[1].cmd == Flowbit::Cmd::IsSet);
  CHECK(r.flowbits[1].any_of);
  CHECK(r.flowbits[1].names == std::vector<std::string>{"b", "c"});
  CHECK(r.flowbits[2].cmd == Flowbit::Cmd::Unset);
  CHECK_FALSE(r.flowbits[2].any_of);
  CHECK(r.flowbits[2].names.size() == 2);
  CHECK(r.flowbits[3].cmd == Flowbit::Cmd::Toggle);
  CHECK(r.flowbits[4].cmd == Flowbit::Cmd::IsNotSet);
  CHECK(r.flowbits[5].cmd == Flowbit::Cmd::NoAlert);
  CHECK(r.noalert);
  CHECK(opts("noalert;").noalert);
  CHECK_FALSE(opts("flowbits:set,x;").noalert);
  CHECK(bad_opts("flowbits:set;").keyword == "flowbits");
  CHECK(bad_opts("flowbits:frob,x;").keyword == "flowbits");
  CHECK(bad_opts("flowbits:set,a|b;").keyword == "flowbits");
  CHECK(bad_opts("flowbits:noalert,x;").keyword == "flowbits");
  CHECK(bad_opts("flowbits:isset,a|b&c;").keyword == "flowbits");
}

TEST_CASE("threshold and detection_filter", "[rules][parser][threshold]") {
  auto t = *opts("threshold: type both, track by_dst, count 5, seconds 30;").threshold;
  CHECK(t.type == Threshold::Type::Both);
  CHECK(t.track == Track::ByDst);
  CHECK(t.count == 5);
  CHECK(t.seconds == 30);
  t = *opts("threshold:seconds 60,count 1,track by_src,type limit;").threshold;  // any order
  CHECK(t.type == Threshold::Type::Limit);
  CHECK(t.track == Track::BySrc);
  CHECK(opts("threshold:type threshold,track by_rule,count 2,seconds 1;").threshold->type ==
        Threshold::Type::Threshold);
  CHECK(opts("threshold:type limit,track by_both,count 2,seconds 1;").threshold->track == Track::ByBoth);
  auto d = *opts("detection_filter:track by_flow, count 10, seconds 2;").detection_filter;
  CHECK(d.track == Track::ByFlow);
  CHECK(d.count == 10);
  CHECK(d.seconds == 2);
  CHECK(bad_opts("threshold:type limit,track by_src,count 1;").keyword == "threshold");
  CHECK(bad_opts("threshold:type often,track by_src,count 1,seconds 2;").keyword == "threshold");
  CHECK(bad_opts("threshold:type limit,track by_me,count 1,seconds 2;").keyword == "threshold");
  CHECK(bad_opts("detection_filter:type limit,track by_src,count 1,seconds 2;").keyword == "detection_filter");
  CHECK(bad_opts("threshold:type limit,track by_src,count 1,seconds 2; "
                 "detection_filter:track by_src,count 1,seconds 2;").keyword == "detection_filter");
}

TEST_CASE("numeric header keywords", "[rules][parser][header]") {
  auto r = opts("dsize:>100;");
  auto c = check(r, HeaderCheck::Kind::Dsize).cmp;
  CHECK(c.op == NumCmp::Op::Gt);
  CHECK(c.a == 100);
  c = check(opts("dsize:10<>20;"), HeaderCheck::Kind::Dsize).cmp;
  CHECK(c.op == NumCmp::Op::RangeExclusive);
  CHECK(c.matches(11));
  CHECK_FALSE(c.matches(10));
  CHECK_FALSE(c.matches(20));
  CHECK(check(opts("dsize:0;"), HeaderCheck::Kind::Dsize).cmp.matches(0));
  CHECK(check(opts("dsize:!5;"), HeaderCheck::Kind::Dsize).cmp.op == NumCmp::Op::Ne);
  CHECK(check(opts("dsize:<=5;"), HeaderCheck::Kind::Dsize).cmp.op == NumCmp::Op::Le);
  CHECK(check(opts("dsize:>=5;"), HeaderCheck::Kind::Dsize).cmp.op == NumCmp::Op::Ge);
  CHECK(check(opts("ttl:<5;"), HeaderCheck::Kind::Ttl).cmp.op == NumCmp::Op::Lt);
  CHECK(check(opts("ttl:1-3;"), HeaderCheck::Kind::Ttl).cmp.matches(2));
  CHECK(check(opts("tos:!8;"), HeaderCheck::Kind::Tos).cmp.op == NumCmp::Op::Ne);
  CHECK(check(opts("tos:x10;"), HeaderCheck::Kind::Tos).cmp.a == 16);
  CHECK(check(opts("id:31337;"), HeaderCheck::Kind::IpId).cmp.a == 31337);
  CHECK(check(opts("fragoffset:>0;"), HeaderCheck::Kind::FragOffset).cmp.op == NumCmp::Op::Gt);
  CHECK(check(opts("seq:4294967295;"), HeaderCheck::Kind::TcpSeq).cmp.a == 4294967295LL);
  CHECK(check(opts("ack:0;"), HeaderCheck::Kind::TcpAck).cmp.a == 0);
  CHECK(check(opts("window:!1024;"), HeaderCheck::Kind::TcpWindow).cmp.op == NumCmp::Op::Ne);
  CHECK(check(opts("tcp.mss:<536;"), HeaderCheck::Kind::TcpMss).cmp.op == NumCmp::Op::Lt);
  CHECK(check(opts("itype:8;"), HeaderCheck::Kind::IcmpType).cmp.a == 8);
  CHECK(check(opts("itype:10<>15;"), HeaderCheck::Kind::IcmpType).cmp.op == NumCmp::Op::RangeExclusive);
  CHECK(check(opts("icode:>3;"), HeaderCheck::Kind::IcmpCode).cmp.a == 3);
  CHECK(check(opts("icmp_id:1234;"), HeaderCheck::Kind::IcmpId).cmp.a == 1234);
  CHECK(check(opts("icmp_seq:7;"), HeaderCheck::Kind::IcmpSeq).cmp.a == 7);

  CHECK(bad_opts("ttl:256;").keyword == "ttl");
  CHECK(bad_opts("dsize:20<>10;").keyword == "dsize");
  CHECK(bad_opts("dsize:1; dsize:2;").keyword == "dsize");
  CHECK(bad_opts("seq:<5;").keyword == "seq");
  CHECK(bad_opts("icmp_id:!5;").keyword == "icmp_id");
  CHECK(bad_opts("itype:abc;").keyword == "itype");
}

TEST_CASE("ip_proto, sameip, ipopts, fragbits, flags", "[rules][parser][header]") {
  auto c = check(opts("ip_proto:6;"), HeaderCheck::Kind::IpProto);
  CHECK(c.cmp.a == 6);
  CHECK(c.cmp.op == NumCmp::Op::Eq);
  c = check(opts("ip_proto:!udp;"), HeaderCheck::Kind::IpProto);
  CHECK(c.cmp.a == 17);
  CHECK(c.negated);
  CHECK(c.cmp.op == NumCmp::Op::Ne);
  CHECK(check(opts("ip_proto:>50;"), HeaderCheck::Kind::IpProto).cmp.op == NumCmp::Op::Gt);
  CHECK(check(opts("ip_proto:<icmp;"), HeaderCheck::Kind::IpProto).cmp.a == 1);
  CHECK(check(opts("ip_proto:gre;"), HeaderCheck::Kind::IpProto).cmp.a == 47);
  CHECK(bad_opts("ip_proto:nonsense;").keyword == "ip_proto");
  CHECK(bad_opts("ip_proto:256;").keyword == "ip_proto");

  opts("sameip;");
  CHECK(bad_opts("sameip:1;").keyword == "sameip");

  CHECK(check(opts("ipopts:lsrr;"), HeaderCheck::Kind::IpOpts).bits == kIpOptLsrr);
  CHECK(check(opts("ipopts:any;"), HeaderCheck::Kind::IpOpts).bits == kIpOptAny);
  CHECK(bad_opts("ipopts:bogus;").keyword == "ipopts");

  auto fb = check(opts("fragbits:+MD;"), HeaderCheck::Kind::FragBits);
  CHECK(fb.bits == (kFragMore | kFragDontFrag));
  CHECK(fb.bits_mode == '+');
  CHECK(check(opts("fragbits:R;"), HeaderCheck::Kind::FragBits).bits_mode == 0);
  CHECK(bad_opts("fragbits:X;").keyword == "fragbits");

  auto f = check(opts("flags:S,CE;"), HeaderCheck::Kind::TcpFlags).tcp_flags;
  CHECK(f.flags == 0x02);
  CHECK(f.mode == TcpFlags::Mode::Exact);
  CHECK(f.ignore_mask == 0xC0);
  f = check(opts("flags:+SA;"), HeaderCheck::Kind::TcpFlags).tcp_flags;
  CHECK(f.flags == 0x12);
  CHECK(f.mode == TcpFlags::Mode::Plus);
  CHECK(check(opts("flags:*FPU;"), HeaderCheck::Kind::TcpFlags).tcp_flags.mode == TcpFlags::Mode::Any);
  CHECK(check(opts("flags:!R;"), HeaderCheck::Kind::TcpFlags).tcp_flags.mode == TcpFlags::Mode::Not);
  CHECK(check(opts("flags:SA+;"), HeaderCheck::Kind::TcpFlags).tcp_flags.mode == TcpFlags::Mode::Plus);
  CHECK(check(opts("flags:0;"), HeaderCheck::Kind::TcpFlags).tcp_flags.flags == 0);
  CHECK(check(opts("flags:S,12;"), HeaderCheck::Kind::TcpFlags).tcp_flags.ignore_mask == 0xC0);
  CHECK(bad_opts("flags:Q;").keyword == "flags");
  CHECK(bad_opts("flags:0S;").keyword == "flags");
}

TEST_CASE("app-layer-protocol, tls.version", "[rules][parser][app]") {
  auto r = opts("app-layer-protocol:http;");
  CHECK(r.app_proto == AppProto::Http);
  CHECK_FALSE(r.app_proto_negated);
  r = opts("app-layer-protocol:!tls;");
  CHECK(r.app_proto == AppProto::Tls);
  CHECK(r.app_proto_negated);
  CHECK(opts("app-layer-protocol:failed;").app_proto == AppProto::Failed);
  CHECK(bad_opts("app-layer-protocol:smb;").category == "unsupported protocol: smb");

  r = opts("tls.version:1.2; tls.version:1.3;");
  CHECK(r.tls_versions == std::vector<std::string>{"1.2", "1.3"});
  CHECK(r.app_proto == AppProto::Tls);
  CHECK(bad_opts("tls.version:9.9;").keyword == "tls.version");
  CHECK(bad("alert http any any -> any any (tls.version:1.2; sid:1;)").category == "conflicting protocols");
}

TEST_CASE("unsupported keywords are named", "[rules][parser]") {
  for (const char* kw : {"byte_test:4,>,1,0", "byte_jump:4,0", "bsize:10", "base64_decode", "urilen:5",
                         "xbits:set,a,track ip_src", "dotprefix", "tls.certs"}) {
    INFO(kw);
    auto e = bad_opts(std::string("content:\"a\"; ") + kw + ";");
    std::string name = std::string(kw).substr(0, std::string(kw).find(':'));
    CHECK(e.keyword == name);
    CHECK(e.category == "unsupported keyword: " + name);
    CHECK(e.sid == 9);
    CHECK(e.to_string() == "t.rules:3: sid 9: " + name + ": keyword '" + name + "' is not supported");
  }
}

TEST_CASE("option splitting honours escapes and odd spacing", "[rules][parser]") {
  auto r = ok("alert tcp any any -> any any ( msg : \"a\\;b\" ;content:\"x\\;y\";  sid : 4 ; rev:1 )");
  CHECK(r.msg == "a;b");
  CHECK(content(r, Buffer::Payload, 0).bytes == "x;y");
  CHECK(r.sid == 4);
  // Keyword names are case-insensitive, as in Suricata.
  CHECK(ok("alert tcp any any -> any any (CONTENT:\"a\"; NoCase; SID:2;)").sid == 2);
}
