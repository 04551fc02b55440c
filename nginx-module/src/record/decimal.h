// Decimal digits appended to a string without a temporary (std::to_string allocates
// past its small buffer): used on the per-event path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace hubstats::module {

inline void append_uint(std::string& out, std::size_t n) {
  char buf[20];
  char* p = buf + sizeof buf;
  do {
    *--p = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n);
  out.append(p, static_cast<std::size_t>(buf + sizeof buf - p));
}

inline void append_int(std::string& out, std::int64_t n) {
  if (n < 0) {
    out += '-';
    append_uint(out, static_cast<std::size_t>(-(n + 1)) + 1);
  } else {
    append_uint(out, static_cast<std::size_t>(n));
  }
}

}  // namespace hubstats::module
