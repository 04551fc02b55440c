#include "record/redis_errors.h"

namespace hubstats::module {

bool retry_later_error(std::string_view e) noexcept {
  for (std::string_view code : {"NOSCRIPT", "LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN", "OOM",
                                "READONLY", "MISCONF", "CLUSTERDOWN"}) {
    if (e.substr(0, code.size()) == code && (e.size() == code.size() || e[code.size()] == ' ')) {
      return true;
    }
  }
  return false;
}

}  // namespace hubstats::module
