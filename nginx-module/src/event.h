// A countable download event as queued by a worker, and the Redis commands that
// record it. Everything is copied out of the request: the request pool is gone
// by the time the event is sent. Pure: no nginx types.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
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

// EVALSHA|EVAL record 3 session day days window_ms auth retention_s YYYYMMDD
Command record_command(const Event& e, const RecordSettings& s, ScriptCall how);
// EVALSHA|EVAL index 1 hs:idx:D tag retention_s
Command index_command(const Event& e, const RecordSettings& s, ScriptCall how);
// SCRIPT LOAD for both scripts, sent first on every connection.
std::vector<Command> script_load_commands();

// The Redis keys of one (repo, day), built once through hubstats::keys and reused
// for every event of that repo and day (key building dominates the per-event cost).
struct RepoDayKeys {
  std::string tag;             // keys::repo_tag
  std::string session_prefix;  // keys::session(repo, "") (+ identity hex = session key)
  std::string day;             // keys::day
  std::string days;            // keys::days
  std::string index;           // keys::index
  std::string compact_day;     // YYYYMMDD
  Day day_number = 0;
  bool indexed = false;  // the sink's note that Redis already has this index entry

  static RepoDayKeys of(const RepoRef& repo, Day d);
};

// Settings as command arguments, formatted once.
struct RecordArgs {
  std::string window_ms;
  std::string retention_s;
  explicit RecordArgs(const RecordSettings& s);
};

// The same commands in Redis wire format (RESP), built without intermediate
// argument vectors: this is what the log-phase hot path sends.
std::string record_resp(const RepoDayKeys& k, const Event& e, const RecordArgs& a, ScriptCall how);
std::string index_resp(const RepoDayKeys& k, const RecordArgs& a, ScriptCall how);
std::string to_resp(const Command& c);

}  // namespace hubstats::module
