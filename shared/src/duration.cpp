#include "hubstats/duration.h"

#include <cstdint>

namespace hubstats {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view s) noexcept {
  std::size_t i = 0;
  std::uint64_t n = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    n = n * 10 + static_cast<unsigned>(s[i] - '0');
    if (n > 10'000'000'000ull) return std::nullopt;  // far beyond any sane duration
    ++i;
  }
  if (i == 0) return std::nullopt;
  const std::string_view unit = s.substr(i);
  std::uint64_t ms_per;
  if (unit.empty() || unit == "s") {
    ms_per = 1000;
  } else if (unit == "ms") {
    ms_per = 1;
  } else if (unit == "m") {
    ms_per = 60'000;
  } else if (unit == "h") {
    ms_per = 3'600'000;
  } else if (unit == "d") {
    ms_per = 86'400'000;
  } else {
    return std::nullopt;
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(n * ms_per));
}

}  // namespace hubstats
