// vigil-rules: load and check Suricata rule files.
//
//   vigil-rules check [--classification FILE] [--var NAME=VALUE]... [-q] [--compile] FILE...
//
// Prints one line per rejected rule, a per-reason summary, the load time and finally
// "loaded N, rejected M". Exits 0 when at least one rule loaded.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "vigil/rules/hs/matcher.h"
#include "vigil/rules/parser.h"

namespace {

using vigil::rules::ParseContext;
using vigil::rules::RuleSet;

struct CheckOptions {
  std::string classification;
  std::vector<std::string> vars;
  std::vector<std::string> files;
  bool quiet = false;
  bool compile = false;
};

// --var NAME=VALUE: ports go to port_groups, everything else to address_groups. A name already
// known in one table stays there; new names ending in PORT/PORTS are ports, as in suricata.yaml.
bool apply_var(const std::string& spec, ParseContext& ctx) {
  auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0) {
    std::fprintf(stderr, "vigil-rules: --var expects NAME=VALUE, got '%s'\n", spec.c_str());
    return false;
  }
  std::string name = spec.substr(0, eq);
  if (name.front() == '$') name.erase(0, 1);
  std::string value = spec.substr(eq + 1);
  auto& vars = ctx.vars;
  bool is_port = vars.port_groups.count(name) != 0 ||
                 (vars.address_groups.count(name) == 0 &&
                  (name.size() >= 4 && (name.ends_with("PORTS") || name.ends_with("PORT"))));
  (is_port ? vars.port_groups : vars.address_groups)[name] = value;
  return true;
}

// The Hyperscan step (vigil_rules_hs). Rules whose patterns Hyperscan or PCRE2 refuse move from
// "loaded" to "rejected" (and into the per-reason summary), so the last line stays the number of
// rules the sensor would actually run.
bool compile_rules(RuleSet& set) {
  vigil::rules::hs::BuildReport report;
  const size_t parsed = set.rules.size();
  auto compiled = vigil::rules::hs::CompiledRules::build(std::move(set.rules), &report);
  set.rules.clear();
  if (!compiled.ok()) {
    std::fprintf(stderr, "vigil-rules: compile failed: %s\n", compiled.error().to_string().c_str());
    return false;
  }
  std::printf("compile: %zu of %zu rules refused, %zu fast patterns, %zu bytes of databases, %.3f s\n",
              report.rejected.size(), parsed, report.patterns, report.database_bytes,
              report.compile_seconds);
  for (auto& e : report.rejected) set.rejected.push_back(std::move(e));
  return true;
}

int run_check(const CheckOptions& opt) {
  ParseContext ctx;
  if (!opt.classification.empty()) {
    auto c = vigil::rules::load_classifications(opt.classification);
    if (!c.ok()) {
      std::fprintf(stderr, "vigil-rules: %s\n", c.error().to_string().c_str());
      return 2;
    }
    ctx.classifications = std::move(c).value();
  }
  for (const auto& v : opt.vars) {
    if (!apply_var(v, ctx)) return 2;
  }

  const auto start = std::chrono::steady_clock::now();
  const std::clock_t cpu_start = std::clock();
  RuleSet set = vigil::rules::load_rule_files(opt.files, ctx);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // CPU time too: on a shared build machine wall time mostly measures the neighbours.
  const double cpu_seconds = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;

  size_t loaded = set.rules.size();
  if (opt.compile) {
    const size_t before = set.rejected.size();
    if (!compile_rules(set)) return 2;
    loaded -= std::min(loaded, set.rejected.size() - before);
  }

  if (!opt.quiet) {
    for (const auto& e : set.rejected) std::printf("%s\n", e.to_string().c_str());
  }
  auto by_reason = set.rejected_by_reason();
  std::vector<std::pair<std::string, size_t>> sorted(by_reason.begin(), by_reason.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  if (!sorted.empty()) {
    std::printf("rejections by reason:\n");
    for (const auto& [reason, count] : sorted) std::printf("  %6zu  %s\n", count, reason.c_str());
  }
  std::printf("load time: %.3f s wall, %.3f s cpu (%zu files)\n", seconds, cpu_seconds,
              opt.files.size());
  std::printf("loaded %zu, rejected %zu\n", loaded, set.rejected.size());
  return loaded == 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vigil-rules: Suricata rule tools"};
  app.require_subcommand(1);
  CheckOptions check;
  auto* cmd = app.add_subcommand("check", "parse rule files and report rejected rules");
  cmd->add_option("--classification", check.classification, "classification.config to use")
      ->check(CLI::ExistingFile);
  cmd->add_option("--var", check.vars, "set an address/port variable, NAME=VALUE (repeatable)");
  cmd->add_flag("-q,--quiet", check.quiet, "print only the summary");
  cmd->add_flag("--compile", check.compile, "also compile the loaded rules to Hyperscan databases");
  cmd->add_option("files", check.files, "rule files")->required();
  CLI11_PARSE(app, argc, argv);
  if (cmd->parsed()) return run_check(check);
  return 2;
}
