#include "vigil/feeds/misp.h"

#include <filesystem>
#include <fstream>

#include <openssl/md5.h>

#include "vigil/feeds/indicator.h"
#include "vigil/feeds/stix.h"

namespace vigil::feeds {

using nlohmann::json;

namespace {

std::string md5_hex(const std::string& s) {
  uint8_t d[MD5_DIGEST_LENGTH];
  MD5(reinterpret_cast<const uint8_t*>(s.data()), s.size(), d);
  static const char* h = "0123456789abcdef";
  std::string out;
  for (uint8_t b : d) {
    out += h[b >> 4];
    out += h[b & 15];
  }
  return out;
}

struct MispType {
  const char* type;
  const char* category;
};

MispType misp_type(IndicatorType t) {
  switch (t) {
    case IndicatorType::kIpv4:
    case IndicatorType::kIpv6: return {"ip-dst", "Network activity"};
    case IndicatorType::kDomain: return {"domain", "Network activity"};
    case IndicatorType::kUrl: return {"url", "Network activity"};
    case IndicatorType::kSha256: return {"sha256", "Payload delivery"};
    case IndicatorType::kMd5: return {"md5", "Payload delivery"};
    case IndicatorType::kSha1: return {"sha1", "Payload delivery"};
  }
  return {"text", "Other"};
}

std::string tlp_tag(const json& o) {
  for (const auto& ref : o.value("object_marking_refs", json::array())) {
    for (Tlp t : {Tlp::kClear, Tlp::kGreen, Tlp::kAmber, Tlp::kAmberStrict, Tlp::kRed}) {
      if (ref == stix::marking_id(t)) return "tlp:" + std::string(policy::to_string(t));
    }
  }
  return "tlp:red";  // unmarked: the strictest
}

int tlp_rank(const std::string& tag) {
  static const char* order[] = {"tlp:clear", "tlp:green", "tlp:amber", "tlp:amber+strict", "tlp:red"};
  for (int i = 0; i < 5; ++i) {
    if (tag == order[i]) return i;
  }
  return 4;
}

}  // namespace

MispFeed build_misp_feed(const std::vector<json>& objects, const std::string& org_name, const std::string& feed_name) {
  MispFeed feed;
  json orgc = {{"name", org_name}, {"uuid", stix::uuid5("misp-org|" + org_name)}};
  struct Ev {
    json attrs = json::array();
    int64_t timestamp = 0;
    std::string tag = "tlp:clear";
  };
  std::map<std::string, Ev> days;  // date -> event
  for (const auto& o : objects) {
    if (o.value("type", "") != "indicator") continue;
    auto p = stix::parse_pattern(o.value("pattern", ""));
    if (!p) continue;
    auto created = parse_time(o.value("created", ""));
    auto modified = parse_time(o.value("modified", ""));
    if (!created || !modified) continue;
    std::string date = stix_time(core::Timestamp{*created}).substr(0, 10);
    Ev& ev = days[date];
    auto mt = misp_type(p->first);
    ev.attrs.push_back({{"uuid", stix::uuid5("misp-attr|" + o.value("id", ""))},
                        {"type", mt.type},
                        {"category", mt.category},
                        {"value", p->second},
                        {"to_ids", true},
                        {"timestamp", std::to_string(*modified / 1000000)},
                        {"comment", o.value("name", "")},
                        {"Tag", {{{"name", tlp_tag(o)}}}}});
    ev.timestamp = std::max(ev.timestamp, *modified / 1000000);
    std::string tag = tlp_tag(o);
    if (tlp_rank(tag) > tlp_rank(ev.tag)) ev.tag = tag;  // the event is as strict as its strictest attribute
  }
  for (auto& [date, ev] : days) {
    std::string uuid = stix::uuid5("misp-event|" + feed_name + "|" + date);
    std::string info = org_name + " indicators " + date;
    json tags = {{{"name", ev.tag}}};
    json event = {{"uuid", uuid},
                  {"info", info},
                  {"date", date},
                  {"analysis", "2"},
                  {"threat_level_id", "2"},
                  {"published", true},
                  {"timestamp", std::to_string(ev.timestamp)},
                  {"Orgc", orgc},
                  {"Tag", tags},
                  {"Attribute", ev.attrs}};
    feed.manifest[uuid] = {{"Orgc", orgc},
                           {"Tag", tags},
                           {"info", info},
                           {"date", date},
                           {"analysis", 2},
                           {"threat_level_id", 2},
                           {"timestamp", ev.timestamp}};
    for (const auto& a : ev.attrs) feed.hashes_csv += md5_hex(a["value"].get<std::string>()) + "," + uuid + "\n";
    feed.events[uuid] = {{"Event", event}};
  }
  return feed;
}

core::Status write_misp_feed(const MispFeed& feed, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return core::make_error("cannot create directory: " + ec.message(), dir);
  auto write = [&](const std::string& name, const std::string& text) -> core::Status {
    auto path = (std::filesystem::path(dir) / name).string();
    std::ofstream out(path, std::ios::trunc);
    out << text;
    if (!out) return core::make_error("cannot write", path);
    return {};
  };
  if (auto st = write("manifest.json", feed.manifest.dump(1)); !st) return st;
  for (const auto& [uuid, ev] : feed.events) {
    if (auto st = write(uuid + ".json", ev.dump(1)); !st) return st;
  }
  return write("hashes.csv", feed.hashes_csv);
}

}  // namespace vigil::feeds
