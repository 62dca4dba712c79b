// vigil-conformance: runs the suricata-verify derived cases (manifest.jsonl) through a sensor
// binary and compares alert counts in its eve.json against each case's checks.
//
// Each case runs as a child process in its own temp dir and process group, so a hung sensor
// (and anything it spawned) can be killed as a whole. Cases run on --jobs worker threads; the
// children are started with fork/exec where the child only calls async-signal-safe functions,
// which keeps forking from a multi-threaded parent safe.

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iomanip>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace vigil::tools {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Check {
  std::int64_t count = 0;
  Json match;  // object: dotted key -> expected scalar
};

struct Case {
  std::string name;
  std::string family;
  std::string tier;
  std::string pcap;   // relative to the conformance root
  std::string rules;  // relative to the conformance root
  std::vector<std::string> args;
  std::vector<std::string> flags;
  std::optional<std::string> suricata_yaml;
  std::vector<Check> checks;
};

enum class Status { kPass, kFail, kError, kCrash, kHang };

const char* status_name(Status s) {
  switch (s) {
    case Status::kPass: return "PASS";
    case Status::kFail: return "FAIL";
    case Status::kError: return "ERROR";
    case Status::kCrash: return "CRASH";
    case Status::kHang: return "HANG";
  }
  return "?";
}

struct CheckResult {
  Json match;
  std::int64_t expected = 0;
  std::int64_t got = 0;
};

struct CaseResult {
  Status status = Status::kError;
  std::string reason;
  std::vector<CheckResult> checks;
  std::vector<std::string> yaml_sets;     // --set arguments derived from suricata_yaml
  std::vector<std::string> yaml_ignored;  // top-level yaml keys left out (not detection policy)
  double seconds = 0;
  std::string dir;  // per-case dir (only meaningful with --keep)
};

struct Options {
  std::string sensor;
  std::string root;
  std::string manifest;
  std::vector<std::string> families;
  std::string case_filter;
  unsigned jobs = 0;
  double timeout = 120;
  std::string keep;
  std::vector<std::string> require_pass;
  std::string json_report;
  bool verbose = false;
};

// ---------------------------------------------------------------------------------------------
// Manifest

std::vector<Case> load_manifest(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open manifest " + path);
  std::vector<Case> cases;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      const Json j = Json::parse(line);
      Case c;
      c.name = j.at("name").get<std::string>();
      c.family = j.value("family", std::string("unknown"));
      c.tier = j.value("tier", std::string());
      c.pcap = j.at("pcap").get<std::string>();
      c.rules = j.at("rules").get<std::string>();
      if (j.contains("args")) c.args = j.at("args").get<std::vector<std::string>>();
      if (j.contains("flags")) c.flags = j.at("flags").get<std::vector<std::string>>();
      if (j.contains("suricata_yaml") && j.at("suricata_yaml").is_string())
        c.suricata_yaml = j.at("suricata_yaml").get<std::string>();
      for (const Json& jc : j.at("checks")) {
        Check check;
        check.count = jc.at("count").get<std::int64_t>();
        check.match = jc.at("match");
        if (!check.match.is_object()) throw std::runtime_error("check 'match' is not an object");
        c.checks.push_back(std::move(check));
      }
      cases.push_back(std::move(c));
    } catch (const std::exception& e) {
      throw std::runtime_error(path + ":" + std::to_string(line_no) + ": " + e.what());
    }
  }
  return cases;
}

// ---------------------------------------------------------------------------------------------
// suricata.yaml -> --set translation
//
// Only settings that change which alerts are raised are passed on; output, logging and
// capture settings describe Suricata's environment, not the expected detection. The mapping is
// documented in docs/conformance.md; keep the two in sync.

// Top-level keys whose whole subtree is flattened to dotted --set keys.
const std::set<std::string> kSubtreeKeys = {"stream", "host-os-policy", "defrag", "app-layer"};
// Top-level scalar or list keys passed as is.
const std::set<std::string> kScalarKeys = {"packet-alert-max", "action-order", "exception-policy"};

std::string yaml_scalar_or_list(const YAML::Node& n) {
  if (n.IsSequence()) {
    std::string out = "[";
    for (std::size_t i = 0; i < n.size(); ++i) {
      if (i) out += ",";
      out += n[i].IsScalar() ? n[i].Scalar() : YAML::Dump(n[i]);
    }
    return out + "]";
  }
  return n.IsScalar() ? n.Scalar() : std::string();
}

void flatten_yaml(const YAML::Node& n, const std::string& prefix, std::vector<std::string>& out) {
  if (n.IsMap()) {
    for (const auto& kv : n) flatten_yaml(kv.second, prefix + "." + kv.first.Scalar(), out);
    return;
  }
  // An empty list (e.g. "bsd: []" in host-os-policy) assigns nothing: leave it out so the
  // sensor keeps its default for that key.
  if (n.IsSequence() && n.size() == 0) return;
  if (n.IsNull()) return;
  out.push_back(prefix + "=" + yaml_scalar_or_list(n));
}

struct YamlTranslation {
  std::vector<std::string> sets;
  std::vector<std::string> ignored;
  std::string error;
};

YamlTranslation translate_suricata_yaml(const fs::path& path) {
  YamlTranslation t;
  YAML::Node root;
  try {
    root = YAML::LoadFile(path.string());
  } catch (const YAML::Exception& e) {
    t.error = "cannot parse " + path.string() + ": " + e.what();
    return t;
  }
  if (!root.IsMap()) {
    t.error = path.string() + ": top level is not a mapping";
    return t;
  }
  for (const auto& kv : root) {
    const std::string key = kv.first.Scalar();
    if (kScalarKeys.count(key)) {
      t.sets.push_back(key + "=" + yaml_scalar_or_list(kv.second));
    } else if (kSubtreeKeys.count(key)) {
      if (key == "app-layer") {
        // Only protocol parser settings change detection; "app-layer.error-policy" and the
        // like are exception handling and covered by exception-policy above.
        if (kv.second["protocols"]) flatten_yaml(kv.second["protocols"], "app-layer.protocols", t.sets);
      } else {
        flatten_yaml(kv.second, key, t.sets);
      }
    } else {
      t.ignored.push_back(key);
    }
  }
  return t;
}

// ---------------------------------------------------------------------------------------------
// eve.json checks

// Looks up "a.b.c" in a record; a numeric segment indexes an array.
const Json* dotted_lookup(const Json& record, const std::string& dotted) {
  const Json* cur = &record;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = dotted.find('.', start);
    const std::string seg = dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (cur->is_object()) {
      const auto it = cur->find(seg);
      if (it == cur->end()) return nullptr;
      cur = &*it;
    } else if (cur->is_array() && !seg.empty() &&
               std::all_of(seg.begin(), seg.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
      const std::size_t idx = std::stoul(seg);
      if (idx >= cur->size()) return nullptr;
      cur = &(*cur)[idx];
    } else {
      return nullptr;
    }
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

// JSON numbers compare by value (1 == 1.0), strings byte for byte, and a number never equals
// a string: that is nlohmann's operator==, which is what we want.
bool record_matches(const Json& record, const Json& match) {
  for (const auto& [key, want] : match.items()) {
    const Json* got = dotted_lookup(record, key);
    if (!got || !(*got == want)) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Running one child with a deadline

struct ChildOutcome {
  enum Kind { kExited, kSignaled, kTimedOut, kSpawnFailed } kind = kSpawnFailed;
  int code = 0;  // exit code, signal number, or errno for kSpawnFailed
};

ChildOutcome run_child(const std::vector<std::string>& argv, const fs::path& log_path, double timeout_s) {
  std::vector<char*> cargv;
  for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);

  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) return {ChildOutcome::kSpawnFailed, errno};
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  // The child reports an exec failure through this pipe; on success O_CLOEXEC closes it.
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    const int e = errno;
    ::close(log_fd);
    if (null_fd >= 0) ::close(null_fd);
    return {ChildOutcome::kSpawnFailed, e};
  }

  const pid_t pid = ::fork();
  const int fork_errno = errno;
  if (pid == 0) {
    // Child: async-signal-safe calls only.
    ::setpgid(0, 0);
    if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execv(cargv[0], cargv.data());
    const int e = errno;
    (void)!::write(err_pipe[1], &e, sizeof e);
    ::_exit(127);
  }
  ::close(log_fd);
  if (null_fd >= 0) ::close(null_fd);
  ::close(err_pipe[1]);
  if (pid < 0) {
    ::close(err_pipe[0]);
    return {ChildOutcome::kSpawnFailed, fork_errno};
  }
  // Also set the group from the parent: whichever runs first wins, and kill(-pid) must work.
  ::setpgid(pid, pid);

  int exec_errno = 0;
  const bool exec_failed = ::read(err_pipe[0], &exec_errno, sizeof exec_errno) == sizeof exec_errno;
  ::close(err_pipe[0]);

  const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
  auto nap = std::chrono::milliseconds(1);
  int status = 0;
  bool timed_out = false;
  while (true) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) return {ChildOutcome::kSpawnFailed, errno};
    if (Clock::now() >= deadline) {
      timed_out = true;
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    std::this_thread::sleep_for(nap);
    nap = std::min(nap * 2, std::chrono::milliseconds(25));
  }
  // Leftover grandchildren of a finished sensor must not outlive the case.
  ::kill(-pid, SIGKILL);

  if (exec_failed) return {ChildOutcome::kSpawnFailed, exec_errno};
  if (timed_out) return {ChildOutcome::kTimedOut, 0};
  if (WIFSIGNALED(status)) return {ChildOutcome::kSignaled, WTERMSIG(status)};
  return {ChildOutcome::kExited, WEXITSTATUS(status)};
}

std::string tail_of_file(const fs::path& p, std::size_t max_lines) {
  std::ifstream in(p);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    lines.push_back(line);
    if (lines.size() > max_lines) lines.erase(lines.begin());
  }
  std::string out;
  for (const auto& l : lines) out += (out.empty() ? "" : " | ") + l;
  if (out.size() > 400) out = out.substr(out.size() - 400);
  return out;
}

std::string sanitize(const std::string& name) {
  std::string out;
  for (char ch : name) out += (std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.') ? ch : '_';
  return out;
}

// ---------------------------------------------------------------------------------------------
// One case

CaseResult run_case(const Case& c, const Options& opt, const fs::path& work_base) {
  CaseResult r;
  const auto t0 = Clock::now();
  const fs::path root(opt.root);
  const fs::path dir = work_base / sanitize(c.name);
  const fs::path out_dir = dir / "out";
  r.dir = dir.string();
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(out_dir, ec);
  if (ec) {
    r.reason = "cannot create " + out_dir.string() + ": " + ec.message();
    return r;
  }

  for (const std::string* rel : {&c.pcap, &c.rules}) {
    if (!fs::exists(root / *rel)) {
      r.reason = "missing input " + (root / *rel).string();
      return r;
    }
  }

  std::vector<std::string> argv = {opt.sensor, "-r", (root / c.pcap).string(), "-S",
                                   (root / c.rules).string(), "-l", out_dir.string()};
  argv.insert(argv.end(), c.args.begin(), c.args.end());
  if (c.suricata_yaml) {
    YamlTranslation t = translate_suricata_yaml(root / *c.suricata_yaml);
    if (!t.error.empty()) {
      r.reason = t.error;
      return r;
    }
    for (const std::string& s : t.sets) {
      argv.push_back("--set");
      argv.push_back(s);
    }
    r.yaml_sets = std::move(t.sets);
    r.yaml_ignored = std::move(t.ignored);
  }
  {
    std::ofstream cmd(dir / "command.txt");
    for (const auto& a : argv) cmd << a << '\n';
  }

  const fs::path log_path = dir / "sensor.log";
  const ChildOutcome oc = run_child(argv, log_path, opt.timeout);
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  switch (oc.kind) {
    case ChildOutcome::kSpawnFailed:
      r.status = Status::kError;
      r.reason = "cannot run " + opt.sensor + ": " + std::strerror(oc.code);
      return r;
    case ChildOutcome::kTimedOut: {
      r.status = Status::kHang;
      std::ostringstream os;
      os << "killed after " << opt.timeout << " s timeout";
      r.reason = os.str();
      return r;
    }
    case ChildOutcome::kSignaled:
      r.status = Status::kCrash;
      r.reason = std::string("killed by signal ") + std::to_string(oc.code) + " (" + ::strsignal(oc.code) + ")";
      if (auto t = tail_of_file(log_path, 3); !t.empty()) r.reason += ": " + t;
      return r;
    case ChildOutcome::kExited:
      if (oc.code != 0) {
        r.status = Status::kError;
        r.reason = "exit status " + std::to_string(oc.code);
        if (auto t = tail_of_file(log_path, 3); !t.empty()) r.reason += ": " + t;
        return r;
      }
      break;
  }

  const fs::path eve = out_dir / "eve.json";
  std::ifstream in(eve);
  if (!in) {
    r.status = Status::kError;
    r.reason = "sensor exited 0 but wrote no " + eve.string();
    return r;
  }
  for (const Check& ch : c.checks) r.checks.push_back({ch.match, ch.count, 0});
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Json rec = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (rec.is_discarded() || !rec.is_object()) {
      r.status = Status::kError;
      r.reason = eve.string() + ":" + std::to_string(line_no) + ": not a JSON object";
      r.checks.clear();  // partial counts would only mislead
      return r;
    }
    for (CheckResult& cr : r.checks)
      if (record_matches(rec, cr.match)) ++cr.got;
  }
  const bool all_ok = std::all_of(r.checks.begin(), r.checks.end(),
                                  [](const CheckResult& cr) { return cr.got == cr.expected; });
  r.status = all_ok ? Status::kPass : Status::kFail;
  if (!all_ok) {
    int bad = 0;
    for (const auto& cr : r.checks) bad += cr.got != cr.expected;
    r.reason = std::to_string(bad) + " of " + std::to_string(r.checks.size()) + " checks differ";
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// Report

struct FamilyStats {
  int cases = 0, passed = 0, failed = 0, errors = 0, crashed_hung = 0;
};

Json result_json(const Case& c, const CaseResult& r) {
  Json j = {{"name", c.name}, {"family", c.family}, {"tier", c.tier},
            {"status", status_name(r.status)}, {"reason", r.reason},
            {"seconds", r.seconds}, {"yaml_sets", r.yaml_sets}};
  Json checks = Json::array();
  for (const auto& cr : r.checks)
    checks.push_back({{"match", cr.match}, {"expected", cr.expected}, {"got", cr.got}});
  j["checks"] = checks;
  return j;
}

std::vector<std::string> split_commas(const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (const auto& s : in) {
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ','))
      if (!item.empty()) out.push_back(item);
  }
  return out;
}

int run(const Options& opt_in) {
  Options opt = opt_in;
  if (opt.manifest.empty()) opt.manifest = (fs::path(opt.root) / "manifest.jsonl").string();
  if (::access(opt.sensor.c_str(), X_OK) != 0) {
    std::cerr << "vigil-conformance: sensor " << opt.sensor << " is not executable: " << std::strerror(errno) << "\n";
    return 2;
  }
  opt.sensor = fs::absolute(opt.sensor).string();
  opt.root = fs::absolute(opt.root).string();
  if (opt.jobs == 0) opt.jobs = std::max(1u, std::thread::hardware_concurrency());
  const std::vector<std::string> require = split_commas(opt.require_pass);
  const std::vector<std::string> families = split_commas(opt.families);

  std::vector<Case> all;
  try {
    all = load_manifest(opt.manifest);
  } catch (const std::exception& e) {
    std::cerr << "vigil-conformance: " << e.what() << "\n";
    return 2;
  }
  std::vector<Case> cases;
  for (auto& c : all) {
    if (!families.empty() && std::find(families.begin(), families.end(), c.family) == families.end()) continue;
    if (!opt.case_filter.empty() && c.name.find(opt.case_filter) == std::string::npos) continue;
    cases.push_back(std::move(c));
  }
  if (cases.empty()) {
    std::cerr << "vigil-conformance: no case in " << opt.manifest << " matches the filters\n";
    return 2;
  }

  fs::path work_base;
  bool remove_work = false;
  if (!opt.keep.empty()) {
    work_base = fs::absolute(opt.keep);
    std::error_code ec;
    fs::create_directories(work_base, ec);
    if (ec) {
      std::cerr << "vigil-conformance: cannot create --keep dir " << work_base << ": " << ec.message() << "\n";
      return 2;
    }
  } else {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/vigil-conformance-XXXXXX";
    if (!::mkdtemp(templ.data())) {
      std::cerr << "vigil-conformance: cannot create a temp dir from " << templ << ": " << std::strerror(errno) << "\n";
      return 2;
    }
    work_base = templ;
    remove_work = true;
  }

  std::cout << "vigil-conformance: " << cases.size() << " cases, " << opt.jobs << " jobs, timeout "
            << opt.timeout << " s, sensor " << opt.sensor << "\n";

  std::vector<CaseResult> results(cases.size());
  std::atomic<std::size_t> next{0};
  std::mutex print_mu;
  auto worker = [&] {
    while (true) {
      const std::size_t i = next.fetch_add(1);
      if (i >= cases.size()) return;
      results[i] = run_case(cases[i], opt, work_base);
      if (opt.verbose) {
        std::lock_guard lock(print_mu);
        std::cout << status_name(results[i].status) << "  " << cases[i].name << " ("
                  << cases[i].family << ", " << std::fixed << std::setprecision(2)
                  << results[i].seconds << " s)\n";
        std::cout.unsetf(std::ios::fixed);
        for (const auto& s : results[i].yaml_sets) std::cout << "    yaml -> --set " << s << "\n";
        if (!results[i].yaml_ignored.empty()) {
          std::cout << "    yaml ignored (not detection policy):";
          for (const auto& k : results[i].yaml_ignored) std::cout << " " << k;
          std::cout << "\n";
        }
      }
    }
  };
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < std::min<std::size_t>(opt.jobs, cases.size()); ++t) threads.emplace_back(worker);
  for (auto& t : threads) t.join();

  // Non-passing cases, in manifest order so runs diff cleanly.
  std::map<std::string, FamilyStats> fam;
  int passed = 0, crashed_hung = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    const CaseResult& r = results[i];
    FamilyStats& fs_ = fam[c.family];
    ++fs_.cases;
    switch (r.status) {
      case Status::kPass: ++fs_.passed; ++passed; break;
      case Status::kFail: ++fs_.failed; break;
      case Status::kError: ++fs_.errors; break;
      case Status::kCrash:
      case Status::kHang: ++fs_.crashed_hung; ++crashed_hung; break;
    }
    if (r.status == Status::kPass) continue;
    std::cout << status_name(r.status) << "  " << c.name << " [" << c.family << "]: " << r.reason << "\n";
    for (const auto& cr : r.checks) {
      std::cout << "    " << (cr.got == cr.expected ? "ok  " : "DIFF") << " " << cr.match.dump()
                << " expected " << cr.expected << ", got " << cr.got << "\n";
    }
    if (!opt.keep.empty()) std::cout << "    output kept in " << r.dir << "\n";
  }

  std::cout << "\n";
  std::printf("%-12s %6s %6s %6s %6s %12s\n", "family", "cases", "passed", "failed", "error", "crashed/hung");
  for (const auto& [name, s] : fam)
    std::printf("%-12s %6d %6d %6d %6d %12d\n", name.c_str(), s.cases, s.passed, s.failed, s.errors, s.crashed_hung);
  std::printf("%-12s %6zu %6d %6d %6d %12d\n", "total", cases.size(), passed,
              [&] { int n = 0; for (auto& [k, s] : fam) n += s.failed; return n; }(),
              [&] { int n = 0; for (auto& [k, s] : fam) n += s.errors; return n; }(), crashed_hung);
  std::cout << "\n";

  if (!opt.json_report.empty()) {
    Json rep = {{"sensor", opt.sensor}, {"root", opt.root}, {"passed", passed},
                {"failed", static_cast<int>(cases.size()) - passed}};
    Json arr = Json::array();
    for (std::size_t i = 0; i < cases.size(); ++i) arr.push_back(result_json(cases[i], results[i]));
    rep["cases"] = arr;
    std::ofstream out(opt.json_report);
    if (!out) std::cerr << "vigil-conformance: cannot write report " << opt.json_report << "\n";
    out << rep.dump(2) << "\n";
  }
  if (remove_work) {
    std::error_code ec;
    fs::remove_all(work_base, ec);
  }

  int exit_code = 0;
  if (crashed_hung > 0) {
    std::cout << "run failed: " << crashed_hung << " case(s) crashed or hung (always fatal)\n";
    exit_code = 1;
  }
  for (const std::string& f : require) {
    const auto it = fam.find(f);
    if (it == fam.end()) {
      std::cout << "note: --require-pass family '" << f << "' has no selected cases\n";
      continue;
    }
    const int bad = it->second.cases - it->second.passed;
    if (bad > 0) {
      std::cout << "run failed: required family '" << f << "' has " << bad << " non-passing case(s) of "
                << it->second.cases << "\n";
      exit_code = 1;
    }
  }
  std::cout << passed << " passed, " << (static_cast<int>(cases.size()) - passed) << " failed\n";
  return exit_code;
}

}  // namespace
}  // namespace vigil::tools

int main(int argc, char** argv) {
  vigil::tools::Options opt;
  CLI::App app{"Runs suricata-verify derived conformance cases through vigil-sensor"};
  app.add_option("--sensor", opt.sensor, "sensor binary")->required();
  app.add_option("--root", opt.root, "conformance folder (holds manifest.jsonl and tests/)")->required();
  app.add_option("--manifest", opt.manifest, "manifest file (default ROOT/manifest.jsonl)");
  app.add_option("--family", opt.families, "only cases of this family (repeatable, or comma-separated)");
  app.add_option("--case", opt.case_filter, "only cases whose name contains this substring");
  app.add_option("--jobs,-j", opt.jobs, "parallel cases (default: number of CPUs)");
  app.add_option("--timeout", opt.timeout, "seconds before a case is killed and counted as hung")
      ->check(CLI::PositiveNumber);
  app.add_option("--keep", opt.keep, "keep per-case output dirs under this dir");
  app.add_option("--require-pass", opt.require_pass, "families that must pass completely (comma-separated)");
  app.add_option("--json", opt.json_report, "write a JSON report of every case here");
  app.add_flag("--verbose,-v", opt.verbose, "print every case and the suricata.yaml settings translated");
  CLI11_PARSE(app, argc, argv);
  // A dying sensor must not take the runner down through a broken pipe.
  ::signal(SIGPIPE, SIG_IGN);
  return vigil::tools::run(opt);
}
