// Suricata rule parser: rule text -> Rule, files -> RuleSet with a per-rule rejection report.
//
// Thread-safety: all functions are reentrant; a ParseContext is read-only during parsing.
// Errors: a malformed rule or one using a keyword the engine does not support yields a
// RuleError naming file, line, sid and keyword; loading continues with the next rule.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/core/result.h"
#include "vigil/rules/rule.h"

namespace vigil::rules {

// Address and port variables ($HOME_NET, $HTTP_PORTS, ...). Values are rule-syntax expressions
// that may refer to other variables.
struct Vars {
  std::map<std::string, std::string> address_groups;
  std::map<std::string, std::string> port_groups;

  // Suricata's default suricata.yaml values (HOME_NET = RFC 1918 ranges, EXTERNAL_NET =
  // !$HOME_NET, HTTP_PORTS = 80, ...).
  static Vars suricata_defaults();
};

// classification.config: classtype -> (description, priority).
struct ClassType {
  std::string name;
  std::string description;
  int priority = 3;
};
struct Classifications {
  std::map<std::string, ClassType> types;
  // Suricata's built-in classification.config, used when none is given.
  static Classifications builtin();
};
core::Result<Classifications> load_classifications(const std::string& path);

struct ParseContext {
  Vars vars = Vars::suricata_defaults();
  Classifications classifications = Classifications::builtin();
};

struct RuleError {
  std::string file;
  int line = 0;
  uint32_t sid = 0;      // 0 when the sid could not be read
  std::string keyword;   // the keyword at fault, or "" for header/syntax errors
  std::string reason;    // human-readable
  // Short, stable grouping key for the per-reason summary: e.g. "unsupported keyword: byte_test",
  // "unsupported protocol: smb", "syntax".
  std::string category;
  [[nodiscard]] std::string to_string() const;
};

// Parses one rule (continuation lines already joined). `file`/`line` are copied into the Rule
// or the RuleError.
core::Result<Rule> parse_rule(std::string_view text, const ParseContext& ctx,
                              const std::string& file = "", int line = 0, RuleError* error = nullptr);

struct RuleSet {
  std::vector<Rule> rules;
  std::vector<RuleError> rejected;
  // Count of rejected rules per RuleError::category.
  [[nodiscard]] std::map<std::string, size_t> rejected_by_reason() const;
};

// Loads rule files: comments and blank lines skipped, lines ending in '\' joined. A file that
// cannot be opened is one RuleError with line 0. Duplicate (gid, sid) pairs: the later rule is
// rejected. Rules are returned in load order.
RuleSet load_rule_files(const std::vector<std::string>& paths, const ParseContext& ctx);

// Parses a rule set from a string (tests, rule packs embedded in configs).
RuleSet load_rules_from_string(std::string_view text, const ParseContext& ctx,
                               const std::string& name = "<string>");

}  // namespace vigil::rules
