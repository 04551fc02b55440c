// Waiting events grouped into the batches one kRecordBatch call records. Pure: no
// nginx types.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "record/batch_id.h"
#include "record/event.h"
#include "record/key_cache.h"

namespace hubstats::module {

// Most events per kRecordBatch call (one Lua call holds Redis for ~1 µs per event).
inline constexpr std::size_t kMaxRecordBatch = 256;

// Events of one repo, day and session bucket, recorded by one kRecordBatch call
// under one id (resends keep it, so Redis applies the batch once).
struct RecordBatch {
  std::shared_ptr<RepoDayKeys> keys;
  std::vector<Event> events;
  BatchId id;
  std::int64_t bucket = 0;  // keys::session_bucket of its events' times
};

// Moves the first `count` events out of `events` into batches of at most max_batch
// events of one repo, day and session bucket (window_ms long), numbered by `ids` in
// the order they are opened. Each repo's events stay in their order: a repo whose
// day or bucket changes (late events around midnight, a replay spanning windows)
// starts a new batch, since session keys are per repo, not per day. Batches are in
// order of their first event.
std::vector<RecordBatch> group_batches(std::deque<Event>& events, std::size_t count,
                                       KeyCache& cache, std::size_t max_batch,
                                       std::int64_t window_ms, BatchNumbering& ids,
                                       std::int64_t now_s);

// A batch read back from the spool (non-empty, of one repo, day and session bucket, as
// it was grouped), under the id it was written with.
RecordBatch regroup(BatchId id, std::vector<Event> events, KeyCache& cache, std::int64_t window_ms);

}  // namespace hubstats::module
