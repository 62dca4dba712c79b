// HTTP/1.x via libhtp. The libhtp configuration mirrors Suricata's app-layer-htp.c
// (HTPConfigSetDefaultsPhase1/2 and HTPConfigParseParameters with suricata.yaml defaults) so the
// buffers match what Suricata rules expect; see README.md for the mapping.
#include "vigil/sensor/app/http.h"

#include <htp/htp.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string_view>

#include "app/text_util.h"

namespace vigil::sensor::app {

namespace {

std::string to_string(const bstr* b) {
  if (b == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(bstr_ptr(b)), bstr_len(b));
}

std::span<const uint8_t> as_span(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

htp_time_t to_htp_time(core::Timestamp ts) {
  htp_time_t t{};
  t.tv_sec = static_cast<time_t>(ts.usec / 1000000);
  t.tv_usec = static_cast<suseconds_t>(ts.usec % 1000000);
  return t;
}

void copy_headers(const htp_table_t* table, std::vector<std::pair<std::string, std::string>>& out) {
  out.clear();
  if (table == nullptr) return;
  const size_t n = htp_table_size(table);
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const auto* h = static_cast<const htp_header_t*>(htp_table_get_index(table, i, nullptr));
    if (h == nullptr) continue;
    out.emplace_back(to_string(h->name), to_string(h->value));
  }
}

// Suricata's http.header: "Name: value\r\n" per header in arrival order, leaving out the cookie
// header of that direction, which has its own buffer (detect-http-header.c).
std::string normalised_headers(const std::vector<std::pair<std::string, std::string>>& headers,
                               std::string_view cookie_name) {
  std::string out;
  for (const auto& [name, value] : headers) {
    if (iequals(name, cookie_name)) continue;
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  return out;
}

// Suricata's http.start: start line, then every header (cookies included), then an empty line.
std::string start_buffer(const std::string& line,
                         const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string out = line;
  out += "\r\n";
  for (const auto& [name, value] : headers) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  out += "\r\n";
  return out;
}

const std::string* find_header(const std::vector<std::pair<std::string, std::string>>& headers,
                               std::string_view name) {
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) return &v;
  }
  return nullptr;
}

// SCHTPGenerateNormalizedUri: libhtp normalises the path per personality; the query is
// url-decoded once more here as Suricata does.
std::string normalised_uri(htp_tx_t* tx, bool include_all) {
  const htp_uri_t* uri = tx->parsed_uri;
  if (uri == nullptr) return {};
  std::string r;
  auto add = [&r](const bstr* b) {
    if (b != nullptr) r.append(reinterpret_cast<const char*>(bstr_ptr(b)), bstr_len(b));
  };
  if (include_all) {
    if (uri->scheme != nullptr) {
      add(uri->scheme);
      r.append("://");
    }
    if (uri->username != nullptr || uri->password != nullptr) {
      add(uri->username);
      r.push_back(':');
      add(uri->password);
      r.push_back('@');
    }
    add(uri->hostname);
    if (uri->port != nullptr) {
      r.push_back(':');
      add(uri->port);
    }
  }
  add(uri->path);
  if (uri->query != nullptr) {
    bstr* query = bstr_dup(uri->query);
    if (query != nullptr) {
      uint64_t flags = 0;
      htp_urldecode_inplace(tx->cfg, HTP_DECODER_URLENCODED, query, &flags);
      r.push_back('?');
      add(query);
      bstr_free(query);
    }
  }
  if (uri->fragment != nullptr) {
    r.push_back('#');
    add(uri->fragment);
  }
  return r;
}

// Appends up to `limit` bytes in total (0 = unlimited); returns false when bytes were cut.
bool append_limited(std::string& dst, const unsigned char* data, size_t len, uint32_t limit) {
  if (limit == 0 || dst.size() + len <= limit) {
    dst.append(reinterpret_cast<const char*>(data), len);
    return true;
  }
  if (dst.size() < limit) dst.append(reinterpret_cast<const char*>(data), limit - dst.size());
  return false;
}

// The boundary parameter of a multipart Content-Type, or empty.
std::string multipart_boundary(const std::string& content_type) {
  if (!istarts_with(content_type, "multipart/")) return {};
  const size_t pos = ifind(content_type, "boundary=");
  if (pos == std::string::npos) return {};
  std::string b = content_type.substr(pos + 9);
  const size_t semi = b.find(';');
  if (semi != std::string::npos) b.resize(semi);
  while (!b.empty() && (b.back() == ' ' || b.back() == '\t')) b.pop_back();
  if (b.size() >= 2 && b.front() == '"' && b.back() == '"') b = b.substr(1, b.size() - 2);
  return b.size() < 200 ? b : std::string{};  // Suricata's HTP_BOUNDARY_MAX
}

// The contents of every multipart part that carries a filename, concatenated: the request's
// file data as Suricata's multipart file tracking stores it.
std::string multipart_files(const std::string& body, const std::string& boundary) {
  std::string out;
  const std::string delim = "--" + boundary;
  size_t pos = body.find(delim);
  while (pos != std::string::npos) {
    const size_t hdr_start = pos + delim.size();
    if (body.compare(hdr_start, 2, "--") == 0) break;  // closing delimiter
    const size_t hdr_end = body.find("\r\n\r\n", hdr_start);
    if (hdr_end == std::string::npos) break;
    const size_t data_start = hdr_end + 4;
    size_t next = body.find(delim, data_start);
    const std::string_view headers(body.data() + hdr_start, hdr_end - hdr_start);
    if (ifind(headers, "filename=") != std::string::npos) {
      size_t data_end = next == std::string::npos ? body.size() : next;
      if (next != std::string::npos && data_end >= data_start + 2 &&
          body.compare(data_end - 2, 2, "\r\n") == 0) {
        data_end -= 2;
      }
      out.append(body, data_start, data_end - data_start);
    }
    pos = next;
  }
  return out;
}

struct LogMapping {
  const char* prefix;
  uint32_t anomaly;
};

// libhtp message prefixes, as Suricata maps them to decoder events (app-layer-htp.c htp_errors /
// htp_warnings).
constexpr LogMapping kLogMappings[] = {
    {"Compression bomb:", http_anomaly::kCompressionBomb},
    {"GZip decompressor:", http_anomaly::kDecompressionFailed},
    {"LZMA decompressor:", http_anomaly::kDecompressionFailed},
    {"Too many response content encoding layers", http_anomaly::kTooManyEncodingLayers},
    {"Request buffer over", http_anomaly::kFieldTooLong},
    {"Response buffer over", http_anomaly::kFieldTooLong},
    {"Request chunk encoding: Invalid chunk length", http_anomaly::kInvalidChunkLength},
    {"Response chunk encoding: Invalid chunk length", http_anomaly::kInvalidChunkLength},
    {"Invalid C-L field", http_anomaly::kInvalidContentLength},
    {"Ambiguous request C-L value", http_anomaly::kInvalidContentLength},
    {"Ambiguous response C-L value", http_anomaly::kInvalidContentLength},
    {"Request field invalid", http_anomaly::kInvalidHeader},
    {"Response field invalid", http_anomaly::kInvalidHeader},
    {"Request header name is not a token", http_anomaly::kInvalidHeader},
    {"Response header name is not a token", http_anomaly::kInvalidHeader},
    {"Invalid request field folding", http_anomaly::kInvalidHeader},
    {"Invalid response field folding", http_anomaly::kInvalidHeader},
    {"Too many request headers", http_anomaly::kTooManyHeaders},
    {"Too many response headers", http_anomaly::kTooManyHeaders},
    {"Request line", http_anomaly::kInvalidRequestLine},
    {"Invalid response line", http_anomaly::kInvalidResponseLine},
    {"Unable to match response to request", http_anomaly::kUnmatchedResponse},
};

// Bytes of one direction that libhtp could not take yet (HTP_STREAM_DATA_OTHER) are held back
// until the other direction has moved; beyond this they are dropped and counted.
constexpr size_t kMaxHeldBytes = 1024 * 1024;

}  // namespace

// libhtp's C callbacks, kept in one place with access to the parser internals.
struct HttpCallbacks {
  static HttpParser* parser(htp_tx_t* tx) {
    return static_cast<HttpParser*>(htp_connp_get_user_data(tx->connp));
  }
  static HttpTx* tx_of(htp_tx_t* tx) {
    HttpParser* p = parser(tx);
    if (p == nullptr) return nullptr;
    HttpTx* t = p->tx_for(tx);
    if (t != nullptr) p->mark_updated(t);
    return t;
  }

  static int request_start(htp_tx_t* tx) {
    if (HttpTx* t = tx_of(tx)) t->req_started_ = true;
    return HTP_OK;
  }

  static int request_line(htp_tx_t* tx) {
    HttpTx* t = tx_of(tx);
    if (t == nullptr) return HTP_OK;
    HttpParser* p = parser(tx);
    const HttpConfig& cfg = p->config();
    // Double decoding runs before the normalised URI is built, as in Suricata where those
    // callbacks are registered in phase 1 and the normaliser in phase 2.
    if (tx->parsed_uri != nullptr) {
      uint64_t flags = 0;
      if (cfg.double_decode_query && tx->parsed_uri->query != nullptr) {
        htp_urldecode_inplace(tx->cfg, HTP_DECODER_URLENCODED, tx->parsed_uri->query, &flags);
      }
      if (cfg.double_decode_path && tx->parsed_uri->path != nullptr) {
        htp_urldecode_inplace(tx->cfg, HTP_DECODER_URLENCODED, tx->parsed_uri->path, &flags);
      }
    }
    t->uri_ = normalised_uri(tx, cfg.uri_include_all);
    t->uri_raw_ = to_string(tx->request_uri);
    t->method_ = to_string(tx->request_method);
    t->protocol_ = to_string(tx->request_protocol);
    t->request_line_ = to_string(tx->request_line);
    t->req_line_ = true;
    ++p->stats_.requests;
    return HTP_OK;
  }

  static int request_headers(htp_tx_t* tx) {
    HttpTx* t = tx_of(tx);
    if (t == nullptr) return HTP_OK;
    copy_headers(tx->request_headers, t->req_headers_list_);
    t->host_ = to_string(tx->request_hostname);
    // http.host is lower case (Suricata rejects upper-case http.host patterns for that reason).
    for (char& c : t->host_) c = ascii_lower(c);
    if (tx->parsed_uri_raw != nullptr && tx->parsed_uri_raw->hostname != nullptr) {
      t->host_raw_ = to_string(tx->parsed_uri_raw->hostname);
    } else if (const std::string* h = find_header(t->req_headers_list_, "Host")) {
      t->host_raw_ = *h;
    }
    t->port_ = tx->request_port_number;
    t->req_header_ = normalised_headers(t->req_headers_list_, "Cookie");
    t->req_start_ = start_buffer(t->request_line_, t->req_headers_list_);
    t->req_headers_ = true;
    return HTP_OK;
  }

  static int request_header_data(htp_tx_data_t* d) {
    if (d->data == nullptr || d->len == 0) return HTP_OK;
    if (HttpTx* t = tx_of(d->tx)) {
      t->req_header_raw_.append(reinterpret_cast<const char*>(d->data), d->len);
    }
    return HTP_OK;
  }

  static int request_body_data(htp_tx_data_t* d) {
    if (d->data == nullptr || d->len == 0) return HTP_OK;
    HttpTx* t = tx_of(d->tx);
    if (t == nullptr) return HTP_OK;
    HttpParser* p = parser(d->tx);
    t->req_body_seen_ += d->len;
    if (!append_limited(t->req_body_, d->data, d->len, p->config().request_body_limit) &&
        (t->anomalies_ & http_anomaly::kRequestBodyTruncated) == 0) {
      t->anomalies_ |= http_anomaly::kRequestBodyTruncated;
      ++p->stats_.request_body_truncated;
    }
    return HTP_OK;
  }

  static int request_complete(htp_tx_t* tx) {
    HttpTx* t = tx_of(tx);
    if (t == nullptr) return HTP_OK;
    t->req_complete_ = true;
    t->req_message_len_ = tx->request_message_len;
    if (const std::string* ct = find_header(t->req_headers_list_, "Content-Type")) {
      const std::string boundary = multipart_boundary(*ct);
      if (!boundary.empty()) t->req_file_ = multipart_files(t->req_body_, boundary);
    }
    if (t->res_complete_) ++parser(tx)->stats_.txs_complete;
    return HTP_OK;
  }

  static int response_start(htp_tx_t* tx) {
    if (HttpTx* t = tx_of(tx)) t->res_started_ = true;
    return HTP_OK;
  }

  static int response_line(htp_tx_t* tx) {
    HttpTx* t = tx_of(tx);
    if (t == nullptr) return HTP_OK;
    t->stat_code_ = to_string(tx->response_status);
    t->stat_msg_ = to_string(tx->response_message);
    t->response_line_ = to_string(tx->response_line);
    t->res_protocol_ = to_string(tx->response_protocol);
    t->status_ = tx->response_status_number >= 100 && tx->response_status_number <= 999
                     ? tx->response_status_number
                     : -1;
    t->res_line_ = true;
    ++parser(tx)->stats_.responses;
    return HTP_OK;
  }

  static int response_headers(htp_tx_t* tx) {
    HttpTx* t = tx_of(tx);
    if (t == nullptr) return HTP_OK;
    copy_headers(tx->response_headers, t->res_headers_list_);
    t->res_header_ = normalised_headers(t->res_headers_list_, "Set-Cookie");
    t->res_start_ = start_buffer(t->response_line_, t->res_headers_list_);
    t->res_headers_ = true;
    return HTP_OK;
  }

  static int response_header_data(htp_tx_data_t* d) {
    if (d->data == nullptr || d->len == 0) return HTP_OK;
    if (HttpTx* t = tx_of(d->tx)) {
      t->res_header_raw_.append(reinterpret_cast<const char*>(d->data), d->len);
    }
    return HTP_OK;
  }

  static int response_body_data(htp_tx_data_t* d) {
    if (d->data == nullptr || d->len == 0) return HTP_OK;
    HttpTx* t = tx_of(d->tx);
    if (t == nullptr) return HTP_OK;
    HttpParser* p = parser(d->tx);
    t->res_body_seen_ += d->len;
    if (!append_limited(t->res_body_, d->data, d->len, p->config().response_body_limit) &&
        (t->anomalies_ & http_anomaly::kResponseBodyTruncated) == 0) {
      t->anomalies_ |= http_anomaly::kResponseBodyTruncated;
      ++p->stats_.response_body_truncated;
    }
    return HTP_OK;
  }

  static int response_complete(htp_tx_t* tx) {
    HttpTx* t = tx_of(tx);
    if (t == nullptr) return HTP_OK;
    t->res_complete_ = true;
    t->res_message_len_ = tx->response_message_len;
    if (t->req_complete_) ++parser(tx)->stats_.txs_complete;
    return HTP_OK;
  }

  static int log(htp_log_t* log) {
    if (log == nullptr || log->connp == nullptr || log->msg == nullptr) return HTP_OK;
    auto* p = static_cast<HttpParser*>(htp_connp_get_user_data(log->connp));
    if (p == nullptr) return HTP_OK;
    uint32_t bit = http_anomaly::kOtherWarning;
    for (const auto& m : kLogMappings) {
      if (std::strncmp(log->msg, m.prefix, std::strlen(m.prefix)) == 0) {
        bit = m.anomaly;
        break;
      }
    }
    HttpStats& s = p->stats_;
    switch (bit) {
      case http_anomaly::kCompressionBomb: ++s.compression_bomb; break;
      case http_anomaly::kDecompressionFailed: ++s.decompression_failed; break;
      case http_anomaly::kTooManyEncodingLayers: ++s.too_many_encoding_layers; break;
      case http_anomaly::kFieldTooLong: ++s.field_too_long; break;
      case http_anomaly::kTooManyHeaders: ++s.too_many_headers; break;
      case http_anomaly::kInvalidChunkLength: ++s.invalid_chunk_length; break;
      case http_anomaly::kInvalidHeader: ++s.invalid_header; break;
      default: ++s.libhtp_warnings; break;
    }
    if (log->tx != nullptr) {
      if (auto* t = static_cast<HttpTx*>(htp_tx_get_user_data(log->tx))) t->anomalies_ |= bit;
    }
    return HTP_OK;
  }
};

std::shared_ptr<const HttpEngine> HttpEngine::create(const HttpConfig& config) {
  htp_cfg_t* cfg = htp_config_create();
  if (cfg == nullptr) return nullptr;

  // Personality IDS, but without lower-casing the path: signatures do not expect it
  // (Suricata overrides this right after setting any personality).
  htp_config_set_server_personality(cfg, HTP_SERVER_IDS);
  htp_config_set_convert_lowercase(cfg, HTP_DECODER_URL_PATH, 0);

  htp_config_register_request_start(cfg, HttpCallbacks::request_start);
  htp_config_register_request_line(cfg, HttpCallbacks::request_line);
  htp_config_register_request_headers(cfg, HttpCallbacks::request_headers);
  htp_config_register_request_header_data(cfg, HttpCallbacks::request_header_data);
  htp_config_register_request_trailer_data(cfg, HttpCallbacks::request_header_data);
  htp_config_register_request_body_data(cfg, HttpCallbacks::request_body_data);
  htp_config_register_request_complete(cfg, HttpCallbacks::request_complete);
  htp_config_register_response_start(cfg, HttpCallbacks::response_start);
  htp_config_register_response_line(cfg, HttpCallbacks::response_line);
  htp_config_register_response_headers(cfg, HttpCallbacks::response_headers);
  htp_config_register_response_header_data(cfg, HttpCallbacks::response_header_data);
  htp_config_register_response_trailer_data(cfg, HttpCallbacks::response_header_data);
  htp_config_register_response_body_data(cfg, HttpCallbacks::response_body_data);
  htp_config_register_response_complete(cfg, HttpCallbacks::response_complete);
  htp_config_register_log(cfg, HttpCallbacks::log);

  htp_config_set_parse_request_cookies(cfg, 0);
  // Suricata: don't convert '+' to space.
  htp_config_set_plusspace_decode(cfg, HTP_DECODER_URLENCODED, 0);
  // Suricata lets URIs contain spaces (app-layer-htp.c): "GET /a b HTTP/1.1" keeps "/a b".
  htp_config_set_allow_space_uri(cfg, 1);
  htp_config_set_request_decompression(cfg, 1);
  htp_config_set_response_decompression(cfg, 1);
  htp_config_set_response_decompression_layer_limit(cfg, config.response_decompress_layer_limit);
  htp_config_set_lzma_layers(cfg, config.lzma_layers);
  htp_config_set_lzma_memlimit(cfg, config.lzma_memlimit);
  htp_config_set_compression_bomb_limit(cfg, config.compression_bomb_limit);
  htp_config_set_compression_time_limit(cfg, config.decompression_time_limit_usec);
  // Soft limit at libhtp's default, hard limit from meta-field-limit, as Suricata does.
  htp_config_set_field_limits(cfg, std::min<size_t>(9000, config.meta_field_limit),
                              config.meta_field_limit);
  htp_config_set_number_headers_limit(cfg, config.max_headers);
  // Transactions are released by release_completed(), after detection and logging.
  htp_config_set_tx_auto_destroy(cfg, 0);
  return std::shared_ptr<const HttpEngine>(new HttpEngine(config, cfg));
}

HttpEngine::~HttpEngine() {
  if (cfg_ != nullptr) htp_config_destroy(cfg_);
}

// ---- HttpTx ----------------------------------------------------------------------------------

std::span<const uint8_t> HttpTx::buffer(rules::Buffer b, bool to_server) const {
  using rules::Buffer;
  static const std::string kEmpty;
  switch (b) {
    case Buffer::HttpUri: return as_span(uri_);
    case Buffer::HttpUriRaw: return as_span(uri_raw_);
    case Buffer::HttpMethod: return as_span(method_);
    case Buffer::HttpProtocol: return as_span(protocol_);
    case Buffer::HttpRequestLine: return as_span(request_line_);
    case Buffer::HttpHost: return as_span(host_);
    case Buffer::HttpHostRaw: return as_span(host_raw_);
    case Buffer::HttpUserAgent: {
      const std::string* v = request_header("User-Agent");
      return as_span(v ? *v : kEmpty);
    }
    case Buffer::HttpHeader: return as_span(to_server ? req_header_ : res_header_);
    case Buffer::HttpHeaderRaw: return as_span(to_server ? req_header_raw_ : res_header_raw_);
    case Buffer::HttpCookie: {
      const std::string* v =
          to_server ? request_header("Cookie") : response_header("Set-Cookie");
      return as_span(v ? *v : kEmpty);
    }
    case Buffer::HttpStatCode: return as_span(stat_code_);
    case Buffer::HttpStatMsg: return as_span(stat_msg_);
    case Buffer::HttpResponseLine: return as_span(response_line_);
    case Buffer::HttpRequestBody: return as_span(req_body_);
    case Buffer::HttpResponseBody: return as_span(res_body_);
    case Buffer::FileData: {
      // Responses: the decoded body, also when libhtp took a status-less (HTTP/0.9 style)
      // response as body: Suricata's file_data matches there too (http-evader-266).
      if (!to_server) return as_span(res_body_);
      // Requests: multipart file parts once complete; otherwise a POST/PUT body is the file.
      if (!req_file_.empty()) return as_span(req_file_);
      const std::string* ct = request_header("Content-Type");
      if (ct != nullptr && !multipart_boundary(*ct).empty()) return as_span(kEmpty);
      if (method_ == "POST" || method_ == "PUT") return as_span(req_body_);
      return as_span(kEmpty);
    }
    case Buffer::HttpContentType: {
      const std::string* v = to_server ? request_header("Content-Type")
                                       : response_header("Content-Type");
      return as_span(v ? *v : kEmpty);
    }
    case Buffer::HttpContentLen: {
      const std::string* v = to_server ? request_header("Content-Length")
                                       : response_header("Content-Length");
      return as_span(v ? *v : kEmpty);
    }
    case Buffer::HttpAccept: {
      const std::string* v = request_header("Accept");
      return as_span(v ? *v : kEmpty);
    }
    case Buffer::HttpReferer: {
      const std::string* v = request_header("Referer");
      return as_span(v ? *v : kEmpty);
    }
    case Buffer::HttpConnection: {
      const std::string* v = request_header("Connection");
      return as_span(v ? *v : kEmpty);
    }
    case Buffer::HttpStart: return as_span(to_server ? req_start_ : res_start_);
    default: return {};
  }
}

bool HttpTx::buffer_final(rules::Buffer b, bool to_server) const {
  using rules::Buffer;
  switch (b) {
    case Buffer::HttpUri:
    case Buffer::HttpUriRaw:
    case Buffer::HttpMethod:
    case Buffer::HttpProtocol:
    case Buffer::HttpRequestLine:
      return req_line_;
    case Buffer::HttpHost:
    case Buffer::HttpHostRaw:
    case Buffer::HttpUserAgent:
    case Buffer::HttpAccept:
    case Buffer::HttpReferer:
    case Buffer::HttpConnection:
      return req_headers_;
    case Buffer::HttpStatCode:
    case Buffer::HttpStatMsg:
    case Buffer::HttpResponseLine:
      return res_line_;
    case Buffer::HttpHeader:
    case Buffer::HttpHeaderRaw:
      // Trailers may still add raw header bytes: final only when the message is complete.
      return to_server ? req_complete_ : res_complete_;
    case Buffer::HttpCookie:
    case Buffer::HttpContentType:
    case Buffer::HttpContentLen:
    case Buffer::HttpStart:
      return to_server ? req_headers_ : res_headers_;
    case Buffer::HttpRequestBody: return req_complete_;
    case Buffer::HttpResponseBody: return res_complete_;
    case Buffer::FileData: return to_server ? req_complete_ : res_complete_;
    default: return true;
  }
}

const std::string* HttpTx::request_header(std::string_view name) const {
  return find_header(req_headers_list_, name);
}

const std::string* HttpTx::response_header(std::string_view name) const {
  return find_header(res_headers_list_, name);
}

// ---- HttpParser ------------------------------------------------------------------------------

HttpParser::HttpParser(std::shared_ptr<const HttpEngine> engine, uint16_t client_port,
                       uint16_t server_port, core::Timestamp start)
    : engine_(std::move(engine)) {
  connp_ = htp_connp_create(engine_->htp_config());
  if (connp_ == nullptr) {
    req_error_ = res_error_ = true;
    return;
  }
  htp_connp_set_user_data(connp_, this);
  htp_time_t t = to_htp_time(start);
  htp_connp_open(connp_, nullptr, client_port, nullptr, server_port, &t);
}

HttpParser::~HttpParser() {
  for (auto& t : txs_) {
    if (t->htp_ != nullptr) htp_tx_set_user_data(t->htp_, nullptr);
  }
  if (connp_ != nullptr) htp_connp_destroy_all(connp_);
}

void HttpParser::begin_call() { updated_.clear(); }

void HttpParser::mark_updated(HttpTx* tx) {
  if (std::find(updated_.begin(), updated_.end(), tx) == updated_.end()) updated_.push_back(tx);
}

HttpTx* HttpParser::tx_for(htp_tx_t* tx) {
  if (tx == nullptr) return nullptr;
  if (auto* t = static_cast<HttpTx*>(htp_tx_get_user_data(tx))) return t;
  auto owned = std::make_unique<HttpTx>();
  owned->id_ = next_id_++;
  owned->htp_ = tx;
  HttpTx* t = owned.get();
  htp_tx_set_user_data(tx, t);
  txs_.push_back(std::move(owned));
  return t;
}

void HttpParser::on_data(bool to_server, std::span<const uint8_t> data, core::Timestamp ts) {
  begin_call();
  if (data.empty()) return;
  bool& error = to_server ? req_error_ : res_error_;
  const bool closed = to_server ? req_closed_ : res_closed_;
  if (error || closed || connp_ == nullptr) {
    stats_.data_after_error += data.size();
    return;
  }
  const htp_time_t t = to_htp_time(ts);
  auto feed = [&](bool dir, const uint8_t* p, size_t n) -> int {
    return dir ? htp_connp_req_data(connp_, &t, p, n) : htp_connp_res_data(connp_, &t, p, n);
  };
  auto handle = [&](bool dir, const uint8_t* p, size_t n) {
    bool& err = dir ? req_error_ : res_error_;
    std::vector<uint8_t>& held = dir ? held_req_ : held_res_;
    const int rc = feed(dir, p, n);
    if (rc == HTP_STREAM_ERROR) {
      err = true;
      ++stats_.stream_errors;
    } else if (rc == HTP_STREAM_TUNNEL) {
      // CONNECT or upgrade: what follows is not HTTP. Stop parsing this direction quietly.
      err = true;
    } else if (rc == HTP_STREAM_DATA_OTHER) {
      // libhtp wants the other direction first; keep the rest for later.
      const size_t used = dir ? htp_connp_req_data_consumed(connp_)
                              : htp_connp_res_data_consumed(connp_);
      if (used < n) {
        if (held.size() + (n - used) > kMaxHeldBytes) {
          stats_.data_after_error += n - used;
        } else {
          held.insert(held.end(), p + used, p + n);
        }
      }
    }
  };
  std::vector<uint8_t>& held_mine = to_server ? held_req_ : held_res_;
  if (!held_mine.empty()) {
    // Earlier bytes are still waiting: keep order by queueing behind them.
    if (held_mine.size() + data.size() > kMaxHeldBytes) {
      stats_.data_after_error += data.size();
    } else {
      held_mine.insert(held_mine.end(), data.begin(), data.end());
    }
  } else {
    handle(to_server, data.data(), data.size());
  }
  // The other direction may have been waiting for these bytes.
  std::vector<uint8_t>& held_other = to_server ? held_res_ : held_req_;
  bool& other_error = to_server ? res_error_ : req_error_;
  if (!held_other.empty() && !other_error) {
    std::vector<uint8_t> pending;
    pending.swap(held_other);
    handle(!to_server, pending.data(), pending.size());
  }
  trim();
}

void HttpParser::on_gap(bool to_server, size_t len) {
  begin_call();
  ++stats_.gaps;
  bool& error = to_server ? req_error_ : res_error_;
  if (error || connp_ == nullptr || len == 0) return;
  // libhtp 0.5 accepts a NULL chunk as a gap inside bodies and resynchronises elsewhere; mark the
  // transaction being parsed so detection knows its buffers have a hole.
  htp_tx_t* cur = to_server ? htp_connp_get_in_tx(connp_) : htp_connp_get_out_tx(connp_);
  if (cur != nullptr) {
    if (HttpTx* t = tx_for(cur)) {
      t->anomalies_ |= http_anomaly::kGap;
      mark_updated(t);
    }
  }
  const int rc = to_server ? htp_connp_req_data(connp_, nullptr, nullptr, len)
                           : htp_connp_res_data(connp_, nullptr, nullptr, len);
  if (rc == HTP_STREAM_ERROR) {
    error = true;
    ++stats_.stream_errors;
  }
}

void HttpParser::on_close() {
  begin_call();
  if (connp_ == nullptr) return;
  const htp_time_t t{};
  // Held-back bytes get a last chance now that no more data will come.
  for (int i = 0; i < 2; ++i) {
    for (bool dir : {kToServer, kToClient}) {
      std::vector<uint8_t>& held = dir ? held_req_ : held_res_;
      bool& err = dir ? req_error_ : res_error_;
      if (held.empty() || err) continue;
      std::vector<uint8_t> pending;
      pending.swap(held);
      const int rc = dir ? htp_connp_req_data(connp_, &t, pending.data(), pending.size())
                         : htp_connp_res_data(connp_, &t, pending.data(), pending.size());
      if (rc == HTP_STREAM_ERROR) {
        err = true;
        ++stats_.stream_errors;
      }
    }
  }
  if (!req_closed_) {
    htp_connp_req_close(connp_, &t);
    req_closed_ = true;
  }
  if (!res_closed_) {
    // Finalises a response delimited by connection close (no length, not chunked).
    htp_connp_close(connp_, &t);
    res_closed_ = true;
  }
  trim();
}

void HttpParser::trim() {
  const size_t limit = std::max<uint32_t>(engine_->config().max_pending_txs, 1);
  while (txs_.size() > limit) {
    // Drop the oldest transaction libhtp is done with; if the oldest is still being parsed, stop.
    HttpTx* t = txs_.front().get();
    if (t->htp_ != nullptr) {
      if (t->htp_->request_progress != HTP_REQUEST_COMPLETE ||
          t->htp_->response_progress != HTP_RESPONSE_COMPLETE) {
        break;
      }
      htp_tx_set_user_data(t->htp_, nullptr);
      htp_tx_destroy(t->htp_);
    }
    updated_.erase(std::remove(updated_.begin(), updated_.end(), t), updated_.end());
    txs_.pop_front();
    ++stats_.txs_dropped;
  }
}

void HttpParser::release_completed() {
  for (auto it = txs_.begin(); it != txs_.end();) {
    HttpTx* t = it->get();
    bool done = t->complete();
    if (done && t->htp_ != nullptr) {
      // libhtp refuses to destroy a transaction it still considers incomplete.
      if (t->htp_->request_progress != HTP_REQUEST_COMPLETE ||
          t->htp_->response_progress != HTP_RESPONSE_COMPLETE) {
        done = false;
      } else {
        htp_tx_set_user_data(t->htp_, nullptr);
        htp_tx_destroy(t->htp_);
        t->htp_ = nullptr;
      }
    }
    if (done) {
      updated_.erase(std::remove(updated_.begin(), updated_.end(), t), updated_.end());
      it = txs_.erase(it);
    } else {
      ++it;
    }
  }
}

// ---- EVE -------------------------------------------------------------------------------------

nlohmann::json http_eve(const HttpTx& tx) {
  nlohmann::json j = nlohmann::json::object();
  auto str = [](std::span<const uint8_t> s) {
    return json_safe_string(std::string_view(reinterpret_cast<const char*>(s.data()), s.size()));
  };
  using rules::Buffer;
  if (!tx.buffer(Buffer::HttpHost).empty()) j["hostname"] = str(tx.buffer(Buffer::HttpHost));
  if (tx.request_port() >= 0) j["http_port"] = tx.request_port();
  if (!tx.buffer(Buffer::HttpUriRaw).empty()) j["url"] = str(tx.buffer(Buffer::HttpUriRaw));
  if (const std::string* ua = tx.request_header("User-Agent")) {
    j["http_user_agent"] = json_safe_string(*ua);
  }
  if (const std::string* ct = tx.response_header("Content-Type")) {
    // Suricata logs the media type only, without parameters.
    std::string v = *ct;
    const size_t semi = v.find(';');
    if (semi != std::string::npos) v.resize(semi);
    j["http_content_type"] = json_safe_string(v);
  }
  if (const std::string* ref = tx.request_header("Referer")) {
    j["http_refer"] = json_safe_string(*ref);
  }
  if (!tx.buffer(Buffer::HttpMethod).empty()) j["http_method"] = str(tx.buffer(Buffer::HttpMethod));
  if (!tx.buffer(Buffer::HttpProtocol).empty()) {
    j["protocol"] = str(tx.buffer(Buffer::HttpProtocol));
  }
  if (tx.status() > 0) j["status"] = tx.status();
  if (const std::string* loc = tx.response_header("Location")) {
    j["redirect"] = json_safe_string(*loc);
  }
  j["length"] = std::max<int64_t>(tx.response_message_len(), 0);
  return j;
}

}  // namespace vigil::sensor::app
