// Configuration loading shared by every component.
//
// A component owns a config struct and one parse function. That function reads values through a
// ConfigReader, which records every key it was asked about; `finish()` then rejects any key in the
// document that nobody asked for, naming it ("vigil-sensor.yaml: unknown key 'stream.midstrem'").
// yaml-cpp throws; nothing here does: every failure comes back as an Error naming file and key.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "vigil/core/result.h"

namespace vigil::core {

// Parses a YAML file. An empty file yields an empty map.
Result<YAML::Node> load_yaml_file(const std::string& path);

// Applies "a.b.c=value" to `root`, creating maps on the way (Suricata's --set). The value is
// parsed as a YAML scalar or flow sequence.
Status apply_override(YAML::Node& root, const std::string& assignment);

// Reads typed values by dotted key from a YAML tree and remembers which keys were read.
class ConfigReader {
 public:
  ConfigReader(YAML::Node root, std::string source) : root_(std::move(root)), source_(std::move(source)) {}

  // Each getter returns the default when the key is absent, and records an error (and returns the
  // default) when it is present with the wrong type or out of range.
  bool get_bool(const std::string& key, bool def);
  int64_t get_int(const std::string& key, int64_t def, int64_t min = INT64_MIN, int64_t max = INT64_MAX);
  // Sizes accept suffixes: "64kb", "32mb", "1gb" (powers of 1024), as Suricata's configs do.
  uint64_t get_size(const std::string& key, uint64_t def);
  std::string get_string(const std::string& key, const std::string& def);
  std::vector<std::string> get_string_list(const std::string& key);
  // A subtree, for keys whose children are free-form (e.g. vars.address-groups.*): every key
  // below it counts as read.
  YAML::Node get_node(const std::string& key);
  bool has(const std::string& key) const;

  // Marks a subtree as accepted and ignored (documented pass-through keys).
  void ignore(const std::string& key_prefix);

  // Fails with the first type error, or with the first key in the document that was never read.
  Status finish() const;

  const std::string& source() const { return source_; }

 private:
  std::optional<YAML::Node> find(const std::string& key) const;
  void fail(const std::string& key, const std::string& what);
  void collect_unread(const YAML::Node& n, const std::string& prefix, std::vector<std::string>& out) const;

  YAML::Node root_;
  std::string source_;
  std::set<std::string> read_;
  std::vector<std::string> ignored_prefixes_;
  std::optional<Error> first_error_;
};

// "64kb" -> 65536. Plain numbers are bytes.
std::optional<uint64_t> parse_size(const std::string& text);

}  // namespace vigil::core
