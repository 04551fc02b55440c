// The one error every layer may throw or catch: Redis or PostgreSQL could not answer
// within its timeout. The database clients throw it, the fold and the stores pass it
// on, and the HTTP pipeline answers 503 for it.
#pragma once

#include <stdexcept>

namespace hubstatsd {

struct Unavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace hubstatsd
