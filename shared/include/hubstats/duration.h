// Durations as written in nginx and YAML config: "500ms", "30s", "30m", "2h", "14d",
// or a bare number of seconds. Strict: anything else is rejected.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace hubstats {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view s) noexcept;

}  // namespace hubstats
