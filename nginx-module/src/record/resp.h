// The recording commands in Redis wire format (RESP): what the log-phase hot path
// hands to hiredis. Pure: no nginx types.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "record/commands.h"
#include "record/group_batches.h"
#include "record/key_cache.h"

namespace hubstats::module {

// Settings as command arguments, formatted once.
struct RecordArgs {
  std::string window_ms;
  std::string retention_s;
  std::string max_paths;
  std::string compact_bytes;
  explicit RecordArgs(const RecordSettings& s);
};

// record_batch_command(b.events, ...) as RESP, hand-encoded from the cached keys
// without intermediate argument vectors: the one hand encoder left, because it is the
// per-event hot path and measured faster than hiredis's (docs/benchmarks.md, issue 9).
std::string record_batch_resp(const RecordBatch& b, const RecordArgs& a, ScriptCall how);
// SADD of the batches' repo tags, one command per dirty shard, each tag once.
std::vector<std::string> dirty_resps(const std::vector<const RepoDayKeys*>& keys);
// Any command as RESP, by hiredis (hubstats::contract::append_command).
std::string format_command(const std::vector<std::string_view>& argv);
std::string to_resp(const Command& c);

}  // namespace hubstats::module
