// UTC calendar-day math. A Day is the number of days since 1970-01-01 (UTC).
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace hubstats {

using Day = std::int32_t;

// Day containing the given Unix time (seconds), UTC. Floors for negative times.
Day day_of(std::int64_t unix_seconds) noexcept;
// Unix time of 00:00:00 UTC on the day.
std::int64_t day_start(Day d) noexcept;

// "YYYY-MM-DD" (API form)
std::string format_iso(Day d);
// "YYYYMMDD" (Redis key form)
std::string format_compact(Day d);

// Appends format_compact(d) to out (key building without a temporary).
void append_compact(std::string& out, Day d);
// Strict parsers; nullopt on any malformed or impossible date.
std::optional<Day> parse_iso(std::string_view s) noexcept;
std::optional<Day> parse_compact(std::string_view s) noexcept;

// KohakuHub's period: end = today, start = today - (days - 1), inclusive.
struct Period {
  Day start;
  Day end;
  int days;
};
Period period_ending(Day today, int days) noexcept;

// Civil date conversions (Howard Hinnant's algorithms), exposed for tests.
Day days_from_civil(int y, unsigned m, unsigned d) noexcept;
void civil_from_days(Day z, int& y, unsigned& m, unsigned& d) noexcept;

}  // namespace hubstats
