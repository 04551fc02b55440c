// What the writer does with a Redis error reply. Pure: no nginx types.
#pragma once

#include <string_view>

namespace hubstats::module {

// Error replies that say "not now" rather than "no": Redis loading its data set after
// a restart (LOADING), a script running too long (BUSY), a cluster or replica not
// ready (TRYAGAIN, MASTERDOWN, CLUSTERDOWN), out of memory until the fold drains it (OOM: Redis 7
// refuses a script before running it), a master demoted to a replica (READONLY), a
// Redis that cannot persist its writes (MISCONF: full disk, failing AOF or RDB), the
// script cache flushed (NOSCRIPT). The batch was not applied; it is sent again on a
// new connection, after the reconnect backoff. Any other error rejects the batch.
bool retry_later_error(std::string_view error) noexcept;

}  // namespace hubstats::module
