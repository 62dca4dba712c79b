// Unit tests for the classification detectors (sensor/include/vigil/sensor/classify.h): the
// validators with real-looking positives and near misses, the shipped pack
// (rules/packs/vn-classification.yaml) compiled into its Hyperscan database and run over
// buffers split like TCP segments, stamps in UTF-8 and legacy encodings, masking, HMAC and the
// per-flow labels. Identifiers are synthetic but valid for their checks.
#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include <yaml-cpp/yaml.h>

#include "vigil/sensor/classify.h"
#include "vigil/sensor/config.h"

namespace {

namespace vc = vigil::sensor::classify;
namespace val = vigil::sensor::classify::validate;

const std::string kPackPath = std::string(VIGIL_SOURCE_DIR) + "/rules/packs/vn-classification.yaml";

std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// The shipped pack with a fixed key and year, one scanner.
struct Harness {
  std::unique_ptr<vc::Classifier> classifier;
  std::unique_ptr<vc::ClassifyThread> thread;
  explicit Harness(uint32_t bulk_threshold = 10) {
    auto pack = vc::load_pack(kPackPath);
    REQUIRE(pack.ok());
    vc::ClassifierConfig cfg;
    cfg.key.assign(32, 0x42);
    cfg.bulk_threshold = bulk_threshold;
    cfg.current_year = 2026;
    auto c = vc::Classifier::create(std::move(pack.value()), cfg);
    REQUIRE(c.ok());
    classifier = std::move(c.value());
    auto t = vc::ClassifyThread::create(*classifier);
    REQUIRE(t.ok());
    thread = std::move(t.value());
  }
  // Scans `text` as one direction of a stream, in pieces of `piece` bytes, then ends it.
  vc::FlowClassification stream(std::string_view text, size_t piece = 0) {
    vc::FlowClassification fc;
    if (piece == 0) piece = text.size();
    for (size_t at = 0; at < text.size(); at += piece) thread->scan(fc, 0, bytes(text.substr(at, piece)));
    thread->finish(fc, 0);
    return fc;
  }
  // Confirmed count of detector `id` in `fc`.
  uint64_t count(const vc::FlowClassification& fc, std::string_view id) const {
    for (const auto& [idx, st] : fc.detectors) {
      if (classifier->pack().detectors[idx].id == id) return st.count;
    }
    return 0;
  }
  const vc::DetectorStats* stats(const vc::FlowClassification& fc, std::string_view id) const {
    for (const auto& [idx, st] : fc.detectors) {
      if (classifier->pack().detectors[idx].id == id) return &st;
    }
    return nullptr;
  }
};

}  // namespace

TEST_CASE("personal ID: province code, century digit, birth year, random part", "[classify][validators]") {
  std::string n;
  CHECK(val::personal_id("001095012345", 2026, n));  // Hà Nội, male, 1995
  CHECK(n == "001095012345");
  CHECK(val::personal_id("079301004321", 2026, n));  // Hồ Chí Minh, female, 2001
  CHECK(val::personal_id("096190246810", 2026, n));  // Cà Mau, the last code
  CHECK_FALSE(val::personal_id("003095012345", 2026, n));  // 003 is not a province code
  CHECK_FALSE(val::personal_id("097095012345", 2026, n));  // nor 097
  CHECK_FALSE(val::personal_id("001299012345", 2026, n));  // born 2099: in the future
  CHECK(val::personal_id("001299012345", 2100, n));        // ... but not in 2100
  CHECK_FALSE(val::personal_id("001227012345", 2026, n));  // born 2027
  CHECK(val::personal_id("001226012345", 2026, n));        // born 2026
  CHECK_FALSE(val::personal_id("001495012345", 2026, n));  // 22nd century
  CHECK_FALSE(val::personal_id("001095000000", 2026, n));  // placeholder random part
  CHECK_FALSE(val::personal_id("00109501234", 2026, n));   // 11 digits
  CHECK_FALSE(val::personal_id("00109501234a", 2026, n));
  int codes = 0;
  for (int c = 0; c < 1000; ++c) codes += val::province_code(c);
  CHECK(codes == 63);
}

TEST_CASE("mobile numbers: +84/84/0 normalised, carrier prefixes", "[classify][validators]") {
  std::string n;
  CHECK(val::mobile("0912345678", n));
  CHECK(n == "0912345678");
  CHECK(val::mobile("+84 912 345 678", n));
  CHECK(n == "0912345678");
  CHECK(val::mobile("84912345678", n));
  CHECK(n == "0912345678");
  CHECK(val::mobile("0912.345.678", n));
  CHECK(val::mobile("0356789012", n));  // Viettel 035
  CHECK(val::mobile("0708123456", n));  // Mobifone 070
  CHECK(val::mobile("0823456789", n));  // Vinaphone 082
  CHECK_FALSE(val::mobile("0243456789", n));   // a Hà Nội landline (02x)
  CHECK_FALSE(val::mobile("0112345678", n));
  CHECK_FALSE(val::mobile("0312345678", n));   // 031 is not a mobile prefix
  CHECK_FALSE(val::mobile("0512345678", n));
  CHECK_FALSE(val::mobile("091234567", n));    // nine digits
  CHECK_FALSE(val::mobile("0910000000", n));   // placeholder
  CHECK_FALSE(val::mobile("8+4912345678", n));
}

TEST_CASE("tax codes: check digit, branch suffix, remainder 0", "[classify][validators]") {
  std::string n;
  CHECK(val::tax_code("0100109106", n));  // 10 - (114 mod 11) = 6
  CHECK(val::tax_code("0100684378", n));  // 10 - (299 mod 11) = 8
  CHECK(val::tax_code("0100109106-001", n));
  CHECK(n == "0100109106-001");
  CHECK_FALSE(val::tax_code("0100109107", n));      // wrong check digit
  CHECK_FALSE(val::tax_code("0100684370", n));
  CHECK_FALSE(val::tax_code("0100109106-000", n));  // branches start at 001
  CHECK_FALSE(val::tax_code("0100109106/001", n));
  // 1*31 + 8*3 = 55: remainder 0, no check digit can be right.
  for (char c = '0'; c <= '9'; ++c) CHECK_FALSE(val::tax_code(std::string("100000008") + c, n));
}

TEST_CASE("cards with Luhn and issuer prefixes; passports; insurance numbers", "[classify][validators]") {
  std::string n;
  CHECK(val::luhn("79927398713"));
  CHECK_FALSE(val::luhn("79927398710"));
  CHECK(val::payment_card("9704 0000 0000 0018", n));  // NAPAS, spaces
  CHECK(n == "9704000000000018");
  CHECK(val::payment_card("4111-1111-1111-1111", n));
  CHECK(val::payment_card("5555555555554444", n));
  CHECK(val::payment_card("378282246310005", n));  // Amex, 15 digits
  CHECK_FALSE(val::payment_card("9704000000000019", n));  // Luhn fails
  CHECK_FALSE(val::payment_card("4111111111111112", n));
  CHECK_FALSE(val::payment_card("1234567812345670", n));  // Luhn ok, no issuer
  CHECK_FALSE(val::payment_card("970400000000006", n));   // NAPAS with 15 digits
  CHECK_FALSE(val::payment_card("0000000000000000", n));

  CHECK(val::passport("B1234567", n));
  CHECK(val::passport("C7654321", n));
  CHECK_FALSE(val::passport("b1234567", n));
  CHECK_FALSE(val::passport("B123456", n));
  CHECK_FALSE(val::passport("B0000000", n));

  CHECK(val::health_insurance("DN4010123456789", n));
  CHECK_FALSE(val::health_insurance("DN6010123456789", n));  // benefit level 1-5
  CHECK_FALSE(val::health_insurance("DN4000123456789", n));  // province 00
  CHECK(val::social_insurance("0123456789", n));
  CHECK_FALSE(val::social_insurance("0023456789", n));
  CHECK(val::old_id("012345678", n));
  CHECK_FALSE(val::old_id("111111111", n));
}

TEST_CASE("masks keep only the ends", "[classify]") {
  CHECK(vc::mask("0912345678") == "0912***678");
  CHECK(vc::mask("001095012345") == "0010***345");
  CHECK(vc::mask("B1234567") == "B1***67");
  CHECK(vc::mask("12345") == "***");
}

TEST_CASE("pack errors name the key", "[classify][pack]") {
  const std::string ok_det = "  - id: a\n    pattern: '\\b\\d{12}\\b'\n    validator: personal-id\n    label: pii\n";
  CHECK(vc::parse_pack("pack: p\ndetectors:\n" + ok_det, "p.yaml").ok());
  auto bad = vc::parse_pack("pack: p\ndetectors:\n" + ok_det + "  - id: b\n    pattern: x\n    validator: nope\n    label: pii\n",
                            "p.yaml");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().to_string().find("detectors[1].validator") != std::string::npos);
  CHECK(bad.error().to_string().find("unknown validator 'nope'") != std::string::npos);
  auto unknown = vc::parse_pack("pack: p\ndetector:\n" + ok_det, "p.yaml");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().to_string().find("detector") != std::string::npos);
  auto dup = vc::parse_pack("pack: p\ndetectors:\n" + ok_det + ok_det, "p.yaml");
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.error().to_string().find("duplicate id") != std::string::npos);
  auto ctx = vc::parse_pack("pack: p\ndetectors:\n" + ok_det + "    context: required\n", "p.yaml");
  REQUIRE_FALSE(ctx.ok());
  CHECK(ctx.error().to_string().find("context-words") != std::string::npos);
  auto stamp = vc::parse_pack("pack: p\ndetectors:\n  - id: s\n    pattern: MAT\n    validator: stamp\n    label: pii\n", "p.yaml");
  REQUIRE_FALSE(stamp.ok());
  CHECK(stamp.error().to_string().find("detectors[0].label") != std::string::npos);
  CHECK_FALSE(vc::parse_pack("pack: [", "p.yaml").ok());

  // Unbounded patterns and bad regexes are refused when the database is built.
  vc::ClassifierConfig cfg;
  cfg.key.assign(16, 1);
  auto wide = vc::parse_pack("pack: p\ndetectors:\n  - id: w\n    pattern: '\\d+'\n    validator: old-id\n    label: pii\n", "p.yaml");
  REQUIRE(wide.ok());
  auto c = vc::Classifier::create(std::move(wide.value()), cfg);
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().to_string().find("detector w") != std::string::npos);
  auto broken = vc::parse_pack("pack: p\ndetectors:\n  - id: x\n    pattern: '(\\d'\n    validator: old-id\n    label: pii\n", "p.yaml");
  REQUIRE(broken.ok());
  CHECK_FALSE(vc::Classifier::create(std::move(broken.value()), cfg).ok());
  // A short key is refused.
  auto pack = vc::load_pack(kPackPath);
  REQUIRE(pack.ok());
  vc::ClassifierConfig short_key;
  short_key.key.assign(8, 1);
  CHECK_FALSE(vc::Classifier::create(std::move(pack.value()), short_key).ok());
}

TEST_CASE("the shipped pack compiles into one database with every validator used", "[classify][pack]") {
  Harness h;
  const auto& dets = h.classifier->pack().detectors;
  CHECK(dets.size() >= 11);
  std::set<std::string> used;
  for (const auto& d : dets) used.insert(d.validator);
  for (const auto& name : vc::validator_names()) CHECK(used.count(name) == 1);
}

TEST_CASE("identifiers with context words in a form", "[classify][scan]") {
  Harness h;
  auto fc = h.stream("ho_ten=Nguyen+Van+An&cccd=001095012345&sdt=%2B84+912+345+678 "
                     "Số điện thoại: 0912 345 678; MST: 0100109106; Hộ chiếu số C7654321\r\n");
  CHECK(h.count(fc, "vn.personal-id") == 1);
  CHECK(h.stats(fc, "vn.personal-id")->with_context == 1);
  CHECK(h.count(fc, "vn.mobile") == 1);  // "%2B84+912..." is URL-encoded: only the second form counts
  CHECK(h.count(fc, "vn.tax-code") == 1);
  CHECK(h.count(fc, "vn.passport") == 1);
  CHECK(std::string(fc.pii()) == "basic");
  CHECK(std::string(fc.secrecy()) == "none");
  CHECK_FALSE(fc.bulk);
}

TEST_CASE("near misses are not findings", "[classify][scan]") {
  Harness h;
  auto fc = h.stream(
      "CCCD: 003095012345\n"            // invalid province code
      "CCCD: 001299012345\n"            // born in the future
      "MST: 0100109107\n"               // wrong check digit
      "so giao dich 1001095012345999\n" // a personal ID inside a longer number
      "ref 001095012345678\n"           // and inside a 15-digit one
      "version 3.001095012345\n"        // decimals
      "ma tai lieu B1234567\n"          // passport pattern without a context word
      "so 012345678\n"                  // 9 digits without CMND
      "the 4111111111111112\n"          // card failing Luhn
      "goi 0243456789\n"                // landline
      "MAT KHAU: doi sau 90 ngay. FORMAT. BẢO VỆ BÍ MẬT NHÀ NƯỚC\n");
  CHECK_FALSE(fc.any());
  CHECK(h.thread->counters().rejected > 0);
  CHECK(h.thread->counters().confirmed == 0);
}

TEST_CASE("a match split across segments is found once; a number continued in the next one is not", "[classify][scan]") {
  Harness h;
  const std::string text = std::string(300, 'x') + " CCCD: 001095012345 tiep theo " + std::string(200, 'y');
  for (size_t piece : {1, 3, 7, 64, 313, 4096}) {
    auto fc = h.stream(text, piece);
    INFO("piece " << piece);
    CHECK(h.count(fc, "vn.personal-id") == 1);
  }
  // The 12 digits go on in the next segment: a 15-digit number, not an ID.
  vc::FlowClassification fc;
  h.thread->scan(fc, 0, bytes("CCCD: 001095012345"));
  h.thread->scan(fc, 0, bytes("678 and more text"));
  h.thread->finish(fc, 0);
  CHECK_FALSE(fc.any());
  // At the very end of the stream the last bytes are decided.
  vc::FlowClassification end;
  h.thread->scan(end, 0, bytes("SĐT 0987654321"));
  CHECK_FALSE(end.any());  // waits: the number may go on
  h.thread->finish(end, 0);
  CHECK(h.count(end, "vn.mobile") == 1);
}

TEST_CASE("repeats count once as distinct; bulk exposure makes a flow sensitive", "[classify][scan]") {
  Harness h(/*bulk_threshold=*/3);
  auto fc = h.stream("0912345678, 0912345678, 0987654321\n");
  const auto* st = h.stats(fc, "vn.mobile");
  REQUIRE(st);
  CHECK(st->count == 3);
  CHECK(st->distinct == 2);
  CHECK(std::string(fc.pii()) == "basic");
  auto bulk = h.stream("0912345678, 0987654321, 0356789012\n");
  CHECK(bulk.bulk);
  CHECK(std::string(bulk.pii()) == "sensitive");
  auto tags = bulk.tags();
  CHECK(std::find(tags.begin(), tags.end(), "pii-bulk") != tags.end());
  // A card alone is sensitive.
  auto card = h.stream("so the: 9704 0000 0000 0018\n");
  CHECK(h.count(card, "vn.payment-card") == 1);
  CHECK(std::string(card.pii()) == "sensitive");
  CHECK_FALSE(card.bulk);
}

TEST_CASE("state-secret stamps in UTF-8, without diacritics and in legacy encodings", "[classify][stamps]") {
  Harness h;
  struct Case {
    const char* text;
    const char* detector;
  } cases[] = {
      {"BỘ CÔNG AN\nTỐI MẬT\nSố: 17/BC\n", "vn.stamp.toi-mat"},
      {"<div class=\"stamp\">TUYỆT MẬT</div>", "vn.stamp.tuyet-mat"},
      {"Độ mật: MẬT\r\n", "vn.stamp.mat"},
      {"\n  MẬT  \n", "vn.stamp.mat"},
      {"{\"text\":\"UBND TINH\\nTOI MAT\\nSo: 5\"}", "vn.stamp.toi-mat"},  // JSON-escaped line breaks
      {"\nTUYET MAT\n", "vn.stamp.tuyet-mat"},
      {"\nM\xC3\x82\xCC\xA3T\n", "vn.stamp.mat"},                       // NFD: Â + combining dot below
      {"\nTO\xCC\x82\xCC\x81I MA\xCC\xA3\xCC\x82T\n", "vn.stamp.toi-mat"},  // fully decomposed
      {"\nTUY\xD6T M\xCBT\n", "vn.stamp.tuyet-mat"},                     // TCVN3 (ABC)
      {"\nT\xE8I M\xCBT\n", "vn.stamp.toi-mat"},                         // TCVN3
      {"\nMA\xC4T\n", "vn.stamp.mat"},                                   // VNI-Windows
      {"\nTO\xC1I MA\xC4T\n", "vn.stamp.toi-mat"},                       // VNI-Windows
      {"\nTUY\xCA\xF2T M\xC2\xF2T\n", "vn.stamp.tuyet-mat"},             // Windows-1258
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto fc = h.stream(c.text);
    CHECK(h.count(fc, c.detector) == 1);
    CHECK(fc.detectors.size() == 1);  // "MẬT" inside "TỐI MẬT" is not a second stamp
    CHECK(std::string(fc.secrecy()) == "suspected-state-secret");
    CHECK(std::string(fc.pii()) == "none");
  }
  for (const char* text : {"BẢO VỆ BÍ MẬT NHÀ NƯỚC\n", "bí mật\n", "Mật\n", "FORMAT\n", "MAT KHAU: 123\n",
                           "\nTOMATO\n", "\"level\": \"TOI MAT\"", "he thong TOI MAT khau\n"}) {
    INFO(text);
    CHECK_FALSE(h.stream(text).any());
  }
}

TEST_CASE("records carry masks and keyed hashes, never the value", "[classify][output]") {
  Harness h;
  // RFC 4231 test case 1: HMAC-SHA256 with key 0x0b x 20 over "Hi There".
  {
    auto pack = vc::load_pack(kPackPath);
    REQUIRE(pack.ok());
    vc::ClassifierConfig cfg;
    cfg.key.assign(20, 0x0b);
    auto c = vc::Classifier::create(std::move(pack.value()), cfg);
    REQUIRE(c.ok());
    CHECK(c.value()->keyed_hash("Hi There") == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  }
  auto fc = h.stream("CCCD: 001095012345, SĐT: +84 912 345 678, so the 9704 0000 0000 0018\n");
  const std::string json = h.classifier->to_json(fc).dump();
  CHECK(json.find("001095012345") == std::string::npos);
  CHECK(json.find("912345678") == std::string::npos);
  CHECK(json.find("9704000000000018") == std::string::npos);
  CHECK(json.find("0010***345") != std::string::npos);
  CHECK(json.find("0912***678") != std::string::npos);
  CHECK(json.find(h.classifier->keyed_hash("0912345678")) != std::string::npos);
  // The same number written differently hashes the same (normalised first).
  auto again = h.stream("phone 0912.345.678\n");
  CHECK(h.classifier->to_json(again).dump().find(h.classifier->keyed_hash("0912345678")) != std::string::npos);
  // A different key gives a different hash.
  CHECK(h.classifier->keyed_hash("0912345678") != vc::Classifier::create(*vc::load_pack(kPackPath), [] {
          vc::ClassifierConfig c;
          c.key.assign(32, 0x43);
          return c;
        }())
                                                      .value()
                                                      ->keyed_hash("0912345678"));
}

TEST_CASE("redaction masks identifiers in record text and leaves the rest", "[classify][output]") {
  Harness h;
  std::string url = R"({"url":"/api/citizens?cccd=079201004321&sdt=0987654321&page=2","status":200})";
  CHECK(h.thread->redact(url) == 2);
  CHECK(url == R"({"url":"/api/citizens?cccd=0792***321&sdt=0987***321&page=2","status":200})");
  std::string clean = R"({"url":"/news/2024/05/notice.html?id=003095012345","length":1200})";
  const std::string before = clean;
  CHECK(h.thread->redact(clean) == 0);
  CHECK(clean == before);
}

TEST_CASE("datagrams are scanned whole", "[classify][scan]") {
  Harness h;
  vc::FlowClassification fc;
  h.thread->scan_datagram(fc, 0, bytes("SDT 0912345678"));
  CHECK(h.count(fc, "vn.mobile") == 1);
  h.thread->scan_datagram(fc, 0, bytes("SDT 0912345678"));
  CHECK(h.count(fc, "vn.mobile") == 2);
}

TEST_CASE("sensor config keys for classification", "[classify][config]") {
  vigil::sensor::SensorConfig cfg;
  YAML::Node root = YAML::Load(
      "classification:\n  enabled: yes\n  pack: /p.yaml\n  key-file: /k\n  bulk-threshold: 5\n  max-values: 4\n"
      "  drop-secret-payload: no\n");
  REQUIRE(vigil::sensor::parse_sensor_config(root, "t.yaml", cfg).ok());
  CHECK(cfg.classification_enabled);
  CHECK(cfg.classification_pack == "/p.yaml");
  CHECK(cfg.classification_key_file == "/k");
  CHECK(cfg.classification_bulk_threshold == 5);
  CHECK(cfg.classification_max_values == 4);
  CHECK_FALSE(cfg.classification_drop_secret_payload);
  vigil::sensor::SensorConfig bad;
  auto st = vigil::sensor::parse_sensor_config(YAML::Load("classification:\n  bulk-treshold: 5\n"), "t.yaml", bad);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().to_string().find("classification.bulk-treshold") != std::string::npos);
}

TEST_CASE("binary blocks are skipped, text around them is still scanned", "[classify][scan]") {
  Harness h;
  // 4 KiB of pseudo-random bytes (compressed or encrypted data) holding a valid ID in clear:
  // such blocks are not scanned.
  std::string noise;
  uint32_t x = 12345;
  for (int i = 0; i < 4096; ++i) {
    x = x * 1103515245 + 12345;
    noise.push_back(static_cast<char>(x >> 24));
  }
  std::string binary = noise;
  binary.replace(2000, 24, " CCCD: 001095012345 \n");
  vc::FlowClassification fc;
  h.thread->scan(fc, 0, bytes(binary));
  h.thread->finish(fc, 0);
  CHECK_FALSE(fc.any());
  CHECK(h.thread->counters().bytes_skipped == binary.size());
  // Text, then binary, then text: both text parts are scanned.
  std::string mixed = std::string(1024, 'a') + "\nSDT 0912345678\n" + std::string(1024 - 16, 'b') + noise +
                      "\nCCCD: 001095012345\n";
  auto m = h.stream(mixed);
  CHECK(h.count(m, "vn.mobile") == 1);
  CHECK(h.count(m, "vn.personal-id") == 1);
  // A binary datagram is skipped too.
  vc::FlowClassification d;
  h.thread->scan_datagram(d, 0, bytes(binary));
  CHECK_FALSE(d.any());
}

TEST_CASE("trigger windows: findings deep in long digit-rich text, each once", "[classify][scan]") {
  Harness h;
  std::string text;
  for (int i = 0; i < 200; ++i) text += "Ngay 14/05/2024 luc 09:00:00, Content-Length: 12345, GMT Mozilla\n";
  const std::string doc = text + "SĐT: 0912 345 678\n" + text + "\nTUYỆT MẬT\n" + text;
  auto fc = h.stream(doc, 1448);
  CHECK(h.count(fc, "vn.mobile") == 1);
  CHECK(h.count(fc, "vn.stamp.tuyet-mat") == 1);
  CHECK(fc.detectors.size() == 2);
  // Fewer bytes went to Hyperscan than the document has.
  CHECK(h.thread->counters().bytes < doc.size() / 4);
  // Separators are part of a trigger run, so what the patterns reject is what decides: one
  // separator between digit groups at most.
  CHECK(h.count(h.stream("SDT: 0 9 1 2 3 4 5 6 7 8\n"), "vn.mobile") == 0);
  CHECK(h.count(h.stream("SDT: 0912--345--678\n"), "vn.mobile") == 0);
  CHECK(h.count(h.stream("SDT: 0912-345-678\n"), "vn.mobile") == 1);
}
