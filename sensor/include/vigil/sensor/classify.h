// Data-classification detectors (DESIGN §3 and §6): a rule pack (rules/packs/*.yaml) of
// detectors for Vietnamese personal identifiers and state-secret stamps, all compiled into one
// Hyperscan block-mode database and run by each worker over the reassembled cleartext of its
// flows (TCP streams per direction, UDP payloads).
//
// A pattern only proposes a candidate; a C++ validator named by the pack confirms it (province
// codes, check digits, Luhn, stamp-like layout) and gives its normalised form. The normalised
// value never leaves the sensor: findings carry a partial mask (`0912***678`) and
// HMAC-SHA256(tenant key, normalised value), so repeats of one identifier still correlate.
//
// Per flow the findings aggregate into labels (DESIGN §6): identifiers -> pii=basic; cards,
// health-insurance numbers or at least `bulk_threshold` distinct identifiers -> pii=sensitive;
// any stamp -> secrecy=suspected-state-secret.
//
// Threading: Classifier is immutable after create() and shared by every worker;
// ClassifyThread (Hyperscan scratch, scan buffer) and FlowClassification belong to one worker.
// Nothing throws; a pack error names the file and the key.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "vigil/core/result.h"

namespace vigil::sensor::classify {

// What a confirmed match raises.
enum class Label : uint8_t {
  kPiiBasic,      // an identifier (personal ID, phone, tax code, passport, ...)
  kPiiSensitive,  // card numbers, health insurance: sensitive on their own
  kStateSecret,   // a "MẬT" / "TỐI MẬT" / "TUYỆT MẬT" stamp
};
const char* to_string(Label l);

// How a detector uses its context words (searched near the match).
enum class ContextMode : uint8_t {
  kNone,      // context is not looked at
  kBoost,     // a context word raises confidence from "medium" to "high"
  kRequired,  // without a context word the candidate is dropped
};

struct DetectorSpec {
  std::string id;         // "vn.cccd"
  std::string pattern;    // Hyperscan regex (bytes; no UTF-8 mode), case-sensitive
  std::string validator;  // a name from validator_names()
  std::vector<std::string> context;  // context words (ASCII letters match case-insensitively)
  ContextMode context_mode = ContextMode::kNone;
  Label label = Label::kPiiBasic;
  std::string grade;        // stamps: "mat", "toi-mat", "tuyet-mat"
  std::string description;
};

struct Pack {
  std::string name;
  uint32_t version = 1;
  // Bytes before the match searched for context words (and a third of it after the match).
  uint32_t context_window = 64;
  std::vector<DetectorSpec> detectors;
};

// Parses a pack. Errors name the source and the key ("vn-classification.yaml: detectors[3].validator").
core::Result<Pack> parse_pack(const std::string& yaml_text, const std::string& source);
core::Result<Pack> load_pack(const std::string& path);

// Names a pack may use in `validator:`.
std::vector<std::string> validator_names();

// ---------------------------------------------------------------------------------------------
// Validators, one per identifier kind. `text` is the candidate as matched (separators included);
// on success `normalized` is the canonical value (digits only, +84 -> 0, letters uppercased).
// The surrounding bytes are checked by the scanner, not here.
namespace validate {
// 12-digit personal ID: province code from the 63 codes of Circular 07/2016/TT-BCA, century/sex
// digit 0-9 with the birth year (century + two digits) not after `current_year`.
bool personal_id(std::string_view text, int current_year, std::string& normalized);
bool province_code(int code);
// Old 9-digit ID card (CMND): nine digits, not all the same.
bool old_id(std::string_view text, std::string& normalized);
// Mobile number: +84 / 84 / 0 prefix normalised to 0, ten digits, a carrier prefix.
bool mobile(std::string_view text, std::string& normalized);
// Enterprise tax code: 10 digits with the check digit (weights 31 29 23 19 17 13 7 5 3,
// check = 10 - sum mod 11; a remainder of 0 is never issued), optionally "-NNN" branch 001-999.
bool tax_code(std::string_view text, std::string& normalized);
// Social-insurance number (mã số BHXH): 10 digits, not all the same.
bool social_insurance(std::string_view text, std::string& normalized);
// Health-insurance card (thẻ BHYT): 2 letters, benefit level 1-5, province 01-99, 10-digit BHXH number.
bool health_insurance(std::string_view text, std::string& normalized);
// Payment card: 13-19 digits (spaces/dashes allowed), Luhn, a known issuer prefix (domestic
// NAPAS 9704, Visa, Mastercard, Amex, JCB, UnionPay).
bool payment_card(std::string_view text, std::string& normalized);
bool luhn(std::string_view digits);
// Passport: one uppercase letter and 7 digits.
bool passport(std::string_view text, std::string& normalized);
}  // namespace validate

// The partial mask shown instead of a value: first 4 and last 3 characters for values of 10 or
// more ("0912***678"), first 2 and last 2 for shorter ones ("C1***67").
std::string mask(std::string_view normalized);

// ---------------------------------------------------------------------------------------------

struct ClassifierConfig {
  std::vector<uint8_t> key;         // HMAC key (the tenant's), at least 16 bytes
  uint32_t bulk_threshold = 10;     // distinct identifiers in one flow that make it sensitive
  uint32_t max_values = 16;         // distinct values listed per detector in a record
  int current_year = 0;             // 0: the system clock's year
};

// Reads a key file: 64 hex characters (32 bytes), or at least 16 raw bytes. Errors name the file.
core::Result<std::vector<uint8_t>> load_key_file(const std::string& path);

struct ValueStats {
  std::string masked;
  uint64_t count = 0;
};

struct DetectorStats {
  uint64_t count = 0;           // confirmed matches (repeats included)
  uint64_t with_context = 0;    // of which had a context word nearby
  std::map<std::string, ValueStats> values;  // by HMAC hex; at most max_values kept
  uint64_t distinct = 0;        // distinct values seen (beyond max_values too)
};

// Per-flow state: the tail of each direction (matches across segment boundaries) and the
// aggregated findings.
struct FlowClassification {
  std::string tail[2];
  uint64_t consumed[2] = {0, 0};   // bytes of the direction handed to scan() so far
  uint64_t considered[2] = {0, 0}; // matches ending at or before this offset were decided
  std::map<uint32_t, DetectorStats> detectors;  // by detector index
  uint64_t distinct_identifiers = 0;
  bool sensitive = false, secret = false, basic = false;
  bool bulk = false;

  [[nodiscard]] bool any() const { return !detectors.empty(); }
  // "none", "basic", "sensitive"
  [[nodiscard]] const char* pii() const;
  // "none", "suspected-state-secret"
  [[nodiscard]] const char* secrecy() const;
  // Label tags: "pii", "pii-sensitive", "pii-bulk", "state-secret-stamp".
  [[nodiscard]] std::vector<std::string> tags() const;
};

struct ClassifyCounters {
  uint64_t bytes = 0;             // scanned (tails carried between segments included)
  uint64_t bytes_skipped = 0;     // binary blocks not scanned
  uint64_t candidates = 0;       // pattern matches handed to validators
  uint64_t confirmed = 0;
  uint64_t rejected = 0;         // failed validation, boundaries or required context
  uint64_t scan_errors = 0;
  uint64_t flows_pii = 0, flows_sensitive = 0, flows_secret = 0;
  uint64_t records = 0;
  uint64_t redacted = 0;         // identifiers masked in http records and alert objects
};

class Classifier {
 public:
  ~Classifier();
  // Compiles every detector of the pack into one Hyperscan database.
  static core::Result<std::unique_ptr<Classifier>> create(Pack pack, ClassifierConfig config);
  [[nodiscard]] const Pack& pack() const { return pack_; }
  [[nodiscard]] const ClassifierConfig& config() const { return config_; }
  // HMAC-SHA256(key, value) as lowercase hex.
  [[nodiscard]] std::string keyed_hash(std::string_view normalized) const;
  // The classification object of an EVE record / shipped event for a flow's findings.
  [[nodiscard]] nlohmann::ordered_json to_json(const FlowClassification& fc) const;

  struct Impl;
  [[nodiscard]] const Impl& impl() const { return *impl_; }

 private:
  Classifier() = default;
  Pack pack_;
  ClassifierConfig config_;
  std::unique_ptr<Impl> impl_;
};

// One worker's scanner.
class ClassifyThread {
 public:
  ~ClassifyThread();
  static core::Result<std::unique_ptr<ClassifyThread>> create(const Classifier& classifier);

  // Scans the next in-order bytes of direction `dir` (0 to server, 1 to client). Matches that
  // touch the last bytes wait for more data (or finish()) so boundaries can be checked.
  // Binary-looking blocks of 1 KiB (more than 1 byte in 32 a control character) are skipped.
  void scan(FlowClassification& fc, int dir, std::span<const uint8_t> data);
  // The direction ends: decides what waited at its end.
  void finish(FlowClassification& fc, int dir);
  // A self-contained buffer (a UDP datagram): scan and finish at once, without touching the tail.
  void scan_datagram(FlowClassification& fc, int dir, std::span<const uint8_t> data);
  // Replaces every confirmed identifier in `text` (an EVE object's JSON text: URLs, headers) by
  // its mask; stamps are left alone. Returns how many were replaced. Findings are not counted.
  size_t redact(std::string& text);

  [[nodiscard]] const ClassifyCounters& counters() const { return counters_; }
  ClassifyCounters& counters() { return counters_; }

 private:
  ClassifyThread() = default;
  void scan_text(FlowClassification& fc, int dir, std::span<const uint8_t> data);
  void run(FlowClassification& fc, int dir, std::string_view buf, uint64_t buf_offset, bool stream_start,
           bool final);
  // Validator, boundaries and context of one candidate.
  bool confirm(std::string_view buf, uint32_t id, size_t from, size_t to, bool stream_start, bool final,
               std::string& normalized, bool& ctx) const;
  const Classifier* c_ = nullptr;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  ClassifyCounters counters_;
};

}  // namespace vigil::sensor::classify
