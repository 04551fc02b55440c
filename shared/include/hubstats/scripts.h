// Lua scripts run inside Redis. Each touches only keys of one repo (one hash tag),
// except kIndex (the old day index, no longer sent) which touches only that key.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hubstats/day.h"
#include "hubstats/repo.h"

namespace hubstats::scripts {

// Records a batch of file events of ONE repo and ONE day, in order, each judged at
// its own request time (Unix ms), at most once per batch id.
// A download session is a fixed window that starts at an identity's first file.
// Sessions live as fields identity -> start ms in one hash per window-long time
// bucket (keys::sessions): a session that is still open at time t started in t's
// bucket or the previous one, so two HMGETs answer the whole batch and one HSET
// opens its new sessions. All events of a batch lie in one bucket (the writer splits
// batches where the bucket changes), so the two hashes are the same for all. A
// repeated identity inside the batch is a repeat.
// Batch ids (exactly once): a writer numbers its batches in a stream (16 hex chars:
// 8 of the stream's creation time in Unix seconds, 8 random) and sends them, and
// resends the ones whose reply it did not get, in increasing order per repo. The
// repo's hash keys::batches holds, per stream, the highest number applied: a batch
// at or below it was applied before and is skipped (returns -1). A stream field is
// pruned once its stream is older than the retention (checked when a new stream
// field is added, so it costs nothing per batch); writers start a new stream every
// half retention, so any batch resent within half a retention of its first send is
// recognised. An empty stream id skips the check (tests and tools).
// KEYS: day, days, sessions(bucket), sessions(bucket - 1), batches
// ARGV: window_ms, retention_s, YYYYMMDD, stream, seq, auth flags (one '0'|'1' per
//       event), identity_1..identity_n, time_ms_1..time_ms_n
// Returns the number of events that opened a new download session, or -1 when the
// batch id was already applied.
// The bucket hash expires when its last session ends and the next bucket stops
// looking at it: its start + 2 windows, set as a TTL from the batch's latest event
// time (not an absolute time, so the writer's clock and Redis's need not agree).
// Day-hash TTLs are set when the day hash is created (HINCRBY files == n: no
// existing day hash lacks files), not refreshed per event: a day hash is written
// during (about) its own day only, so retention counts from its first event, and the
// days set's TTL is never shorter than a day hash's. A fold RENAMEs the hash away;
// the next batch recreates it and so re-adds the day to the days set (fold finish
// may have removed it).
inline constexpr std::string_view kRecordBatch = R"lua(
local w, files = tonumber(ARGV[1]), (#ARGV - 6) / 2
if files < 1 then return 0 end
local flags, t0 = ARGV[6], 6 + files
local last = tonumber(ARGV[t0 + files])
local stream = ARGV[4]
if stream ~= '' then
  local seen = redis.call('HGET', KEYS[5], stream)
  if seen and tonumber(seen) >= tonumber(ARGV[5]) then return -1 end
  if redis.call('HSET', KEYS[5], stream, ARGV[5]) == 1 then
    local oldest = math.floor(last / 1000) - tonumber(ARGV[2])
    for _, f in ipairs(redis.call('HKEYS', KEYS[5])) do
      local born = tonumber(string.sub(f, 1, 8), 16)
      if born and born < oldest then redis.call('HDEL', KEYS[5], f) end
    end
    redis.call('EXPIRE', KEYS[5], ARGV[2])
  end
end
local cur = redis.call('HMGET', KEYS[3], unpack(ARGV, 7, t0))
local prev = redis.call('HMGET', KEYS[4], unpack(ARGV, 7, t0))
local opened, started, auth = {}, {}, 0
for i = 1, files do
  local id = ARGV[6 + i]
  if not (cur[i] or started[id]) then
    local p = prev[i]
    if not p or tonumber(ARGV[t0 + i]) - tonumber(p) >= w then
      started[id] = true
      opened[#opened + 1] = id
      opened[#opened + 1] = ARGV[t0 + i]
      if string.byte(flags, i) == 49 then auth = auth + 1 end
    end
  end
end
local new = #opened / 2
if new > 0 then
  redis.call('HSET', KEYS[3], unpack(opened))
  redis.call('PEXPIRE', KEYS[3], 2 * w - last % w)
  redis.call('HINCRBY', KEYS[1], 'downloads', new)
  if auth > 0 then redis.call('HINCRBY', KEYS[1], 'authenticated', auth) end
  if new > auth then redis.call('HINCRBY', KEYS[1], 'anonymous', new - auth) end
end
if redis.call('HINCRBY', KEYS[1], 'files', files) == files then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  redis.call('SADD', KEYS[2], ARGV[3])
  redis.call('EXPIRE', KEYS[2], ARGV[2])
end
return new
)lua";

// The day index script of the layout before dirty sets. The module no longer sends
// it; kept for tools and tests that still build the old layout.
// KEYS: index   ARGV: repo_tag, retention_s
inline constexpr std::string_view kIndex = R"lua(
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
)lua";

// Fold step 1: move a day hash aside under a fresh generation id, or return the
// generation already in flight (a previous fold that crashed). Returns HGETALL of
// the folding hash (empty when there is nothing to fold). Moving a day hash bumps the
// repo's fold epoch (keys::epoch) in the same atomic step, so a reader that saw the
// day hash as unfolded can tell its snapshot went stale. A missing epoch starts at a
// random value (ARGV[3]) and grows by random steps (ARGV[4]): a Redis emptied or
// restored to an older state does not hand out again an epoch a reader cached.
// With the 4 more keys (issue 12), the day's paths and clients hashes move aside in
// the same step (to folding_paths, folding_clients; they carry no gen of their own:
// they exist only while the folding hash does, and fold finish drops all three), and
// the reply is {HGETALL folding, HGETALL folding_paths, HGETALL folding_clients}.
// KEYS: day, folding, epoch[, paths, clients, folding_paths, folding_clients]
// ARGV: new_gen, ttl_s, random_start, random_step
inline constexpr std::string_view kFoldTake = R"lua(
local more = #KEYS >= 7
if redis.call('EXISTS', KEYS[2]) == 0 then
  local any = redis.call('EXISTS', KEYS[1])
  if more then any = any + redis.call('EXISTS', KEYS[4], KEYS[5]) end
  if any == 0 then
    if more then return {{}, {}, {}} end
    return {}
  end
  if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('RENAME', KEYS[1], KEYS[2]) end
  redis.call('HSET', KEYS[2], 'gen', ARGV[1])
  redis.call('EXPIRE', KEYS[2], ARGV[2])
  if more then
    for i = 4, 5 do
      if redis.call('EXISTS', KEYS[i]) == 1 then
        redis.call('RENAME', KEYS[i], KEYS[i + 2])
        redis.call('EXPIRE', KEYS[i + 2], ARGV[2])
      else
        redis.call('DEL', KEYS[i + 2])
      end
    end
  end
  if redis.call('EXISTS', KEYS[3]) == 0 then redis.call('SET', KEYS[3], ARGV[3]) end
  redis.call('INCRBY', KEYS[3], ARGV[4])
  redis.call('EXPIRE', KEYS[3], ARGV[2])
end
if not more then return redis.call('HGETALL', KEYS[2]) end
return {redis.call('HGETALL', KEYS[2]), redis.call('HGETALL', KEYS[6]),
        redis.call('HGETALL', KEYS[7])}
)lua";

// Fold step 3, after PostgreSQL committed generation gen: drop the folding hash (and
// the paths and clients hashes taken with it) and forget the day once nothing is left
// for it.
// KEYS: folding, day, days[, folding_paths, folding_clients, paths, clients]
// ARGV: gen, YYYYMMDD
inline constexpr std::string_view kFoldFinish = R"lua(
if redis.call('HGET', KEYS[1], 'gen') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  if #KEYS >= 7 then redis.call('DEL', KEYS[4], KEYS[5]) end
end
local left = redis.call('EXISTS', KEYS[1], KEYS[2])
if #KEYS >= 7 then left = left + redis.call('EXISTS', KEYS[6], KEYS[7]) end
if left == 0 then
  redis.call('SREM', KEYS[3], ARGV[2])
end
return 1
)lua";

// Continuous fold, per dirty shard: take the shard's dirty set whole (RENAME to its
// taken key, stamped with a token member "#<token>"), or return the taken set a fold
// that crashed (or is still running on another daemon) left behind. Returns the
// members (repo tags and the token).
// KEYS: dirty, dirty_taken   ARGV: "#<fresh token>", ttl_s
inline constexpr std::string_view kDirtyTake = R"lua(
if redis.call('EXISTS', KEYS[2]) == 0 then
  if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
  redis.call('RENAME', KEYS[1], KEYS[2])
  redis.call('SADD', KEYS[2], ARGV[1])
  redis.call('EXPIRE', KEYS[2], ARGV[2])
end
return redis.call('SMEMBERS', KEYS[2])
)lua";

// Continuous fold, after every repo of a taken set was folded: delete the taken set if
// it is still the one that was folded (its token), never a newer take's.
// KEYS: dirty_taken   ARGV: "#<token>"
inline constexpr std::string_view kDirtyFinish = R"lua(
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then redis.call('DEL', KEYS[1]) end
return 1
)lua";

// A reader's snapshot of one repo's unfolded residual, atomic: the fold epoch, then
// for each day of the repo's days set 10 values: YYYYMMDD, the day hash's downloads,
// authenticated, anonymous, files, the folding hash's same four and its gen (nil
// where absent). The day and folding keys are built from ARGV[1] ("hs:{tag}:"): they
// carry the same hash tag, so they live in the script's slot.
// KEYS: days, epoch   ARGV: key prefix of the repo
inline constexpr std::string_view kReadResidual = R"lua(
local out = {redis.call('GET', KEYS[2]) or ''}
for _, d in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  out[#out + 1] = d
  local a = redis.call('HMGET', ARGV[1] .. 'd:' .. d, 'downloads', 'authenticated', 'anonymous', 'files')
  local b = redis.call('HMGET', ARGV[1] .. 'f:' .. d, 'downloads', 'authenticated', 'anonymous', 'files', 'gen')
  for i = 1, 4 do out[#out + 1] = a[i] end
  for i = 1, 5 do out[#out + 1] = b[i] end
end
return out
)lua";

// A reader's snapshot of one repo's unfolded per-file or per-client counts (issue 12),
// atomic: the fold epoch, then for each day of the repo's days set: YYYYMMDD, the
// folding hash's gen (nil when absent), HGETALL of the live hash (ARGV[2] "p:" or
// "c:") and HGETALL of its folding copy (ARGV[3] "fp:" or "fc:").
// KEYS: days, epoch   ARGV: key prefix of the repo, live infix, folding infix
inline constexpr std::string_view kReadBreakdown = R"lua(
local out = {redis.call('GET', KEYS[2]) or ''}
for _, d in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  out[#out + 1] = d
  out[#out + 1] = redis.call('HGET', ARGV[1] .. 'f:' .. d, 'gen') or false
  out[#out + 1] = redis.call('HGETALL', ARGV[1] .. ARGV[2] .. d)
  out[#out + 1] = redis.call('HGETALL', ARGV[1] .. ARGV[3] .. d)
end
return out
)lua";

// The KEYS and ARGV of one kRecordBatch call: events (identity, authenticated,
// request time) of one repo and day, each judged at its time_ms, or at now_ms when
// it has none (0). Every event must lie in now_ms's session bucket. An empty stream
// sends the batch without an id.
struct RecordedFile {
  std::string_view identity;
  bool authenticated = false;
  std::int64_t time_ms = 0;
};
struct ScriptArgs {
  std::vector<std::string> keys;
  std::vector<std::string> argv;
};
ScriptArgs record_batch_args(const RepoRef& repo, Day day, std::int64_t window_ms,
                             std::int64_t retention_s, std::int64_t now_ms,
                             const std::vector<RecordedFile>& files, std::string_view stream = {},
                             std::uint64_t seq = 0);

// Lower-case hex SHA1 of a script body, as EVALSHA expects.
std::string sha1_hex(std::string_view script);

}  // namespace hubstats::scripts
