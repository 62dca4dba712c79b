// Conformance captures through detect_app_proto and the parsers: the buffers the cases' rules
// look for must be there (a direct check before the pipeline is wired).
#include <catch2/catch.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <variant>

#include "sensor/app/pcap_streams.h"
#include "vigil/sensor/app/dns.h"
#include "vigil/sensor/app/http.h"
#include "vigil/sensor/app/tls.h"

namespace app = vigil::sensor::app;
using vigil::rules::AppProto;
using vigil::rules::Buffer;

namespace {

struct FlowState {
  AppProto proto = AppProto::Unknown;
  std::vector<uint8_t> first[2];  // bytes seen before detection, [1] to server
  std::unique_ptr<app::AppParser> parser;
};

struct Seen {
  std::vector<std::string> sni, cert_subjects, dns_queries, ja3;
};

std::string str(std::span<const uint8_t> s) {
  return {reinterpret_cast<const char*>(s.data()), s.size()};
}

void collect(const app::AppParser& p, Seen& seen) {
  if (const auto* t = dynamic_cast<const app::TlsParser*>(&p)) {
    const auto& s = t->state();
    if (!s.buffer(Buffer::TlsSni).empty()) seen.sni.push_back(str(s.buffer(Buffer::TlsSni)));
    if (s.certificate()) seen.cert_subjects.push_back(s.certificate()->subject);
    if (!s.ja3_hash().empty()) seen.ja3.push_back(s.ja3_hash());
  } else if (const auto* d = dynamic_cast<const app::DnsParserBase*>(&p)) {
    for (const auto& tx : d->txs()) {
      for (auto q : tx->query_buffers()) seen.dns_queries.push_back(str(q));
    }
  }
}

Seen run(const std::string& rel) {
  Seen seen;
  const auto path = std::filesystem::path(VIGIL_SHARED_DIR) / "conformance" / rel;
  if (!std::filesystem::exists(path)) return seen;
  const auto streams = vigil::test::read_pcap_streams(path.string());
  REQUIRE(streams.ok);
  std::vector<FlowState> flows(streams.flows.size());
  auto engine = app::HttpEngine::create({});
  const vigil::core::Timestamp ts{};
  for (const auto& ev : streams.events) {
    FlowState& f = flows[ev.flow];
    const auto& info = streams.flows[ev.flow];
    if (ev.close) {
      if (f.parser) {
        f.parser->on_close();
        collect(*f.parser, seen);
      }
      continue;
    }
    if (f.proto == AppProto::Unknown) {
      auto& buf = f.first[ev.to_server ? 1 : 0];
      buf.insert(buf.end(), ev.data.begin(), ev.data.end());
      const uint16_t sport = ev.to_server ? info.client_port : info.server_port;
      const uint16_t dport = ev.to_server ? info.server_port : info.client_port;
      f.proto = app::detect_app_proto(info.proto == 17 ? std::span<const uint8_t>(ev.data)
                                                       : std::span<const uint8_t>(buf),
                                      ev.to_server, info.proto, sport, dport);
      if (f.proto == AppProto::Unknown) continue;
      if (f.proto == AppProto::Http) {
        f.parser = std::make_unique<app::HttpParser>(engine, info.client_port, info.server_port, ts);
      } else if (f.proto == AppProto::Tls) {
        f.parser = std::make_unique<app::TlsParser>();
      } else if (f.proto == AppProto::Dns) {
        if (info.proto == 17) {
          f.parser = std::make_unique<app::DnsUdpParser>();
        } else {
          f.parser = std::make_unique<app::DnsTcpParser>();
        }
      }
      if (!f.parser) continue;
      if (info.proto == 17) {
        f.parser->on_data(ev.to_server, ev.data, ts);
      } else {
        // Replay what was held back during detection, client side first.
        for (int d : {1, 0}) {
          if (!f.first[d].empty()) f.parser->on_data(d == 1, f.first[d], ts);
          f.first[d].clear();
        }
      }
      continue;
    }
    if (f.parser) f.parser->on_data(ev.to_server, ev.data, ts);
  }
  return seen;
}

bool any_contains(const std::vector<std::string>& v, std::string_view needle) {
  for (const auto& s : v) {
    if (s.find(needle) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("conformance captures: tls", "[sensor][app][tls][pcap]") {
  const Seen s = run("tests/bug-5758/input.pcap");
  CHECK(any_contains(s.sni, "ftp.nluug.nl"));
  const Seen c = run("tests/tls/tls-certs-alert/input.pcap");
  CHECK_FALSE(c.cert_subjects.empty());
  CHECK_FALSE(c.ja3.empty());
  for (const auto& subj : c.cert_subjects) INFO(subj);
}

TEST_CASE("conformance captures: dns", "[sensor][app][dns][pcap]") {
  const Seen s1 = run("tests/dns/dns-query/dns-detect-query-01/input.pcap");
  CHECK(any_contains(s1.dns_queries, "google"));
  const Seen s2 = run("tests/dns/dns-query/dns-detect-query-02/input.pcap");
  CHECK(any_contains(s2.dns_queries, "google.com"));
  CHECK(any_contains(s2.dns_queries, "google.net"));
  const Seen s3 = run("tests/bug-2158/public-ex1_section8_Sofacy.pcap");
  CHECK(any_contains(s3.dns_queries, "drivres-update"));
}
