// TLS record/handshake parsing, JA3/JA3S/JA4 and the first server certificate.
#include "vigil/sensor/app/tls.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <optional>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "app/text_util.h"

namespace vigil::sensor::app {

namespace {

constexpr uint8_t kContentChangeCipherSpec = 20;
constexpr uint8_t kContentAlert = 21;
constexpr uint8_t kContentHandshake = 22;
constexpr uint8_t kContentApplicationData = 23;
constexpr uint8_t kContentHeartbeat = 24;

constexpr uint8_t kHsClientHello = 1;
constexpr uint8_t kHsServerHello = 2;
constexpr uint8_t kHsCertificate = 11;

constexpr uint16_t kExtServerName = 0;
constexpr uint16_t kExtSupportedGroups = 10;
constexpr uint16_t kExtEcPointFormats = 11;
constexpr uint16_t kExtSignatureAlgorithms = 13;
constexpr uint16_t kExtAlpn = 16;
constexpr uint16_t kExtSupportedVersions = 43;

// Bounds-checked big-endian reader over a span: every read fails (and sticks failed) rather than
// running past the end.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> s) : s_(s) {}
  bool ok() const { return ok_; }
  size_t left() const { return ok_ ? s_.size() - pos_ : 0; }
  uint8_t u8() {
    if (!need(1)) return 0;
    return s_[pos_++];
  }
  uint16_t u16() {
    if (!need(2)) return 0;
    const uint16_t v = static_cast<uint16_t>((s_[pos_] << 8) | s_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  uint32_t u24() {
    if (!need(3)) return 0;
    const uint32_t v = (uint32_t{s_[pos_]} << 16) | (uint32_t{s_[pos_ + 1]} << 8) | s_[pos_ + 2];
    pos_ += 3;
    return v;
  }
  std::span<const uint8_t> bytes(size_t n) {
    if (!need(n)) return {};
    auto r = s_.subspan(pos_, n);
    pos_ += n;
    return r;
  }

 private:
  bool need(size_t n) {
    if (!ok_ || s_.size() - pos_ < n) {
      ok_ = false;
      return false;
    }
    return true;
  }
  std::span<const uint8_t> s_;
  size_t pos_ = 0;
  bool ok_ = true;
};

std::vector<uint16_t> u16_list(std::span<const uint8_t> s) {
  std::vector<uint16_t> out;
  for (size_t i = 0; i + 1 < s.size(); i += 2) {
    out.push_back(static_cast<uint16_t>((s[i] << 8) | s[i + 1]));
  }
  return out;
}

std::string join_dec(const std::vector<uint16_t>& v, bool skip_grease) {
  std::string out;
  for (uint16_t x : v) {
    if (skip_grease && tls_is_grease(x)) continue;
    if (!out.empty()) out.push_back('-');
    out += std::to_string(x);
  }
  return out;
}

std::string sha256_hex12(const std::string& s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(s.data(), s.size(), md, &len, EVP_sha256(), nullptr) != 1) return "000000000000";
  return hex_lower(md, 6);
}

std::string hex4_list(const std::vector<uint16_t>& v) {
  std::string out;
  char buf[8];
  for (uint16_t x : v) {
    if (!out.empty()) out.push_back(',');
    std::snprintf(buf, sizeof buf, "%04x", x);
    out += buf;
  }
  return out;
}

std::string format_time(int64_t t) {
  const time_t tt = static_cast<time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return buf;
}

std::string name_to_string(const X509_NAME* name) {
  if (name == nullptr) return {};
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return {};
  // Certificate order, "C=US, O=..., CN=...", like the x509 parser Suricata uses.
  X509_NAME_print_ex(bio, name, 0,
                     XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_FN_SN | ASN1_STRFLGS_UTF8_CONVERT |
                         ASN1_STRFLGS_ESC_CTRL);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data != nullptr && n > 0 ? std::string(data, static_cast<size_t>(n)) : "");
  BIO_free(bio);
  return out;
}

int64_t asn1_time_to_epoch(const ASN1_TIME* t) {
  if (t == nullptr) return 0;
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace

bool tls_is_grease(uint16_t v) { return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff); }

std::string ja3_string(const TlsClientHello& ch) {
  std::string points;
  for (uint8_t p : ch.ec_point_formats) {
    if (!points.empty()) points.push_back('-');
    points += std::to_string(p);
  }
  return std::to_string(ch.version) + "," + join_dec(ch.ciphers, true) + "," +
         join_dec(ch.extensions, true) + "," + join_dec(ch.groups, true) + "," + points;
}

std::string ja3s_string(const TlsServerHello& sh) {
  return std::to_string(sh.version) + "," + std::to_string(sh.cipher) + "," +
         join_dec(sh.extensions, true);
}

std::string md5_hex(std::string_view s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(s.data(), s.size(), md, &len, EVP_md5(), nullptr) != 1) return {};
  return hex_lower(md, len);
}

std::string ja4(const TlsClientHello& ch, char proto) {
  // Version: the highest supported_versions entry, else the legacy field.
  uint16_t version = ch.version;
  bool have_sv = false;
  for (uint16_t v : ch.supported_versions) {
    if (tls_is_grease(v)) continue;
    if (!have_sv || v > version) version = v;
    have_sv = true;
  }
  const char* vs = "00";
  switch (version) {
    case 0x0304: vs = "13"; break;
    case 0x0303: vs = "12"; break;
    case 0x0302: vs = "11"; break;
    case 0x0301: vs = "10"; break;
    case 0x0300: vs = "s3"; break;
    case 0x0002: vs = "s2"; break;
    case 0xfeff: vs = "d1"; break;
    case 0xfefd: vs = "d2"; break;
    case 0xfefc: vs = "d3"; break;
    default: break;
  }
  std::vector<uint16_t> ciphers, exts, sigs;
  bool sni = false;
  for (uint16_t c : ch.ciphers) {
    if (!tls_is_grease(c)) ciphers.push_back(c);
  }
  size_t ext_count = 0;
  for (uint16_t e : ch.extensions) {
    if (tls_is_grease(e)) continue;
    ++ext_count;
    if (e == kExtServerName) sni = true;
    if (e != kExtServerName && e != kExtAlpn) exts.push_back(e);
  }
  for (uint16_t s : ch.signature_algorithms) {
    if (!tls_is_grease(s)) sigs.push_back(s);
  }
  // ALPN: first and last character of the first value; hex nibbles when not alphanumeric
  // (FoxIO spec, as Suricata's ja4.rs implements it).
  char alpn[2] = {'0', '0'};
  if (!ch.alpn.empty() && !ch.alpn.front().empty()) {
    const std::string& a = ch.alpn.front();
    const auto first = static_cast<uint8_t>(a.front());
    const auto last = static_cast<uint8_t>(a.back());
    const bool grease_pair =
        a.size() == 2 && tls_is_grease(static_cast<uint16_t>((first << 8) | last));
    if (!grease_pair) {
      auto alnum = [](uint8_t c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
      };
      static constexpr char kHex[] = "0123456789abcdef";
      if (!alnum(first) || !alnum(last)) {
        alpn[0] = kHex[first >> 4];
        alpn[1] = kHex[last & 0xf];
      } else {
        alpn[0] = static_cast<char>(first);
        alpn[1] = static_cast<char>(last);
      }
    }
  }
  char a[16];
  std::snprintf(a, sizeof a, "%c%s%c%02zu%02zu%c%c", proto, vs, sni ? 'd' : 'i',
                std::min<size_t>(99, ciphers.size()), std::min<size_t>(99, ext_count), alpn[0],
                alpn[1]);
  std::sort(ciphers.begin(), ciphers.end());
  std::sort(exts.begin(), exts.end());
  return std::string(a) + "_" + sha256_hex12(hex4_list(ciphers)) + "_" +
         sha256_hex12(hex4_list(exts) + "_" + hex4_list(sigs));
}

std::string tls_version_name(uint16_t v) {
  switch (v) {
    case 0: return "UNDETERMINED";
    case 0x0002: return "SSLv2";
    case 0x0300: return "SSLv3";
    case 0x0301: return "TLSv1";
    case 0x0302: return "TLS 1.1";
    case 0x0303: return "TLS 1.2";
    case 0x0304: return "TLS 1.3";
    default: break;
  }
  char buf[32];
  if ((v & 0xff00) == 0x7f00) {
    std::snprintf(buf, sizeof buf, "TLS 1.3 draft-%d", v & 0xff);
  } else {
    std::snprintf(buf, sizeof buf, "0x%04x", v);
  }
  return buf;
}

// ---- TlsState --------------------------------------------------------------------------------

uint16_t TlsState::version() const {
  if (server_hello_) {
    return server_hello_->selected_version != 0 ? server_hello_->selected_version
                                                : server_hello_->version;
  }
  return client_hello_ ? client_hello_->version : 0;
}

bool TlsState::session_resumed() const {
  // An abbreviated handshake: the server echoes the client's session id and sends no
  // certificate (TLS <= 1.2 only; 1.3 always echoes the legacy id).
  if (!client_hello_ || !server_hello_ || server_hello_->selected_version == 0x0304) return false;
  return !client_hello_->session_id.empty() &&
         client_hello_->session_id == server_hello_->session_id && cert_count_ == 0;
}

std::span<const uint8_t> TlsState::buffer(rules::Buffer b) const {
  auto sp = [](const std::string& s) {
    return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  switch (b) {
    case rules::Buffer::TlsSni: return client_hello_ ? sp(client_hello_->sni) : std::span<const uint8_t>{};
    case rules::Buffer::TlsCertSubject: return cert_ ? sp(cert_->subject) : std::span<const uint8_t>{};
    case rules::Buffer::TlsCertIssuer: return cert_ ? sp(cert_->issuer) : std::span<const uint8_t>{};
    case rules::Buffer::Ja3Hash: return sp(ja3_hash_);
    case rules::Buffer::Ja3String: return sp(ja3_string_);
    case rules::Buffer::Ja4Hash: return sp(ja4_);
    default: return {};
  }
}

// ---- TlsParser -------------------------------------------------------------------------------

void TlsParser::fail(int dir, uint32_t anomaly) {
  state_.anomalies_ |= anomaly;
  if (!dir_failed_[dir]) ++stats_.malformed;
  dir_failed_[dir] = true;
  rec_buf_[dir].clear();
  hs_buf_[dir].clear();
  updated_ = true;
}

void TlsParser::on_data(bool to_server, std::span<const uint8_t> data, core::Timestamp) {
  updated_ = false;
  const int d = to_server ? 1 : 0;
  // Encrypted records carry nothing we parse; stop buffering them.
  if (dir_failed_[d] || state_.encrypted_[d]) return;
  std::vector<uint8_t>& buf = rec_buf_[d];
  buf.insert(buf.end(), data.begin(), data.end());
  size_t pos = 0;
  while (buf.size() - pos >= 5 && !dir_failed_[d] && !state_.encrypted_[d]) {
    const uint8_t* h = &buf[pos];
    if (h[0] < kContentChangeCipherSpec || h[0] > kContentHeartbeat) {
      if (stats_.records == 0 && (h[0] & 0x80) != 0) {
        ++stats_.sslv2;
        fail(d, tls_anomaly::kSslv2);
      } else {
        fail(d, tls_anomaly::kInvalidContentType);
      }
      return;
    }
    if (h[1] != 3) {
      fail(d, tls_anomaly::kBadRecordVersion);
      return;
    }
    const size_t len = static_cast<size_t>((h[3] << 8) | h[4]);
    if (len > config_.max_record_len) {
      fail(d, tls_anomaly::kRecordTooLong);
      return;
    }
    if (buf.size() - pos < 5 + len) break;
    on_record(d, h[0], {&buf[pos + 5], len});
    pos += 5 + len;
  }
  if (dir_failed_[d] || state_.encrypted_[d]) {
    buf.clear();
  } else {
    buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(pos));
  }
}

void TlsParser::on_gap(bool to_server, size_t) {
  updated_ = false;
  ++stats_.gaps;
  const int d = to_server ? 1 : 0;
  // Record framing is lost; the handshake in clear cannot be resumed reliably.
  if (!state_.encrypted_[d]) fail(d, tls_anomaly::kGap);
}

void TlsParser::on_record(int d, uint8_t type, std::span<const uint8_t> payload) {
  ++stats_.records;
  switch (type) {
    case kContentHandshake: {
      std::vector<uint8_t>& hs = hs_buf_[d];
      hs.insert(hs.end(), payload.begin(), payload.end());
      size_t pos = 0;
      while (hs.size() - pos >= 4) {
        const uint8_t mtype = hs[pos];
        const size_t mlen = (size_t{hs[pos + 1]} << 16) | (size_t{hs[pos + 2]} << 8) | hs[pos + 3];
        if (mlen > config_.max_handshake_message) {
          fail(d, tls_anomaly::kHandshakeTooLong);
          return;
        }
        if (hs.size() - pos < 4 + mlen) break;
        on_handshake(d, mtype, {&hs[pos + 4], mlen});
        if (dir_failed_[d]) return;
        pos += 4 + mlen;
      }
      hs.erase(hs.begin(), hs.begin() + static_cast<std::ptrdiff_t>(pos));
      break;
    }
    case kContentChangeCipherSpec:
    case kContentApplicationData:
      state_.encrypted_[d] = true;
      hs_buf_[d].clear();
      updated_ = true;
      break;
    case kContentAlert:
    case kContentHeartbeat:
    default:
      break;
  }
}

void TlsParser::on_handshake(int d, uint8_t type, std::span<const uint8_t> body) {
  if (d == 1 && type == kHsClientHello && !state_.client_hello_) {
    parse_client_hello(body);
  } else if (d == 0 && type == kHsServerHello && !state_.server_hello_) {
    parse_server_hello(body);
  } else if (d == 0 && type == kHsCertificate && !state_.cert_) {
    parse_certificate(body);
  }
}

namespace {

// A DER element: its tag, its whole encoding and its contents.
struct Der {
  uint8_t tag = 0;
  std::span<const uint8_t> whole;
  std::span<const uint8_t> content;
};

// Reads the element at the front of `in` and advances past it. Low tag numbers only (all the
// certificate fields we read use them); definite lengths up to 4 bytes.
std::optional<Der> der_next(std::span<const uint8_t>& in) {
  if (in.size() < 2) return std::nullopt;
  Der d;
  d.tag = in[0];
  size_t len = in[1];
  size_t hdr = 2;
  if (len & 0x80) {
    size_t n = len & 0x7f;
    if (n == 0 || n > 4 || in.size() < 2 + n) return std::nullopt;
    len = 0;
    for (size_t i = 0; i < n; ++i) len = (len << 8) | in[2 + i];
    hdr = 2 + n;
  }
  if (in.size() - hdr < len) return std::nullopt;
  d.whole = in.first(hdr + len);
  d.content = in.subspan(hdr, len);
  in = in.subspan(hdr + len);
  return d;
}

struct TbsFields {
  std::span<const uint8_t> serial;      // INTEGER contents
  std::span<const uint8_t> issuer;      // Name, whole DER
  std::span<const uint8_t> not_before;  // Time, whole DER
  std::span<const uint8_t> not_after;
  std::span<const uint8_t> subject;
  std::span<const uint8_t> san;         // GeneralNames DER (extnValue contents), may be empty
};

// Walks Certificate -> TBSCertificate (RFC 5280 4.1) to the fields we log.
std::optional<TbsFields> parse_tbs(std::span<const uint8_t> der) {
  auto cert = der_next(der);
  if (!cert || cert->tag != 0x30) return std::nullopt;
  std::span<const uint8_t> c = cert->content;
  auto tbs = der_next(c);
  if (!tbs || tbs->tag != 0x30) return std::nullopt;
  std::span<const uint8_t> t = tbs->content;
  auto e = der_next(t);
  if (e && e->tag == 0xa0) e = der_next(t);  // [0] version
  if (!e || e->tag != 0x02) return std::nullopt;
  TbsFields f;
  f.serial = e->content;
  auto sig = der_next(t);
  auto issuer = der_next(t);
  auto validity = der_next(t);
  auto subject = der_next(t);
  auto spki = der_next(t);
  if (!sig || !issuer || !validity || !subject || !spki || issuer->tag != 0x30 ||
      validity->tag != 0x30 || subject->tag != 0x30) {
    return std::nullopt;
  }
  f.issuer = issuer->whole;
  f.subject = subject->whole;
  std::span<const uint8_t> v = validity->content;
  auto nb = der_next(v);
  auto na = der_next(v);
  if (!nb || !na) return std::nullopt;
  f.not_before = nb->whole;
  f.not_after = na->whole;
  // Optional [1], [2] unique ids, then [3] extensions.
  while (auto x = der_next(t)) {
    if (x->tag != 0xa3) continue;
    std::span<const uint8_t> xc = x->content;
    auto list = der_next(xc);
    if (!list || list->tag != 0x30) break;
    std::span<const uint8_t> items = list->content;
    while (auto ext = der_next(items)) {
      std::span<const uint8_t> ec = ext->content;
      auto oid = der_next(ec);
      if (!oid || oid->tag != 0x06) continue;
      static constexpr uint8_t kSanOid[] = {0x55, 0x1d, 0x11};  // 2.5.29.17
      if (oid->content.size() != 3 || !std::equal(oid->content.begin(), oid->content.end(), kSanOid)) {
        continue;
      }
      auto val = der_next(ec);
      if (val && val->tag == 0x01) val = der_next(ec);  // critical flag
      if (val && val->tag == 0x04) f.san = val->content;
    }
  }
  return f;
}

}  // namespace

void TlsParser::parse_client_hello(std::span<const uint8_t> body) {
  Reader r(body);
  TlsClientHello ch;
  ch.version = r.u16();
  auto random = r.bytes(32);
  if (r.ok()) std::copy(random.begin(), random.end(), ch.random.begin());
  auto sid = r.bytes(r.u8());
  ch.session_id.assign(sid.begin(), sid.end());
  ch.ciphers = u16_list(r.bytes(r.u16()));
  r.bytes(r.u8());  // compression methods
  if (!r.ok()) {
    fail(1, tls_anomaly::kMalformedClientHello);
    return;
  }
  if (r.left() >= 2) {
    Reader exts(r.bytes(r.u16()));
    while (exts.ok() && exts.left() >= 4) {
      const uint16_t type = exts.u16();
      Reader e(exts.bytes(exts.u16()));
      if (!exts.ok()) break;
      ch.extensions.push_back(type);
      switch (type) {
        case kExtServerName: {
          Reader list(e.bytes(e.u16()));
          while (list.ok() && list.left() >= 3) {
            const uint8_t name_type = list.u8();
            auto name = list.bytes(list.u16());
            if (list.ok() && name_type == 0 && ch.sni.empty()) {
              ch.sni.assign(reinterpret_cast<const char*>(name.data()), name.size());
            }
          }
          break;
        }
        case kExtSupportedGroups: ch.groups = u16_list(e.bytes(e.u16())); break;
        case kExtEcPointFormats: {
          auto f = e.bytes(e.u8());
          ch.ec_point_formats.assign(f.begin(), f.end());
          break;
        }
        case kExtSignatureAlgorithms: ch.signature_algorithms = u16_list(e.bytes(e.u16())); break;
        case kExtAlpn: {
          Reader list(e.bytes(e.u16()));
          while (list.ok() && list.left() >= 1) {
            auto p = list.bytes(list.u8());
            if (list.ok()) ch.alpn.emplace_back(reinterpret_cast<const char*>(p.data()), p.size());
          }
          break;
        }
        case kExtSupportedVersions: ch.supported_versions = u16_list(e.bytes(e.u8())); break;
        default: break;
      }
    }
    if (!exts.ok()) state_.anomalies_ |= tls_anomaly::kMalformedClientHello;
  }
  ++stats_.client_hellos;
  state_.ja3_string_ = ja3_string(ch);
  state_.ja3_hash_ = md5_hex(state_.ja3_string_);
  state_.ja4_ = ja4(ch, 't');
  state_.client_hello_ = std::move(ch);
  updated_ = true;
}

void TlsParser::parse_server_hello(std::span<const uint8_t> body) {
  Reader r(body);
  TlsServerHello sh;
  sh.version = r.u16();
  auto random = r.bytes(32);
  if (r.ok()) std::copy(random.begin(), random.end(), sh.random.begin());
  auto sid = r.bytes(r.u8());
  sh.session_id.assign(sid.begin(), sid.end());
  sh.cipher = r.u16();
  sh.compression = r.u8();
  if (!r.ok()) {
    fail(0, tls_anomaly::kMalformedServerHello);
    return;
  }
  if (r.left() >= 2) {
    Reader exts(r.bytes(r.u16()));
    while (exts.ok() && exts.left() >= 4) {
      const uint16_t type = exts.u16();
      Reader e(exts.bytes(exts.u16()));
      if (!exts.ok()) break;
      sh.extensions.push_back(type);
      if (type == kExtSupportedVersions) {
        sh.selected_version = e.u16();
      } else if (type == kExtAlpn) {
        Reader list(e.bytes(e.u16()));
        auto p = list.bytes(list.u8());
        if (list.ok()) sh.alpn.assign(reinterpret_cast<const char*>(p.data()), p.size());
      }
    }
    if (!exts.ok()) state_.anomalies_ |= tls_anomaly::kMalformedServerHello;
  }
  ++stats_.server_hellos;
  state_.ja3s_string_ = ja3s_string(sh);
  state_.ja3s_hash_ = md5_hex(state_.ja3s_string_);
  // TLS 1.3: everything the server sends after ServerHello is encrypted.
  if (sh.selected_version == 0x0304) state_.encrypted_[0] = true;
  state_.server_hello_ = std::move(sh);
  updated_ = true;
}

void TlsParser::parse_certificate(std::span<const uint8_t> body) {
  Reader r(body);
  Reader list(r.bytes(r.u24()));
  if (!r.ok()) {
    fail(0, tls_anomaly::kMalformedCertificate);
    return;
  }
  std::span<const uint8_t> first;
  size_t count = 0;
  while (list.ok() && list.left() >= 3) {
    auto der = list.bytes(list.u24());
    if (!list.ok()) break;
    if (count == 0) first = der;
    ++count;
  }
  state_.cert_count_ = count;
  ++stats_.certificates;
  updated_ = true;
  if (first.empty()) return;

  // Only the fields we log are decoded: d2i_X509 on the whole certificate also decodes the
  // public key through OpenSSL 3's provider machinery, which cost more than all of HTTP.
  auto cert = parse_tbs(first);
  if (!cert) {
    state_.anomalies_ |= tls_anomaly::kMalformedCertificate;
    return;
  }
  TlsCertificate c;
  c.der.assign(first.begin(), first.end());
  auto decode_name = [](std::span<const uint8_t> der) -> std::string {
    const unsigned char* q = der.data();
    X509_NAME* n = d2i_X509_NAME(nullptr, &q, static_cast<long>(der.size()));
    if (n == nullptr) return {};
    std::string out = name_to_string(n);
    X509_NAME_free(n);
    return out;
  };
  auto decode_time = [](std::span<const uint8_t> der) -> int64_t {
    const unsigned char* q = der.data();
    ASN1_TIME* t = d2i_ASN1_TIME(nullptr, &q, static_cast<long>(der.size()));
    if (t == nullptr) return 0;
    int64_t v = asn1_time_to_epoch(t);
    ASN1_TIME_free(t);
    return v;
  };
  c.subject = decode_name(cert->subject);
  c.issuer = decode_name(cert->issuer);
  // The serial as its DER content bytes (a leading 0x00 pad included), like Suricata's
  // raw_serial_as_string.
  {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string sr;
    for (uint8_t b : cert->serial) {
      if (!sr.empty()) sr.push_back(':');
      sr.push_back(kHex[b >> 4]);
      sr.push_back(kHex[b & 0xf]);
    }
    c.serial = std::move(sr);
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  if (EVP_Digest(first.data(), first.size(), md, &mdlen, EVP_sha1(), nullptr) == 1) {
    c.fingerprint = hex_lower(md, mdlen, ':');
  }
  c.not_before = decode_time(cert->not_before);
  c.not_after = decode_time(cert->not_after);
  if (!cert->san.empty()) {
    const unsigned char* q = cert->san.data();
    if (auto* names = d2i_GENERAL_NAMES(nullptr, &q, static_cast<long>(cert->san.size()))) {
      for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
        const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
        if (gn->type == GEN_DNS) {
          const ASN1_IA5STRING* str = gn->d.dNSName;
          c.sans.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(str)),
                              static_cast<size_t>(ASN1_STRING_length(str)));
        }
      }
      GENERAL_NAMES_free(names);
    }
  }
  state_.cert_ = std::move(c);
}

// ---- EVE -------------------------------------------------------------------------------------

nlohmann::json tls_eve(const TlsState& s) {
  nlohmann::json j = nlohmann::json::object();
  if (const auto& c = s.certificate()) {
    j["subject"] = json_safe_string(c->subject);
    j["issuerdn"] = json_safe_string(c->issuer);
    j["serial"] = c->serial;
  }
  if (s.session_resumed()) j["session_resumed"] = true;
  if (const auto& c = s.certificate()) j["fingerprint"] = c->fingerprint;
  if (s.client_hello() && !s.client_hello()->sni.empty()) {
    j["sni"] = json_safe_string(s.client_hello()->sni);
  }
  j["version"] = tls_version_name(s.version());
  if (const auto& c = s.certificate()) {
    j["notbefore"] = format_time(c->not_before);
    j["notafter"] = format_time(c->not_after);
  }
  if (!s.ja3_hash().empty()) j["ja3"] = {{"hash", s.ja3_hash()}, {"string", s.ja3_string()}};
  if (!s.ja3s_hash().empty()) j["ja3s"] = {{"hash", s.ja3s_hash()}, {"string", s.ja3s_string()}};
  if (!s.ja4().empty()) j["ja4"] = s.ja4();
  return j;
}

}  // namespace vigil::sensor::app
