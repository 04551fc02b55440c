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

namespace hubstats::module {

struct Event {
  RepoRef repo;
  std::string identity_hex;
  bool authenticated = false;
  Day day = 0;  // UTC day of the request
};

struct RecordSettings {
  std::int64_t window_ms = 30 * 60 * 1000;
  std::int64_t retention_s = 14 * 86400;
};

// How to name a script in a command: EVALSHA <sha> (normal) or EVAL <body>
// (after NOSCRIPT, or when the script cache was flushed).
enum class ScriptCall { kEvalSha, kEval };

using Command = std::vector<std::string>;

// EVALSHA|EVAL record_batch 4 day days sessions(cur) sessions(prev) window_ms retention_s
//   YYYYMMDD now_ms auth_flags identity_1..n: every event must be of one repo and one
//   day (events.front()'s). now_ms is the Unix time in ms the sessions are judged at.
Command record_batch_command(const std::vector<Event>& events, const RecordSettings& s,
                             std::int64_t now_ms, ScriptCall how);
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

// Events of one repo and one day, recorded by one kRecordBatch call at now_ms (the
// time it is first sent; a resend after NOSCRIPT keeps it, so it judges the same).
struct RecordBatch {
  std::shared_ptr<RepoDayKeys> keys;
  std::vector<Event> events;
  std::int64_t now_ms = 0;
};

// Moves the first `count` events out of `events` into batches of at most max_batch
// events of one repo and one day. Each repo's events stay in their order: a repo
// whose day changes (late events around midnight) starts a new batch, since session
// keys are per repo, not per day. Batches are in order of their first event.
std::vector<RecordBatch> group_batches(std::deque<Event>& events, std::size_t count,
                                       KeyCache& cache, std::size_t max_batch, std::int64_t now_ms);

// Settings as command arguments, formatted once.
struct RecordArgs {
  std::int64_t window;  // ms
  std::string window_ms;
  std::string retention_s;
  explicit RecordArgs(const RecordSettings& s);
};

// The same commands in Redis wire format (RESP), built without intermediate
// argument vectors: this is what the log-phase hot path sends.
std::string record_batch_resp(const RecordBatch& b, const RecordArgs& a, ScriptCall how);
// SADD of the batches' repo tags, one command per dirty shard, each tag once.
std::vector<std::string> dirty_resps(const std::vector<const RepoDayKeys*>& keys);
std::string to_resp(const Command& c);

}  // namespace hubstats::module
