// The daemon's wall clock: Unix seconds. Components take a Clock so tests can set the
// day; production passes system_unix_now.
#pragma once

#include <cstdint>
#include <functional>

namespace hubstatsd {

using Clock = std::function<std::int64_t()>;

// Unix seconds from std::chrono::system_clock (follows libfaketime in tests).
std::int64_t system_unix_now();

}  // namespace hubstatsd
