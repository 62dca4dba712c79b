#include "vigil/core/time.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace vigil::core {

Timestamp Timestamp::now() {
  using namespace std::chrono;
  return {duration_cast<microseconds>(system_clock::now().time_since_epoch()).count()};
}

std::string format_eve_time(Timestamp t) {
  time_t secs = static_cast<time_t>(t.usec / 1000000);
  int64_t frac = t.usec % 1000000;
  if (frac < 0) {
    frac += 1000000;
    --secs;
  }
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lld+0000", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(frac));
  return buf;
}

std::optional<Timestamp> parse_epoch_seconds(std::string_view text) {
  if (text.empty()) return std::nullopt;
  try {
    std::string s(text);
    size_t used = 0;
    double v = std::stod(s, &used);
    if (used != s.size()) return std::nullopt;
    return Timestamp{static_cast<int64_t>(v * 1e6)};
  } catch (...) {
    return std::nullopt;
  }
}

}  // namespace vigil::core
