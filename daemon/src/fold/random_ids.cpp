#include "fold/random_ids.h"

#include <sys/random.h>
#include <uuid/uuid.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>

namespace hubstatsd {

namespace {

void fill_random(unsigned char* p, std::size_t n) {
  std::size_t got = 0;
  while (got < n) {
    ssize_t r = ::getrandom(p + got, n - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("getrandom failed");
    }
    got += static_cast<std::size_t>(r);
  }
}

}  // namespace

std::string format_uuid_v4(std::array<unsigned char, 16> b) {
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  char text[37];
  uuid_unparse_lower(b.data(), text);
  return std::string(text, 36);
}

std::string new_generation_id() {
  uuid_t u;
  uuid_generate_random(u);
  char text[37];
  uuid_unparse_lower(u, text);
  return std::string(text, 36);
}

std::vector<std::string> new_generation_ids(std::size_t n) {
  // libuuid's uuid_generate_random reads the kernel's random pool once per id: for a
  // batch, read all the bytes at once and let libuuid only format them.
  std::vector<unsigned char> bytes(16 * n);
  if (n) fill_random(bytes.data(), bytes.size());
  std::vector<std::string> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::array<unsigned char, 16> b{};
    std::copy_n(bytes.begin() + static_cast<std::ptrdiff_t>(16 * i), 16, b.begin());
    out.push_back(format_uuid_v4(b));
  }
  return out;
}

std::int64_t random_epoch_start() {
  unsigned char b[5];
  fill_random(b, sizeof b);
  std::int64_t v = 0;
  for (unsigned char c : b) v = (v << 8) | c;
  return v << 16;  // leaves room for 65536 folds before two starts could meet
}

}  // namespace hubstatsd
