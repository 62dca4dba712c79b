// Classification rule packs (rules/packs/*.yaml): parsing and validation. The format is
// documented in docs/classification.md; every error names the source and the key.
#include <fstream>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "classify_internal.h"
#include "vigil/sensor/classify.h"

namespace vigil::sensor::classify {

const char* to_string(Label l) {
  switch (l) {
    case Label::kPiiBasic: return "pii";
    case Label::kPiiSensitive: return "pii-sensitive";
    case Label::kStateSecret: return "state-secret";
  }
  return "pii";
}

std::vector<std::string> validator_names() {
  std::vector<std::string> out;
  for (const auto& [name, kind] : kValidators) out.emplace_back(name);
  return out;
}

std::optional<ValidatorKind> validator_kind(std::string_view name) {
  for (const auto& [n, kind] : kValidators) {
    if (name == n) return kind;
  }
  return std::nullopt;
}

namespace {
core::Error at(const std::string& source, const std::string& key, const std::string& msg) {
  return core::make_error(msg, source + ": " + key);
}
}  // namespace

core::Result<Pack> parse_pack(const std::string& text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return core::make_error("not valid YAML: " + std::string(e.what()), source);
  }
  if (!root.IsMap()) return core::make_error("a pack is a mapping (pack, version, detectors)", source);
  Pack pack;
  static const std::set<std::string> kTop = {"pack", "version", "context-window", "detectors"};
  static const std::set<std::string> kDet = {"id",      "pattern", "validator",     "label",
                                             "context", "grade",   "context-words", "description"};
  try {
    for (const auto& kv : root) {
      const std::string k = kv.first.as<std::string>();
      if (!kTop.count(k)) return at(source, k, "unknown key");
    }
    if (!root["pack"] || !root["pack"].IsScalar()) return at(source, "pack", "missing pack name");
    pack.name = root["pack"].as<std::string>();
    if (root["version"]) pack.version = root["version"].as<uint32_t>();
    if (root["context-window"]) {
      pack.context_window = root["context-window"].as<uint32_t>();
      if (pack.context_window < 8 || pack.context_window > kMaxContextWindow) {
        return at(source, "context-window", "must be 8-" + std::to_string(kMaxContextWindow));
      }
    }
    const YAML::Node dets = root["detectors"];
    if (!dets || !dets.IsSequence() || dets.size() == 0) {
      return at(source, "detectors", "expected a non-empty list of detectors");
    }
    std::set<std::string> ids;
    for (size_t i = 0; i < dets.size(); ++i) {
      const YAML::Node d = dets[i];
      const std::string where = "detectors[" + std::to_string(i) + "]";
      if (!d.IsMap()) return at(source, where, "expected a mapping");
      for (const auto& kv : d) {
        const std::string k = kv.first.as<std::string>();
        if (!kDet.count(k)) return at(source, where + "." + k, "unknown key");
      }
      DetectorSpec s;
      for (const char* req : {"id", "pattern", "validator", "label"}) {
        if (!d[req] || !d[req].IsScalar() || d[req].as<std::string>().empty()) {
          return at(source, where + "." + req, "missing");
        }
      }
      s.id = d["id"].as<std::string>();
      if (!ids.insert(s.id).second) return at(source, where + ".id", "duplicate id '" + s.id + "'");
      s.pattern = d["pattern"].as<std::string>();
      s.validator = d["validator"].as<std::string>();
      if (!validator_kind(s.validator)) {
        std::string names;
        for (const auto& n : validator_names()) names += (names.empty() ? "" : ", ") + n;
        return at(source, where + ".validator", "unknown validator '" + s.validator + "' (" + names + ")");
      }
      const std::string label = d["label"].as<std::string>();
      if (label == "pii") s.label = Label::kPiiBasic;
      else if (label == "pii-sensitive") s.label = Label::kPiiSensitive;
      else if (label == "state-secret") s.label = Label::kStateSecret;
      else return at(source, where + ".label", "unknown label '" + label + "' (pii, pii-sensitive, state-secret)");
      if ((s.label == Label::kStateSecret) != (*validator_kind(s.validator) == ValidatorKind::kStamp)) {
        return at(source, where + ".label", "the stamp validator and the state-secret label go together");
      }
      const std::string ctx = d["context"] ? d["context"].as<std::string>() : "none";
      if (ctx == "none") s.context_mode = ContextMode::kNone;
      else if (ctx == "boost") s.context_mode = ContextMode::kBoost;
      else if (ctx == "required") s.context_mode = ContextMode::kRequired;
      else return at(source, where + ".context", "unknown mode '" + ctx + "' (none, boost, required)");
      if (d["context-words"]) {
        if (!d["context-words"].IsSequence()) return at(source, where + ".context-words", "expected a list");
        for (const auto& w : d["context-words"]) {
          std::string word = w.as<std::string>();
          if (word.empty() || word.size() > pack.context_window) {
            return at(source, where + ".context-words", "empty or longer than context-window: '" + word + "'");
          }
          s.context.push_back(std::move(word));
        }
      }
      if (s.context_mode != ContextMode::kNone && s.context.empty()) {
        return at(source, where + ".context-words", "context '" + ctx + "' needs context words");
      }
      if (d["grade"]) s.grade = d["grade"].as<std::string>();
      if (s.label == Label::kStateSecret && s.grade.empty()) {
        return at(source, where + ".grade", "a stamp detector needs its grade (mat, toi-mat, tuyet-mat)");
      }
      if (d["description"]) s.description = d["description"].as<std::string>();
      pack.detectors.push_back(std::move(s));
    }
  } catch (const YAML::Exception& e) {
    return core::make_error("wrong type: " + std::string(e.what()), source);
  }
  return pack;
}

core::Result<Pack> load_pack(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::make_error("cannot read the classification pack", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_pack(ss.str(), path);
}

}  // namespace vigil::sensor::classify
