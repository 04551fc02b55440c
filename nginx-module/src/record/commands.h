// The Redis commands that record events, as argument vectors (the final flush and
// the tests use these; the hot path sends the same commands as RESP, resp.h). Pure:
// no nginx types.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hubstats/contract/scripts.h"
#include "record/batch_id.h"
#include "record/event.h"

namespace hubstats::module {

struct RecordSettings {
  std::int64_t window_ms = 30 * 60 * 1000;
  std::int64_t retention_s = 14 * 86400;
  std::int64_t max_paths = 1000;                           // hubstats_max_paths
  std::int64_t compact_bytes = scripts::kCompactLogBytes;  // breakdown log compaction
};

// How to name a script in a command: EVALSHA <sha> (normal) or EVAL <body>
// (after NOSCRIPT, or when the script cache was flushed).
enum class ScriptCall { kEvalSha, kEval };

using Command = std::vector<std::string>;

// sha1 of scripts::kRecordBatch, computed once.
const std::string& record_batch_sha();

// EVALSHA|EVAL record_batch 8 day days sessions(bucket) sessions(bucket-1) batches
//   paths clients log window_ms retention_s YYYYMMDD stream seq letters bots
//   max_paths compact_bytes identity_1..n time_ms_1..n record (the batch's distinct
//   families and paths with their files, scripts::BatchBreakdown::record):
//   every event must be of one repo, day and session bucket (events.front()'s).
Command record_batch_command(const std::vector<Event>& events, const RecordSettings& s,
                             const BatchId& id, ScriptCall how);
// SADD hs:{dirty:N} tag_1..n: marks repos as having unfolded counters, for the
// continuous fold. Every tag must be of shard N (keys::dirty_shard). Sent after the
// record_batch calls of those repos, in the same pipelined write: a fold that takes
// the shard then sees every counter written before the mark.
Command dirty_command(int shard, const std::vector<std::string>& tags);
// SCRIPT LOAD for the script the module sends (record_batch), sent first on every
// connection.
std::vector<Command> script_load_commands();

}  // namespace hubstats::module
