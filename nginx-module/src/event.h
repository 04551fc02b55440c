// A countable download event as queued by a worker, and the Redis commands that
// record it. Everything is copied out of the request: the request pool is gone
// by the time the event is sent. Pure: no nginx types.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "hubstats/day.h"
#include "hubstats/repo.h"
#include "hubstats/contract/scripts.h"

namespace hubstats::module {

struct Event {
  RepoRef repo;
  std::string identity_hex;
  bool authenticated = false;
  Day day = 0;                   // UTC day of the request
  std::int64_t time_ms = 0;      // request start, Unix ms: its session is judged at it
  std::string path = "(other)";  // per-file field (hubstats::path_field)
  char family = 'n';             // 'a' + hubstats::ClientFamily ('n': other)
  bool bot = false;              // a bot's fetch: counted apart
};

// A batch's id: its writer's stream and its number there (kRecordBatch applies each
// id at most once). Kept by a batch through resends and the spool.
struct BatchId {
  std::string stream;  // 16 hex chars: 8 of the creation time (Unix s), 8 random
  std::uint64_t seq = 0;
};

// "%08x%08x" of a stream's creation time and random bits.
std::string stream_id(std::int64_t born_s, std::uint32_t random);

// Numbers a writer's batches: 1, 2, ... in a stream, and a new stream once the
// current one is older than rotate_s (half the retention: the record script prunes
// streams older than the retention).
class BatchNumbering {
 public:
  BatchNumbering(std::uint64_t (*random)(), std::int64_t rotate_s)
      : random_(random), rotate_s_(rotate_s) {}
  BatchId next(std::int64_t now_s);
  const std::string& stream() const { return stream_; }

 private:
  std::uint64_t (*random_)();
  std::int64_t rotate_s_;
  std::string stream_;
  std::int64_t born_s_ = 0;
  std::uint64_t seq_ = 0;
};

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

// EVALSHA|EVAL record_batch 8 day days sessions(bucket) sessions(bucket-1) batches
//   paths clients log window_ms retention_s YYYYMMDD stream seq flags families
//   max_paths F compact_bytes identity_1..n time_ms_1..n record (the batch's distinct
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

// The Redis keys of one (repo, day), built once through hubstats::keys and reused
// for every event of that repo and day (key building dominates the per-event cost).
struct RepoDayKeys {
  std::string tag;              // keys::repo_tag
  std::string sessions_prefix;  // keys::sessions without "<window_ms>:<bucket>"
  std::string day;              // keys::day
  std::string days;             // keys::days
  std::string batches;          // keys::batches
  std::string paths;            // keys::paths
  std::string clients;          // keys::clients
  std::string log;              // keys::breakdown_log
  int dirty_shard = 0;          // keys::dirty_shard(tag)
  std::string compact_day;      // YYYYMMDD
  Day day_number = 0;

  static RepoDayKeys of(const RepoRef& repo, Day d);
};

// RepoDayKeys per (repo, day), built once and shared by every event of that repo
// and day. Bounded: it starts over when it holds too many entries.
class KeyCache {
 public:
  explicit KeyCache(std::size_t max_entries = 10000) : max_(max_entries) {}
  std::shared_ptr<RepoDayKeys> get(const RepoRef& repo, Day d);
  void clear() { map_.clear(); }
  std::size_t size() const { return map_.size(); }

 private:
  std::size_t max_;
  std::string id_;  // reused lookup buffer
  std::unordered_map<std::string, std::shared_ptr<RepoDayKeys>> map_;
};

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

// Settings as command arguments, formatted once.
struct RecordArgs {
  std::int64_t window;  // ms
  std::string window_ms;
  std::string retention_s;
  std::string max_paths;
  std::string compact_bytes;
  explicit RecordArgs(const RecordSettings& s);
};

// The same commands in Redis wire format (RESP), built without intermediate
// argument vectors: this is what the log-phase hot path sends.
std::string record_batch_resp(const RecordBatch& b, const RecordArgs& a, ScriptCall how);
// SADD of the batches' repo tags, one command per dirty shard, each tag once.
std::vector<std::string> dirty_resps(const std::vector<const RepoDayKeys*>& keys);
std::string to_resp(const Command& c);

}  // namespace hubstats::module
