// vigil-bench-sensor: measures vigil-sensor on a capture and puts the numbers next to two
// baselines measured in the same run on the same machine:
//   (a) a bare libpcap read of the file (the floor: nothing can be faster than reading it), and
//   (b) a bare Hyperscan block-mode scan of every frame against the longest content of each
//       rule (roughly the ceiling for a content-only prefilter engine).
// The sensor runs as a child process; wait4() gives its CPU time and peak RSS, so the numbers
// cover everything the sensor does (decode, flows, reassembly, detection, EVE output).
//
// Gbit/s per core = bytes * 8 / (user + sys CPU seconds) / 1e9, so runs with different
// --workers are comparable: more workers must not make this number look better.

#include <CLI/CLI.hpp>
#include <hs/hs.h>
#include <nlohmann/json.hpp>
#include <pcap/pcap.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace vigil::tools {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }
double gbps(double bytes, double seconds) { return seconds > 0 ? bytes * 8 / seconds / 1e9 : 0; }

// --------------------------------------------------------------------------------------------
// Baseline (a): bare libpcap read

struct PcapRead {
  std::uint64_t packets = 0;
  std::uint64_t caplen_bytes = 0;
  std::uint64_t wire_bytes = 0;
  double seconds = 0;
  std::string error;
};

PcapRead bare_pcap_read(const std::string& path) {
  PcapRead r;
  char err[PCAP_ERRBUF_SIZE] = {};
  const auto t0 = Clock::now();
  pcap_t* p = pcap_open_offline(path.c_str(), err);
  if (!p) {
    r.error = "cannot open " + path + ": " + err;
    return r;
  }
  pcap_pkthdr* h = nullptr;
  const u_char* data = nullptr;
  int rc;
  while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
    ++r.packets;
    r.caplen_bytes += h->caplen;
    r.wire_bytes += h->len;
  }
  if (rc == PCAP_ERROR) r.error = path + ": " + pcap_geterr(p);
  pcap_close(p);
  r.seconds = seconds_since(t0);
  return r;
}

// --------------------------------------------------------------------------------------------
// Baseline (b): bare Hyperscan scan of each rule's longest content
//
// A deliberately minimal rule reader: it only needs every content:"..." (|hex| decoded, with
// nocase), not a rule's meaning. Negated contents are skipped since they cannot be a prefilter.

struct Literal {
  std::string bytes;
  bool nocase = false;
};

struct RuleLiterals {
  std::vector<Literal> longest;  // one per rule that has a positive content
  std::size_t rules = 0;
  std::size_t rules_without_content = 0;
  std::size_t bad_contents = 0;
};

// Decodes a content string body: |41 42| hex runs and \" \; \\ \| escapes.
std::optional<std::string> decode_content(const std::string& body) {
  std::string out;
  bool hex = false;
  std::string hex_digits;
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (hex) {
      if (c == '|') {
        if (hex_digits.size() % 2) return std::nullopt;
        for (std::size_t k = 0; k < hex_digits.size(); k += 2)
          out.push_back(static_cast<char>(std::stoi(hex_digits.substr(k, 2), nullptr, 16)));
        hex_digits.clear();
        hex = false;
      } else if (std::isxdigit(static_cast<unsigned char>(c))) {
        hex_digits.push_back(c);
      } else if (c != ' ') {
        return std::nullopt;
      }
    } else if (c == '|') {
      hex = true;
    } else if (c == '\\' && i + 1 < body.size()) {
      out.push_back(body[++i]);
    } else {
      out.push_back(c);
    }
  }
  if (hex) return std::nullopt;
  return out;
}

void collect_rule_literals(const std::string& rule, RuleLiterals& acc) {
  ++acc.rules;
  std::vector<Literal> lits;
  std::size_t pos = 0;
  while ((pos = rule.find("content:", pos)) != std::string::npos) {
    // Only whole option names: "uricontent:" and "content:" inside a msg are not options.
    const bool at_option = pos == 0 || rule[pos - 1] == ' ' || rule[pos - 1] == ';' || rule[pos - 1] == '(';
    std::size_t q = pos + 8;
    while (q < rule.size() && rule[q] == ' ') ++q;
    const bool negated = q < rule.size() && rule[q] == '!';
    if (negated) ++q;
    if (!at_option || q >= rule.size() || rule[q] != '"') {
      pos += 8;
      continue;
    }
    std::size_t end = q + 1;
    while (end < rule.size() && !(rule[end] == '"' && rule[end - 1] != '\\')) ++end;
    if (end >= rule.size()) {
      ++acc.bad_contents;
      break;
    }
    auto bytes = decode_content(rule.substr(q + 1, end - q - 1));
    // Modifiers run until the next content (or sticky buffer, which we do not care about).
    std::size_t next = rule.find("content:", end);
    const std::string mods = rule.substr(end, next == std::string::npos ? std::string::npos : next - end);
    if (!bytes) {
      ++acc.bad_contents;
    } else if (!negated && !bytes->empty()) {
      lits.push_back({*bytes, mods.find("nocase;") != std::string::npos});
    }
    pos = end;
  }
  if (lits.empty()) {
    ++acc.rules_without_content;
    return;
  }
  acc.longest.push_back(*std::max_element(lits.begin(), lits.end(), [](const Literal& a, const Literal& b) {
    return a.bytes.size() < b.bytes.size();
  }));
}

bool read_rule_literals(const std::vector<std::string>& files, RuleLiterals& acc, std::string& error) {
  for (const auto& f : files) {
    std::ifstream in(f);
    if (!in) {
      error = "cannot open rules file " + f;
      return false;
    }
    std::string line, rule;
    while (std::getline(in, line)) {
      // Rules may continue over lines ending in a backslash.
      if (!line.empty() && line.back() == '\\') {
        rule += line.substr(0, line.size() - 1);
        continue;
      }
      rule += line;
      const auto first = rule.find_first_not_of(" \t");
      if (first != std::string::npos && rule[first] != '#' && rule.find('(') != std::string::npos)
        collect_rule_literals(rule, acc);
      rule.clear();
    }
  }
  return true;
}

struct HsScan {
  std::size_t literals = 0;
  double compile_seconds = 0;
  double scan_seconds = 0;  // best of the repeats
  std::uint64_t scanned_bytes = 0;
  std::uint64_t frame_bytes = 0;  // captured bytes of all frames: the Gbit/s denominator
  std::uint64_t matches = 0;
  std::string error;
};

// Minimal decode to the L4 payload: Ethernet (+ up to two VLAN tags), IPv4/IPv6, TCP/UDP.
// Anything else (ARP, ICMP, fragments, tunnels, IPv6 extension headers) is scanned from the
// network header on, so no packet is skipped. Bounds are checked against the captured length.
std::pair<std::size_t, std::size_t> l4_payload(const std::uint8_t* p, std::size_t n) {
  if (n < 14) return {0, n};
  std::uint16_t type = static_cast<std::uint16_t>((p[12] << 8) | p[13]);
  std::size_t off = 14;
  for (int tags = 0; tags < 2 && (type == 0x8100 || type == 0x88a8); ++tags) {
    if (n < off + 4) return {0, n};
    type = static_cast<std::uint16_t>((p[off + 2] << 8) | p[off + 3]);
    off += 4;
  }
  std::uint8_t proto = 0;
  std::size_t l3 = off;
  if (type == 0x0800) {
    if (n < off + 20) return {l3, n - l3};
    const std::size_t ihl = (p[off] & 0x0f) * 4u;
    const bool fragment = ((p[off + 6] & 0x1f) | p[off + 7]) != 0;
    if (ihl < 20 || n < off + ihl || fragment) return {l3, n - l3};
    proto = p[off + 9];
    off += ihl;
  } else if (type == 0x86dd) {
    if (n < off + 40) return {l3, n - l3};
    proto = p[off + 6];
    off += 40;
  } else {
    return {l3 < n ? l3 : 0, l3 < n ? n - l3 : n};
  }
  if (proto == 6) {
    if (n < off + 20) return {l3, n - l3};
    const std::size_t doff = (p[off + 12] >> 4) * 4u;
    if (doff < 20 || n < off + doff) return {l3, n - l3};
    off += doff;
  } else if (proto == 17) {
    if (n < off + 8) return {l3, n - l3};
    off += 8;
  } else {
    return {l3, n - l3};
  }
  return {off, n - off};
}

int count_match(unsigned, unsigned long long, unsigned long long, unsigned, void* ctx) {
  ++*static_cast<std::uint64_t*>(ctx);
  return 0;  // keep scanning: the baseline pays for every match like an engine would
}

HsScan bare_hyperscan(const std::string& pcap_path, const RuleLiterals& rl, int repeat, bool payload_only) {
  HsScan r;
  r.literals = rl.longest.size();
  if (rl.longest.empty()) {
    r.error = "no rule has a positive content";
    return r;
  }
  std::vector<const char*> exprs;
  std::vector<std::size_t> lens;
  std::vector<unsigned> flags, ids;
  for (std::size_t i = 0; i < rl.longest.size(); ++i) {
    exprs.push_back(rl.longest[i].bytes.data());
    lens.push_back(rl.longest[i].bytes.size());
    flags.push_back(HS_FLAG_SINGLEMATCH | (rl.longest[i].nocase ? HS_FLAG_CASELESS : 0));
    ids.push_back(static_cast<unsigned>(i));
  }
  hs_database_t* db = nullptr;
  hs_compile_error_t* cerr = nullptr;
  const auto t0 = Clock::now();
  if (hs_compile_lit_multi(exprs.data(), flags.data(), ids.data(), lens.data(), static_cast<unsigned>(exprs.size()),
                           HS_MODE_BLOCK, nullptr, &db, &cerr) != HS_SUCCESS) {
    r.error = std::string("hs_compile_lit_multi: ") + (cerr ? cerr->message : "unknown error");
    if (cerr) hs_free_compile_error(cerr);
    return r;
  }
  r.compile_seconds = seconds_since(t0);
  hs_scratch_t* scratch = nullptr;
  if (hs_alloc_scratch(db, &scratch) != HS_SUCCESS) {
    hs_free_database(db);
    r.error = "hs_alloc_scratch failed";
    return r;
  }

  // Load every frame first so the timing is the scan alone, not disk or libpcap.
  std::vector<char> arena;
  std::vector<std::pair<std::size_t, std::size_t>> frames;
  {
    char err[PCAP_ERRBUF_SIZE] = {};
    pcap_t* p = pcap_open_offline(pcap_path.c_str(), err);
    if (!p) {
      r.error = std::string("cannot open ") + pcap_path + ": " + err;
      hs_free_scratch(scratch);
      hs_free_database(db);
      return r;
    }
    pcap_pkthdr* h = nullptr;
    const u_char* data = nullptr;
    while (pcap_next_ex(p, &h, &data) == 1) {
      r.frame_bytes += h->caplen;
      const auto [off, len] = payload_only ? l4_payload(data, h->caplen) : std::pair<std::size_t, std::size_t>{0, h->caplen};
      if (len == 0) continue;  // e.g. a bare TCP ACK: nothing to scan
      frames.emplace_back(arena.size(), len);
      arena.insert(arena.end(), data + off, data + off + len);
    }
    pcap_close(p);
  }
  r.scanned_bytes = arena.size();
  r.scan_seconds = 1e300;
  for (int rep = 0; rep < std::max(1, repeat); ++rep) {
    std::uint64_t matches = 0;
    const auto t1 = Clock::now();
    for (const auto& [off, len] : frames) {
      if (hs_scan(db, arena.data() + off, static_cast<unsigned>(len), 0, scratch, count_match, &matches) !=
          HS_SUCCESS) {
        r.error = "hs_scan failed";
        break;
      }
    }
    r.scan_seconds = std::min(r.scan_seconds, seconds_since(t1));
    r.matches = matches;
  }
  hs_free_scratch(scratch);
  hs_free_database(db);
  return r;
}

// --------------------------------------------------------------------------------------------
// The sensor run

struct SensorRun {
  double wall = 0, user = 0, sys = 0;
  double peak_rss_mib = 0;
  int exit_code = -1;
  int signal = 0;
  Json stats;  // the final stats record's "stats" object (null if absent)
  std::uint64_t alert_records = 0;
  std::string error;
};

SensorRun run_sensor(const std::vector<std::string>& argv, const fs::path& out_dir) {
  SensorRun r;
  std::error_code ec;
  fs::remove_all(out_dir, ec);
  fs::create_directories(out_dir, ec);
  const fs::path log = out_dir / "sensor.log";
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    r.error = "cannot create " + log.string() + ": " + std::strerror(errno);
    return r;
  }
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);

  const auto t0 = Clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execv(cargv[0], cargv.data());
    ::_exit(127);
  }
  ::close(log_fd);
  if (pid < 0) {
    r.error = std::string("fork: ") + std::strerror(errno);
    return r;
  }
  int status = 0;
  struct rusage ru {};
  while (::wait4(pid, &status, 0, &ru) < 0) {
    if (errno != EINTR) {
      r.error = std::string("wait4: ") + std::strerror(errno);
      return r;
    }
  }
  r.wall = seconds_since(t0);
  r.user = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
  r.sys = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  r.peak_rss_mib = ru.ru_maxrss / 1024.0;  // Linux reports KiB
  if (WIFSIGNALED(status)) {
    r.signal = WTERMSIG(status);
    r.error = std::string("sensor killed by signal ") + std::to_string(r.signal) + " (" + strsignal(r.signal) + ")";
    return r;
  }
  r.exit_code = WEXITSTATUS(status);
  if (r.exit_code == 127) {
    r.error = "cannot execute " + argv[0] + " (exit 127; see " + log.string() + ")";
    return r;
  }
  if (r.exit_code != 0) {
    r.error = "sensor exited with status " + std::to_string(r.exit_code) + " (see " + log.string() + ")";
    return r;
  }
  std::ifstream eve(out_dir / "eve.json");
  if (!eve) {
    r.error = "sensor wrote no " + (out_dir / "eve.json").string();
    return r;
  }
  std::string line;
  while (std::getline(eve, line)) {
    Json rec = Json::parse(line, nullptr, false);
    if (rec.is_discarded() || !rec.is_object()) continue;
    const std::string type = rec.value("event_type", "");
    if (type == "alert") ++r.alert_records;
    if (type == "stats" && rec.contains("stats")) r.stats = rec["stats"];
  }
  return r;
}

// First numeric value found at any of the dotted paths.
std::optional<double> stat_number(const Json& stats, std::initializer_list<const char*> paths) {
  for (const char* path : paths) {
    const Json* cur = &stats;
    std::string p(path);
    std::size_t start = 0;
    bool ok = true;
    while (ok) {
      const auto dot = p.find('.', start);
      const std::string seg = p.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      if (!cur->is_object() || !cur->contains(seg)) ok = false;
      else cur = &(*cur)[seg];
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    if (ok && cur->is_number()) return cur->get<double>();
  }
  return std::nullopt;
}

// --------------------------------------------------------------------------------------------

struct Options {
  std::string sensor;
  std::string pcap;
  std::vector<std::string> rules;
  std::string rules_dir;
  int workers = 1;
  int repeat = 1;
  std::vector<std::string> sensor_args;
  std::string out_dir;
  std::string json_path;
  std::string targets = "auto";
  bool enforce = false;
  bool no_baselines = false;
  std::string hs_scope = "payload";
};

int run(Options opt) {
  if (::access(opt.sensor.c_str(), X_OK) != 0) {
    std::cerr << "vigil-bench-sensor: sensor " << opt.sensor << " is not executable\n";
    return 2;
  }
  if (!opt.rules_dir.empty()) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(opt.rules_dir, ec))
      if (e.path().extension() == ".rules") opt.rules.push_back(e.path().string());
    if (ec) {
      std::cerr << "vigil-bench-sensor: cannot list " << opt.rules_dir << ": " << ec.message() << "\n";
      return 2;
    }
    std::sort(opt.rules.begin() + 0, opt.rules.end());
  }
  if (opt.rules.empty()) {
    std::cerr << "vigil-bench-sensor: no rules: give --rules FILE or --rules-dir DIR (with *.rules files)\n";
    return 2;
  }
  std::string targets = opt.targets;
  if (targets == "auto") {
    if (!opt.rules_dir.empty()) targets = "et-open";
    else if (opt.rules.size() == 1 && fs::path(opt.rules[0]).filename() == "bench-pure.rules") targets = "pure";
    else targets = "none";
  }
  fs::path out_dir = opt.out_dir.empty() ? fs::temp_directory_path() / ("vigil-bench-" + std::to_string(::getpid()))
                                         : fs::path(opt.out_dir);
  Json report;
  report["pcap"] = opt.pcap;
  report["rules"] = opt.rules;
  report["workers"] = opt.workers;

  std::printf("vigil-bench-sensor\n  capture: %s\n  rules:   %zu file(s)%s%s\n  workers: %d, repeat: %d\n\n",
              opt.pcap.c_str(), opt.rules.size(), opt.rules.size() == 1 ? ", " : "",
              opt.rules.size() == 1 ? opt.rules[0].c_str() : "", opt.workers, opt.repeat);

  // Baseline (a) first: it also warms the page cache so the sensor does not pay for the disk.
  PcapRead pr;
  for (int i = 0; i < std::max(1, opt.repeat); ++i) {
    PcapRead one = bare_pcap_read(opt.pcap);
    if (!one.error.empty()) {
      std::cerr << "vigil-bench-sensor: " << one.error << "\n";
      return 2;
    }
    if (i == 0 || one.seconds < pr.seconds) pr = one;
  }
  std::printf("capture: %llu packets, %.1f MB captured (%.1f MB on the wire)\n\n",
              static_cast<unsigned long long>(pr.packets), pr.caplen_bytes / 1e6, pr.wire_bytes / 1e6);

  // The sensor, best of --repeat by CPU time.
  std::vector<std::string> argv = {fs::absolute(opt.sensor).string(), "-r", opt.pcap};
  for (const auto& r : opt.rules) {
    argv.push_back("-S");
    argv.push_back(r);
  }
  argv.insert(argv.end(), {"-l", (out_dir / "eve").string(), "--workers", std::to_string(opt.workers)});
  argv.insert(argv.end(), opt.sensor_args.begin(), opt.sensor_args.end());
  SensorRun best;
  bool have_best = false;
  for (int i = 0; i < std::max(1, opt.repeat); ++i) {
    SensorRun s = run_sensor(argv, out_dir / "eve");
    if (!s.error.empty()) {
      std::cerr << "vigil-bench-sensor: " << s.error << "\n";
      return 1;
    }
    std::printf("sensor run %d: wall %.3f s, cpu %.3f s (user %.3f + sys %.3f), peak RSS %.1f MiB\n", i + 1, s.wall,
                s.user + s.sys, s.user, s.sys, s.peak_rss_mib);
    if (!have_best || s.user + s.sys < best.user + best.sys) best = s, have_best = true;
  }

  const double cpu = best.user + best.sys;
  const auto st_pkts = stat_number(best.stats, {"decoder.pkts", "capture.packets"});
  const auto st_bytes = stat_number(best.stats, {"decoder.bytes", "capture.bytes"});
  const auto st_alerts = stat_number(best.stats, {"detect.alerts", "detect.alert"});
  const double packets = st_pkts.value_or(static_cast<double>(pr.packets));
  const double bytes = st_bytes.value_or(static_cast<double>(pr.wire_bytes));
  const auto load_s = stat_number(best.stats, {"detect.load_seconds"});
  const auto compile_s = stat_number(best.stats, {"detect.compile_seconds"});
  // Prefer the sensor's own CPU time for setup (rules, outputs, workers); older sensors only
  // report wall-clock load/compile seconds.
  const auto setup_cpu = stat_number(best.stats, {"detect.setup_cpu_seconds"});
  const double rule_setup = setup_cpu ? *setup_cpu : load_s.value_or(0) + compile_s.value_or(0);
  const double sensor_gbps_core = gbps(bytes, cpu);
  // Rule loading is a one-off start-up cost; on a big rule set it would swamp a 1-second capture,
  // so the steady-state rate leaves it out (rule setup is single-threaded, so its wall time is
  // its CPU time).
  // The sensor times rule setup by the wall clock; on a busy machine that can exceed the CPU it
  // used, and subtracting it would be meaningless. Then only the whole-process figure stands.
  const double steady_cpu = cpu - rule_setup;
  const bool steady_valid = rule_setup > 0 && steady_cpu > 0.05 * cpu;
  const double sensor_gbps_steady = steady_valid ? gbps(bytes, steady_cpu) : sensor_gbps_core;

  std::printf("\nsensor (best run by CPU time)%s\n", best.stats.is_null() ? "  [no stats record in eve.json]" : "");
  std::printf("  packets          %.0f%s\n", packets, st_pkts ? "" : "  (from the capture: no stats)");
  std::printf("  bytes            %.0f%s\n", bytes, st_bytes ? "" : "  (from the capture: no stats)");
  std::printf("  alerts           %.0f%s\n", st_alerts.value_or(static_cast<double>(best.alert_records)),
              st_alerts ? "" : "  (alert records in eve.json)");
  std::printf("  wall time        %.3f s\n", best.wall);
  std::printf("  CPU time         %.3f s (user %.3f, sys %.3f)\n", cpu, best.user, best.sys);
  std::printf("  packets/s        %.0f per CPU second, %.0f per wall second\n", cpu > 0 ? packets / cpu : 0,
              best.wall > 0 ? packets / best.wall : 0);
  std::printf("  Gbit/s per core  %.3f (whole process)\n", sensor_gbps_core);
  if (steady_valid)
    std::printf("  Gbit/s per core  %.3f (excluding %.2f s rule load+compile)\n", sensor_gbps_steady, rule_setup);
  else if (rule_setup > 0)
    std::printf("  Gbit/s per core  n/a excluding rule setup: its %.2f s (wall clock) is not less than the CPU "
                "time; machine busy? Targets use the whole-process figure\n", rule_setup);
  std::printf("  peak RSS         %.1f MiB\n", best.peak_rss_mib);
  if (best.stats.is_object() && best.stats.contains("detect")) {
    std::printf("  rule set         ");
    bool any = false;
    for (const char* k : {"rules_loaded", "rules_failed", "load_seconds", "compile_seconds", "setup_cpu_seconds", "hs_database_bytes"}) {
      if (best.stats["detect"].contains(k)) {
        std::printf("%s%s=%s", any ? ", " : "", k, best.stats["detect"][k].dump().c_str());
        any = true;
      }
    }
    std::printf("%s\n", any ? "" : "(no load statistics in the stats record)");
  }

  report["sensor"] = {{"packets", packets}, {"bytes", bytes}, {"wall_seconds", best.wall},
                      {"cpu_seconds", cpu}, {"user_seconds", best.user}, {"sys_seconds", best.sys},
                      {"gbps_per_core", sensor_gbps_core}, {"gbps_per_core_excluding_rule_setup", steady_valid ? Json(sensor_gbps_steady) : Json()},
                      {"rule_setup_seconds", rule_setup}, {"peak_rss_mib", best.peak_rss_mib},
                      {"alerts", st_alerts.value_or(static_cast<double>(best.alert_records))}, {"stats", best.stats}};

  const double pcap_gbps = gbps(static_cast<double>(pr.caplen_bytes), pr.seconds);
  std::printf("\nbaselines (same machine, same run, one core)\n");
  std::printf("  (a) bare libpcap read      %.3f s, %.2f Gbit/s\n", pr.seconds, pcap_gbps);
  report["baseline_pcap_read"] = {{"seconds", pr.seconds}, {"gbps", pcap_gbps}};
  double hs_gbps = 0;
  if (!opt.no_baselines) {
    RuleLiterals rl;
    std::string err;
    if (!read_rule_literals(opt.rules, rl, err)) {
      std::cerr << "vigil-bench-sensor: " << err << "\n";
      return 2;
    }
    const bool payload_only = opt.hs_scope == "payload";
    HsScan hs = bare_hyperscan(opt.pcap, rl, opt.repeat, payload_only);
    if (!hs.error.empty()) {
      std::printf("  (b) bare Hyperscan scan    unavailable: %s\n", hs.error.c_str());
    } else {
      // Same denominator as the sensor: all captured bytes, whatever part of them is scanned.
      hs_gbps = gbps(static_cast<double>(hs.frame_bytes), hs.scan_seconds);
      std::printf("  (b) bare Hyperscan scan    %.3f s, %.2f Gbit/s\n"
                  "      %zu literals = longest content of %zu of %zu rules (%zu have no content); compile %.2f s\n"
                  "      scanned %s: %.1f MB of %.1f MB; %llu matches\n",
                  hs.scan_seconds, hs_gbps, hs.literals, hs.literals, rl.rules, rl.rules_without_content,
                  hs.compile_seconds,
                  payload_only ? "TCP/UDP payloads (other packets from the IP header on)" : "whole frames from Ethernet on",
                  hs.scanned_bytes / 1e6, hs.frame_bytes / 1e6, static_cast<unsigned long long>(hs.matches));
      report["baseline_hyperscan"] = {{"seconds", hs.scan_seconds}, {"gbps", hs_gbps}, {"literals", hs.literals},
                                      {"scope", opt.hs_scope}, {"scanned_bytes", hs.scanned_bytes},
                                      {"compile_seconds", hs.compile_seconds}, {"matches", hs.matches}};
    }
  }

  std::printf("\nratios (sensor Gbit/s per core, whole process)\n");
  if (pcap_gbps > 0) std::printf("  vs bare libpcap read     %.3f\n", sensor_gbps_core / pcap_gbps);
  if (hs_gbps > 0) std::printf("  vs bare Hyperscan scan   %.3f\n", sensor_gbps_core / hs_gbps);

  // Targets from the issue; checked only for the rule sets they were set for.
  bool missed = false;
  auto target = [&](const char* what, bool met, const std::string& got) {
    std::printf("  %-44s %-6s (%s)\n", what, met ? "met" : "MISSED", got.c_str());
    missed |= !met;
  };
  char buf[128];
  std::printf("\ntargets (%s)\n", targets.c_str());
  if (targets == "pure") {
    std::snprintf(buf, sizeof buf, "%.3f Gbit/s per core%s", sensor_gbps_steady,
                  steady_valid ? " excluding rule setup" : ", whole process");
    target(">= 1.6 Gbit/s per core with bench-pure.rules", sensor_gbps_steady >= 1.6, buf);
  } else if (targets == "et-open") {
    std::snprintf(buf, sizeof buf, "%.3f Gbit/s per core%s", sensor_gbps_steady,
                  steady_valid ? " excluding rule setup" : ", whole process");
    target(">= 1 Gbit/s per core with ET Open", sensor_gbps_steady >= 1.0, buf);
    std::snprintf(buf, sizeof buf, "%.1f MiB", best.peak_rss_mib);
    target("peak RSS < 500 MiB with ET Open", best.peak_rss_mib < 500, buf);
    if (load_s || compile_s) {
      std::snprintf(buf, sizeof buf, "%.2f s", rule_setup);
      target("rule load+compile < 20 s with ET Open", rule_setup < 20, buf);
    } else {
      std::printf("  %-44s %-6s (no load/compile seconds in the stats record)\n", "rule load+compile < 20 s", "n/a");
    }
  } else {
    std::printf("  none for this rule set (targets apply to bench-pure.rules and the ET Open directory)\n");
  }

  if (!opt.json_path.empty()) {
    report["targets"] = targets;
    report["targets_missed"] = missed;
    std::ofstream out(opt.json_path);
    if (!out) std::cerr << "vigil-bench-sensor: cannot write " << opt.json_path << "\n";
    out << report.dump(2) << "\n";
  }
  if (opt.out_dir.empty()) {
    std::error_code ec;
    fs::remove_all(out_dir, ec);
  }
  std::printf("\nreport complete\n");
  return (opt.enforce && missed) ? 3 : 0;
}

}  // namespace
}  // namespace vigil::tools

int main(int argc, char** argv) {
  vigil::tools::Options opt;
  CLI::App app{"Benchmarks vigil-sensor on a capture against bare libpcap and bare Hyperscan baselines"};
  app.add_option("--sensor", opt.sensor, "sensor binary")->required();
  app.add_option("--pcap", opt.pcap, "capture file")->required()->check(CLI::ExistingFile);
  auto* rules = app.add_option("--rules", opt.rules, "rules file (repeatable)")->check(CLI::ExistingFile);
  auto* dir = app.add_option("--rules-dir", opt.rules_dir, "pass every *.rules file in DIR (as repeated -S)")
                  ->check(CLI::ExistingDirectory);
  rules->excludes(dir);
  app.add_option("--workers", opt.workers, "sensor worker threads (default 1)")->check(CLI::PositiveNumber);
  app.add_option("--repeat", opt.repeat, "runs of the sensor and each baseline; the best is reported (default 1)")
      ->check(CLI::PositiveNumber);
  app.add_option("--sensor-arg", opt.sensor_args, "extra argument for the sensor (repeatable, e.g. --sensor-arg=-k --sensor-arg=none)");
  app.add_option("--out", opt.out_dir, "keep the sensor's output here (default: a temp dir, removed)");
  app.add_option("--json", opt.json_path, "also write the numbers as JSON");
  app.add_option("--targets", opt.targets, "which targets to check: auto, pure, et-open, none")
      ->check(CLI::IsMember({"auto", "pure", "et-open", "none"}));
  app.add_flag("--enforce-targets", opt.enforce, "exit 3 when a target is missed");
  app.add_option("--hs-scope", opt.hs_scope, "baseline (b) scans TCP/UDP payloads (default) or whole frames")
      ->check(CLI::IsMember({"payload", "frame"}));
  app.add_flag("--no-hyperscan-baseline", opt.no_baselines, "skip baseline (b)");
  CLI11_PARSE(app, argc, argv);
  return vigil::tools::run(opt);
}
