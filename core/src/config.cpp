#include "vigil/core/config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>

namespace vigil::core {

namespace {
std::vector<std::string> split_key(const std::string& key) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : key) {
    if (c == '.') {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  parts.push_back(cur);
  return parts;
}
}  // namespace

Result<YAML::Node> load_yaml_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error("cannot open config file", path);
  try {
    YAML::Node n = YAML::Load(in);
    if (n.IsNull()) n = YAML::Node(YAML::NodeType::Map);
    if (!n.IsMap()) return make_error("top level must be a mapping", path);
    return n;
  } catch (const YAML::Exception& e) {
    return make_error(e.what(), path + ":" + std::to_string(e.mark.line + 1));
  }
}

Status apply_override(YAML::Node& root, const std::string& assignment) {
  auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    return make_error("expected KEY=VALUE", "--set " + assignment);
  }
  std::string key = assignment.substr(0, eq);
  std::string value = assignment.substr(eq + 1);
  try {
    YAML::Node parsed = value.empty() ? YAML::Node("") : YAML::Load(value);
    auto parts = split_key(key);
    // yaml-cpp nodes are handles: walk with fresh handles so assignment does not rebind.
    std::vector<YAML::Node> path{root};
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      YAML::Node child = path.back()[parts[i]];
      if (!child.IsDefined() || !child.IsMap()) {
        path.back()[parts[i]] = YAML::Node(YAML::NodeType::Map);
        child = path.back()[parts[i]];
      }
      path.push_back(child);
    }
    path.back()[parts.back()] = parsed;
  } catch (const YAML::Exception& e) {
    return make_error(e.what(), "--set " + assignment);
  }
  return {};
}

std::optional<uint64_t> parse_size(const std::string& text) {
  std::string t;
  for (char c : text) {
    if (!std::isspace(static_cast<unsigned char>(c))) t += static_cast<char>(std::tolower(c));
  }
  uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
  if (ec != std::errc() || ptr == t.data()) return std::nullopt;
  std::string suffix(ptr, static_cast<size_t>(t.data() + t.size() - ptr));
  uint64_t mult = 1;
  if (suffix.empty() || suffix == "b") mult = 1;
  else if (suffix == "kb" || suffix == "k" || suffix == "kib") mult = 1ull << 10;
  else if (suffix == "mb" || suffix == "m" || suffix == "mib") mult = 1ull << 20;
  else if (suffix == "gb" || suffix == "g" || suffix == "gib") mult = 1ull << 30;
  else return std::nullopt;
  return n * mult;
}

std::optional<YAML::Node> ConfigReader::find(const std::string& key) const {
  YAML::Node cur = YAML::Clone(root_);
  for (const auto& part : split_key(key)) {
    if (!cur.IsMap()) return std::nullopt;
    YAML::Node next = cur[part];
    if (!next.IsDefined() || next.IsNull()) return std::nullopt;
    cur = next;
  }
  return cur;
}

bool ConfigReader::has(const std::string& key) const { return find(key).has_value(); }

void ConfigReader::fail(const std::string& key, const std::string& what) {
  if (!first_error_) first_error_ = make_error(what, source_ + ": key '" + key + "'");
}

bool ConfigReader::get_bool(const std::string& key, bool def) {
  read_.insert(key);
  auto n = find(key);
  if (!n) return def;
  std::string v = n->IsScalar() ? n->Scalar() : "";
  std::transform(v.begin(), v.end(), v.begin(), ::tolower);
  if (v == "true" || v == "yes" || v == "on" || v == "1") return true;
  if (v == "false" || v == "no" || v == "off" || v == "0") return false;
  fail(key, "expected a boolean (yes/no/true/false), got '" + v + "'");
  return def;
}

int64_t ConfigReader::get_int(const std::string& key, int64_t def, int64_t min, int64_t max) {
  read_.insert(key);
  auto n = find(key);
  if (!n) return def;
  std::string v = n->IsScalar() ? n->Scalar() : "";
  int64_t out = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || ptr != v.data() + v.size()) {
    fail(key, "expected an integer, got '" + v + "'");
    return def;
  }
  if (out < min || out > max) {
    fail(key, "value " + v + " out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    return def;
  }
  return out;
}

uint64_t ConfigReader::get_size(const std::string& key, uint64_t def) {
  read_.insert(key);
  auto n = find(key);
  if (!n) return def;
  std::string v = n->IsScalar() ? n->Scalar() : "";
  auto s = parse_size(v);
  if (!s) {
    fail(key, "expected a size such as 64kb or 32mb, got '" + v + "'");
    return def;
  }
  return *s;
}

std::string ConfigReader::get_string(const std::string& key, const std::string& def) {
  read_.insert(key);
  auto n = find(key);
  if (!n) return def;
  if (!n->IsScalar()) {
    fail(key, "expected a string");
    return def;
  }
  return n->Scalar();
}

std::vector<std::string> ConfigReader::get_string_list(const std::string& key) {
  read_.insert(key);
  auto n = find(key);
  std::vector<std::string> out;
  if (!n) return out;
  if (n->IsScalar()) {
    out.push_back(n->Scalar());
    return out;
  }
  if (!n->IsSequence()) {
    fail(key, "expected a list of strings");
    return out;
  }
  for (const auto& item : *n) {
    if (!item.IsScalar()) {
      fail(key, "expected a list of strings");
      return {};
    }
    out.push_back(item.Scalar());
  }
  return out;
}

YAML::Node ConfigReader::get_node(const std::string& key) {
  ignore(key);
  auto n = find(key);
  return n ? *n : YAML::Node();
}

void ConfigReader::ignore(const std::string& key_prefix) { ignored_prefixes_.push_back(key_prefix); }

void ConfigReader::collect_unread(const YAML::Node& n, const std::string& prefix,
                                  std::vector<std::string>& out) const {
  for (const auto& p : ignored_prefixes_) {
    if (prefix == p || prefix.rfind(p + ".", 0) == 0) return;
  }
  if (n.IsMap()) {
    for (const auto& kv : n) {
      std::string k = kv.first.as<std::string>();
      collect_unread(kv.second, prefix.empty() ? k : prefix + "." + k, out);
    }
    return;
  }
  if (!prefix.empty() && !read_.count(prefix)) out.push_back(prefix);
}

Status ConfigReader::finish() const {
  if (first_error_) return *first_error_;
  std::vector<std::string> unread;
  try {
    collect_unread(root_, "", unread);
  } catch (const YAML::Exception& e) {
    return make_error(e.what(), source_);
  }
  if (!unread.empty()) {
    return make_error("unknown key '" + unread.front() + "'", source_);
  }
  return {};
}

}  // namespace vigil::core
