#include "vigil/feeds/stix.h"

#include <array>
#include <cctype>
#include <cstdio>

#include <openssl/sha.h>

namespace vigil::feeds::stix {

using core::make_error;

namespace {

std::optional<std::array<uint8_t, 16>> parse_uuid(std::string_view s) {
  if (s.size() != 36) return std::nullopt;
  std::array<uint8_t, 16> out{};
  size_t o = 0;
  for (size_t i = 0; i < 36;) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return std::nullopt;
      ++i;
      continue;
    }
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    int hi = hex(s[i]), lo = hex(s[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[o++] = static_cast<uint8_t>(hi << 4 | lo);
    i += 2;
  }
  return out;
}

std::string format_uuid(const uint8_t* b) {
  char buf[37];
  std::snprintf(buf, sizeof buf, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return buf;
}

struct TlpMarking {
  const char* uuid;
  const char* name;
  const char* value;
};
constexpr TlpMarking kMarkings[] = {
    {"94868c89-83c2-464b-929b-a1a8aa3c8487", "TLP:CLEAR", "clear"},
    {"bab4a63c-aed9-4cf5-a766-dfca5abac2bb", "TLP:GREEN", "green"},
    {"55d920b0-5e8b-4f79-9ee9-91f868d9b421", "TLP:AMBER", "amber"},
    {"939a9414-2ddd-4d32-a0cd-375ea402b003", "TLP:AMBER+STRICT", "amber+strict"},
    {"e828b379-4e03-4974-9ac4-e53a884c97c1", "TLP:RED", "red"},
};
const std::string kMarkingIds[] = {
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"};

std::string quote(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

bool valid_id(const nlohmann::json& v, std::string_view type) {
  if (!v.is_string()) return false;
  const std::string& s = v.get_ref<const std::string&>();
  auto sep = s.find("--");
  if (sep == std::string::npos) return false;
  if (!type.empty() && s.substr(0, sep) != type) return false;
  auto u = parse_uuid(std::string_view(s).substr(sep + 2));
  // RFC 4122 variant; STIX 2.1 wants UUIDv4 for random ids and allows v5 for deterministic ones.
  return u && ((*u)[8] & 0xc0) == 0x80;
}

bool valid_time(const nlohmann::json& v) {
  if (!v.is_string()) return false;
  const std::string& s = v.get_ref<const std::string&>();
  // STIX timestamps are UTC with a "Z".
  return !s.empty() && s.back() == 'Z' && parse_time(s).has_value();
}

}  // namespace

std::string uuid5(std::string_view ns, std::string_view name) {
  auto n = parse_uuid(ns);
  std::array<uint8_t, 16> nsb = n ? *n : std::array<uint8_t, 16>{};
  std::string data(reinterpret_cast<const char*>(nsb.data()), nsb.size());
  data.append(name);
  uint8_t digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const uint8_t*>(data.data()), data.size(), digest);
  digest[6] = static_cast<uint8_t>((digest[6] & 0x0f) | 0x50);
  digest[8] = static_cast<uint8_t>((digest[8] & 0x3f) | 0x80);
  return format_uuid(digest);
}

std::string uuid5(std::string_view name) { return uuid5(kNamespace, name); }

std::string_view marking_id(Tlp tlp) { return kMarkingIds[static_cast<size_t>(tlp)]; }

nlohmann::json marking_definition(Tlp tlp) {
  const auto& m = kMarkings[static_cast<size_t>(tlp)];
  return {{"type", "marking-definition"},
          {"spec_version", "2.1"},
          {"id", std::string(marking_id(tlp))},
          {"created", "2022-10-01T00:00:00.000Z"},
          {"name", m.name},
          {"extensions",
           {{std::string(kTlpExtension), {{"extension_type", "property-extension"}, {"tlp_2_0", m.value}}}}}};
}

std::string soc_identity_id(std::string_view soc_name) { return "identity--" + uuid5("identity|soc|" + std::string(soc_name)); }
std::string tenant_identity_id(std::string_view tenant) { return "identity--" + uuid5("identity|tenant|" + std::string(tenant)); }

nlohmann::json soc_identity(std::string_view soc_name, core::Timestamp created) {
  std::string t = stix_time(created);
  return {{"type", "identity"},
          {"spec_version", "2.1"},
          {"id", soc_identity_id(soc_name)},
          {"created", t},
          {"modified", t},
          {"name", std::string(soc_name)},
          {"identity_class", "organization"},
          {"sectors", {"government"}},
          {"object_marking_refs", {std::string(marking_id(Tlp::kClear))}}};
}

nlohmann::json tenant_identity(std::string_view tenant, std::string_view display_name, std::string_view soc_name,
                               core::Timestamp created) {
  std::string t = stix_time(created);
  return {{"type", "identity"},
          {"spec_version", "2.1"},
          {"id", tenant_identity_id(tenant)},
          {"created_by_ref", soc_identity_id(soc_name)},
          {"created", t},
          {"modified", t},
          {"name", std::string(display_name.empty() ? tenant : display_name)},
          {"identity_class", "organization"},
          {"sectors", {"government"}},
          {"object_marking_refs", {std::string(marking_id(Tlp::kAmberStrict))}}};
}

std::string pattern(IndicatorType type, std::string_view value) {
  std::string v = quote(value);
  switch (type) {
    case IndicatorType::kIpv4: return "[ipv4-addr:value = '" + v + "']";
    case IndicatorType::kIpv6: return "[ipv6-addr:value = '" + v + "']";
    case IndicatorType::kDomain: return "[domain-name:value = '" + v + "']";
    case IndicatorType::kUrl: return "[url:value = '" + v + "']";
    case IndicatorType::kSha256: return "[file:hashes.'SHA-256' = '" + v + "']";
    case IndicatorType::kMd5: return "[file:hashes.MD5 = '" + v + "']";
    case IndicatorType::kSha1: return "[file:hashes.'SHA-1' = '" + v + "']";
  }
  return {};
}

core::Result<std::pair<IndicatorType, std::string>> parse_pattern(std::string_view text) {
  std::string_view s = text;
  auto trim = [](std::string_view& v) {
    while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.remove_prefix(1);
    while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.remove_suffix(1);
  };
  trim(s);
  if (s.size() < 2 || s.front() != '[' || s.back() != ']') return make_error("pattern must be one '[...]' comparison");
  s = s.substr(1, s.size() - 2);
  auto eq = s.find('=');
  if (eq == std::string_view::npos) return make_error("pattern needs an '=' comparison (the supported subset)");
  std::string_view lhs = s.substr(0, eq), rhs = s.substr(eq + 1);
  trim(lhs);
  trim(rhs);
  if (!lhs.empty() && (lhs.back() == '!' || lhs.back() == '<' || lhs.back() == '>')) {
    return make_error("only '=' comparisons are supported");
  }
  if (rhs.size() < 2 || rhs.front() != '\'' || rhs.back() != '\'') return make_error("the value must be a quoted string");
  std::string value;
  for (size_t i = 1; i + 1 < rhs.size(); ++i) {
    char c = rhs[i];
    if (c == '\\') {
      if (i + 2 >= rhs.size() || (rhs[i + 1] != '\'' && rhs[i + 1] != '\\')) return make_error("bad escape in the value");
      value += rhs[++i];
    } else if (c == '\'') {
      return make_error("unescaped quote in the value (AND/OR/FOLLOWEDBY are not supported)");
    } else {
      value += c;
    }
  }
  std::string path;
  for (char c : lhs) {
    if (!std::isspace(static_cast<unsigned char>(c))) path += c;
  }
  std::optional<IndicatorType> type;
  if (path == "ipv4-addr:value") type = IndicatorType::kIpv4;
  else if (path == "ipv6-addr:value") type = IndicatorType::kIpv6;
  else if (path == "domain-name:value") type = IndicatorType::kDomain;
  else if (path == "url:value") type = IndicatorType::kUrl;
  else if (path == "file:hashes.'SHA-256'" || path == "file:hashes.SHA256" || path == "file:hashes.'SHA256'") type = IndicatorType::kSha256;
  else if (path == "file:hashes.MD5" || path == "file:hashes.'MD5'") type = IndicatorType::kMd5;
  else if (path == "file:hashes.'SHA-1'" || path == "file:hashes.SHA1" || path == "file:hashes.'SHA1'") type = IndicatorType::kSha1;
  if (!type) return make_error("unsupported object path '" + path + "'");
  auto norm = normalize(*type, value);
  if (!norm) return make_error("'" + value + "' is not a valid " + std::string(to_string(*type)) + " value");
  // ipv4-addr values may be CIDR blocks in STIX; only single addresses are taken here.
  return std::make_pair(*type, *norm);
}

std::string indicator_id(const Indicator& i) {
  if (!i.stix_id.empty()) return i.stix_id;
  return "indicator--" + uuid5("indicator|" + std::string(to_string(i.type)) + "|" + i.value);
}

std::string sighting_id(const Sighting& s) {
  return "sighting--" + uuid5("sighting|" + std::string(to_string(s.type)) + "|" + s.value + "|" + s.tenant);
}

nlohmann::json to_stix(const Indicator& i, std::string_view soc_name) {
  Tlp tlp = effective_tlp(i);
  bool submitted = i.source.rfind("agency:", 0) == 0;
  std::string name = std::string(to_string(i.type)) + " " + i.value;
  nlohmann::json j = {{"type", "indicator"},
                      {"spec_version", "2.1"},
                      {"id", indicator_id(i)},
                      {"created_by_ref", submitted ? tenant_identity_id(i.source.substr(7)) : soc_identity_id(soc_name)},
                      {"created", stix_time(i.created)},
                      {"modified", stix_time(std::max(i.modified, i.created))},
                      {"name", name},
                      {"indicator_types", {"malicious-activity"}},
                      {"pattern", pattern(i.type, i.value)},
                      {"pattern_type", "stix"},
                      {"pattern_version", "2.1"},
                      {"valid_from", stix_time(i.first_seen.usec ? i.first_seen : i.created)},
                      {"object_marking_refs", {std::string(marking_id(tlp))}}};
  if (!i.labels.empty()) j["labels"] = i.labels;
  if (!i.description.empty()) j["description"] = i.description;
  return j;
}

nlohmann::json to_stix(const Sighting& s, std::string_view soc_name, bool with_victim) {
  Indicator ref;
  ref.type = s.type;
  ref.value = s.value;
  nlohmann::json j = {{"type", "sighting"},
                      {"spec_version", "2.1"},
                      {"id", sighting_id(s)},
                      {"created_by_ref", soc_identity_id(soc_name)},
                      {"created", stix_time(s.created)},
                      {"modified", stix_time(std::max(s.modified, s.created))},
                      {"sighting_of_ref", indicator_id(ref)},
                      {"count", std::min<uint64_t>(s.count(), 999999999)},
                      {"first_seen", stix_time(s.first_seen)},
                      {"last_seen", stix_time(std::max(s.last_seen, s.first_seen))},
                      {"object_marking_refs", {std::string(marking_id(effective_tlp(s)))}}};
  if (with_victim && !s.tenant.empty()) j["where_sighted_refs"] = {tenant_identity_id(s.tenant)};
  return j;
}

std::string validate(const nlohmann::json& o) {
  if (!o.is_object()) return "not a JSON object";
  std::string type = o.value("type", "");
  if (type.empty()) return "missing type";
  if (o.value("spec_version", "") != "2.1") return "spec_version must be \"2.1\"";
  if (!valid_id(o.value("id", nlohmann::json()), type)) return "id must be \"" + type + "--<RFC 4122 UUID>\"";
  if (!o.contains("created") || !valid_time(o["created"])) return "created must be an RFC 3339 UTC timestamp";
  if (type != "marking-definition") {
    if (!o.contains("modified") || !valid_time(o["modified"])) return "modified must be an RFC 3339 UTC timestamp";
    if (*parse_time(o["modified"].get<std::string>()) < *parse_time(o["created"].get<std::string>())) {
      return "modified is before created";
    }
  }
  if (o.contains("object_marking_refs")) {
    const auto& refs = o["object_marking_refs"];
    if (!refs.is_array() || refs.empty()) return "object_marking_refs must be a non-empty list";
    for (const auto& r : refs) {
      if (!valid_id(r, "marking-definition")) return "object_marking_refs holds a non-marking id";
    }
  }
  if (o.contains("created_by_ref") && !valid_id(o["created_by_ref"], "identity")) return "created_by_ref must be an identity id";
  if (type == "indicator") {
    if (o.value("pattern_type", "") != "stix") return "pattern_type must be \"stix\"";
    if (!o.contains("pattern") || !o["pattern"].is_string()) return "missing pattern";
    if (auto p = parse_pattern(o["pattern"].get<std::string>()); !p) return "pattern: " + p.error().message;
    if (!o.contains("valid_from") || !valid_time(o["valid_from"])) return "valid_from must be an RFC 3339 UTC timestamp";
    if (o.contains("valid_until")) {
      if (!valid_time(o["valid_until"])) return "valid_until must be an RFC 3339 UTC timestamp";
      if (*parse_time(o["valid_until"].get<std::string>()) <= *parse_time(o["valid_from"].get<std::string>())) {
        return "valid_until must be after valid_from";
      }
    }
  } else if (type == "sighting") {
    if (!o.contains("sighting_of_ref") || !valid_id(o["sighting_of_ref"], "")) return "missing sighting_of_ref";
  }
  return {};
}

}  // namespace vigil::feeds::stix
