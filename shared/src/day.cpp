#include "hubstats/day.h"

#include <cstdio>

namespace hubstats {

Day days_from_civil(int y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int>(doe) - 719468;
}

void civil_from_days(Day z, int& y, unsigned& m, unsigned& d) noexcept {
  z += 719468;
  const int era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int>(yoe) + era * 400 + (m <= 2);
}

Day day_of(std::int64_t t) noexcept {
  std::int64_t q = t / 86400;
  if (t % 86400 < 0) --q;
  return static_cast<Day>(q);
}

std::int64_t day_start(Day d) noexcept {
  return static_cast<std::int64_t>(d) * 86400;
}

namespace {

// YYYY<sep>MM<sep>DD (sep 0: none) without printf, which keys and SQL parameters call
// for every repo-day a fold touches; years outside 0..9999 take the printf way.
void append_date(std::string& out, Day d, char sep) {
  int y;
  unsigned m, dd;
  civil_from_days(d, y, m, dd);
  if (y < 0 || y > 9999) {
    char buf[32];
    std::snprintf(buf, sizeof buf, sep ? "%04d-%02u-%02u" : "%04d%02u%02u", y, m, dd);
    out += buf;
    return;
  }
  const auto uy = static_cast<unsigned>(y);
  char buf[10];
  std::size_t n = 0;
  buf[n++] = static_cast<char>('0' + uy / 1000);
  buf[n++] = static_cast<char>('0' + uy / 100 % 10);
  buf[n++] = static_cast<char>('0' + uy / 10 % 10);
  buf[n++] = static_cast<char>('0' + uy % 10);
  if (sep) buf[n++] = sep;
  buf[n++] = static_cast<char>('0' + m / 10);
  buf[n++] = static_cast<char>('0' + m % 10);
  if (sep) buf[n++] = sep;
  buf[n++] = static_cast<char>('0' + dd / 10);
  buf[n++] = static_cast<char>('0' + dd % 10);
  out.append(buf, n);
}

}  // namespace

std::string format_iso(Day d) {
  std::string out;
  append_date(out, d, '-');
  return out;
}

std::string format_compact(Day d) {
  std::string out;
  append_date(out, d, 0);
  return out;
}

void append_compact(std::string& out, Day d) {
  append_date(out, d, 0);
}

namespace {

bool digits(std::string_view s, int& out) noexcept {
  if (s.empty()) return false;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

std::optional<Day> make_day(int y, int m, int d) noexcept {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1) return std::nullopt;
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  const int dim = kDays[m - 1] + (m == 2 && leap ? 1 : 0);
  if (d > dim) return std::nullopt;
  return days_from_civil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
}

}  // namespace

std::optional<Day> parse_iso(std::string_view s) noexcept {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  int y, m, d;
  if (!digits(s.substr(0, 4), y) || !digits(s.substr(5, 2), m) || !digits(s.substr(8, 2), d))
    return std::nullopt;
  return make_day(y, m, d);
}

std::optional<Day> parse_compact(std::string_view s) noexcept {
  if (s.size() != 8) return std::nullopt;
  int y, m, d;
  if (!digits(s.substr(0, 4), y) || !digits(s.substr(4, 2), m) || !digits(s.substr(6, 2), d))
    return std::nullopt;
  return make_day(y, m, d);
}

Period period_ending(Day today, int days) noexcept {
  return {today - (days - 1), today, days};
}

}  // namespace hubstats
