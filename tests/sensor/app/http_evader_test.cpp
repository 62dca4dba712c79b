// Coverage of the suricata-verify http-evader cases: every capture hides the EICAR test file in
// an HTTP response behind an evasion; Suricata's file_data sees it in each. Here the capture is
// reassembled by a minimal in-test reassembler and fed to HttpParser directly, so this measures
// the parser (libhtp configuration) alone, before the real pipeline is wired.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <string_view>

#include "sensor/app/pcap_streams.h"
#include "vigil/sensor/app/http.h"

namespace app = vigil::sensor::app;
using vigil::rules::Buffer;

namespace {

bool contains(std::span<const uint8_t> hay, std::string_view needle) {
  const std::string_view h(reinterpret_cast<const char*>(hay.data()), hay.size());
  return h.find(needle) != std::string_view::npos;
}

struct CaseResult {
  bool sid1 = false;  // "EICAR-STANDARD-ANTIVIRUS-TEST-FILE" in some response's file.data
  bool sid2 = false;  // "X5O!P%@AP[4"
};

CaseResult run_case(const std::string& pcap, const std::shared_ptr<const app::HttpEngine>& engine) {
  CaseResult r;
  const auto streams = vigil::test::read_pcap_streams(pcap);
  if (!streams.ok) return r;
  std::vector<std::unique_ptr<app::HttpParser>> parsers(streams.flows.size());
  auto check = [&r](const app::HttpParser& p) {
    for (const auto& tx : p.txs()) {
      const auto fd = tx->buffer(Buffer::FileData, app::kToClient);
      r.sid1 |= contains(fd, "EICAR-STANDARD-ANTIVIRUS-TEST-FILE");
      r.sid2 |= contains(fd, "X5O!P%@AP[4");
    }
  };
  for (const auto& ev : streams.events) {
    const auto& flow = streams.flows[ev.flow];
    if (flow.proto != 6) continue;
    auto& p = parsers[ev.flow];
    if (!p) {
      p = std::make_unique<app::HttpParser>(engine, flow.client_port, flow.server_port,
                                            vigil::core::Timestamp{});
    }
    if (ev.close) {
      p->on_close();
    } else {
      p->on_data(ev.to_server, ev.data, vigil::core::Timestamp{});
    }
    check(*p);
    // Exercise transaction release (libhtp tx destruction) on real traffic as the pipeline will.
    p->release_completed();
  }
  return r;
}

}  // namespace

TEST_CASE("http-evader: EICAR visible in file.data", "[sensor][app][http][evader]") {
  const std::filesystem::path root =
      std::filesystem::path(VIGIL_SHARED_DIR) / "conformance/tests/http-evader";
  if (!std::filesystem::exists(root)) {
    WARN("no http-evader cases at " << root);
    return;
  }
  app::HttpConfig cfg;
  // The conformance cases run with --set ...response-body-decompress-layer-limit=3.
  cfg.response_decompress_layer_limit = 3;
  const auto engine = app::HttpEngine::create(cfg);
  REQUIRE(engine);

  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(root)) {
    if (std::filesystem::exists(e.path() / "input.pcap")) names.push_back(e.path().filename());
  }
  std::sort(names.begin(), names.end());
  REQUIRE(!names.empty());

  size_t pass = 0;
  std::vector<std::string> failed;
  for (const auto& n : names) {
    const CaseResult r = run_case((root / n / "input.pcap").string(), engine);
    if (r.sid1 && r.sid2) {
      ++pass;
    } else {
      failed.push_back(n + (r.sid1 ? "" : " [sid1]") + (r.sid2 ? "" : " [sid2]"));
    }
  }
  const double ratio = static_cast<double>(pass) / static_cast<double>(names.size());
  std::cout << "http-evader coverage: " << pass << "/" << names.size() << " ("
            << static_cast<int>(ratio * 1000) / 10.0 << "%)\n";
  for (const auto& f : failed) std::cout << "  missing: " << f << "\n";
  CHECK(ratio >= 0.95);
}
