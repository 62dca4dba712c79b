// Timestamps: microseconds since the Unix epoch, formatted the way Suricata's EVE does.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vigil::core {

struct Timestamp {
  int64_t usec = 0;  // microseconds since 1970-01-01T00:00:00Z

  static Timestamp from_timeval(int64_t sec, int64_t usec) { return {sec * 1000000 + usec}; }
  static Timestamp now();
  [[nodiscard]] int64_t seconds() const { return usec / 1000000; }
  friend auto operator<=>(const Timestamp&, const Timestamp&) = default;
};

// "2016-01-19T18:18:32.123456+0000", in UTC (EVE's format with the offset of the zone used).
std::string format_eve_time(Timestamp t);

// Seconds since the epoch, fractions allowed ("1715677200", "1715677200.25"), as the query CLI
// and the console API take times. nullopt when empty or not entirely a number.
std::optional<Timestamp> parse_epoch_seconds(std::string_view text);

}  // namespace vigil::core
