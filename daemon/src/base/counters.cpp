#include "base/counters.h"

namespace hubstatsd::metrics {

std::int64_t unix_now_ms() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {
const std::int64_t g_start_ms = unix_now_ms();
}  // namespace

Counters& counters() noexcept {
  static Counters c;
  return c;
}

std::int64_t process_start_ms() noexcept {
  return g_start_ms;
}

}  // namespace hubstatsd::metrics
