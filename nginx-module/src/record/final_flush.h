// Last-chance delivery of a worker's batches when it exits and its event loop is
// gone: a short-lived blocking hiredis connection with connect and I/O timeouts.
// Blocking is acceptable only here (exit_process). Pure: no nginx types.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "record/commands.h"
#include "record/group_batches.h"
#include "hubstats/contract/redis_address.h"

namespace hubstats::module {

using hubstats::contract::RedisAddress;

// What became of one batch.
enum class Delivery {
  kApplied,   // Redis confirmed it (now, or under the same id before)
  kRejected,  // Redis answered with an error: it will not be sent again
  kUnknown,   // no reply (no connection, timeout): it may or may not have been applied
};

struct FlushResult {
  std::uint64_t sent = 0;          // events of batches applied by this flush
  std::uint64_t new_sessions = 0;  // of those, events that opened a session
  std::uint64_t failed = 0;        // events of rejected batches
  std::vector<Delivery> outcomes;  // per batch, in order
  std::string error;               // empty on success
};

// Sends the batches as the sink does (kRecordBatch under each batch's id, then its
// repo's dirty mark), in order, over a blocking connection. A batch counts as
// applied once both replies arrived.
FlushResult flush_blocking(const RedisAddress& addr,
                           const std::vector<std::shared_ptr<RecordBatch>>& batches,
                           const RecordSettings& settings,
                           std::chrono::milliseconds connect_timeout,
                           std::chrono::milliseconds io_timeout);

}  // namespace hubstats::module
