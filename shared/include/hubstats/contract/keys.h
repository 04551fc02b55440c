// The Redis key schema shared by the nginx module (writer) and hubstatsd (reader/folder).
// See docs/redis-keys.md. Every key of one repository carries the same hash tag
// "{type/ns/name}" so each Lua script touches a single Redis Cluster slot.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "hubstats/day.h"
#include "hubstats/repo.h"

namespace hubstats::keys {

inline constexpr std::string_view kPrefix = "hs:";

// "model/ns/name": the repo's hash-tag content and its member in day indexes.
std::string repo_tag(const RepoRef& r);
std::optional<RepoRef> parse_repo_tag(std::string_view tag);

// hs:{model/ns/name}:s:<window_ms>:<bucket>  hash: identity -> start ms of its session,
//   for the sessions that started in time bucket [bucket*window, (bucket+1)*window).
//   The window is part of the name so nodes or reloads with another window never
//   read each other's buckets as their own.
std::string sessions(const RepoRef& r, std::int64_t window_ms, std::int64_t bucket);
// "hs:{model/ns/name}:s:", to which writers append "<window_ms>:<bucket>".
std::string sessions_prefix(const RepoRef& r);
// The bucket holding Unix time now_ms (floors for times before 1970).
std::int64_t session_bucket(std::int64_t now_ms, std::int64_t window_ms) noexcept;
// hs:{model/ns/name}:d:YYYYMMDD        hash: downloads authenticated anonymous files
std::string day(const RepoRef& r, Day d);
// hs:{model/ns/name}:p:YYYYMMDD        hash: path -> files (non-bot), plus (git), (lfs),
//   (other); written with the day hash, same TTL
std::string paths(const RepoRef& r, Day d);
// hs:{model/ns/name}:c:YYYYMMDD        hash: d:<family> -> sessions, f:<family> -> files
std::string clients(const RepoRef& r, Day d);
// A field of a clients hash: "d:<family>" counts download sessions, "f:<family>" files.
struct ClientField {
  std::string_view family;
  bool sessions = false;  // "d:" (else "f:")
};
std::optional<ClientField> parse_client_field(std::string_view field) noexcept;
// hs:{model/ns/name}:f:YYYYMMDD        a day hash being folded (renamed from :d:), + field gen
std::string folding(const RepoRef& r, Day d);
// hs:{model/ns/name}:fp:YYYYMMDD       the paths hash being folded, taken with :f:D (same gen)
std::string folding_paths(const RepoRef& r, Day d);
// hs:{model/ns/name}:fc:YYYYMMDD       the clients hash being folded, taken with :f:D
std::string folding_clients(const RepoRef& r, Day d);
// hs:{model/ns/name}:x:YYYYMMDD        breakdown log: each batch's per-file and per-client
//   counts appended as one record (scripts::BatchBreakdown); compacted into :p: and :c:
//   when it grows past scripts::kCompactLogBytes
std::string breakdown_log(const RepoRef& r, Day d);
// hs:{model/ns/name}:fx:YYYYMMDD       the breakdown log being folded, taken with :f:D
std::string folding_breakdown_log(const RepoRef& r, Day d);
// hs:{model/ns/name}:days              set of YYYYMMDD with unfolded counters
std::string days(const RepoRef& r);
// hs:{model/ns/name}:e                 fold epoch: bumped by every fold take that moves a day
//   hash aside; readers re-read it to detect a take that raced their read; a reader
//   that finds none sets a random one (scripts::kReadResidual)
std::string epoch(const RepoRef& r);
// How long a fold epoch a reader created lives (a take sets its own, fold's
// folding_ttl_s, also 7 days): longer than any cached total (total_cache_ttl).
inline constexpr std::int64_t kReaderEpochTtlS = 7 * 86400;
// hs:{model/ns/name}:b                 hash: batch stream id -> highest batch number
//   applied (the record script's exactly-once check)
std::string batches(const RepoRef& r);
// hs:idx:YYYYMMDD                      set of repo tags touched that day (the layout before
//   dirty sets; hubstatsd still drains it once after an upgrade)
std::string index(Day d);

// Dirty sets: the repos with counters not yet folded. The module adds a repo's tag to
// its shard with every batch it sends; the continuous fold takes a shard whole (RENAME
// to its taken key), folds each repo in it, then deletes the taken key. Sharded by
// the tag so no key is hot: each shard has its own hash tag, so on Redis Cluster the
// shards spread over the slots and folders can walk them in parallel.
inline constexpr int kDirtyShards = 16;
// The shard of a repo tag: FNV-1a 32 of the tag, modulo kDirtyShards. Stable forever:
// writers and folders of different versions must agree.
int dirty_shard(std::string_view repo_tag) noexcept;
// hs:{dirty:N}                         set of repo tags with unfolded counters
std::string dirty(int shard);
// hs:{dirty:N}:taken                   the members a fold took and has not finished
std::string dirty_taken(int shard);

// Hash field names of a day hash, in API order.
inline constexpr std::string_view kDownloads = "downloads";
inline constexpr std::string_view kAuthenticated = "authenticated";
inline constexpr std::string_view kAnonymous = "anonymous";
inline constexpr std::string_view kFiles = "files";
inline constexpr std::string_view kBots = "bots";
inline constexpr std::string_view kGen = "gen";

}  // namespace hubstats::keys
