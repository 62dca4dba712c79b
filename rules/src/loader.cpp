// Rule files -> RuleSet: line joining, comments, duplicate (gid, sid) detection.
#include <algorithm>
#include <fstream>
#include <unordered_set>

#include "vigil/rules/parser.h"

namespace vigil::rules {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

class Loader {
 public:
  Loader(const ParseContext& ctx, RuleSet& out) : ctx_(ctx), out_(out) {}

  void load_text(std::string_view text, const std::string& name) {
    // Reserve for every line that could start a rule, so Rules are not moved on growth; comment
    // lines (most of an ET file) are not counted, to keep the over-allocation small.
    size_t candidates = 0;
    for (size_t p = 0; p < text.size();) {
      size_t q = text.find_first_not_of(" \t", p);
      if (q != std::string_view::npos && text[q] != '#' && text[q] != '\n' && text[q] != '\r') ++candidates;
      size_t nl = text.find('\n', p);
      p = nl == std::string_view::npos ? text.size() : nl + 1;
    }
    // Grow geometrically: an exact reserve per file would reallocate (and move) on every file.
    const size_t need = out_.rules.size() + candidates;
    if (need > out_.rules.capacity()) out_.rules.reserve(std::max(need, 2 * out_.rules.capacity()));
    std::string pending;  // a rule continued with trailing backslashes
    int pending_line = 0;
    int lineno = 0;
    size_t pos = 0;
    while (pos <= text.size()) {
      size_t nl = text.find('\n', pos);
      std::string_view raw = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
      pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
      ++lineno;
      std::string_view line = trim(raw);
      if (pending.empty()) {
        // Comments include commented-out rules ("#alert ..."): Suricata skips them too.
        if (line.empty() || line.front() == '#') continue;
        pending_line = lineno;
      }
      if (!line.empty() && line.back() == '\\') {
        pending.append(line.substr(0, line.size() - 1));
        continue;
      }
      pending.append(line);
      add(pending, name, pending_line);
      pending.clear();
    }
    if (!pending.empty()) add(pending, name, pending_line);
  }

 private:
  void add(std::string_view text, const std::string& name, int line) {
    RuleError err;
    auto r = parse_rule(text, ctx_, name, line, &err);
    if (!r.ok()) {
      out_.rejected.push_back(std::move(err));
      return;
    }
    const uint64_t key = (uint64_t{r->gid} << 32) | r->sid;
    if (!seen_.insert(key).second) {
      out_.rejected.push_back(RuleError{name, line, r->sid, "sid",
                                        "duplicate sid " + std::to_string(r->sid) + " (gid " +
                                            std::to_string(r->gid) + "); the first one is kept",
                                        "duplicate sid"});
      return;
    }
    out_.rules.push_back(std::move(r).value());
  }

  const ParseContext& ctx_;
  RuleSet& out_;
  std::unordered_set<uint64_t> seen_;
};

}  // namespace

std::map<std::string, size_t> RuleSet::rejected_by_reason() const {
  std::map<std::string, size_t> out;
  for (const auto& e : rejected) ++out[e.category];
  return out;
}

RuleSet load_rule_files(const std::vector<std::string>& paths, const ParseContext& ctx) {
  RuleSet set;
  Loader loader(ctx, set);
  for (const auto& path : paths) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) {
      set.rejected.push_back(RuleError{path, 0, 0, "", "cannot open rule file", "cannot open file"});
      continue;
    }
    // One read of the whole file: rule files are a few MB at most and line splitting on a
    // string_view is much cheaper than getline.
    std::string text(static_cast<size_t>(in.tellg()), '\0');
    in.seekg(0);
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<size_t>(in.gcount()));
    loader.load_text(text, path);
  }
  return set;
}

RuleSet load_rules_from_string(std::string_view text, const ParseContext& ctx, const std::string& name) {
  RuleSet set;
  Loader loader(ctx, set);
  loader.load_text(text, name);
  return set;
}

}  // namespace vigil::rules
