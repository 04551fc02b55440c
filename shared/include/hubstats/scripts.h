// Lua scripts run inside Redis. Each touches only keys of one repo (one hash tag),
// except kIndex which touches only the day index key.
#pragma once

#include <string>
#include <string_view>

namespace hubstats::scripts {

// Records one countable file event.
// KEYS: session, day, days   ARGV: window_ms, authenticated(0|1), retention_s, YYYYMMDD
// Returns 1 when the event opened a new download session, 0 otherwise.
inline constexpr std::string_view kRecord = R"lua(
local new = redis.call('SET', KEYS[1], '1', 'PX', ARGV[1], 'NX')
if new then
  redis.call('HINCRBY', KEYS[2], 'downloads', 1)
  if ARGV[2] == '1' then
    redis.call('HINCRBY', KEYS[2], 'authenticated', 1)
  else
    redis.call('HINCRBY', KEYS[2], 'anonymous', 1)
  end
end
redis.call('HINCRBY', KEYS[2], 'files', 1)
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[4])
redis.call('EXPIRE', KEYS[3], ARGV[3])
if new then return 1 end
return 0
)lua";

// Records a batch of file events of ONE repo and ONE day, in order: the same end
// state as kRecord once per event (a repeated identity inside the batch is a repeat),
// with one SET per event and at most one HINCRBY per field.
// KEYS: day, days, session_1..session_n
// ARGV: window_ms, retention_s, YYYYMMDD, authenticated_1..authenticated_n (0|1)
// Returns the number of events that opened a new download session.
// TTLs are set when the day hash is created (HINCRBY files == n: no existing day hash
// lacks files), not refreshed per event: a day hash is written during (about) its own
// day only, so retention counts from its first event, and the days set's TTL is never
// shorter than a day hash's. A fold RENAMEs the hash away; the next batch recreates it
// and so re-adds the day to the days set (fold finish may have removed it).
inline constexpr std::string_view kRecordBatch = R"lua(
local files = #KEYS - 2
if files < 1 then return 0 end
local auth, anon = 0, 0
for i = 3, #KEYS do
  if redis.call('SET', KEYS[i], '1', 'PX', ARGV[1], 'NX') then
    if ARGV[i + 1] == '1' then auth = auth + 1 else anon = anon + 1 end
  end
end
local new = auth + anon
if new > 0 then redis.call('HINCRBY', KEYS[1], 'downloads', new) end
if auth > 0 then redis.call('HINCRBY', KEYS[1], 'authenticated', auth) end
if anon > 0 then redis.call('HINCRBY', KEYS[1], 'anonymous', anon) end
if redis.call('HINCRBY', KEYS[1], 'files', files) == files then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  redis.call('SADD', KEYS[2], ARGV[3])
  redis.call('EXPIRE', KEYS[2], ARGV[2])
end
return new
)lua";

// Adds a repo to a day's index. Sent after kRecord in the same pipeline.
// KEYS: index   ARGV: repo_tag, retention_s
inline constexpr std::string_view kIndex = R"lua(
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
)lua";

// Fold step 1: move a day hash aside under a fresh generation id, or return the
// generation already in flight (a previous fold that crashed). Returns HGETALL of
// the folding hash (empty when there is nothing to fold).
// KEYS: day, folding   ARGV: new_gen, ttl_s
inline constexpr std::string_view kFoldTake = R"lua(
if redis.call('EXISTS', KEYS[2]) == 0 then
  if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
  redis.call('RENAME', KEYS[1], KEYS[2])
  redis.call('HSET', KEYS[2], 'gen', ARGV[1])
  redis.call('EXPIRE', KEYS[2], ARGV[2])
end
return redis.call('HGETALL', KEYS[2])
)lua";

// Fold step 3, after PostgreSQL committed generation gen: drop the folding hash and
// forget the day once nothing is left for it.
// KEYS: folding, day, days   ARGV: gen, YYYYMMDD
inline constexpr std::string_view kFoldFinish = R"lua(
if redis.call('HGET', KEYS[1], 'gen') == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
if redis.call('EXISTS', KEYS[1]) == 0 and redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('SREM', KEYS[3], ARGV[2])
end
return 1
)lua";

// Lower-case hex SHA1 of a script body, as EVALSHA expects.
std::string sha1_hex(std::string_view script);

}  // namespace hubstats::scripts
