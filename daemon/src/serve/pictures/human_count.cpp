#include "serve/pictures/human_count.h"

#include <array>

namespace hubstatsd::pictures {

std::string human_count(std::int64_t n) {
  if (n < 0) return "-" + human_count(n == INT64_MIN ? INT64_MAX : -n);
  if (n < 1000) return std::to_string(n);
  static constexpr std::array<char, 6> kUnits = {'k', 'M', 'G', 'T', 'P', 'E'};
  // Integer arithmetic in tenths of a unit, so no value is misrounded by a double.
  unsigned __int128 unit = 1000;
  std::size_t u = 0;
  const auto v = static_cast<unsigned __int128>(n);
  for (;;) {
    const unsigned __int128 tenths = (v * 10 + unit / 2) / unit;  // rounded
    if (tenths < 100) {                                           // below 10 units: 1.2k
      std::string s = std::to_string(static_cast<unsigned>(tenths / 10));
      if (tenths % 10) s += "." + std::to_string(static_cast<unsigned>(tenths % 10));
      return s + kUnits[u];
    }
    const unsigned __int128 whole = (v + unit / 2) / unit;
    if (whole < 1000 || u + 1 == kUnits.size())
      return std::to_string(static_cast<unsigned long long>(whole)) + kUnits[u];
    unit *= 1000;  // 999.5k rounds to 1000k: say 1M instead
    ++u;
  }
}

std::string grouped_count(std::int64_t n) {
  const bool neg = n < 0;
  std::string digits = std::to_string(neg ? static_cast<unsigned long long>(-(n + 1)) + 1ull
                                          : static_cast<unsigned long long>(n));
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return neg ? "-" + out : out;
}

}  // namespace hubstatsd::pictures
