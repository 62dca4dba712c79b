#include "vigil/feeds/indicator.h"

#include <algorithm>
#include <cctype>
#include <ctime>

namespace vigil::feeds {

using core::make_error;

namespace {

constexpr std::string_view kTypeNames[] = {"ipv4", "ipv6", "domain", "url", "sha256", "md5", "sha1"};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isxdigit(c) != 0; });
}

std::optional<std::string> normalize_domain(std::string_view v) {
  std::string d = lower(v);
  if (!d.empty() && d.back() == '.') d.pop_back();
  if (d.empty() || d.size() > 253 || d.find('.') == std::string::npos) return std::nullopt;
  size_t label = 0;
  for (char c : d) {
    if (c == '.') {
      if (label == 0) return std::nullopt;
      label = 0;
      continue;
    }
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return std::nullopt;
    if (++label > 63) return std::nullopt;
  }
  if (label == 0) return std::nullopt;
  // A dotted quad is an address, not a domain.
  if (core::IpAddress::parse(d)) return std::nullopt;
  return d;
}

std::optional<std::string> normalize_url(std::string_view v) {
  auto scheme_end = v.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) return std::nullopt;
  std::string scheme = lower(v.substr(0, scheme_end));
  if (scheme != "http" && scheme != "https" && scheme != "ftp") return std::nullopt;
  std::string_view rest = v.substr(scheme_end + 3);
  auto path_at = rest.find_first_of("/?#");
  std::string_view host = rest.substr(0, path_at);
  std::string_view path = path_at == std::string_view::npos ? std::string_view("/") : rest.substr(path_at);
  // No query or fragment: they carry session ids, e-mail addresses and other personal data.
  path = path.substr(0, path.find_first_of("?#"));
  if (path.empty()) path = "/";
  if (host.empty() || host.find('@') != std::string_view::npos) return std::nullopt;  // no userinfo
  for (char c : path) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == '\'' || c == '\\' || c == 0x7f) return std::nullopt;
  }
  std::string h = lower(host);
  for (char c : h) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c == '_')) {
      return std::nullopt;
    }
  }
  return scheme + "://" + h + std::string(path);
}

template <typename T>
void add_unique(std::vector<T>& v, const T& x) {
  if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}

std::string str(const nlohmann::json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::string_view to_string(IndicatorType type) { return kTypeNames[static_cast<size_t>(type)]; }

std::optional<IndicatorType> parse_indicator_type(std::string_view text) {
  for (size_t i = 0; i < std::size(kTypeNames); ++i) {
    if (kTypeNames[i] == text) return static_cast<IndicatorType>(i);
  }
  return std::nullopt;
}

std::optional<std::string> normalize(IndicatorType type, std::string_view value) {
  switch (type) {
    case IndicatorType::kIpv4:
    case IndicatorType::kIpv6: {
      auto ip = core::IpAddress::parse(value);
      if (!ip || ip->is_v4() != (type == IndicatorType::kIpv4)) return std::nullopt;
      return ip->to_string();
    }
    case IndicatorType::kDomain:
      return normalize_domain(value);
    case IndicatorType::kUrl:
      return normalize_url(value);
    case IndicatorType::kSha256:
    case IndicatorType::kMd5:
    case IndicatorType::kSha1: {
      size_t want = type == IndicatorType::kSha256 ? 64 : type == IndicatorType::kMd5 ? 32 : 40;
      if (value.size() != want || !is_hex(value)) return std::nullopt;
      return lower(value);
    }
  }
  return std::nullopt;
}

std::string Indicator::key() const {
  if (source.rfind("agency:", 0) == 0) return "u|" + source.substr(7) + "|" + std::string(to_string(type)) + "|" + value;
  return "i|" + std::string(to_string(type)) + "|" + value;
}

uint64_t Sighting::count() const {
  uint64_t n = 0;
  for (const auto& [id, c] : refs) n += c;
  return n;
}
std::string Sighting::key() const { return "s|" + std::string(to_string(type)) + "|" + value + "|" + tenant; }
std::string Sighting::indicator_key() const { return "i|" + std::string(to_string(type)) + "|" + value; }

// ---- JSON (the stored form; never published as such) ----

nlohmann::json to_json(const Indicator& i) {
  return {{"kind", "indicator"},
          {"type", to_string(i.type)},
          {"value", i.value},
          {"level", policy::to_string(i.level)},
          {"tlp", policy::to_string(i.tlp)},
          {"released", i.released},
          {"recipients", i.recipients},
          {"source", i.source},
          {"labels", i.labels},
          {"tenants", i.tenants},
          {"refs", i.refs},
          {"first_seen", i.first_seen.usec},
          {"last_seen", i.last_seen.usec},
          {"created", i.created.usec},
          {"modified", i.modified.usec},
          {"date_added", i.date_added_usec},
          {"description", i.description},
          {"stix_id", i.stix_id}};
}

nlohmann::json to_json(const Sighting& s) {
  return {{"kind", "sighting"},
          {"type", to_string(s.type)},
          {"value", s.value},
          {"tenant", s.tenant},
          {"level", policy::to_string(s.level)},
          {"tlp", policy::to_string(s.tlp)},
          {"recipients", s.recipients},
          {"refs", s.refs},
          {"first_seen", s.first_seen.usec},
          {"last_seen", s.last_seen.usec},
          {"created", s.created.usec},
          {"modified", s.modified.usec},
          {"date_added", s.date_added_usec}};
}

namespace {

template <typename T>
core::Status common_from_json(const nlohmann::json& j, T& out) {
  if (!j.is_object()) return make_error("not an object");
  auto type = parse_indicator_type(str(j, "type"));
  if (!type) return make_error("unknown indicator type '" + str(j, "type") + "'", "type");
  out.type = *type;
  out.value = str(j, "value");
  auto level = policy::parse_level(str(j, "level"));
  if (!level) return make_error("unknown level '" + str(j, "level") + "'", "level");
  out.level = *level;
  auto tlp = policy::parse_tlp(str(j, "tlp"));
  if (!tlp) return make_error("unknown tlp '" + str(j, "tlp") + "'", "tlp");
  out.tlp = *tlp;
  out.recipients = j.value("recipients", std::vector<std::string>{});
  out.refs = j.value("refs", std::map<std::string, uint64_t>{});
  out.first_seen.usec = j.value("first_seen", int64_t{0});
  out.last_seen.usec = j.value("last_seen", int64_t{0});
  out.created.usec = j.value("created", int64_t{0});
  out.modified.usec = j.value("modified", int64_t{0});
  out.date_added_usec = j.value("date_added", int64_t{0});
  return {};
}

}  // namespace

core::Result<Indicator> indicator_from_json(const nlohmann::json& j) {
  Indicator i;
  try {
    if (auto st = common_from_json(j, i); !st) return st.error();
    i.released = j.value("released", false);
    i.source = j.value("source", std::string("soc"));
    i.labels = j.value("labels", std::vector<std::string>{});
    i.tenants = j.value("tenants", std::vector<std::string>{});
    i.description = j.value("description", std::string());
    i.stix_id = j.value("stix_id", std::string());
  } catch (const nlohmann::json::exception& e) {
    return make_error(std::string("bad indicator record: ") + e.what());
  }
  return i;
}

core::Result<Sighting> sighting_from_json(const nlohmann::json& j) {
  Sighting s;
  try {
    if (auto st = common_from_json(j, s); !st) return st.error();
    s.tenant = str(j, "tenant");
  } catch (const nlohmann::json::exception& e) {
    return make_error(std::string("bad sighting record: ") + e.what());
  }
  return s;
}

// ---- placement ----

Tlp effective_tlp(const Indicator& i) {
  Tlp floor = i.released ? Tlp::kClear : Tlp::kGreen;
  Tlp t = std::max(i.tlp, floor);
  if (i.level >= Level::kConfidential) t = Tlp::kRed;
  return t;
}

Tlp effective_tlp(const Sighting& s) {
  Tlp t = std::max(s.tlp, Tlp::kAmberStrict);
  if (s.level >= Level::kConfidential) t = Tlp::kRed;
  return t;
}

std::vector<Audience> placements(const Indicator& i) {
  std::vector<Audience> out;
  if (i.level >= Level::kTopSecret) return out;
  Tlp t = effective_tlp(i);
  if (i.source.rfind("agency:", 0) == 0) {
    // A submission stays with the agency that sent it (and the correlator's enrichment); sharing
    // it further is a person's decision.
    out.push_back({std::max(t, Tlp::kAmberStrict), "submissions", i.source.substr(7)});
    return out;
  }
  if (t == Tlp::kRed) {
    for (const auto& r : i.recipients) out.push_back({Tlp::kRed, "user", r});
    return out;
  }
  if (t <= Tlp::kGreen) out.push_back({t, "agencies", ""});
  // Every tenant that saw it gets it beside its sightings, so its collection is self-contained.
  for (const auto& tenant : i.tenants) out.push_back({Tlp::kAmberStrict, "tenant", tenant});
  return out;
}

std::vector<Audience> placements(const Sighting& s) {
  std::vector<Audience> out;
  if (s.level >= Level::kTopSecret) return out;
  Tlp t = effective_tlp(s);
  if (t == Tlp::kRed) {
    for (const auto& r : s.recipients) out.push_back({Tlp::kRed, "user", r});
    return out;
  }
  if (!s.tenant.empty()) out.push_back({Tlp::kAmberStrict, "tenant", s.tenant});
  return out;
}

// ---- confirmation and extraction ----

bool confirmed(const core::Alert& alert, const core::Incident* incident) {
  if (alert.status == core::AlertStatus::kClosed) {
    if (alert.verdict == "true-positive") return true;
    if (!alert.verdict.empty()) return false;  // closed as false-positive / benign
  }
  if (alert.incident.empty() || !incident) return false;
  if (incident->status == core::AlertStatus::kClosed) return incident->verdict == "true-positive";
  return true;  // escalated and open
}

bool is_special(const core::IpAddress& ip) {
  const auto& b = ip.bytes();
  if (ip.is_v4()) {
    uint32_t a = ip.v4_host_order();
    auto in = [a](uint32_t net, int prefix) { return (a >> (32 - prefix)) == (net >> (32 - prefix)); };
    return in(0x00000000, 8) || in(0x0a000000, 8) || in(0x7f000000, 8) || in(0xa9fe0000, 16) ||
           in(0xac100000, 12) || in(0xc0a80000, 16) || in(0x64400000, 10) || in(0xe0000000, 4) ||
           in(0xf0000000, 4);
  }
  bool zero = std::all_of(b.begin(), b.begin() + 15, [](uint8_t x) { return x == 0; });
  if (zero && (b[15] == 0 || b[15] == 1)) return true;  // :: and ::1
  if ((b[0] & 0xfe) == 0xfc) return true;               // fc00::/7 unique local
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return true;  // fe80::/10 link local
  if (b[0] == 0xff) return true;                        // multicast
  return false;
}

namespace {

std::optional<nlohmann::json> parse_app(const core::StoredEvent& e) {
  if (e.event.app_json.empty()) return std::nullopt;
  auto j = nlohmann::json::parse(e.event.app_json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

void add_hashes(const nlohmann::json& obj, std::vector<std::pair<IndicatorType, std::string>>& out) {
  for (auto [key, type] : {std::pair{"sha256", IndicatorType::kSha256}, std::pair{"md5", IndicatorType::kMd5},
                           std::pair{"sha1", IndicatorType::kSha1}}) {
    if (auto v = normalize(type, str(obj, key))) out.emplace_back(type, *v);
  }
}

}  // namespace

Extracted extract(const core::Alert& alert, const std::vector<core::StoredEvent>& events, const IsInternal& is_internal,
                  const TenantTlp& tenant_tlp) {
  auto attacker = [&](const core::IpAddress& ip) { return !is_special(ip) && !(is_internal && is_internal(ip)); };
  std::vector<std::pair<IndicatorType, std::string>> found;
  for (const auto* ip : {&alert.flow.src_ip, &alert.flow.dst_ip}) {
    if (attacker(*ip)) found.emplace_back(ip->is_v4() ? IndicatorType::kIpv4 : IndicatorType::kIpv6, ip->to_string());
  }
  for (const auto& e : events) {
    // The server side is the end with the lower port (the service port); names, URLs and files
    // belong to the attacker only when that end is an attacker address.
    const auto& f = e.event.flow;
    const core::IpAddress& server = f.src_port != 0 && f.src_port < f.dst_port ? f.src_ip : f.dst_ip;
    if (!attacker(server)) continue;
    auto app = parse_app(e);
    if (!app) continue;
    const std::string proto = e.event.app_proto;
    std::string host = str(*app, "hostname");
    if (host.empty()) host = str(*app, "sni");
    if (auto d = normalize(IndicatorType::kDomain, host)) {
      found.emplace_back(IndicatorType::kDomain, *d);
      std::string url = str(*app, "url");
      if (!url.empty() && url[0] == '/' && proto != "tls") {
        if (auto u = normalize(IndicatorType::kUrl, "http://" + *d + url)) found.emplace_back(IndicatorType::kUrl, *u);
      }
    }
    add_hashes(*app, found);
    if (app->contains("fileinfo") && (*app)["fileinfo"].is_object()) add_hashes((*app)["fileinfo"], found);
  }

  Extracted out;
  Level alert_level = policy::parse_level(alert.level).value_or(Level::kInternal);
  // The indicator itself carries no victim data: an internal alert yields a public indicator, but
  // a confidential or higher alert taints what came out of it (handled by hand, RED).
  Level ind_level = alert_level >= Level::kConfidential ? alert_level : Level::kPublic;
  // An unparsable TLP label is treated as RED: the strictest reading of something unknown.
  Tlp in_tlp = alert.labels.tlp.empty() ? Tlp::kClear : policy::parse_tlp(alert.labels.tlp).value_or(Tlp::kRed);
  Tlp ind_tlp = in_tlp;
  if (tenant_tlp && !alert.tenant.empty()) {
    if (auto def = tenant_tlp(alert.tenant); def && in_tlp <= *def) ind_tlp = Tlp::kClear;
  }
  std::string ref = alert.id.to_string();
  std::vector<std::string> seen;
  for (auto& [type, value] : found) {
    std::string k = std::string(to_string(type)) + "|" + value;
    if (std::find(seen.begin(), seen.end(), k) != seen.end()) continue;
    seen.push_back(k);
    Indicator i;
    i.type = type;
    i.value = value;
    i.level = ind_level;
    i.tlp = ind_tlp;
    if (!alert.signature.empty()) i.labels.push_back(alert.signature);
    if (!alert.tenant.empty()) i.tenants.push_back(alert.tenant);
    i.refs[ref] = alert.count;
    i.first_seen = alert.first_seen;
    i.last_seen = alert.last_seen;
    out.indicators.push_back(i);
    if (!alert.tenant.empty()) {
      Sighting s;
      s.type = type;
      s.value = value;
      s.tenant = alert.tenant;
      s.level = alert_level;
      s.tlp = std::max(in_tlp, Tlp::kAmberStrict);
      s.refs[ref] = alert.count;
      s.first_seen = alert.first_seen;
      s.last_seen = alert.last_seen;
      out.sightings.push_back(s);
    }
  }
  return out;
}

namespace {

void widen(core::Timestamp& first, core::Timestamp& last, core::Timestamp f, core::Timestamp l) {
  if (first.usec == 0 || (f.usec != 0 && f < first)) first = f;
  if (l > last) last = l;
}

}  // namespace

bool merge(Indicator& into, const Indicator& in) {
  auto before = to_json(into);
  into.level = std::max(into.level, in.level);
  into.tlp = std::max(into.tlp, in.tlp);
  into.released = into.released || in.released;
  for (const auto& r : in.recipients) add_unique(into.recipients, r);
  for (const auto& l : in.labels) add_unique(into.labels, l);
  for (const auto& t : in.tenants) add_unique(into.tenants, t);
  for (const auto& [id, n] : in.refs) into.refs[id] = n;
  widen(into.first_seen, into.last_seen, in.first_seen, in.last_seen);
  auto after = to_json(into);
  // What the STIX object shows: refs and tenants stay inside (tenants only move placements).
  before.erase("refs");
  after.erase("refs");
  return before != after;
}

bool merge(Sighting& into, const Sighting& in) {
  auto before = to_json(into);
  into.level = std::max(into.level, in.level);
  into.tlp = std::max(into.tlp, in.tlp);
  for (const auto& r : in.recipients) add_unique(into.recipients, r);
  for (const auto& [id, n] : in.refs) into.refs[id] = n;
  widen(into.first_seen, into.last_seen, in.first_seen, in.last_seen);
  return before != to_json(into);  // refs change the published count
}

// ---- time ----

namespace {

std::string format_time(int64_t usec, int digits) {
  int64_t sec = usec >= 0 ? usec / 1000000 : (usec - 999999) / 1000000;
  int64_t frac = usec - sec * 1000000;
  time_t t = static_cast<time_t>(sec);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf, n);
  char fbuf[32];
  if (digits == 3) {
    std::snprintf(fbuf, sizeof fbuf, ".%03lldZ", static_cast<long long>(frac / 1000));
  } else {
    std::snprintf(fbuf, sizeof fbuf, ".%06lldZ", static_cast<long long>(frac));
  }
  return out + fbuf;
}

}  // namespace

std::string stix_time(core::Timestamp t) { return format_time(t.usec, 3); }
std::string taxii_time(int64_t usec) { return format_time(usec, 6); }

std::optional<int64_t> parse_time(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.fff...](Z|+HH:MM|-HH:MM)
  if (s.size() < 20) return std::nullopt;
  auto digits = [&](size_t at, size_t n) -> std::optional<int> {
    int v = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (i >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  auto Y = digits(0, 4), M = digits(5, 2), D = digits(8, 2), h = digits(11, 2), m = digits(14, 2), sec = digits(17, 2);
  if (!Y || !M || !D || !h || !m || !sec || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
      s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  if (*M < 1 || *M > 12 || *D < 1 || *D > 31 || *h > 23 || *m > 59 || *sec > 60) return std::nullopt;
  size_t i = 19;
  int64_t frac = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int n = 0;
    size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      if (n < 6) {
        frac = frac * 10 + (s[i] - '0');
        ++n;
      }
      ++i;
    }
    if (i == start) return std::nullopt;
    while (n++ < 6) frac *= 10;
  }
  int64_t offset = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i + 6 == s.size() && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
    auto oh = digits(i + 1, 2), om = digits(i + 4, 2);
    if (!oh || !om) return std::nullopt;
    offset = (*oh * 3600 + *om * 60) * (s[i] == '+' ? 1 : -1);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  struct tm tm {};
  tm.tm_year = *Y - 1900;
  tm.tm_mon = *M - 1;
  tm.tm_mday = *D;
  tm.tm_hour = *h;
  tm.tm_min = *m;
  tm.tm_sec = *sec;
  int64_t t = static_cast<int64_t>(timegm(&tm)) - offset;
  return t * 1000000 + frac;
}

}  // namespace vigil::feeds
