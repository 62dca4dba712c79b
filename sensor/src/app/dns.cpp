// DNS message parsing and transaction pairing. Every read is bounds-checked against the message;
// compression pointers are followed a bounded number of times, so hostile loops end.
#include "vigil/sensor/app/dns.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "app/text_util.h"

namespace vigil::sensor::app {

namespace {

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

class NameReader {
 public:
  NameReader(std::span<const uint8_t> msg, const DnsConfig& cfg, uint32_t& anomalies)
      : msg_(msg), cfg_(cfg), anomalies_(anomalies) {}

  // Reads the name at `off` and advances `off` past it (past the first pointer when compressed).
  bool read(size_t& off, std::string& out, bool& truncated) {
    out.clear();
    truncated = false;
    size_t pos = off;
    bool jumped = false;
    uint32_t hops = 0;
    for (;;) {
      if (pos >= msg_.size()) {
        anomalies_ |= dns_anomaly::kTruncatedRecord;
        return false;
      }
      const uint8_t len = msg_[pos];
      if (len == 0) {
        if (!jumped) off = pos + 1;
        return true;
      }
      if ((len & 0xc0) == 0xc0) {
        if (pos + 1 >= msg_.size()) {
          anomalies_ |= dns_anomaly::kTruncatedRecord;
          return false;
        }
        const size_t ptr = (static_cast<size_t>(len & 0x3f) << 8) | msg_[pos + 1];
        if (!jumped) off = pos + 2;
        jumped = true;
        if (++hops > cfg_.max_pointer_hops) {
          anomalies_ |= dns_anomaly::kPointerLoop;
          return false;
        }
        if (ptr >= msg_.size()) {
          anomalies_ |= dns_anomaly::kBadPointer;
          return false;
        }
        pos = ptr;
        continue;
      }
      if ((len & 0xc0) != 0) {
        anomalies_ |= dns_anomaly::kBadLabel;
        return false;
      }
      if (pos + 1 + len > msg_.size()) {
        anomalies_ |= dns_anomaly::kTruncatedRecord;
        return false;
      }
      if (!truncated) {
        const size_t need = out.size() + (out.empty() ? 0 : 1) + len;
        if (need > cfg_.max_name_len) {
          // Keep what fits, as Suricata keeps a truncated name and flags it.
          if (!out.empty() && out.size() < cfg_.max_name_len) out.push_back('.');
          const size_t room = cfg_.max_name_len > out.size() ? cfg_.max_name_len - out.size() : 0;
          out.append(reinterpret_cast<const char*>(&msg_[pos + 1]), std::min<size_t>(room, len));
          truncated = true;
          anomalies_ |= dns_anomaly::kNameTooLong;
        } else {
          if (!out.empty()) out.push_back('.');
          out.append(reinterpret_cast<const char*>(&msg_[pos + 1]), len);
        }
      }
      pos += 1 + len;
    }
  }

 private:
  std::span<const uint8_t> msg_;
  const DnsConfig& cfg_;
  uint32_t& anomalies_;
};

// Suricata's dns_print_addr: dotted quad, or eight full 4-digit groups for IPv6.
std::string format_addr(const uint8_t* p, size_t n) {
  char buf[64];
  if (n == 4) {
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", p[0], p[1], p[2], p[3]);
    return buf;
  }
  if (n == 16) {
    std::string out;
    for (int i = 0; i < 16; i += 2) {
      if (i) out.push_back(':');
      std::snprintf(buf, sizeof buf, "%02x%02x", p[i], p[i + 1]);
      out += buf;
    }
    return out;
  }
  return {};
}

bool parse_rdata(std::span<const uint8_t> msg, size_t start, size_t len, DnsRecord& rr,
                 NameReader& names, uint32_t& anomalies) {
  const uint8_t* p = msg.data() + start;
  rr.raw.assign(p, p + len);
  bool trunc = false;
  switch (rr.rrtype) {
    case dns_rrtype::kA:
    case dns_rrtype::kAaaa:
      if ((rr.rrtype == dns_rrtype::kA && len != 4) || (rr.rrtype == dns_rrtype::kAaaa && len != 16)) {
        anomalies |= dns_anomaly::kBadRdata;
        return true;
      }
      rr.rdata = format_addr(p, len);
      return true;
    case dns_rrtype::kCname:
    case dns_rrtype::kNs:
    case dns_rrtype::kPtr: {
      size_t off = start;
      if (!names.read(off, rr.rdata, trunc) || off > start + len) {
        anomalies |= dns_anomaly::kBadRdata;
      }
      return true;
    }
    case dns_rrtype::kMx: {
      if (len < 3) {
        anomalies |= dns_anomaly::kBadRdata;
        return true;
      }
      rr.mx_preference = be16(p);
      size_t off = start + 2;
      if (!names.read(off, rr.rdata, trunc) || off > start + len) {
        anomalies |= dns_anomaly::kBadRdata;
      }
      return true;
    }
    case dns_rrtype::kTxt: {
      size_t i = 0;
      while (i < len) {
        const size_t l = p[i];
        if (i + 1 + l > len) {
          anomalies |= dns_anomaly::kBadRdata;
          break;
        }
        rr.txt.emplace_back(reinterpret_cast<const char*>(p + i + 1), l);
        i += 1 + l;
      }
      if (!rr.txt.empty()) rr.rdata = rr.txt.front();
      return true;
    }
    case dns_rrtype::kSoa: {
      DnsSoa soa;
      size_t off = start;
      if (!names.read(off, soa.mname, trunc) || !names.read(off, soa.rname, trunc) ||
          off + 20 > start + len) {
        anomalies |= dns_anomaly::kBadRdata;
        return true;
      }
      const uint8_t* q = msg.data() + off;
      soa.serial = be32(q);
      soa.refresh = be32(q + 4);
      soa.retry = be32(q + 8);
      soa.expire = be32(q + 12);
      soa.minimum = be32(q + 16);
      rr.soa = std::move(soa);
      return true;
    }
    default:
      return true;
  }
}

bool parse_record(std::span<const uint8_t> msg, size_t& off, DnsRecord& rr, NameReader& names,
                  uint32_t& anomalies) {
  if (!names.read(off, rr.name, rr.name_truncated)) return false;
  if (off + 10 > msg.size()) {
    anomalies |= dns_anomaly::kTruncatedRecord;
    return false;
  }
  const uint8_t* p = msg.data() + off;
  rr.rrtype = be16(p);
  rr.rrclass = be16(p + 2);
  rr.ttl = be32(p + 4);
  const size_t rdlen = be16(p + 8);
  off += 10;
  if (off + rdlen > msg.size()) {
    anomalies |= dns_anomaly::kTruncatedRecord;
    return false;
  }
  parse_rdata(msg, off, rdlen, rr, names, anomalies);
  off += rdlen;
  return true;
}

}  // namespace

std::optional<DnsMessage> parse_dns_message(std::span<const uint8_t> data,
                                            const DnsConfig& config) {
  if (data.size() < 12) return std::nullopt;
  DnsMessage m;
  m.id = be16(data.data());
  m.flags = be16(data.data() + 2);
  const uint32_t counts[4] = {be16(data.data() + 4), be16(data.data() + 6),
                              be16(data.data() + 8), be16(data.data() + 10)};
  NameReader names(data, config, m.anomalies);
  size_t off = 12;
  uint32_t budget = config.max_records;
  for (uint32_t i = 0; i < counts[0]; ++i) {
    if (budget-- == 0) {
      m.anomalies |= dns_anomaly::kTooManyRecords;
      return m;
    }
    DnsQuestion q;
    if (!names.read(off, q.name, q.name_truncated)) return m;
    if (off + 4 > data.size()) {
      m.anomalies |= dns_anomaly::kTruncatedRecord;
      return m;
    }
    q.rrtype = be16(data.data() + off);
    q.rrclass = be16(data.data() + off + 2);
    off += 4;
    m.questions.push_back(std::move(q));
  }
  std::vector<DnsRecord>* sections[3] = {&m.answers, &m.authorities, &m.additionals};
  for (int s = 0; s < 3; ++s) {
    for (uint32_t i = 0; i < counts[s + 1]; ++i) {
      if (budget-- == 0) {
        m.anomalies |= dns_anomaly::kTooManyRecords;
        return m;
      }
      DnsRecord rr;
      if (!parse_record(data, off, rr, names, m.anomalies)) return m;
      sections[s]->push_back(std::move(rr));
    }
  }
  if (off < data.size()) m.anomalies |= dns_anomaly::kTrailingData;
  return m;
}

std::string dns_rrtype_name(uint16_t t) {
  static const std::map<uint16_t, const char*> kNames = {
      {1, "A"},        {2, "NS"},       {3, "MD"},        {4, "MF"},        {5, "CNAME"},
      {6, "SOA"},      {7, "MB"},       {8, "MG"},        {9, "MR"},        {10, "NULL"},
      {11, "WKS"},     {12, "PTR"},     {13, "HINFO"},    {14, "MINFO"},    {15, "MX"},
      {16, "TXT"},     {17, "RP"},      {18, "AFSDB"},    {19, "X25"},      {20, "ISDN"},
      {21, "RT"},      {22, "NSAP"},    {23, "NSAPPTR"},  {24, "SIG"},      {25, "KEY"},
      {26, "PX"},      {27, "GPOS"},    {28, "AAAA"},     {29, "LOC"},      {33, "SRV"},
      {34, "ATMA"},    {35, "NAPTR"},   {36, "KX"},       {37, "CERT"},     {38, "A6"},
      {39, "DNAME"},   {41, "OPT"},     {42, "APL"},      {43, "DS"},       {44, "SSHFP"},
      {45, "IPSECKEY"}, {46, "RRSIG"},  {47, "NSEC"},     {48, "DNSKEY"},   {49, "DHCID"},
      {50, "NSEC3"},   {51, "NSEC3PARAM"}, {52, "TLSA"},  {55, "HIP"},      {59, "CDS"},
      {60, "CDNSKEY"}, {64, "SVCB"},    {65, "HTTPS"},    {99, "SPF"},      {249, "TKEY"},
      {250, "TSIG"},   {251, "IXFR"},   {252, "AXFR"},    {255, "ANY"},     {256, "URI"},
  };
  const auto it = kNames.find(t);
  return it != kNames.end() ? it->second : std::to_string(t);
}

std::string dns_rcode_name(uint8_t rcode) {
  static const char* const kNames[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",
                                       "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH",
                                       "NOTZONE"};
  if (rcode < std::size(kNames)) return kNames[rcode];
  return std::to_string(rcode);
}

std::vector<std::span<const uint8_t>> DnsTx::query_buffers() const {
  std::vector<std::span<const uint8_t>> out;
  if (!request) return out;
  for (const DnsQuestion& q : request->questions) {
    out.emplace_back(reinterpret_cast<const uint8_t*>(q.name.data()), q.name.size());
  }
  return out;
}

// ---- transactions ----------------------------------------------------------------------------

void DnsParserBase::on_message(std::span<const uint8_t> bytes) {
  std::optional<DnsMessage> parsed = parse_dns_message(bytes, config_);
  if (!parsed) {
    ++stats_.malformed;
    return;
  }
  DnsMessage& m = *parsed;
  if (!m.well_formed()) ++stats_.malformed;
  if (m.anomalies & dns_anomaly::kNameTooLong) ++stats_.name_too_long;
  if (m.anomalies & dns_anomaly::kPointerLoop) ++stats_.pointer_loops;
  if (m.anomalies & dns_anomaly::kTooManyRecords) ++stats_.too_many_records;

  DnsTx* tx = nullptr;
  if (m.is_response()) {
    ++stats_.responses;
    for (auto& t : txs_) {
      if (t->request && !t->response && t->request->id == m.id) {
        tx = t.get();
        break;
      }
    }
    if (tx == nullptr) {
      m.anomalies |= dns_anomaly::kUnsolicitedResponse;
      ++stats_.unsolicited_responses;
    }
  } else {
    ++stats_.requests;
  }
  if (tx == nullptr) {
    auto owned = std::make_unique<DnsTx>();
    owned->id = next_id_++;
    tx = owned.get();
    txs_.push_back(std::move(owned));
  }
  if (m.is_response()) {
    tx->response = std::move(m);
  } else {
    tx->request = std::move(m);
  }
  if (std::find(updated_.begin(), updated_.end(), tx) == updated_.end()) updated_.push_back(tx);

  while (txs_.size() > std::max<uint32_t>(config_.max_pending_txs, 1)) {
    DnsTx* old = txs_.front().get();
    updated_.erase(std::remove(updated_.begin(), updated_.end(), old), updated_.end());
    txs_.pop_front();
    ++stats_.txs_dropped;
  }
}

void DnsParserBase::release_completed() {
  for (auto it = txs_.begin(); it != txs_.end();) {
    DnsTx* t = it->get();
    // A lone response will never be paired; a lone request only once the flow is over.
    const bool done = t->complete() || (t->response && !t->request) || closed_;
    if (done) {
      updated_.erase(std::remove(updated_.begin(), updated_.end(), t), updated_.end());
      it = txs_.erase(it);
    } else {
      ++it;
    }
  }
}

void DnsUdpParser::on_data(bool /*to_server*/, std::span<const uint8_t> datagram,
                           core::Timestamp /*ts*/) {
  begin_call();
  on_message(datagram);
}

void DnsUdpParser::on_close() {
  begin_call();
  closed_ = true;
}

void DnsTcpParser::on_data(bool to_server, std::span<const uint8_t> data, core::Timestamp) {
  begin_call();
  const int d = to_server ? 1 : 0;
  if (dir_failed_[d]) return;
  std::vector<uint8_t>& buf = buf_[d];
  buf.insert(buf.end(), data.begin(), data.end());
  size_t pos = 0;
  while (buf.size() - pos >= 2) {
    const size_t len = be16(&buf[pos]);
    if (len == 0 || len > config_.max_tcp_message) {
      ++stats_.tcp_bad_length;
      dir_failed_[d] = true;
      failed_ = dir_failed_[0] && dir_failed_[1];
      buf.clear();
      return;
    }
    if (buf.size() - pos < 2 + len) break;
    on_message({buf.data() + pos + 2, len});
    pos += 2 + len;
  }
  buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(pos));
}

void DnsTcpParser::on_gap(bool to_server, size_t) {
  begin_call();
  ++stats_.gaps;
  const int d = to_server ? 1 : 0;
  dir_failed_[d] = true;
  buf_[d].clear();
  failed_ = dir_failed_[0] && dir_failed_[1];
}

void DnsTcpParser::on_close() {
  begin_call();
  closed_ = true;
}

// ---- EVE -------------------------------------------------------------------------------------

namespace {

nlohmann::json answer_detail(const DnsRecord& rr) {
  nlohmann::json a;
  a["rrname"] = json_safe_string(rr.name);
  a["rrtype"] = dns_rrtype_name(rr.rrtype);
  a["ttl"] = rr.ttl;
  switch (rr.rrtype) {
    case dns_rrtype::kA:
    case dns_rrtype::kAaaa:
    case dns_rrtype::kCname:
    case dns_rrtype::kMx:
    case dns_rrtype::kNs:
    case dns_rrtype::kPtr:
    case dns_rrtype::kTxt:
      if (!rr.rdata.empty() || rr.rrtype == dns_rrtype::kTxt) a["rdata"] = json_safe_string(rr.rdata);
      break;
    case dns_rrtype::kSoa:
      if (rr.soa) {
        a["soa"] = {{"mname", json_safe_string(rr.soa->mname)},
                    {"rname", json_safe_string(rr.soa->rname)},
                    {"serial", rr.soa->serial},
                    {"refresh", rr.soa->refresh},
                    {"retry", rr.soa->retry},
                    {"expire", rr.soa->expire},
                    {"minimum", rr.soa->minimum}};
      }
      break;
    default:
      break;
  }
  return a;
}

}  // namespace

std::vector<nlohmann::json> dns_eve_queries(const DnsTx& tx) {
  std::vector<nlohmann::json> out;
  if (!tx.request) return out;
  for (const DnsQuestion& q : tx.request->questions) {
    nlohmann::json j;
    j["type"] = "query";
    j["id"] = tx.request->id;
    j["rrname"] = json_safe_string(q.name);
    j["rrtype"] = dns_rrtype_name(q.rrtype);
    j["tx_id"] = tx.id;
    if (tx.request->z()) j["z"] = true;
    j["opcode"] = tx.request->opcode();
    out.push_back(std::move(j));
  }
  return out;
}

std::optional<nlohmann::json> dns_eve_answer(const DnsTx& tx) {
  if (!tx.response) return std::nullopt;
  const DnsMessage& r = *tx.response;
  nlohmann::json j;
  j["version"] = 2;
  j["type"] = "answer";
  j["id"] = r.id;
  char flags[8];
  std::snprintf(flags, sizeof flags, "%x", r.flags);
  j["flags"] = flags;
  if (r.is_response()) j["qr"] = true;
  if (r.aa()) j["aa"] = true;
  if (r.tc()) j["tc"] = true;
  if (r.rd()) j["rd"] = true;
  if (r.ra()) j["ra"] = true;
  if (r.z()) j["z"] = true;
  j["opcode"] = r.opcode();
  if (!r.questions.empty()) {
    j["rrname"] = json_safe_string(r.questions.front().name);
    j["rrtype"] = dns_rrtype_name(r.questions.front().rrtype);
  }
  j["rcode"] = dns_rcode_name(r.rcode());
  if (!r.answers.empty()) {
    nlohmann::json answers = nlohmann::json::array();
    nlohmann::json grouped = nlohmann::json::object();
    for (const DnsRecord& rr : r.answers) {
      answers.push_back(answer_detail(rr));
      const std::string type = dns_rrtype_name(rr.rrtype);
      switch (rr.rrtype) {
        case dns_rrtype::kA:
        case dns_rrtype::kAaaa:
        case dns_rrtype::kCname:
        case dns_rrtype::kMx:
        case dns_rrtype::kNs:
        case dns_rrtype::kPtr:
        case dns_rrtype::kTxt:
          grouped[type].push_back(json_safe_string(rr.rdata));
          break;
        case dns_rrtype::kSoa:
          if (rr.soa) grouped[type].push_back(answer_detail(rr)["soa"]);
          break;
        default:
          break;
      }
    }
    j["answers"] = std::move(answers);
    j["grouped"] = std::move(grouped);
  }
  if (!r.authorities.empty()) {
    nlohmann::json auth = nlohmann::json::array();
    for (const DnsRecord& rr : r.authorities) auth.push_back(answer_detail(rr));
    j["authorities"] = std::move(auth);
  }
  return j;
}

}  // namespace vigil::sensor::app
