// HTTP/1.x parsing on top of libhtp, configured the way Suricata configures it (IDS personality,
// no path lower-casing, response decompression with a layer limit, compression-bomb limit), so
// that the sticky buffers rules inspect hold what Suricata's buffers hold.
//
// Ownership: an HttpEngine (libhtp configuration plus our limits) is created once per config and
// shared by every HttpParser through a shared_ptr; it is immutable and thread-safe to share. An
// HttpParser belongs to one flow. HttpTx objects are owned by their parser and stay valid until
// release_completed() frees them or the parser is destroyed. Spans returned by HttpTx::buffer()
// point into the transaction and are valid until the next on_data/on_gap/on_close call on the
// parser (a buffer may grow and reallocate) or until the transaction is released.
//
// libhtp headers stay in sensor/src/app; nothing here exposes them.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "vigil/sensor/app/app_parser.h"

struct htp_cfg_t;
struct htp_connp_t;
struct htp_tx_t;

namespace vigil::sensor::app {

struct HttpConfig {
  // Body bytes kept per transaction (after de-chunking and decompression), Suricata's
  // request-body-limit / response-body-limit (suricata.yaml default 100kb each). 0 = unlimited.
  uint32_t request_body_limit = 100 * 1024;
  uint32_t response_body_limit = 100 * 1024;
  // When detection may inspect a body that is still growing (Suricata's
  // *-body-minimal-inspect-size / *-body-inspect-window, suricata.yaml defaults). Not used by the
  // parser; carried here so detection reads them from one config.
  uint32_t request_inspect_min_size = 32 * 1024;
  uint32_t request_inspect_window = 4 * 1024;
  uint32_t response_inspect_min_size = 40 * 1024;
  uint32_t response_inspect_window = 16 * 1024;
  // Content-Encoding layers decoded in responses (gzip over deflate over ...). Suricata's
  // response-body-decompress-layer-limit; libhtp default 2.
  int response_decompress_layer_limit = 2;
  // Decompressed bytes allowed per compressed byte window before libhtp stops decompressing
  // (compression-bomb-limit), and the time budget per decompression call in microseconds.
  uint32_t compression_bomb_limit = 1024 * 1024;
  uint32_t decompression_time_limit_usec = 100000;
  // LZMA content-encoding: off by default in Suricata (lzma-enabled), memory bounded when on.
  int lzma_layers = 0;
  uint32_t lzma_memlimit = 1024 * 1024;
  // Longest request line / header line libhtp buffers (meta-field-limit).
  uint32_t meta_field_limit = 18000;
  // Header lines per message before libhtp stops storing them.
  uint32_t max_headers = 1024;
  // Transactions kept per flow that the caller has not released; above this the oldest complete
  // ones are dropped (counted), protecting memory against pipelining floods.
  uint32_t max_pending_txs = 256;
  // Suricata's double-decode-path / double-decode-query (off by default).
  bool double_decode_path = false;
  bool double_decode_query = false;
  // Suricata's uri-include-all: http.uri carries scheme://user:pass@host:port as well.
  bool uri_include_all = false;
};

// The libhtp configuration built from an HttpConfig. Immutable; share it across flows and threads.
class HttpEngine {
 public:
  // Returns nullptr only when libhtp cannot allocate its configuration.
  static std::shared_ptr<const HttpEngine> create(const HttpConfig& config);
  ~HttpEngine();
  HttpEngine(const HttpEngine&) = delete;
  HttpEngine& operator=(const HttpEngine&) = delete;

  [[nodiscard]] const HttpConfig& config() const { return config_; }
  [[nodiscard]] htp_cfg_t* htp_config() const { return cfg_; }

 private:
  HttpEngine(const HttpConfig& config, htp_cfg_t* cfg) : config_(config), cfg_(cfg) {}
  HttpConfig config_;
  htp_cfg_t* cfg_ = nullptr;
};

// Per-transaction anomaly bits (also counted in HttpStats).
namespace http_anomaly {
constexpr uint32_t kRequestBodyTruncated = 1u << 0;   // request-body-limit hit
constexpr uint32_t kResponseBodyTruncated = 1u << 1;  // response-body-limit hit
constexpr uint32_t kCompressionBomb = 1u << 2;
constexpr uint32_t kDecompressionFailed = 1u << 3;
constexpr uint32_t kTooManyEncodingLayers = 1u << 4;
constexpr uint32_t kFieldTooLong = 1u << 5;           // meta-field-limit hit
constexpr uint32_t kTooManyHeaders = 1u << 6;
constexpr uint32_t kInvalidChunkLength = 1u << 7;
constexpr uint32_t kInvalidContentLength = 1u << 8;
constexpr uint32_t kInvalidHeader = 1u << 9;          // missing colon, not a token, folding
constexpr uint32_t kInvalidRequestLine = 1u << 10;
constexpr uint32_t kInvalidResponseLine = 1u << 11;
constexpr uint32_t kUnmatchedResponse = 1u << 12;     // response without a request
constexpr uint32_t kGap = 1u << 13;                   // bytes lost inside this transaction
constexpr uint32_t kOtherWarning = 1u << 14;
}  // namespace http_anomaly

struct HttpStats {
  uint64_t requests = 0;            // request lines parsed
  uint64_t responses = 0;           // response lines parsed
  uint64_t txs_complete = 0;        // both directions complete
  uint64_t request_body_truncated = 0;
  uint64_t response_body_truncated = 0;
  uint64_t compression_bomb = 0;
  uint64_t decompression_failed = 0;
  uint64_t too_many_encoding_layers = 0;
  uint64_t field_too_long = 0;
  uint64_t too_many_headers = 0;
  uint64_t invalid_chunk_length = 0;
  uint64_t invalid_header = 0;
  uint64_t libhtp_warnings = 0;     // any other libhtp warning or error message
  uint64_t stream_errors = 0;       // libhtp gave up on a direction
  uint64_t data_after_error = 0;    // bytes dropped because a direction was in error
  uint64_t gaps = 0;
  uint64_t txs_dropped = 0;         // max_pending_txs forced a release
};

class HttpParser;

// One request/response pair. Every buffer is copied out of libhtp when its stage completes, so a
// transaction stands alone once its parser callbacks are done with it.
class HttpTx {
 public:
  [[nodiscard]] uint64_t id() const { return id_; }

  // The bytes of a sticky buffer; empty when absent (or not an HTTP buffer). `to_server` selects
  // the direction for buffers Suricata has in both directions: http.header, http.header.raw,
  // http.cookie (Cookie / Set-Cookie), http.content_type, http.content_len, http.start and
  // file.data (request file body / response body). Other buffers ignore it.
  [[nodiscard]] std::span<const uint8_t> buffer(rules::Buffer b, bool to_server = kToServer) const;

  // True when buffer `b` in that direction will not change any more (its stage is complete).
  [[nodiscard]] bool buffer_final(rules::Buffer b, bool to_server = kToServer) const;

  // Progress. "line" = request/status line parsed; "headers" = header block parsed (the header
  // buffers are final); "complete" = body and trailers done.
  [[nodiscard]] bool request_started() const { return req_started_; }
  [[nodiscard]] bool request_line_done() const { return req_line_; }
  [[nodiscard]] bool request_headers_done() const { return req_headers_; }
  [[nodiscard]] bool request_complete() const { return req_complete_; }
  [[nodiscard]] bool response_started() const { return res_started_; }
  [[nodiscard]] bool response_line_done() const { return res_line_; }
  [[nodiscard]] bool response_headers_done() const { return res_headers_; }
  [[nodiscard]] bool response_complete() const { return res_complete_; }
  [[nodiscard]] bool complete() const { return req_complete_ && res_complete_; }

  [[nodiscard]] uint32_t anomalies() const { return anomalies_; }
  [[nodiscard]] int status() const { return status_; }  // -1 until a valid status is parsed
  // Body bytes seen on the wire (before decompression, after de-chunking), as libhtp counts them.
  [[nodiscard]] int64_t request_message_len() const { return req_message_len_; }
  [[nodiscard]] int64_t response_message_len() const { return res_message_len_; }
  // Decoded body bytes seen, including those beyond the body limit.
  [[nodiscard]] uint64_t request_body_seen() const { return req_body_seen_; }
  [[nodiscard]] uint64_t response_body_seen() const { return res_body_seen_; }
  [[nodiscard]] int request_port() const { return port_; }  // from URI/Host, -1 when none

  // A header value by case-insensitive name, first occurrence; nullptr when absent.
  [[nodiscard]] const std::string* request_header(std::string_view name) const;
  [[nodiscard]] const std::string* response_header(std::string_view name) const;
  [[nodiscard]] const std::vector<std::pair<std::string, std::string>>& request_headers() const {
    return req_headers_list_;
  }
  [[nodiscard]] const std::vector<std::pair<std::string, std::string>>& response_headers() const {
    return res_headers_list_;
  }

 private:
  friend class HttpParser;
  friend struct HttpCallbacks;

  uint64_t id_ = 0;
  htp_tx_t* htp_ = nullptr;  // libhtp's transaction while it is alive
  bool req_started_ = false, req_line_ = false, req_headers_ = false, req_complete_ = false;
  bool res_started_ = false, res_line_ = false, res_headers_ = false, res_complete_ = false;
  uint32_t anomalies_ = 0;
  int status_ = -1;
  int port_ = -1;
  int64_t req_message_len_ = 0, res_message_len_ = 0;
  uint64_t req_body_seen_ = 0, res_body_seen_ = 0;

  std::string uri_, uri_raw_, method_, protocol_, request_line_;
  std::string host_, host_raw_;
  std::string req_header_, req_header_raw_, req_start_;
  std::string res_header_, res_header_raw_, res_start_;
  std::string stat_code_, stat_msg_, response_line_, res_protocol_;
  std::string req_body_, res_body_, req_file_;
  std::vector<std::pair<std::string, std::string>> req_headers_list_, res_headers_list_;
};

class HttpParser final : public AppParser {
 public:
  // `client_port`/`server_port` are passed to libhtp, which checks Host ports against them.
  HttpParser(std::shared_ptr<const HttpEngine> engine, uint16_t client_port,
             uint16_t server_port, core::Timestamp start);
  ~HttpParser() override;

  [[nodiscard]] AppProto proto() const override { return AppProto::Http; }
  void on_data(bool to_server, std::span<const uint8_t> data, core::Timestamp ts) override;
  void on_gap(bool to_server, size_t len) override;
  void on_close() override;
  [[nodiscard]] bool failed() const override { return req_error_ && res_error_; }

  // Transactions that changed during the last on_data/on_gap/on_close call, oldest first.
  [[nodiscard]] const std::vector<HttpTx*>& updated_txs() const { return updated_; }
  // Every live transaction, oldest first.
  [[nodiscard]] const std::deque<std::unique_ptr<HttpTx>>& txs() const { return txs_; }
  // Frees transactions complete in both directions. Call after detection and logging are done
  // with the transactions returned by updated_txs().
  void release_completed();

  [[nodiscard]] const HttpStats& stats() const { return stats_; }
  [[nodiscard]] const HttpConfig& config() const { return engine_->config(); }

 private:
  friend struct HttpCallbacks;
  void begin_call();
  void mark_updated(HttpTx* tx);
  HttpTx* tx_for(htp_tx_t* tx);
  void trim();

  std::shared_ptr<const HttpEngine> engine_;
  htp_connp_t* connp_ = nullptr;
  std::deque<std::unique_ptr<HttpTx>> txs_;
  std::vector<HttpTx*> updated_;
  uint64_t next_id_ = 0;
  // Bytes libhtp could not take yet (HTP_STREAM_DATA_OTHER), replayed after the other direction.
  std::vector<uint8_t> held_req_, held_res_;
  bool req_error_ = false, res_error_ = false;
  bool req_closed_ = false, res_closed_ = false;
  HttpStats stats_;
};

// The EVE "http" object for a transaction, with Suricata's field names (output-json-http.c,
// extended logging): hostname, http_port, url, http_user_agent, http_content_type, http_refer,
// http_method, protocol, status, redirect, length. Fields absent from the transaction are omitted.
[[nodiscard]] nlohmann::json http_eve(const HttpTx& tx);

}  // namespace vigil::sensor::app
