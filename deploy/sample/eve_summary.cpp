// vigil-eve-summary: a readable summary of a sensor's eve.json for the demo (deploy/demo.sh):
// alert counts per signature with severity, the first few alerts, event types and the packet
// counters from the final stats record. Written in C++ so the demo needs neither jq nor python.

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

namespace vigil::tools {
namespace {

using Json = nlohmann::json;

struct SignatureCount {
  std::int64_t sid = 0;
  std::string signature;
  int severity = 0;
  std::int64_t count = 0;
};

std::string str_or(const Json& j, const char* key, const std::string& fallback = "-") {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  return it->is_string() ? it->get<std::string>() : it->dump();
}

// "2024-05-14T09:00:04.123456+0000" -> "09:00:04.123"; other shapes are shown as they are.
std::string short_time(const std::string& ts) {
  const auto t = ts.find('T');
  if (t == std::string::npos || ts.size() < t + 13) return ts;
  return ts.substr(t + 1, 12);
}

std::string endpoint(const Json& rec, const char* ip_key, const char* port_key) {
  std::string s = str_or(rec, ip_key);
  if (rec.contains(port_key)) s += ":" + str_or(rec, port_key);
  return s;
}

int run(const std::string& path, std::size_t first_n) {
  std::ifstream in(path);
  if (!in) {
    std::cerr << "vigil-eve-summary: cannot open " << path << "\n";
    return 1;
  }
  std::map<std::string, std::int64_t> by_type;
  std::map<std::int64_t, SignatureCount> by_sid;
  std::vector<Json> first;
  Json stats;
  std::int64_t alerts = 0, bad_lines = 0;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    Json rec = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (rec.is_discarded() || !rec.is_object()) {
      ++bad_lines;
      continue;
    }
    const std::string type = str_or(rec, "event_type", "?");
    ++by_type[type];
    if (type == "stats") stats = rec.value("stats", Json::object());
    if (type != "alert" || !rec.contains("alert") || !rec["alert"].is_object()) continue;
    ++alerts;
    const Json& a = rec["alert"];
    const std::int64_t sid = a.value("signature_id", std::int64_t{0});
    SignatureCount& sc = by_sid[sid];
    sc.sid = sid;
    sc.signature = str_or(a, "signature", "");
    sc.severity = a.value("severity", 0);
    ++sc.count;
    if (first.size() < first_n) first.push_back(rec);
  }

  std::cout << "eve.json: " << path << "\n";
  std::cout << "events:";
  for (const auto& [t, n] : by_type) std::cout << " " << t << "=" << n;
  std::cout << "\n";
  if (bad_lines) std::cout << "warning: " << bad_lines << " line(s) were not JSON objects\n";
  if (stats.is_object()) {
    // Field names follow Suricata's stats record; print what is there.
    const Json& dec = stats.value("decoder", Json::object());
    if (dec.contains("pkts")) std::cout << "packets: " << dec["pkts"].dump();
    if (dec.contains("bytes")) std::cout << ", bytes: " << dec["bytes"].dump();
    if (dec.contains("pkts")) std::cout << "\n";
  }

  std::cout << "\n" << alerts << " alert(s) from " << by_sid.size() << " signature(s)\n";
  if (alerts == 0) return 0;

  std::vector<SignatureCount> rows;
  for (const auto& [sid, sc] : by_sid) rows.push_back(sc);
  std::sort(rows.begin(), rows.end(), [](const SignatureCount& a, const SignatureCount& b) {
    return a.severity != b.severity ? a.severity < b.severity
                                    : a.count != b.count ? a.count > b.count : a.sid < b.sid;
  });
  std::printf("\n%6s  %3s  %-9s  %s\n", "count", "sev", "sid", "signature");
  for (const auto& r : rows)
    std::printf("%6lld  %3d  %-9lld  %s\n", static_cast<long long>(r.count), r.severity,
                static_cast<long long>(r.sid), r.signature.c_str());

  std::cout << "\nfirst " << first.size() << " alert(s):\n";
  for (const Json& rec : first) {
    const Json& a = rec["alert"];
    std::printf("  %-12s  %-21s -> %-21s %-4s [%lld] %s\n", short_time(str_or(rec, "timestamp")).c_str(),
                endpoint(rec, "src_ip", "src_port").c_str(), endpoint(rec, "dest_ip", "dest_port").c_str(),
                str_or(rec, "proto", "").c_str(), static_cast<long long>(a.value("signature_id", std::int64_t{0})),
                str_or(a, "signature", "").c_str());
  }
  return 0;
}

}  // namespace
}  // namespace vigil::tools

int main(int argc, char** argv) {
  std::string path;
  std::size_t first_n = 10;
  CLI::App app{"Summarises the alerts in a vigil-sensor eve.json"};
  app.add_option("eve", path, "eve.json file")->required();
  app.add_option("--first", first_n, "how many individual alerts to list (default 10)");
  CLI11_PARSE(app, argc, argv);
  return vigil::tools::run(path, first_n);
}
