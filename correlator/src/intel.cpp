#include "vigil/correlator/intel.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace vigil::correlator {

using core::make_error;

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

core::Status read_lines(const std::string& file, const std::function<core::Status(const std::string&, size_t)>& fn) {
  std::ifstream in(file);
  if (!in) return make_error("cannot open threat-intel list", file);
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    auto hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    line.erase(0, line.find_first_not_of(" \t\r"));
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
    if (line.empty()) continue;
    if (auto st = fn(line, n); !st) return st;
  }
  return {};
}

void add_tag(core::StoredEvent& e, const std::string& tag) {
  if (std::find(e.intel.begin(), e.intel.end(), tag) == e.intel.end()) e.intel.push_back(tag);
}

}  // namespace

core::Result<std::shared_ptr<const ThreatIntel>> ThreatIntel::load(const std::vector<std::string>& ip_files,
                                                                  const std::vector<std::string>& domain_files,
                                                                  const std::vector<std::string>& hash_files) {
  auto ti = std::make_shared<ThreatIntel>();
  for (const auto& f : ip_files) {
    std::string name = "ip:" + std::filesystem::path(f).stem().string();
    auto st = read_lines(f, [&](const std::string& l, size_t n) -> core::Status {
      if (l.find('/') != std::string::npos) {
        auto c = core::Cidr::parse(l);
        if (!c) return make_error("not an IP address or CIDR block: '" + l + "'", f + ":" + std::to_string(n));
        ti->nets_.emplace_back(*c, name);
      } else {
        auto ip = core::IpAddress::parse(l);
        if (!ip) return make_error("not an IP address or CIDR block: '" + l + "'", f + ":" + std::to_string(n));
        ti->ips_.emplace(ip->bytes(), name);
      }
      ++ti->entries_;
      return {};
    });
    if (!st) return st.error();
  }
  for (const auto& f : domain_files) {
    std::string name = "domain:" + std::filesystem::path(f).stem().string();
    auto st = read_lines(f, [&](const std::string& l, size_t) -> core::Status {
      std::string d = lower(l);
      if (!d.empty() && d.back() == '.') d.pop_back();
      ti->domains_.emplace(d, name);
      ++ti->entries_;
      return {};
    });
    if (!st) return st.error();
  }
  for (const auto& f : hash_files) {
    std::string name = "hash:" + std::filesystem::path(f).stem().string();
    auto st = read_lines(f, [&](const std::string& l, size_t n) -> core::Status {
      std::string h = lower(l);
      bool hex = std::all_of(h.begin(), h.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
      if (!hex || (h.size() != 32 && h.size() != 40 && h.size() != 64)) {
        return make_error("not an MD5, SHA-1 or SHA-256 hex digest: '" + l + "'", f + ":" + std::to_string(n));
      }
      ti->hashes_.emplace(h, name);
      ++ti->entries_;
      return {};
    });
    if (!st) return st.error();
  }
  return std::shared_ptr<const ThreatIntel>(std::move(ti));
}

void ThreatIntel::match(core::StoredEvent& se) const {
  const auto& e = se.event;
  for (const auto* ip : {&e.flow.src_ip, &e.flow.dst_ip}) {
    if (auto it = ips_.find(ip->bytes()); it != ips_.end()) add_tag(se, it->second);
    for (const auto& [net, name] : nets_) {
      if (net.contains(*ip)) add_tag(se, name);
    }
  }
  if ((domains_.empty() && hashes_.empty()) || e.app_json.empty()) return;
  auto j = nlohmann::json::parse(e.app_json, nullptr, false);
  if (!j.is_object()) return;
  auto check_domain = [&](std::string d) {
    d = lower(std::move(d));
    // The name itself and every parent domain: "a.evil.example" matches a list entry "evil.example".
    for (size_t pos = 0; pos != std::string::npos;) {
      if (auto it = domains_.find(d.substr(pos)); it != domains_.end()) add_tag(se, it->second);
      pos = d.find('.', pos);
      if (pos != std::string::npos) ++pos;
    }
  };
  for (const char* key : {"hostname", "rrname", "sni"}) {
    if (j.contains(key) && j[key].is_string()) check_domain(j[key].get<std::string>());
  }
  if (j.contains("queries") && j["queries"].is_array()) {
    for (const auto& q : j["queries"]) {
      if (q.is_object() && q.contains("rrname") && q["rrname"].is_string()) check_domain(q["rrname"].get<std::string>());
    }
  }
  for (const char* key : {"md5", "sha1", "sha256"}) {
    if (j.contains(key) && j[key].is_string()) {
      if (auto it = hashes_.find(lower(j[key].get<std::string>())); it != hashes_.end()) add_tag(se, it->second);
    }
  }
}

}  // namespace vigil::correlator
