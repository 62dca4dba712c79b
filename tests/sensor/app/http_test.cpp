#include <catch2/catch.hpp>
#include <zlib.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "vigil/sensor/app/http.h"

namespace app = vigil::sensor::app;
using vigil::rules::Buffer;

namespace {

std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string str(std::span<const uint8_t> s) {
  return {reinterpret_cast<const char*>(s.data()), s.size()};
}

std::string gzip(std::string_view in) {
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(compressBound(static_cast<uLong>(in.size())) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string chunked(std::string_view body, size_t chunk) {
  std::string out;
  char hex[16];
  for (size_t i = 0; i < body.size(); i += chunk) {
    const size_t n = std::min(chunk, body.size() - i);
    std::snprintf(hex, sizeof hex, "%zx\r\n", n);
    out += hex;
    out.append(body.substr(i, n));
    out += "\r\n";
  }
  out += "0\r\n\r\n";
  return out;
}

std::shared_ptr<const app::HttpEngine> engine(app::HttpConfig cfg = {}) {
  auto e = app::HttpEngine::create(cfg);
  REQUIRE(e);
  return e;
}

app::HttpParser make_parser(std::shared_ptr<const app::HttpEngine> e) {
  return app::HttpParser(std::move(e), 40000, 80, vigil::core::Timestamp{});
}

const vigil::core::Timestamp kTs{1'700'000'000'000'000};

}  // namespace

TEST_CASE("http: request and response buffers", "[sensor][app][http]") {
  auto p = std::make_unique<app::HttpParser>(engine(), 40000, 80, kTs);
  const std::string req =
      "GET /a%20b/../c?x=%41&y=1+2 HTTP/1.1\r\n"
      "Host: WWW.Example.COM:8080\r\n"
      "User-Agent: Vigil/1.0\r\n"
      "Cookie: session=abc\r\n"
      "Accept: */*\r\n"
      "\r\n";
  p->on_data(app::kToServer, bytes(req), kTs);
  REQUIRE(p->updated_txs().size() == 1);
  const app::HttpTx& tx = *p->updated_txs().front();
  CHECK(tx.request_complete());
  CHECK_FALSE(tx.response_started());
  CHECK(str(tx.buffer(Buffer::HttpMethod)) == "GET");
  CHECK(str(tx.buffer(Buffer::HttpUriRaw)) == "/a%20b/../c?x=%41&y=1+2");
  // Path decoded and dot-segments removed by libhtp; query url-decoded once, '+' kept.
  CHECK(str(tx.buffer(Buffer::HttpUri)) == "/c?x=A&y=1+2");
  CHECK(str(tx.buffer(Buffer::HttpProtocol)) == "HTTP/1.1");
  CHECK(str(tx.buffer(Buffer::HttpRequestLine)) == "GET /a%20b/../c?x=%41&y=1+2 HTTP/1.1");
  CHECK(str(tx.buffer(Buffer::HttpHost)) == "www.example.com");
  CHECK(str(tx.buffer(Buffer::HttpHostRaw)) == "WWW.Example.COM:8080");
  CHECK(str(tx.buffer(Buffer::HttpUserAgent)) == "Vigil/1.0");
  CHECK(str(tx.buffer(Buffer::HttpCookie)) == "session=abc");
  CHECK(str(tx.buffer(Buffer::HttpAccept)) == "*/*");
  CHECK(str(tx.buffer(Buffer::HttpHeader)) ==
        "Host: WWW.Example.COM:8080\r\nUser-Agent: Vigil/1.0\r\nAccept: */*\r\n");
  CHECK(str(tx.buffer(Buffer::HttpHeaderRaw)).find("Cookie: session=abc\r\n") != std::string::npos);
  CHECK(str(tx.buffer(Buffer::HttpStart)).rfind("GET /a%20b/../c?x=%41&y=1+2 HTTP/1.1\r\nHost:", 0) == 0);
  CHECK(tx.buffer_final(Buffer::HttpUri));
  CHECK_FALSE(tx.buffer_final(Buffer::HttpStatCode));
  CHECK(tx.request_port() == 8080);

  const std::string res =
      "HTTP/1.1 200 OK\r\n"
      "Content-Type: text/html; charset=utf-8\r\n"
      "Set-Cookie: id=1\r\n"
      "Content-Length: 5\r\n"
      "\r\n"
      "hello";
  p->on_data(app::kToClient, bytes(res), kTs);
  REQUIRE(p->updated_txs().size() == 1);
  CHECK(p->updated_txs().front() == &tx);
  CHECK(tx.response_complete());
  CHECK(str(tx.buffer(Buffer::HttpStatCode)) == "200");
  CHECK(str(tx.buffer(Buffer::HttpStatMsg)) == "OK");
  CHECK(str(tx.buffer(Buffer::HttpResponseLine)) == "HTTP/1.1 200 OK");
  CHECK(str(tx.buffer(Buffer::HttpResponseBody)) == "hello");
  CHECK(str(tx.buffer(Buffer::FileData, app::kToClient)) == "hello");
  CHECK(str(tx.buffer(Buffer::HttpCookie, app::kToClient)) == "id=1");
  CHECK(str(tx.buffer(Buffer::HttpHeader, app::kToClient)) ==
        "Content-Type: text/html; charset=utf-8\r\nContent-Length: 5\r\n");
  CHECK(str(tx.buffer(Buffer::HttpContentType, app::kToClient)) == "text/html; charset=utf-8");
  CHECK(tx.status() == 200);

  const nlohmann::json eve = app::http_eve(tx);
  CHECK(eve["hostname"] == "www.example.com");
  CHECK(eve["http_port"] == 8080);
  CHECK(eve["url"] == "/a%20b/../c?x=%41&y=1+2");
  CHECK(eve["http_user_agent"] == "Vigil/1.0");
  CHECK(eve["http_content_type"] == "text/html");
  CHECK(eve["http_method"] == "GET");
  CHECK(eve["protocol"] == "HTTP/1.1");
  CHECK(eve["status"] == 200);
  CHECK(eve["length"] == 5);

  p->release_completed();
  CHECK(p->txs().empty());
}

TEST_CASE("http: pipelined requests on a keep-alive connection", "[sensor][app][http]") {
  auto p = make_parser(engine());
  p.on_data(app::kToServer,
            bytes("GET /one HTTP/1.1\r\nHost: a\r\n\r\n"
                  "POST /two HTTP/1.1\r\nHost: b\r\nContent-Length: 4\r\n\r\nbody"
                  "GET /three HTTP/1.1\r\nHost: c\r\n\r\n"),
            kTs);
  REQUIRE(p.txs().size() == 3);
  CHECK(p.updated_txs().size() == 3);
  CHECK(str(p.txs()[1]->buffer(Buffer::HttpRequestBody)) == "body");
  CHECK(str(p.txs()[1]->buffer(Buffer::FileData, app::kToServer)) == "body");
  p.on_data(app::kToClient,
            bytes("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1"
                  "HTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\n2"),
            kTs);
  CHECK(p.updated_txs().size() == 2);
  CHECK(str(p.txs()[0]->buffer(Buffer::HttpResponseBody)) == "1");
  CHECK(str(p.txs()[1]->buffer(Buffer::HttpStatCode)) == "404");
  CHECK(str(p.txs()[1]->buffer(Buffer::HttpResponseBody)) == "2");
  CHECK_FALSE(p.txs()[2]->response_started());
  p.release_completed();
  REQUIRE(p.txs().size() == 1);
  CHECK(str(p.txs()[0]->buffer(Buffer::HttpUri)) == "/three");
  p.on_data(app::kToClient, bytes("HTTP/1.1 304 Not Modified\r\n\r\n"), kTs);
  CHECK(p.txs()[0]->response_complete());
  CHECK(p.stats().txs_complete == 3);
}

TEST_CASE("http: chunked gzip response, split at every byte boundary", "[sensor][app][http]") {
  std::string body;
  for (int i = 0; i < 200; ++i) body += "line " + std::to_string(i) + " of the decoded body\n";
  const std::string response = "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n" +
                               chunked(gzip(body), 100);
  const std::string request = "GET /z HTTP/1.1\r\nHost: h\r\n\r\n";
  auto e = engine();

  SECTION("whole") {
    auto p = make_parser(e);
    p.on_data(app::kToServer, bytes(request), kTs);
    p.on_data(app::kToClient, bytes(response), kTs);
    REQUIRE(p.txs().size() == 1);
    CHECK(p.txs()[0]->response_complete());
    CHECK(str(p.txs()[0]->buffer(Buffer::FileData, app::kToClient)) == body);
  }
  SECTION("two pieces, every split point") {
    for (size_t cut = 1; cut < response.size(); ++cut) {
      auto p = make_parser(e);
      p.on_data(app::kToServer, bytes(request), kTs);
      p.on_data(app::kToClient, bytes(std::string_view(response).substr(0, cut)), kTs);
      p.on_data(app::kToClient, bytes(std::string_view(response).substr(cut)), kTs);
      REQUIRE(p.txs().size() == 1);
      INFO("cut at " << cut);
      REQUIRE(p.txs()[0]->response_complete());
      REQUIRE(str(p.txs()[0]->buffer(Buffer::HttpResponseBody)) == body);
    }
  }
  SECTION("one byte at a time, request too") {
    auto p = make_parser(e);
    for (char c : request) p.on_data(app::kToServer, bytes(std::string_view(&c, 1)), kTs);
    for (char c : response) p.on_data(app::kToClient, bytes(std::string_view(&c, 1)), kTs);
    REQUIRE(p.txs().size() == 1);
    CHECK(str(p.txs()[0]->buffer(Buffer::HttpUri)) == "/z");
    CHECK(p.txs()[0]->response_complete());
    CHECK(str(p.txs()[0]->buffer(Buffer::FileData, app::kToClient)) == body);
    CHECK(p.txs()[0]->response_message_len() > 0);
  }
}

TEST_CASE("http: body limits are enforced and counted", "[sensor][app][http]") {
  app::HttpConfig cfg;
  cfg.response_body_limit = 10;
  cfg.request_body_limit = 3;
  auto p = make_parser(engine(cfg));
  p.on_data(app::kToServer,
            bytes("POST /u HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\n\r\nabcdef"), kTs);
  p.on_data(app::kToClient,
            bytes("HTTP/1.1 200 OK\r\nContent-Length: 26\r\n\r\nabcdefghijklmnopqrstuvwxyz"),
            kTs);
  REQUIRE(p.txs().size() == 1);
  const app::HttpTx& tx = *p.txs()[0];
  CHECK(str(tx.buffer(Buffer::HttpRequestBody)) == "abc");
  CHECK(str(tx.buffer(Buffer::HttpResponseBody)) == "abcdefghij");
  CHECK(tx.response_body_seen() == 26);
  CHECK((tx.anomalies() & app::http_anomaly::kRequestBodyTruncated) != 0);
  CHECK((tx.anomalies() & app::http_anomaly::kResponseBodyTruncated) != 0);
  CHECK(p.stats().request_body_truncated == 1);
  CHECK(p.stats().response_body_truncated == 1);
}

TEST_CASE("http: response delimited by connection close", "[sensor][app][http]") {
  auto p = make_parser(engine());
  p.on_data(app::kToServer, bytes("GET / HTTP/1.0\r\n\r\n"), kTs);
  p.on_data(app::kToClient, bytes("HTTP/1.0 200 OK\r\n\r\npart one, "), kTs);
  p.on_data(app::kToClient, bytes("part two"), kTs);
  REQUIRE(p.txs().size() == 1);
  CHECK_FALSE(p.txs()[0]->response_complete());
  CHECK_FALSE(p.txs()[0]->buffer_final(Buffer::FileData, app::kToClient));
  p.on_close();
  CHECK(p.txs()[0]->response_complete());
  CHECK(str(p.txs()[0]->buffer(Buffer::FileData, app::kToClient)) == "part one, part two");
  CHECK(p.txs()[0]->buffer_final(Buffer::FileData, app::kToClient));
}

TEST_CASE("http: multipart upload file data", "[sensor][app][http]") {
  const std::string body =
      "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nfield\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"e.txt\"\r\n"
      "Content-Type: text/plain\r\n\r\nFILE CONTENT\r\n--XyZ--\r\n";
  auto p = make_parser(engine());
  p.on_data(app::kToServer,
            bytes("POST /up HTTP/1.1\r\nHost: h\r\nContent-Type: multipart/form-data; "
                  "boundary=XyZ\r\nContent-Length: " +
                  std::to_string(body.size()) + "\r\n\r\n" + body),
            kTs);
  REQUIRE(p.txs().size() == 1);
  CHECK(str(p.txs()[0]->buffer(Buffer::FileData, app::kToServer)) == "FILE CONTENT");
  CHECK(str(p.txs()[0]->buffer(Buffer::HttpRequestBody)) == body);
}

TEST_CASE("http: gap inside a response body", "[sensor][app][http]") {
  auto p = make_parser(engine());
  p.on_data(app::kToServer, bytes("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), kTs);
  p.on_data(app::kToClient, bytes("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nabcd"), kTs);
  p.on_gap(app::kToClient, 4);
  p.on_data(app::kToClient, bytes("ijkl"), kTs);
  REQUIRE(p.txs().size() == 1);
  CHECK((p.txs()[0]->anomalies() & app::http_anomaly::kGap) != 0);
  CHECK(p.stats().gaps == 1);
  // The transaction must still end on the Content-Length boundary so the next one parses.
  p.on_data(app::kToServer, bytes("GET /next HTTP/1.1\r\nHost: h\r\n\r\n"), kTs);
  p.on_data(app::kToClient, bytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), kTs);
  REQUIRE(p.txs().size() == 2);
  CHECK(p.txs()[0]->response_complete());
  CHECK(str(p.txs()[1]->buffer(Buffer::FileData, app::kToClient)) == "ok");
}

TEST_CASE("http: garbage does not crash and is counted", "[sensor][app][http]") {
  auto p = make_parser(engine());
  std::string junk;
  for (int i = 0; i < 5000; ++i) junk.push_back(static_cast<char>((i * 131) & 0xff));
  p.on_data(app::kToServer, bytes(junk), kTs);
  p.on_data(app::kToClient, bytes(junk), kTs);
  p.on_close();
  const auto& s = p.stats();
  CHECK(s.libhtp_warnings + s.invalid_header + s.stream_errors + s.field_too_long > 0);
  for (const auto& tx : p.txs()) (void)app::http_eve(*tx).dump();
}
