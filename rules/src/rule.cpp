#include "vigil/rules/rule.h"

namespace vigil::rules {

const char* buffer_name(Buffer b) {
  switch (b) {
    case Buffer::Payload: return "payload";
    case Buffer::HttpUri: return "http.uri";
    case Buffer::HttpUriRaw: return "http.uri.raw";
    case Buffer::HttpMethod: return "http.method";
    case Buffer::HttpProtocol: return "http.protocol";
    case Buffer::HttpRequestLine: return "http.request_line";
    case Buffer::HttpHost: return "http.host";
    case Buffer::HttpHostRaw: return "http.host.raw";
    case Buffer::HttpUserAgent: return "http.user_agent";
    case Buffer::HttpHeader: return "http.header";
    case Buffer::HttpHeaderRaw: return "http.header.raw";
    case Buffer::HttpCookie: return "http.cookie";
    case Buffer::HttpStatCode: return "http.stat_code";
    case Buffer::HttpStatMsg: return "http.stat_msg";
    case Buffer::HttpResponseLine: return "http.response_line";
    case Buffer::HttpRequestBody: return "http.request_body";
    case Buffer::HttpResponseBody: return "http.response_body";
    case Buffer::FileData: return "file.data";
    case Buffer::HttpContentType: return "http.content_type";
    case Buffer::HttpContentLen: return "http.content_len";
    case Buffer::HttpAccept: return "http.accept";
    case Buffer::HttpReferer: return "http.referer";
    case Buffer::HttpConnection: return "http.connection";
    case Buffer::HttpStart: return "http.start";
    case Buffer::DnsQuery: return "dns.query";
    case Buffer::TlsSni: return "tls.sni";
    case Buffer::TlsCertSubject: return "tls.cert_subject";
    case Buffer::TlsCertIssuer: return "tls.cert_issuer";
    case Buffer::Ja3Hash: return "ja3.hash";
    case Buffer::Ja3String: return "ja3.string";
    case Buffer::Ja4Hash: return "ja4.hash";
    case Buffer::Count_: break;
  }
  return "?";
}

bool Rule::has_content() const {
  for (const auto& bm : buffers) {
    for (const auto& item : bm.items) {
      if (const auto* c = std::get_if<Content>(&item); c != nullptr && !c->negated) return true;
    }
  }
  return false;
}

const BufferMatch* Rule::buffer(Buffer b) const {
  for (const auto& bm : buffers) {
    if (bm.buffer == b) return &bm;
  }
  return nullptr;
}

}  // namespace vigil::rules
