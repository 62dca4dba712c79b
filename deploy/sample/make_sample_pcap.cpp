// vigil-sample-pcap: writes the demo capture replayed by deploy/demo.sh.
//
// The capture is generated rather than shipped so the demo runs on a fresh machine without
// /work/shared and without a binary blob in the repository. Output is byte-for-byte
// deterministic (fixed clock, fixed sequence numbers, no randomness) so alert counts in the
// demo never drift. Every IPv4, TCP, UDP and ICMP checksum is correct, so a sensor in
// checksum-validating mode sees the same traffic.
//
// The story: a small government agency (10.20.0.0/16: workstations 10.20.1.0/24, servers
// 10.20.10.0/24) is probed and attacked from documentation ranges (203.0.113.0/24,
// 198.51.100.0/24) while ordinary work goes on. See deploy/sample/README.md for the timeline.

#include <pcap/pcap.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::tools {
namespace {

using Bytes = std::vector<std::uint8_t>;

// --------------------------------------------------------------------------------------------
// Addresses

struct Ip4 {
  std::uint32_t v;  // host byte order
};

constexpr Ip4 ip(int a, int b, int c, int d) {
  return Ip4{static_cast<std::uint32_t>((a << 24) | (b << 16) | (c << 8) | d)};
}

using Mac = std::array<std::uint8_t, 6>;

// Every host gets a locally administered MAC derived from its address; traffic leaving the
// agency goes through the gateway's MAC, as a span port on the core switch would see it.
Mac mac_for(Ip4 a) {
  if ((a.v >> 16) != 0x0a14) return Mac{0x02, 0x00, 0x5e, 0x00, 0x00, 0x01};  // gateway
  return Mac{0x02, 0x1a, 0x00, static_cast<std::uint8_t>(a.v >> 16), static_cast<std::uint8_t>(a.v >> 8),
             static_cast<std::uint8_t>(a.v)};
}

// Agency hosts.
constexpr Ip4 kWebServer = ip(10, 20, 10, 10);   // public web portal (DMZ)
constexpr Ip4 kDnsServer = ip(10, 20, 10, 53);   // internal resolver
constexpr Ip4 kFileServer = ip(10, 20, 10, 20);  // intranet
constexpr Ip4 kWorkstationA = ip(10, 20, 1, 15);
constexpr Ip4 kWorkstationB = ip(10, 20, 1, 27);
constexpr Ip4 kWorkstationC = ip(10, 20, 1, 33);
// Outside.
constexpr Ip4 kSqlmapHost = ip(203, 0, 113, 66);
constexpr Ip4 kScanner = ip(198, 51, 100, 23);
constexpr Ip4 kMalwareSite = ip(203, 0, 113, 99);
constexpr Ip4 kPhishSite = ip(203, 0, 113, 50);
constexpr Ip4 kPublicWeb = ip(198, 51, 100, 80);  // a harmless outside web site

// --------------------------------------------------------------------------------------------
// Packet building

void put16(Bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
void put32(Bytes& b, std::uint32_t v) {
  put16(b, static_cast<std::uint16_t>(v >> 16));
  put16(b, static_cast<std::uint16_t>(v));
}
void set16(Bytes& b, std::size_t at, std::uint16_t v) {
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v);
}
void append(Bytes& b, std::string_view s) { b.insert(b.end(), s.begin(), s.end()); }

// RFC 1071 one's-complement sum, seeded so the pseudo-header can be folded in first.
std::uint32_t sum16(const std::uint8_t* p, std::size_t n, std::uint32_t acc = 0) {
  for (std::size_t i = 0; i + 1 < n; i += 2) acc += (p[i] << 8) | p[i + 1];
  if (n & 1) acc += p[n - 1] << 8;
  return acc;
}
std::uint16_t fold(std::uint32_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<std::uint16_t>(~acc);
}

constexpr std::uint8_t kProtoIcmp = 1, kProtoTcp = 6, kProtoUdp = 17;

// Wraps an L4 segment in Ethernet + IPv4 and fills the L4 checksum (at l4_csum_offset,
// or none for ICMP whose checksum covers only its own bytes and is filled by the caller).
Bytes frame(Ip4 src, Ip4 dst, std::uint8_t proto, Bytes l4, int l4_csum_offset, std::uint16_t ip_id) {
  if (l4_csum_offset >= 0) {
    std::uint32_t acc = 0;
    acc += src.v >> 16;
    acc += src.v & 0xffff;
    acc += dst.v >> 16;
    acc += dst.v & 0xffff;
    acc += proto;
    acc += static_cast<std::uint32_t>(l4.size());
    set16(l4, l4_csum_offset, 0);
    std::uint16_t c = fold(sum16(l4.data(), l4.size(), acc));
    if (proto == kProtoUdp && c == 0) c = 0xffff;  // 0 means "no checksum" in UDP
    set16(l4, l4_csum_offset, c);
  }
  Bytes f;
  f.reserve(14 + 20 + l4.size());
  const Mac d = mac_for(dst), s = mac_for(src);
  f.insert(f.end(), d.begin(), d.end());
  f.insert(f.end(), s.begin(), s.end());
  put16(f, 0x0800);
  const std::size_t iph = f.size();
  f.push_back(0x45);
  f.push_back(0);
  put16(f, static_cast<std::uint16_t>(20 + l4.size()));
  put16(f, ip_id);
  put16(f, 0x4000);  // DF
  f.push_back((src.v >> 16) == 0x0a14 ? 64 : 52);  // outside hosts are a dozen hops away
  f.push_back(proto);
  put16(f, 0);
  put32(f, src.v);
  put32(f, dst.v);
  set16(f, iph + 10, fold(sum16(&f[iph], 20)));
  f.insert(f.end(), l4.begin(), l4.end());
  return f;
}

namespace tcp {
constexpr std::uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10;
}

class PcapOut {
 public:
  explicit PcapOut(const char* path) {
    pcap_ = pcap_open_dead(DLT_EN10MB, 65535);
    if (!pcap_) return;
    dumper_ = pcap_dump_open(pcap_, path);
    if (!dumper_) error_ = pcap_geterr(pcap_);
  }
  ~PcapOut() {
    if (dumper_) pcap_dump_close(dumper_);
    if (pcap_) pcap_close(pcap_);
  }
  PcapOut(const PcapOut&) = delete;
  PcapOut& operator=(const PcapOut&) = delete;

  bool ok() const { return dumper_ != nullptr; }
  const std::string& error() const { return error_; }
  std::size_t count() const { return count_; }

  // Advances the capture clock; scenarios call this to space events out realistically.
  void wait_us(std::uint64_t us) { now_us_ += us; }
  void write(const Bytes& f) {
    pcap_pkthdr h{};
    h.ts.tv_sec = static_cast<time_t>(now_us_ / 1000000);
    h.ts.tv_usec = static_cast<suseconds_t>(now_us_ % 1000000);
    h.caplen = h.len = static_cast<bpf_u_int32>(f.size());
    pcap_dump(reinterpret_cast<u_char*>(dumper_), &h, f.data());
    ++count_;
    now_us_ += 90;  // keep timestamps strictly increasing
  }
  std::uint16_t next_ip_id() { return ip_id_ += 7; }

 private:
  pcap_t* pcap_ = nullptr;
  pcap_dumper_t* dumper_ = nullptr;
  std::string error_;
  std::size_t count_ = 0;
  std::uint64_t now_us_ = 1715677200ull * 1000000;  // 2024-05-14 09:00:00 UTC
  std::uint16_t ip_id_ = 0x1c00;
};

Bytes tcp_segment(std::uint16_t sport, std::uint16_t dport, std::uint32_t seq, std::uint32_t ack,
                  std::uint8_t flags, std::string_view payload, bool syn_options) {
  Bytes t;
  put16(t, sport);
  put16(t, dport);
  put32(t, seq);
  put32(t, ack);
  const int hdr_len = syn_options ? 24 : 20;
  t.push_back(static_cast<std::uint8_t>((hdr_len / 4) << 4));
  t.push_back(flags);
  put16(t, 64240);  // window
  put16(t, 0);      // checksum
  put16(t, 0);      // urgent
  if (syn_options) {  // MSS 1460: what every real stack sends on a SYN
    t.push_back(2);
    t.push_back(4);
    put16(t, 1460);
  }
  append(t, payload);
  return t;
}

// A TCP connection seen from the wire: tracks both sides' sequence numbers.
class TcpSession {
 public:
  TcpSession(PcapOut& out, Ip4 client, std::uint16_t cport, Ip4 server, std::uint16_t sport)
      : out_(out), c_(client), s_(server), cport_(cport), sport_(sport),
        cseq_(0x1000000u * (cport % 200) + 1), sseq_(0x5000000u + 7919u * sport) {}

  void handshake() {
    send(true, tcp::kSyn, "", /*options=*/true);
    out_.wait_us(350);
    send(false, tcp::kSyn | tcp::kAck, "", true);
    out_.wait_us(120);
    send(true, tcp::kAck, "");
  }
  // Sends data in MSS-sized segments; the peer ACKs every second segment, like delayed ACK.
  void data(bool from_client, std::string_view payload, std::uint64_t rtt_us = 800) {
    constexpr std::size_t kMss = 1448;
    int unacked = 0;
    for (std::size_t off = 0; off < payload.size(); off += kMss) {
      const std::string_view seg = payload.substr(off, kMss);
      const bool last = off + kMss >= payload.size();
      send(from_client, tcp::kAck | (last ? tcp::kPsh : 0), seg);
      if (++unacked == 2 || last) {
        out_.wait_us(rtt_us);
        send(!from_client, tcp::kAck, "");
        unacked = 0;
      }
    }
  }
  void close(bool client_first = true) {
    send(client_first, tcp::kFin | tcp::kAck, "");
    out_.wait_us(200);
    send(!client_first, tcp::kFin | tcp::kAck, "");
    out_.wait_us(150);
    send(client_first, tcp::kAck, "");
  }

 private:
  void send(bool from_client, std::uint8_t flags, std::string_view payload, bool options = false) {
    std::uint32_t& seq = from_client ? cseq_ : sseq_;
    const std::uint32_t ack = (flags & tcp::kAck) ? (from_client ? sseq_ : cseq_) : 0;
    const Bytes seg = from_client ? tcp_segment(cport_, sport_, seq, ack, flags, payload, options)
                                  : tcp_segment(sport_, cport_, seq, ack, flags, payload, options);
    out_.write(frame(from_client ? c_ : s_, from_client ? s_ : c_, kProtoTcp, seg, 16, out_.next_ip_id()));
    seq += static_cast<std::uint32_t>(payload.size()) + ((flags & (tcp::kSyn | tcp::kFin)) ? 1 : 0);
    out_.wait_us(40);
  }

  PcapOut& out_;
  Ip4 c_, s_;
  std::uint16_t cport_, sport_;
  std::uint32_t cseq_, sseq_;
};

// --------------------------------------------------------------------------------------------
// Application payloads

std::string http_request(std::string_view method_uri, std::string_view host, std::string_view user_agent,
                         std::string_view extra = "") {
  std::string r(method_uri);
  r += " HTTP/1.1\r\nHost: ";
  r += host;
  r += "\r\nUser-Agent: ";
  r += user_agent;
  r += "\r\nAccept: */*\r\n";
  r += extra;
  r += "Connection: close\r\n\r\n";
  return r;
}

std::string http_response(std::string_view status, std::string_view type, std::string_view body) {
  std::string r = "HTTP/1.1 ";
  r += status;
  r += "\r\nDate: Tue, 14 May 2024 09:00:00 GMT\r\nServer: Apache/2.4.57 (Debian)\r\nContent-Type: ";
  r += type;
  r += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  r += body;
  return r;
}

void http_exchange(PcapOut& out, Ip4 client, std::uint16_t cport, Ip4 server, const std::string& req,
                   const std::string& resp) {
  TcpSession s(out, client, cport, server, 80);
  s.handshake();
  out.wait_us(300);
  s.data(true, req);
  out.wait_us(2500);  // server think time
  s.data(false, resp);
  s.close(false);  // Connection: close, so the server closes first
}

std::string benign_html(int paragraphs) {
  std::string b = "<!DOCTYPE html>\n<html><head><title>Agency Services Portal</title></head><body>\n";
  for (int i = 0; i < paragraphs; ++i)
    b += "<p>Service notice " + std::to_string(i + 1) +
         ": office hours are 08:00-17:00, Monday to Friday. Forms may be submitted online at any "
         "time; please keep your reference number for follow-up enquiries.</p>\n";
  return b + "</body></html>\n";
}

// DNS message with one question; with answer_ip it is the response carrying one A record.
Bytes dns_message(std::uint16_t id, std::string_view name, std::uint16_t qtype, const Ip4* answer_ip) {
  Bytes m;
  put16(m, id);
  put16(m, answer_ip ? 0x8180 : 0x0100);  // response+RD+RA / query+RD
  put16(m, 1);
  put16(m, answer_ip ? 1 : 0);
  put16(m, 0);
  put16(m, 0);
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    m.push_back(static_cast<std::uint8_t>(dot - start));
    append(m, name.substr(start, dot - start));
    start = dot + 1;
  }
  m.push_back(0);
  put16(m, qtype);
  put16(m, 1);  // IN
  if (answer_ip) {
    put16(m, 0xc00c);  // pointer to the question name
    put16(m, 1);
    put16(m, 1);
    put32(m, 300);
    put16(m, 4);
    put32(m, answer_ip->v);
  }
  return m;
}

void dns_lookup(PcapOut& out, Ip4 client, std::uint16_t cport, std::uint16_t id, std::string_view name,
                Ip4 answer) {
  auto udp = [](std::uint16_t sp, std::uint16_t dp, const Bytes& payload) {
    Bytes u;
    put16(u, sp);
    put16(u, dp);
    put16(u, static_cast<std::uint16_t>(8 + payload.size()));
    put16(u, 0);
    u.insert(u.end(), payload.begin(), payload.end());
    return u;
  };
  out.write(frame(client, kDnsServer, kProtoUdp, udp(cport, 53, dns_message(id, name, 1, nullptr)), 6,
                  out.next_ip_id()));
  out.wait_us(1800);
  out.write(frame(kDnsServer, client, kProtoUdp, udp(53, cport, dns_message(id, name, 1, &answer)), 6,
                  out.next_ip_id()));
}

void icmp_echo(PcapOut& out, Ip4 src, Ip4 dst, bool reply, std::uint16_t ident, std::uint16_t seq,
               std::size_t payload_len) {
  Bytes m;
  m.push_back(reply ? 0 : 8);
  m.push_back(0);
  put16(m, 0);
  put16(m, ident);
  put16(m, seq);
  for (std::size_t i = 0; i < payload_len; ++i) m.push_back(static_cast<std::uint8_t>(0x10 + i % 0x30));
  set16(m, 2, fold(sum16(m.data(), m.size())));
  out.write(frame(src, dst, kProtoIcmp, m, -1, out.next_ip_id()));
}

// TLS 1.2-compatible ClientHello record with an SNI extension.
std::string tls_client_hello(std::string_view sni) {
  Bytes ext;
  // server_name
  put16(ext, 0x0000);
  put16(ext, static_cast<std::uint16_t>(sni.size() + 5));
  put16(ext, static_cast<std::uint16_t>(sni.size() + 3));
  ext.push_back(0);  // host_name
  put16(ext, static_cast<std::uint16_t>(sni.size()));
  append(ext, sni);
  // supported_groups x25519, secp256r1
  for (std::uint16_t v : {0x000a, 0x0006, 0x0004, 0x001d, 0x0017}) put16(ext, v);
  // ec_point_formats uncompressed
  for (std::uint8_t v : {0x00, 0x0b, 0x00, 0x02, 0x01, 0x00}) ext.push_back(v);
  // signature_algorithms
  for (std::uint16_t v : {0x000d, 0x0008, 0x0006, 0x0403, 0x0804, 0x0401}) put16(ext, v);

  Bytes body;
  put16(body, 0x0303);
  for (int i = 0; i < 32; ++i) body.push_back(static_cast<std::uint8_t>(i * 37 + 11));  // random
  body.push_back(0);                                                                  // session id
  const std::uint16_t suites[] = {0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0x009c, 0x002f};
  put16(body, sizeof suites);
  for (std::uint16_t s : suites) put16(body, s);
  body.push_back(1);  // compression methods
  body.push_back(0);
  put16(body, static_cast<std::uint16_t>(ext.size()));
  body.insert(body.end(), ext.begin(), ext.end());

  Bytes rec;
  rec.push_back(0x16);
  put16(rec, 0x0301);
  put16(rec, static_cast<std::uint16_t>(body.size() + 4));
  rec.push_back(0x01);  // ClientHello
  rec.push_back(0);
  put16(rec, static_cast<std::uint16_t>(body.size()));
  rec.insert(rec.end(), body.begin(), body.end());
  return std::string(rec.begin(), rec.end());
}

std::string tls_server_hello() {
  Bytes body;
  put16(body, 0x0303);
  for (int i = 0; i < 32; ++i) body.push_back(static_cast<std::uint8_t>(i * 53 + 5));
  body.push_back(0);
  put16(body, 0xc02f);
  body.push_back(0);
  put16(body, 0);  // no extensions
  Bytes rec;
  rec.push_back(0x16);
  put16(rec, 0x0303);
  put16(rec, static_cast<std::uint16_t>(body.size() + 4));
  rec.push_back(0x02);
  rec.push_back(0);
  put16(rec, static_cast<std::uint16_t>(body.size()));
  rec.insert(rec.end(), body.begin(), body.end());
  return std::string(rec.begin(), rec.end());
}

// --------------------------------------------------------------------------------------------
// The scenario

constexpr std::string_view kEicar = R"(X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*)";
constexpr std::string_view kBrowserUa =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36";

void write_scenario(PcapOut& out) {
  // benign: staff open the portal and an outside news site.
  dns_lookup(out, kWorkstationA, 53001, 0x1a01, "portal.agency.example.gov", kWebServer);
  out.wait_us(4000);
  http_exchange(out, kWorkstationA, 49811, kWebServer,
                http_request("GET /index.html", "portal.agency.example.gov", kBrowserUa),
                http_response("200 OK", "text/html; charset=utf-8", benign_html(30)));
  out.wait_us(60000);
  dns_lookup(out, kWorkstationC, 53002, 0x1a02, "www.example.com", kPublicWeb);
  http_exchange(out, kWorkstationC, 49920, kPublicWeb,
                http_request("GET /news/today", "www.example.com", kBrowserUa),
                http_response("200 OK", "text/html", benign_html(8)));
  out.wait_us(150000);

  // reconnaissance: ICMP sweep of the workstation LAN from the scanner; a few hosts
  // answer. One oversized echo looks like an ICMP tunnel probe.
  for (int host = 1; host <= 40; ++host) {
    const Ip4 target = ip(10, 20, 1, host);
    icmp_echo(out, kScanner, target, false, 0x4d2, static_cast<std::uint16_t>(host), 56);
    if (host == 1 || host == 15 || host == 27 || host == 33) {
      out.wait_us(600);
      icmp_echo(out, target, kScanner, true, 0x4d2, static_cast<std::uint16_t>(host), 56);
    }
    out.wait_us(20000);
  }
  icmp_echo(out, kScanner, kWebServer, false, 0x4d3, 1, 1200);
  out.wait_us(900);
  icmp_echo(out, kWebServer, kScanner, true, 0x4d3, 1, 1200);
  out.wait_us(300000);

  // SYN scan of the web server: closed ports answer RST, open ones SYN-ACK and the
  // scanner resets them (half-open scan).
  const std::uint16_t ports[] = {21, 22, 23, 25, 53, 80, 110, 111, 135, 139, 143, 443, 445, 993, 995,
                                 1433, 1521, 3306, 3389, 5432, 5900, 6379, 8000, 8080, 8443, 9200};
  std::uint32_t scan_seq = 0x2b7e1516;
  for (std::uint16_t p : ports) {
    const bool open = p == 22 || p == 80 || p == 443;
    out.write(frame(kScanner, kWebServer, kProtoTcp, tcp_segment(61000, p, scan_seq, 0, tcp::kSyn, "", true), 16,
                    out.next_ip_id()));
    out.wait_us(500);
    const std::uint32_t srv_seq = 0x7a000000u + p * 1013u;
    out.write(frame(kWebServer, kScanner, kProtoTcp,
                    tcp_segment(p, 61000, open ? srv_seq : 0, scan_seq + 1,
                                open ? (tcp::kSyn | tcp::kAck) : (tcp::kRst | tcp::kAck), "", open),
                    16, out.next_ip_id()));
    if (open) {
      out.wait_us(200);
      out.write(frame(kScanner, kWebServer, kProtoTcp, tcp_segment(61000, p, scan_seq + 1, 0, tcp::kRst, "", false),
                      16, out.next_ip_id()));
    }
    out.wait_us(3000);
  }
  out.wait_us(400000);

  // a workstation keeps working: intranet file listing.
  http_exchange(out, kWorkstationB, 50110, kFileServer,
                http_request("GET /shared/reports/", "intranet.agency.example.gov", kBrowserUa),
                http_response("200 OK", "text/html", benign_html(12)));
  out.wait_us(200000);

  // SQL injection with sqlmap against the portal search.
  http_exchange(out, kSqlmapHost, 41234, kWebServer,
                http_request("GET /search.php?q=1%27%20AND%201=1--%20-", "portal.agency.example.gov",
                             "sqlmap/1.7.2#stable (https://sqlmap.org)"),
                http_response("500 Internal Server Error", "text/html",
                              "<html><body>Database error: syntax error near ''1'' AND 1=1'</body></html>\n"));
  out.wait_us(250000);

  // path traversal that succeeds: the portal returns /etc/passwd.
  http_exchange(out, kScanner, 44321, kWebServer,
                http_request("GET /cgi-bin/download.cgi?file=../../../../etc/passwd", "portal.agency.example.gov",
                             "curl/8.4.0"),
                http_response("200 OK", "text/plain",
                              "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
                              "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n"));
  out.wait_us(500000);

  // a user follows a phishing link: DNS for a look-alike domain, then TLS to it.
  dns_lookup(out, kWorkstationC, 53117, 0x7c11, "secure-login.gov-portal-login.top", kPhishSite);
  out.wait_us(3000);
  {
    TcpSession s(out, kWorkstationC, 50443, kPhishSite, 443);
    s.handshake();
    s.data(true, tls_client_hello("secure-login.gov-portal-login.top"));
    out.wait_us(40000);
    s.data(false, tls_server_hello());
    s.close(true);
  }
  out.wait_us(100000);
  // A benign TLS session to the agency's own portal for contrast.
  {
    TcpSession s(out, kWorkstationA, 50444, kWebServer, 443);
    s.handshake();
    s.data(true, tls_client_hello("portal.agency.example.gov"));
    out.wait_us(2000);
    s.data(false, tls_server_hello());
    s.close(true);
  }
  out.wait_us(300000);

  // malware staging: lookup of a known-bad-looking domain, then a download of the
  // EICAR test file disguised as an invoice.
  dns_lookup(out, kWorkstationB, 53240, 0x2e40, "update.gov-secure-login.xyz", kMalwareSite);
  out.wait_us(2500);
  http_exchange(out, kWorkstationB, 50220, kMalwareSite,
                http_request("GET /files/invoice-2024-05.com", "update.gov-secure-login.xyz", kBrowserUa),
                http_response("200 OK", "application/octet-stream", std::string(kEicar)));
  out.wait_us(200000);

  // more ordinary traffic to close the capture: staff browse the portal and intranet.
  dns_lookup(out, kWorkstationA, 53301, 0x1a03, "mail.agency.example.gov", kFileServer);
  const char* pages[] = {"/forms/application.pdf", "/about/contact.html", "/news/2024/05/notice.html",
                         "/css/site.css", "/js/portal.js"};
  const Ip4 staff[] = {kWorkstationA, kWorkstationC, ip(10, 20, 1, 41), ip(10, 20, 1, 52)};
  std::uint16_t port = 49850;
  for (const Ip4 who : staff) {
    for (const char* page : pages) {
      const bool pdf = std::string_view(page).ends_with(".pdf");
      http_exchange(out, who, port++, kWebServer,
                    http_request(std::string("GET ") + page, "portal.agency.example.gov", kBrowserUa),
                    pdf ? http_response("200 OK", "application/pdf", std::string(4000, '%'))
                        : http_response("200 OK", "text/html", benign_html(3)));
      out.wait_us(35000);
    }
  }
}


// Personal data and a stamped document in cleartext (docs/classification.md). Identifiers are
// synthetic but valid for their validators; near misses sit beside them. The integration test
// (tests/integration/classification) checks that eve.json never contains the clear values, also
// those in a URL (the http record masks them).
void write_classification_scenario(PcapOut& out) {
  const Ip4 kClerk = ip(10, 20, 1, 41);
  const Ip4 kExfil = ip(203, 0, 113, 77);
  // A clerk submits a citizen's registration form to the portal (JSON body).
  const std::string form = R"({"ho_ten":"Nguyen Van An","cccd":"001095012345","sdt":"+84 912 345 678",)"
                           R"("mst_doanh_nghiep":"0100109106","ghi_chu":"ma ho so 20240514000123456"})";
  http_exchange(out, kClerk, 51001, kWebServer,
                http_request("POST /api/registrations", "portal.agency.example.gov", kBrowserUa,
                             "Content-Type: application/json\r\nContent-Length: " + std::to_string(form.size()) +
                                 "\r\n") +
                    form,
                http_response("201 Created", "application/json", R"({"status":"ok","id":4711})"));
  out.wait_us(80000);
  // A lookup with identifiers in the query string: the http record shows them masked.
  http_exchange(out, kClerk, 51002, kWebServer,
                http_request("GET /api/citizens?cccd=079201004321&sdt=0987654321", "portal.agency.example.gov",
                             kBrowserUa),
                http_response("200 OK", "application/json", R"({"found":true,"ho_ten":"Tran Thi Binh"})"));
  out.wait_us(80000);
  // A bulk export of citizen records leaves the agency: identifiers and domestic card numbers.
  std::string csv = "stt,ho_ten,so_cccd,so_dien_thoai,so_the_napas\n";
  const char* ids[] = {"001095012345", "079201004321", "048098765432", "031187001122", "092300555666",
                       "001085123987", "079099321654", "056190246810", "036201135791", "027096864209",
                       "001195777888", "038203454545"};
  const char* phones[] = {"0912345678", "0987654321", "0356789012", "0708123456", "0823456789", "0903111222",
                          "0934567123", "0398765432", "0775432198", "0867123456", "0945678901", "0889012345"};
  const char* cards[] = {"9704 1234 5678 9015", "9704-2200-1234-5678", "9704000000000018", "4111 1111 1111 1111"};
  for (int i = 0; i < 12; ++i) {
    csv += std::to_string(i + 1) + ",Cong dan " + std::to_string(i + 1) + "," + ids[i] + "," + phones[i] + "," +
           (i < 4 ? cards[i] : "") + "\n";
  }
  http_exchange(out, kExfil, 52002, kFileServer,
                http_request("GET /export/dan-cu-2024.csv", "intranet.agency.example.gov", "python-requests/2.31"),
                http_response("200 OK", "text/csv", csv));
  out.wait_us(80000);
  // An intranet document carrying a state-secret stamp on its own line, in UTF-8.
  http_exchange(out, ip(10, 20, 1, 15), 51003, kFileServer,
                http_request("GET /docs/bao-cao-17.txt", "intranet.agency.example.gov", kBrowserUa),
                http_response("200 OK", "text/plain; charset=utf-8",
                              "B\xe1\xbb\x98 C\xc3\x94NG AN\n"
                              "T\xe1\xbb\x90I M\xe1\xba\xacT\n"
                              "S\xe1\xbb\x91: 17/BC\n"
                              "B\xc3\x81O C\xc3\x81O t\xc3\xacnh h\xc3\xacnh b\xe1\xba\xa3o v\xe1\xbb\x87 "
                              "b\xc3\xad m\xe1\xba\xadt nh\xc3\xa0 n\xc6\xb0\xe1\xbb\x9b" "c\n"));
  out.wait_us(80000);
  // Near misses only: a wrong province code, a future birth year, a tax code with a wrong check
  // digit, a number inside a longer one, a passport number without a context word.
  http_exchange(out, ip(10, 20, 1, 52), 51004, kWebServer,
                http_request("GET /help/faq.html", "portal.agency.example.gov", kBrowserUa),
                http_response("200 OK", "text/html",
                              "<html><body><p>Vi du CCCD: 003095012345, CCCD: 001299012345, MST: 0100109107,"
                              " ma giao dich 1001095012345999, ma tai lieu B1234567, MAT KHAU: doi sau 90 ngay.</p>"
                              "</body></html>\n"));
}

}  // namespace
}  // namespace vigil::tools

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT.pcap\n  writes the deterministic Vigil demo capture\n", argv[0]);
    return 2;
  }
  vigil::tools::PcapOut out(argv[1]);
  if (!out.ok()) {
    std::fprintf(stderr, "vigil-sample-pcap: cannot write %s: %s\n", argv[1], out.error().c_str());
    return 1;
  }
  vigil::tools::write_scenario(out);
  vigil::tools::write_classification_scenario(out);
  std::printf("wrote %zu packets to %s\n", out.count(), argv[1]);
  return 0;
}
