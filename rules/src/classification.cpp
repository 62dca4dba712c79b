// classification.config: Suricata's built-in list and the file loader.
#include <cstdlib>
#include <fstream>
#include <string>

#include "vigil/rules/parser.h"

namespace vigil::rules {
namespace {

struct BuiltinClass {
  const char* name;
  const char* description;
  int priority;
};

// Suricata's standard classification.config (as shipped with Suricata and ET Open), so rules load
// with the right category and priority when no file is configured.
constexpr BuiltinClass kBuiltin[] = {
    {"not-suspicious", "Not Suspicious Traffic", 3},
    {"unknown", "Unknown Traffic", 3},
    {"bad-unknown", "Potentially Bad Traffic", 2},
    {"attempted-recon", "Attempted Information Leak", 2},
    {"successful-recon-limited", "Information Leak", 2},
    {"successful-recon-largescale", "Large Scale Information Leak", 2},
    {"attempted-dos", "Attempted Denial of Service", 2},
    {"successful-dos", "Denial of Service", 2},
    {"attempted-user", "Attempted User Privilege Gain", 1},
    {"unsuccessful-user", "Unsuccessful User Privilege Gain", 1},
    {"successful-user", "Successful User Privilege Gain", 1},
    {"attempted-admin", "Attempted Administrator Privilege Gain", 1},
    {"successful-admin", "Successful Administrator Privilege Gain", 1},
    {"rpc-portmap-decode", "Decode of an RPC Query", 2},
    {"shellcode-detect", "Executable code was detected", 1},
    {"string-detect", "A suspicious string was detected", 3},
    {"suspicious-filename-detect", "A suspicious filename was detected", 2},
    {"suspicious-login", "An attempted login using a suspicious username was detected", 2},
    {"system-call-detect", "A system call was detected", 2},
    {"tcp-connection", "A TCP connection was detected", 4},
    {"trojan-activity", "A Network Trojan was detected", 1},
    {"unusual-client-port-connection", "A client was using an unusual port", 2},
    {"network-scan", "Detection of a Network Scan", 3},
    {"denial-of-service", "Detection of a Denial of Service Attack", 2},
    {"non-standard-protocol", "Detection of a non-standard protocol or event", 2},
    {"protocol-command-decode", "Generic Protocol Command Decode", 3},
    {"web-application-activity", "access to a potentially vulnerable web application", 2},
    {"web-application-attack", "Web Application Attack", 1},
    {"misc-activity", "Misc activity", 3},
    {"misc-attack", "Misc Attack", 2},
    {"icmp-event", "Generic ICMP event", 3},
    {"policy-violation", "Potential Corporate Privacy Violation", 1},
    {"default-login-attempt", "Attempt to login by a default username and password", 2},
    {"targeted-activity", "Targeted Malicious Activity was Detected", 1},
    {"exploit-kit", "Exploit Kit Activity Detected", 1},
    {"external-ip-check", "Device Retrieving External IP Address Detected", 2},
    {"domain-c2", "Domain Observed Used for C2 Detected", 1},
    {"pup-activity", "Possibly Unwanted Program Detected", 2},
    {"credential-theft", "Successful Credential Theft Detected", 1},
    {"social-engineering", "Possible Social Engineering Attempted", 2},
    {"coin-mining", "Crypto Currency Mining Activity Detected", 2},
    {"command-and-control", "Malware Command and Control Activity Detected", 1},
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

Classifications Classifications::builtin() {
  Classifications c;
  for (const auto& b : kBuiltin) c.types[b.name] = ClassType{b.name, b.description, b.priority};
  return c;
}

core::Result<Classifications> load_classifications(const std::string& path) {
  std::ifstream in(path);
  if (!in) return core::make_error("cannot open classification file", path);
  Classifications out;
  std::string line;
  int lineno = 0;
  constexpr std::string_view kPrefix = "config classification:";
  while (std::getline(in, line)) {
    ++lineno;
    std::string_view s = trim(line);
    if (s.empty() || s.front() == '#') continue;
    if (s.substr(0, kPrefix.size()) != kPrefix) {
      return core::make_error("expected 'config classification: name,description,priority'",
                              path + ":" + std::to_string(lineno));
    }
    s = trim(s.substr(kPrefix.size()));
    auto c1 = s.find(',');
    auto c2 = s.rfind(',');
    if (c1 == std::string_view::npos || c2 == c1) {
      return core::make_error("classification needs name,description,priority",
                              path + ":" + std::to_string(lineno));
    }
    ClassType t;
    t.name = std::string(trim(s.substr(0, c1)));
    t.description = std::string(trim(s.substr(c1 + 1, c2 - c1 - 1)));
    std::string prio(trim(s.substr(c2 + 1)));
    char* end = nullptr;
    long p = std::strtol(prio.c_str(), &end, 10);
    if (prio.empty() || *end != '\0' || p < 0 || p > 255) {
      return core::make_error("bad classification priority '" + prio + "'",
                              path + ":" + std::to_string(lineno));
    }
    t.priority = static_cast<int>(p);
    out.types[t.name] = std::move(t);
  }
  return out;
}

}  // namespace vigil::rules
