#include "base/clock.h"

#include <chrono>

namespace hubstatsd {

std::int64_t system_unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace hubstatsd
