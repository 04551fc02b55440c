// Last-chance delivery of queued events when a worker exits and its event loop is
// gone: a short-lived blocking hiredis connection with connect and I/O timeouts.
// Blocking is acceptable only here (exit_process). Pure: no nginx types.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "event.h"
#include "redis_address.h"

namespace hubstats::module {

struct FlushResult {
  std::uint64_t sent = 0;
  std::uint64_t new_sessions = 0;
  std::uint64_t failed = 0;   // sent but no valid reply: outcome unknown
  std::uint64_t dropped = 0;  // never reached Redis (connect failed)
  std::string error;          // empty on success
};

// Sends the events as the sink does (kRecordBatch per repo and day, plus the repo's
// dirty mark), over a blocking connection. Consumes `events`.
FlushResult flush_blocking(const RedisAddress& addr, std::deque<Event>& events,
                           const RecordSettings& settings, std::int64_t now_ms,
                           std::chrono::milliseconds connect_timeout,
                           std::chrono::milliseconds io_timeout);

}  // namespace hubstats::module
