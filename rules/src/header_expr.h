// Address and port expressions of rule headers and variables, resolved to range sets.
// Private to vigil_rules.
#pragma once

#include <string>
#include <string_view>

#include "vigil/rules/address.h"
#include "vigil/rules/parser.h"

namespace vigil::rules::detail {

// Why an expression failed; `undefined_var` distinguishes a missing variable (its own rejection
// category) from a syntax error.
struct ExprError {
  std::string reason;
  bool undefined_var = false;
};

// Parse "any", "1.2.3.4", "10.0.0.0/8", "[a,!b,[c,d]]", "$HOME_NET", "!$X", ... Variables are
// expanded recursively from `vars`. Returns false and fills `err` on failure (including an empty
// result, which Suricata also rejects).
bool parse_address(std::string_view text, const Vars& vars, AddressSet& out, ExprError& err);
bool parse_ports(std::string_view text, const Vars& vars, PortSet& out, ExprError& err);

}  // namespace vigil::rules::detail
