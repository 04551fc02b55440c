// Random identifiers of the fold: generation ids (UUID v4, libuuid's text form) and
// the random start of a repo's fold epoch.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace hubstatsd {

// A fresh fold generation id: a random UUID v4, lower-case hex with dashes.
std::string new_generation_id();
// n of them from one getrandom call (a syscall per id showed in folds of 100k repos).
std::vector<std::string> new_generation_ids(std::size_t n);
std::string format_uuid_v4(std::array<unsigned char, 16> bytes);  // sets version/variant bits

// Where a repo's fold epoch starts when Redis has none: random, so an emptied Redis
// does not hand out epochs a reader cached a total under before.
std::int64_t random_epoch_start();

}  // namespace hubstatsd
