// Short human forms of counts for badges and chart axes: 999, 1k, 1.2k, 12k, 123k,
// 1.2M ... (one decimal below 10 of a unit, rounded half up, ".0" dropped).
#pragma once

#include <cstdint>
#include <string>

namespace hubstatsd::pictures {

std::string human_count(std::int64_t n);

// "1,234,567": every digit, grouped by thousands.
std::string grouped_count(std::int64_t n);

}  // namespace hubstatsd::pictures
