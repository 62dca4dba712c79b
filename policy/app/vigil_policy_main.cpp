// vigil-policy: validate a policy file, make password hashes and API tokens, explain a decision.
//
//   vigil-policy check deploy/config/policy.yaml
//   vigil-policy hash-password            (reads the password from stdin, prints the argon2id hash)
//   vigil-policy token                    (prints a new token and the sha256 to put in api_tokens)
//   vigil-policy explain policy.yaml --user agency-mof --action read --tenant tinh-hanoi --level internal --tlp amber
#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <map>
#include <string>

#include <CLI/CLI.hpp>

#include "vigil/policy/password.h"
#include "vigil/policy/policy.h"

using namespace vigil;

namespace {

std::string fmt_duration(int64_t usec) {
  if (usec == 0) return "forever";
  int64_t d = usec / 86'400'000'000LL;
  if (d * 86'400'000'000LL == usec) return std::to_string(d) + "d";
  return std::to_string(usec / 1'000'000) + "s";
}

int check(const std::string& path) {
  auto p = policy::Policy::load(path);
  if (!p) {
    std::cerr << p.error().to_string() << "\n";
    return 1;
  }
  const auto& pol = **p;
  std::cout << path << ": OK (" << pol.tenants().size() << " tenants, " << pol.assets().size() << " assets, "
            << pol.users().size() << " users)\n";
  for (const auto& t : pol.tenants()) {
    std::cout << "  tenant " << t.name << " (" << t.display_name << "): " << t.networks.size() << " networks, "
              << t.vlans.size() << " VLANs, " << t.vnis.size() << " VNIs, default TLP:" << policy::to_string(t.default_tlp)
              << "\n";
  }
  for (const auto& a : pol.assets()) {
    std::cout << "  asset " << a.name << " tenant " << (a.tenant.empty() ? "-" : a.tenant) << " sys_level "
              << int(a.sys_level) << " importance " << a.importance << "\n";
  }
  for (const auto& u : pol.users()) {
    std::string scope;
    for (const auto& s : u.scope) scope += (scope.empty() ? "" : ",") + s;
    std::cout << "  user " << u.name << " role " << policy::to_string(u.role) << " tenant " << u.tenant << " scope "
              << scope << " clearance " << policy::to_string(u.clearance) << (u.may_unmask ? " may-unmask" : "")
              << (u.password_hash.empty() ? " no-password" : " password") << " tokens " << u.api_tokens.size() << "\n";
  }
  const auto& r = pol.retention();
  std::cout << "  retention alerts";
  for (int l = 0; l < 5; ++l) std::cout << " " << policy::to_string(static_cast<policy::Level>(l)) << "=" << fmt_duration(r.alert_usec[l]);
  std::cout << "; protocol=" << fmt_duration(r.protocol_usec) << " incidents=" << fmt_duration(r.incident_usec)
            << " audit=" << fmt_duration(r.audit_usec) << "\n";
  return 0;
}

std::string read_secret() {
  termios old{};
  const bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
  if (tty) {
    std::cerr << "password: " << std::flush;
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::cerr << "\n";
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vigil-policy: the policy file's tool (DESIGN §6)"};
  app.require_subcommand(1);

  std::string check_path;
  auto* c = app.add_subcommand("check", "validate a policy file and print a summary");
  c->add_option("policy", check_path, "policy.yaml")->required();

  auto* h = app.add_subcommand("hash-password", "read a password from stdin, print its argon2id hash");
  auto* t = app.add_subcommand("token", "print a new API token and the SHA-256 for api_tokens");

  std::string ex_path, ex_user, ex_action, ex_tenant, ex_level = "internal", ex_tlp = "amber";
  std::vector<std::string> ex_shared;
  auto* e = app.add_subcommand("explain", "show the decision for one user, action and record");
  e->add_option("policy", ex_path, "policy.yaml")->required();
  e->add_option("--user", ex_user, "user name")->required();
  e->add_option("--action", ex_action, "list, count, read, update, note, unmask, export, audit, admin")->required();
  e->add_option("--tenant", ex_tenant, "the record's owning tenant (empty: attacker-only data)");
  e->add_option("--level", ex_level, "the record's level");
  e->add_option("--tlp", ex_tlp, "the record's TLP");
  e->add_option("--shared-with", ex_shared, "tenants the record is shared with");

  CLI11_PARSE(app, argc, argv);

  if (c->parsed()) return check(check_path);
  if (h->parsed()) {
    std::string pw = read_secret();
    auto hash = policy::hash_password(pw);
    if (!hash) {
      std::cerr << hash.error().to_string() << "\n";
      return 1;
    }
    std::cout << *hash << "\n";
    return 0;
  }
  if (t->parsed()) {
    std::string tok = policy::random_token();
    std::cout << "token:  " << tok << "\nsha256: " << policy::sha256_hex(tok) << "\n";
    return 0;
  }
  if (e->parsed()) {
    auto p = policy::Policy::load(ex_path);
    if (!p) {
      std::cerr << p.error().to_string() << "\n";
      return 1;
    }
    const auto* u = (*p)->find_user(ex_user);
    if (!u) {
      std::cerr << ex_path << ": no user '" << ex_user << "'\n";
      return 1;
    }
    auto action = policy::parse_action(ex_action);
    auto level = policy::parse_level(ex_level);
    auto tlp = policy::parse_tlp(ex_tlp);
    if (!action || !level || !tlp) {
      std::cerr << "unknown " << (!action ? "action '" + ex_action : !level ? "level '" + ex_level : "TLP '" + ex_tlp) << "'\n";
      return 2;
    }
    policy::RecordView r{"alert", ex_tenant, *level, *tlp, ex_shared, false};
    auto d = (*p)->may(*u, *action, r);
    std::cout << (d.allow ? "allow" : "deny") << " [" << d.rule << "] " << d.reason << "\n";
    return d.allow ? 0 : 3;
  }
  return 0;
}
