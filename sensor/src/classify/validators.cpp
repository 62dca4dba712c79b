// Validators of the classification detectors: the checks beyond the pattern that cut false
// positives (DESIGN §6, Identifiers). Each takes the candidate as matched and produces the
// normalised value that is hashed (never logged).
#include <algorithm>
#include <array>

#include "vigil/sensor/classify.h"

namespace vigil::sensor::classify {

namespace {
bool is_digit(char c) { return c >= '0' && c <= '9'; }
// Digits only; false when anything but digits and the allowed separators is present.
bool digits_of(std::string_view text, std::string_view separators, std::string& out) {
  out.clear();
  for (char c : text) {
    if (is_digit(c)) out.push_back(c);
    else if (separators.find(c) == std::string_view::npos) return false;
  }
  return true;
}
bool all_same(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [&](char c) { return c == s[0]; });
}
int num(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}
}  // namespace

namespace validate {

// Appendix 1 of Circular 07/2016/TT-BCA (Decree 137/2015): the 63 provinces and cities, coded
// 001-096 with gaps. Citizens born abroad carry a country code instead; those are not accepted
// (they would need the country list, and such numbers are rare on a government link).
bool province_code(int code) {
  static constexpr std::array<int, 63> kCodes = {
      1,  2,  4,  6,  8,  10, 11, 12, 14, 15, 17, 19, 20, 22, 24, 25, 26, 27, 30, 31, 33,
      34, 35, 36, 37, 38, 40, 42, 44, 45, 46, 48, 49, 51, 52, 54, 56, 58, 60, 62, 64, 66,
      67, 68, 70, 72, 74, 75, 77, 79, 80, 82, 83, 84, 86, 87, 89, 91, 92, 93, 94, 95, 96};
  return std::binary_search(kCodes.begin(), kCodes.end(), code);
}

bool personal_id(std::string_view text, int current_year, std::string& normalized) {
  if (text.size() != 12 || !digits_of(text, "", normalized)) return false;
  if (!province_code(num(normalized.substr(0, 3)))) return false;
  // Century and sex: 0/1 born 1900-1999 (male/female), 2/3 2000-2099, 4/5 2100-2199, ...
  const int century_digit = normalized[3] - '0';
  const int year = 1900 + (century_digit / 2) * 100 + num(normalized.substr(4, 2));
  if (year > current_year) return false;
  // Six random digits: a run of one digit is a placeholder, not a person.
  return !all_same(normalized.substr(6));
}

bool old_id(std::string_view text, std::string& normalized) {
  return text.size() == 9 && digits_of(text, "", normalized) && !all_same(normalized) &&
         normalized != "123456789";
}

bool mobile(std::string_view text, std::string& normalized) {
  std::string d;
  if (!digits_of(text, "+ .-", d)) return false;
  if (text.find('+') != std::string_view::npos && text.front() != '+') return false;
  if (d.size() == 11 && d.compare(0, 2, "84") == 0) d.replace(0, 2, 1, '0');
  if (d.size() != 10 || d[0] != '0') return false;
  // Carrier prefixes after the 2018 renumbering: Viettel 032-039/086/096-098, Vinaphone
  // 081-085/088/091/094, Mobifone 070/076-079/089/090/093, Vietnamobile 052/056/058/092,
  // Gmobile 059/099, Reddi 055, Itel 087; 09x kept whole.
  const int p = num(std::string_view(d).substr(1, 2));
  const bool ok = (p >= 32 && p <= 39) || p == 52 || p == 55 || p == 56 || p == 58 || p == 59 ||
                  p == 70 || (p >= 76 && p <= 79) || (p >= 81 && p <= 89) || (p >= 90 && p <= 99);
  if (!ok || all_same(std::string_view(d).substr(3))) return false;
  normalized = std::move(d);
  return true;
}

bool tax_code(std::string_view text, std::string& normalized) {
  std::string d;
  if (text.size() == 14) {
    if (text[10] != '-') return false;
    if (!digits_of(text, "-", d)) return false;
    if (num(std::string_view(d).substr(10)) == 0) return false;  // branches are 001-999
  } else if (text.size() != 10 || !digits_of(text, "", d)) {
    return false;
  }
  static constexpr int kWeights[9] = {31, 29, 23, 19, 17, 13, 7, 5, 3};
  int sum = 0;
  for (int i = 0; i < 9; ++i) sum += (d[i] - '0') * kWeights[i];
  // check = 10 - (sum mod 11). A remainder of 0 would need check "10": numbers whose first nine
  // digits give it are skipped when codes are issued, so no valid code has it.
  const int r = sum % 11;
  if (r == 0) return false;
  if (d[9] - '0' != 10 - r) return false;
  if (all_same(std::string_view(d).substr(0, 10))) return false;
  if (text.size() == 14) d.insert(10, 1, '-');
  normalized = std::move(d);
  return true;
}

bool social_insurance(std::string_view text, std::string& normalized) {
  return text.size() == 10 && digits_of(text, "", normalized) && !all_same(normalized) &&
         normalized.compare(0, 2, "00") != 0;
}

bool health_insurance(std::string_view text, std::string& normalized) {
  if (text.size() != 15) return false;
  for (int i = 0; i < 2; ++i) {
    if (text[i] < 'A' || text[i] > 'Z') return false;
  }
  if (text[2] < '1' || text[2] > '5') return false;
  for (size_t i = 3; i < 15; ++i) {
    if (!is_digit(text[i])) return false;
  }
  if (num(text.substr(3, 2)) == 0) return false;  // province 01-99
  if (all_same(text.substr(5))) return false;
  normalized = std::string(text);
  return true;
}

bool luhn(std::string_view digits) {
  int sum = 0;
  bool dbl = false;
  for (size_t i = digits.size(); i-- > 0;) {
    int v = digits[i] - '0';
    if (dbl) {
      v *= 2;
      if (v > 9) v -= 9;
    }
    sum += v;
    dbl = !dbl;
  }
  return sum % 10 == 0;
}

bool payment_card(std::string_view text, std::string& normalized) {
  std::string d;
  if (!digits_of(text, " -", d)) return false;
  const size_t n = d.size();
  if (n < 13 || n > 19 || all_same(d) || !luhn(d)) return false;
  const int p2 = num(std::string_view(d).substr(0, 2));
  const int p4 = num(std::string_view(d).substr(0, 4));
  bool issuer = false;
  if (p4 == 9704) issuer = n == 16 || n == 19;                       // NAPAS domestic
  else if (d[0] == '4') issuer = n == 13 || n == 16 || n == 19;      // Visa
  else if (p2 >= 51 && p2 <= 55) issuer = n == 16;                   // Mastercard
  else if (p4 >= 2221 && p4 <= 2720) issuer = n == 16;               // Mastercard 2-series
  else if (p2 == 34 || p2 == 37) issuer = n == 15;                   // Amex
  else if (p4 >= 3528 && p4 <= 3589) issuer = n >= 16;               // JCB
  else if (p2 == 62) issuer = n >= 16;                               // UnionPay
  if (!issuer) return false;
  normalized = std::move(d);
  return true;
}

bool passport(std::string_view text, std::string& normalized) {
  if (text.size() != 8 || text[0] < 'A' || text[0] > 'Z') return false;
  for (size_t i = 1; i < 8; ++i) {
    if (!is_digit(text[i])) return false;
  }
  if (all_same(text.substr(1))) return false;
  normalized = std::string(text);
  return true;
}

}  // namespace validate

std::string mask(std::string_view v) {
  const size_t head = v.size() >= 10 ? 4 : v.size() >= 6 ? 2 : 0;
  const size_t tail = v.size() >= 10 ? 3 : v.size() >= 6 ? 2 : 0;
  std::string out;
  out.append(v.substr(0, head)).append("***").append(v.substr(v.size() - tail));
  return out;
}

}  // namespace vigil::sensor::classify
