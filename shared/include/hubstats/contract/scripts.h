// Lua scripts run inside Redis. Each touches only keys of one repo (one hash tag),
// except kIndex (the old day index, no longer sent) which touches only that key.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
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
// Bots are judged with the same session rules but add nothing to downloads,
// authenticated, anonymous or files: their files add to the day hash's `bots`, their
// sessions and files to the clients hash as family bot.
// Per-file and per-client counts: the writer sums its batch (BatchBreakdown) into the
// text of one breakdown-log record: an "f<family>\t<files>" line per distinct family
// (bots included: family bot) and a "p<path>\t<files>" line per distinct non-bot
// path. Each event has one letter naming its family's 1-based index k among those
// lines and its kind: 96 + k anonymous ('a'..), 64 + k authenticated ('A'..), 32 + k
// bot ('!'..); the writer also sends the batch's number of bot events. The script
// reads a letter only for an event that opens a session: it counts the sessions each
// family opened and ends the record with a line "d<n_1>,...,<n_K>" (positional, so
// no name is repeated; K is the highest index that opened one, later ones are 0; a
// batch that opened none ends with "d"), then APPENDs it to the day's log
// (keys::breakdown_log): one call per batch whatever the number of paths and
// families, because every redis.call, every Lua number and every argument costs Redis
// about as much as several events. The fold and the readers parse the log in
// hubstatsd (parse_breakdown_log). When the log passes compact_bytes (a fold that has
// not run for long), the script compacts it into the paths hash (keys::paths: path ->
// files; a path not yet in the hash is added only while the hash holds fewer than
// max_paths fields other than the special ones (git), (lfs), (other); past the cap it
// adds to (other)) and the clients hash (keys::clients: d:<family> sessions,
// f:<family> files), so Redis memory stays bounded. The fold enforces the path cap
// again.
// KEYS: day, days, sessions(bucket), sessions(bucket - 1), batches, paths, clients,
//       breakdown log
// ARGV: window_ms, retention_s, YYYYMMDD, stream, seq, letters (one per event, as
//       above; its length is the number of events n), bots (how many letters are
//       bots), max_paths, compact_bytes, identity_1..n, time_ms_1..n, the record
//       without its d line
// Returns the number of events that opened a new download session (bots included),
// or -1 when the batch id was already applied.
// The bucket hash expires when its last session ends and the next bucket stops
// looking at it: its start + 2 windows, set as a TTL from the batch's latest event
// time (not an absolute time, so the writer's clock and Redis's need not agree).
// Day-hash TTLs are set when the day hash is created (HINCRBY files == n: no
// existing day hash lacks files; a hash that so far holds only bots has files 0, so
// its first people re-set the TTL, harmless), not refreshed per event: a day hash
// is written during (about) its own day only, so retention counts from its first
// event, and the days set's TTL is never shorter than a day hash's. The log gets
// the retention TTL when this call creates it, the hashes when a compaction creates
// them. A fold RENAMEs the day hash and the log away; the next batch recreates them
// and so re-adds the day to the days set (fold finish may have removed it).
inline constexpr std::string_view kRecordBatch = R"lua(
-- `+ 0` converts a number argument with one strtod; tonumber() parses it twice.
local w, letters = ARGV[1] + 0, ARGV[6]
local files = #letters
if files < 1 then return 0 end
local bots = ARGV[7] == '0' and 0 or ARGV[7] + 0
local t0 = 9 + files
local last = ARGV[t0 + files] + 0
local stream = ARGV[4]
if stream ~= '' then
  local seen = redis.call('HGET', KEYS[5], stream)
  if seen and seen + 0 >= ARGV[5] + 0 then return -1 end
  if redis.call('HSET', KEYS[5], stream, ARGV[5]) == 1 then
    local oldest = math.floor(last / 1000) - tonumber(ARGV[2])
    for _, f in ipairs(redis.call('HKEYS', KEYS[5])) do
      local born = tonumber(string.sub(f, 1, 8), 16)
      if born and born < oldest then redis.call('HDEL', KEYS[5], f) end
    end
    redis.call('EXPIRE', KEYS[5], ARGV[2])
  end
end
local cur = redis.call('HMGET', KEYS[3], unpack(ARGV, 10, t0))
local prev = redis.call('HMGET', KEYS[4], unpack(ARGV, 10, t0))
local opened, started, auth, botnew, fd, nf = {}, {}, 0, 0, {}, 0
for i = 1, files do
  local id = ARGV[9 + i]
  if not (cur[i] or started[id]) then
    local p = prev[i]
    if not p or tonumber(ARGV[t0 + i]) - tonumber(p) >= w then
      started[id] = true
      opened[#opened + 1] = id
      opened[#opened + 1] = ARGV[t0 + i]
      -- The event's letter: its family's index k in the record, plus 96 (anonymous),
      -- 64 (authenticated) or 32 (bot). Read only for the events that open a session.
      local k = string.byte(letters, i)
      if k > 96 then
        k = k - 96
      elseif k > 64 then
        k, auth = k - 64, auth + 1
      else
        k, botnew = k - 32, botnew + 1
      end
      fd[k] = (fd[k] or 0) + 1
      if k > nf then nf = k end
    end
  end
end
local new, dline = #opened / 2, 'd\n'
if new > 0 then
  redis.call('HSET', KEYS[3], unpack(opened))
  redis.call('PEXPIRE', KEYS[3], 2 * w - last % w)
  local people = new - botnew
  if people > 0 then redis.call('HINCRBY', KEYS[1], 'downloads', people) end
  if auth > 0 then redis.call('HINCRBY', KEYS[1], 'authenticated', auth) end
  if people > auth then redis.call('HINCRBY', KEYS[1], 'anonymous', people - auth) end
  for k = 1, nf do fd[k] = fd[k] or 0 end
  dline = 'd' .. table.concat(fd, ',') .. '\n'
end
if bots > 0 then redis.call('HINCRBY', KEYS[1], 'bots', bots) end
local counted = files - bots
if redis.call('HINCRBY', KEYS[1], 'files', counted) == counted then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  redis.call('SADD', KEYS[2], ARGV[3])
  redis.call('EXPIRE', KEYS[2], ARGV[2])
end
local rec = ARGV[t0 + files + 1] .. dline
local len = redis.call('APPEND', KEYS[8], rec)
if len == #rec then redis.call('EXPIRE', KEYS[8], ARGV[2]) end
if len > ARGV[9] + 0 then
  -- Compaction: sum the whole log, add it to the hashes, drop it.
  local paths, plist, cl, clist, names = {}, {}, {}, {}, {}
  for line in string.gmatch(redis.call('GET', KEYS[8]), '[^\n]+') do
    local kind = string.sub(line, 1, 1)
    if kind == 'd' then
      local k = 0
      for n in string.gmatch(string.sub(line, 2), '[^,]+') do
        k = k + 1
        n = tonumber(n)
        if n > 0 then
          local f = 'd:' .. names[k]
          if not cl[f] then cl[f] = 0; clist[#clist + 1] = f end
          cl[f] = cl[f] + n
        end
      end
      names = {}
    else
      local tab = string.find(line, '\t', 2, true)
      local name, n = string.sub(line, 2, tab - 1), tonumber(string.sub(line, tab + 1))
      if kind == 'f' then
        names[#names + 1] = name
        local f = 'f:' .. name
        if not cl[f] then cl[f] = 0; clist[#clist + 1] = f end
        cl[f] = cl[f] + n
      else
        if not paths[name] then paths[name] = 0; plist[#plist + 1] = name end
        paths[name] = paths[name] + n
      end
    end
  end
  redis.call('DEL', KEYS[8])
  if #clist > 0 then
    local fresh = redis.call('EXISTS', KEYS[7]) == 0
    local old, set = redis.call('HMGET', KEYS[7], unpack(clist)), {}
    for j, f in ipairs(clist) do
      set[#set + 1] = f
      set[#set + 1] = (tonumber(old[j]) or 0) + cl[f]
    end
    redis.call('HSET', KEYS[7], unpack(set))
    if fresh then redis.call('EXPIRE', KEYS[7], ARGV[2]) end
  end
  if #plist > 0 then
    local len0 = redis.call('HLEN', KEYS[6])
    local have = redis.call('HMGET', KEYS[6], '(git)', '(lfs)', '(other)', unpack(plist))
    local room = tonumber(ARGV[8]) - len0
    for k = 1, 3 do if have[k] then room = room + 1 end end
    local other, pset = 0, {}
    for j, p in ipairs(plist) do
      local n, o = paths[p], have[3 + j]
      local special = p == '(git)' or p == '(lfs)' or p == '(other)'
      if p == '(other)' then
        other = other + n
      elseif o or special or room > 0 then
        if not o and not special then room = room - 1 end
        pset[#pset + 1] = p
        pset[#pset + 1] = (tonumber(o) or 0) + n
      else
        other = other + n
      end
    end
    if other > 0 then
      pset[#pset + 1] = '(other)'
      pset[#pset + 1] = (tonumber(have[3]) or 0) + other
    end
    redis.call('HSET', KEYS[6], unpack(pset))
    if len0 == 0 then redis.call('EXPIRE', KEYS[6], ARGV[2]) end
  end
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
// With the 6 more keys (issues 12), the day's paths and clients hashes and its
// breakdown log move aside in the same step (to folding_paths, folding_clients,
// folding_log; they carry no gen of their own: they exist only while the folding
// hash does, and fold finish drops them all), and the reply is {HGETALL folding,
// HGETALL folding_paths, HGETALL folding_clients, GET folding_log or ''}.
// KEYS: day, folding, epoch[, paths, clients, folding_paths, folding_clients, log,
//       folding_log]
// ARGV: new_gen, ttl_s, random_start, random_step
inline constexpr std::string_view kFoldTake = R"lua(
local more = #KEYS >= 9
if redis.call('EXISTS', KEYS[2]) == 0 then
  local any = redis.call('EXISTS', KEYS[1])
  if more then any = any + redis.call('EXISTS', KEYS[4], KEYS[5], KEYS[8]) end
  if any == 0 then
    if more then return {{}, {}, {}, ''} end
    return {}
  end
  if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('RENAME', KEYS[1], KEYS[2]) end
  redis.call('HSET', KEYS[2], 'gen', ARGV[1])
  redis.call('EXPIRE', KEYS[2], ARGV[2])
  if more then
    for _, i in ipairs({4, 5, 8}) do
      local to = i == 8 and 9 or i + 2
      if redis.call('EXISTS', KEYS[i]) == 1 then
        redis.call('RENAME', KEYS[i], KEYS[to])
        redis.call('EXPIRE', KEYS[to], ARGV[2])
      else
        redis.call('DEL', KEYS[to])
      end
    end
  end
  if redis.call('EXISTS', KEYS[3]) == 0 then redis.call('SET', KEYS[3], ARGV[3]) end
  redis.call('INCRBY', KEYS[3], ARGV[4])
  redis.call('EXPIRE', KEYS[3], ARGV[2])
end
if not more then return redis.call('HGETALL', KEYS[2]) end
return {redis.call('HGETALL', KEYS[2]), redis.call('HGETALL', KEYS[6]),
        redis.call('HGETALL', KEYS[7]), redis.call('GET', KEYS[9]) or ''}
)lua";

// Fold step 3, after PostgreSQL committed generation gen: drop the folding hash (and
// the paths and clients hashes and the log taken with it) and forget the day once
// nothing is left for it.
// KEYS: folding, day, days[, folding_paths, folding_clients, paths, clients,
//       folding_log, log]
// ARGV: gen, YYYYMMDD
inline constexpr std::string_view kFoldFinish = R"lua(
local more = #KEYS >= 9
if redis.call('HGET', KEYS[1], 'gen') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  if more then redis.call('DEL', KEYS[4], KEYS[5], KEYS[8]) end
end
local left = redis.call('EXISTS', KEYS[1], KEYS[2])
if more then left = left + redis.call('EXISTS', KEYS[6], KEYS[7], KEYS[9]) end
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
// A repo without an epoch (never folded, idle past the key's TTL, or in an emptied
// Redis) gets one here, random (ARGV[2]), so no snapshot says "no epoch": a folded
// total cached under "no epoch" before a first fold would come back after an emptied
// Redis and make the all-time total go down.
// KEYS: days, epoch   ARGV: key prefix of the repo, random epoch start, its TTL (s)
inline constexpr std::string_view kReadResidual = R"lua(
local e = redis.call('GET', KEYS[2])
if not e then
  e = ARGV[2]
  redis.call('SET', KEYS[2], e, 'EX', ARGV[3])
end
local out = {e}
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
// "c:"), HGETALL of its folding copy (ARGV[3] "fp:" or "fc:"), and the live and the
// folding breakdown logs ("x:", "fx:"; '' when absent), which the reader parses.
// KEYS: days, epoch   ARGV: key prefix of the repo, live infix, folding infix
inline constexpr std::string_view kReadBreakdown = R"lua(
local out = {redis.call('GET', KEYS[2]) or ''}
for _, d in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  out[#out + 1] = d
  out[#out + 1] = redis.call('HGET', ARGV[1] .. 'f:' .. d, 'gen') or false
  out[#out + 1] = redis.call('HGETALL', ARGV[1] .. ARGV[2] .. d)
  out[#out + 1] = redis.call('HGETALL', ARGV[1] .. ARGV[3] .. d)
  out[#out + 1] = redis.call('GET', ARGV[1] .. 'x:' .. d) or ''
  out[#out + 1] = redis.call('GET', ARGV[1] .. 'fx:' .. d) or ''
end
return out
)lua";

// The per-file and per-client part of a kRecordBatch call, summed by the writer:
// each distinct family of the batch (in order of first event) with its files, one
// letter per event naming its family's index in that list and whether the event is
// anonymous, authenticated or a bot (kRecordBatch's letters), the number of bot
// events, and each distinct path of the batch's non-bot events with its files. A path
// holding a tab, CR or LF (the log's separators) counts as "(other)".
class BatchBreakdown {
 public:
  // family: 'a' + ClientFamily, as events carry it.
  void add(char family, std::string_view path, bool bot, bool authenticated);
  const std::string& letters() const { return letters_; }
  std::int64_t bots() const { return bots_; }
  // (name, files) of each family, then of each path.
  const std::vector<std::pair<std::string_view, std::int64_t>>& families() const {
    return families_;
  }
  const std::vector<std::pair<std::string_view, std::int64_t>>& paths() const { return paths_; }
  // The breakdown-log record without its d line: "f<family>\t<files>\n" per family,
  // then "p<path>\t<files>\n" per path.
  std::string record() const;

 private:
  std::string letters_;
  std::int64_t bots_ = 0;
  // Family letter -> 1-based index in families_ (0: none yet). 32 slots, so an index
  // is 1..32 and the letters 33..64, 65..96, 97..128 never overlap.
  std::uint8_t index_of_[32] = {};
  std::vector<std::pair<std::string_view, std::int64_t>> families_;
  std::vector<std::pair<std::string_view, std::int64_t>> paths_;
  std::size_t last_path_ = 0;  // runs of one path are the common case
};

// A breakdown log (keys::breakdown_log) as the fields of the hashes it stands for:
// paths (path -> files) and client fields ("d:<family>" -> sessions, "f:<family>" ->
// files), each summed over the log's records, in order of first appearance. A
// malformed line is skipped.
struct BreakdownFields {
  std::vector<std::pair<std::string, std::int64_t>> paths, clients;
};
BreakdownFields parse_breakdown_log(std::string_view log);

// Past this size the record script compacts a breakdown log into the hashes (a fold
// empties it every fold.interval, so only a fold that has stopped lets it grow).
inline constexpr std::int64_t kCompactLogBytes = 1 << 20;

// The KEYS and ARGV of one kRecordBatch call: events (identity, authenticated,
// request time) of one repo and day, each judged at its time_ms, or at now_ms when
// it has none (0). Every event must lie in now_ms's session bucket. An empty stream
// sends the batch without an id.
struct RecordedFile {
  std::string_view identity;
  bool authenticated = false;
  std::int64_t time_ms = 0;
  std::string_view path = "(other)";  // per-file field (classify's path_field)
  char family = 'n';                  // 'a' + ClientFamily ('n': other)
  bool bot = false;                   // counted apart (day hash field bots)
};
inline constexpr std::int64_t kDefaultMaxPaths = 1000;
struct ScriptArgs {
  std::vector<std::string> keys;
  std::vector<std::string> argv;
};
ScriptArgs record_batch_args(const RepoRef& repo, Day day, std::int64_t window_ms,
                             std::int64_t retention_s, std::int64_t now_ms,
                             const std::vector<RecordedFile>& files, std::string_view stream = {},
                             std::uint64_t seq = 0, std::int64_t max_paths = kDefaultMaxPaths,
                             std::int64_t compact_bytes = kCompactLogBytes);

// Lower-case hex SHA1 of a script body, as EVALSHA expects.
std::string sha1_hex(std::string_view script);

}  // namespace hubstats::scripts
