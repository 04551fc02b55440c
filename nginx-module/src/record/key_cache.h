// The Redis keys of one (repo, day), built once and shared by every event of that
// repo and day (key building dominates the per-event cost). Pure: no nginx types.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <unordered_map>

#include "hubstats/day.h"
#include "hubstats/repo.h"

namespace hubstats::module {

// The keys of one (repo, day), through hubstats::keys.
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

  static RepoDayKeys of(const RepoRef& repo, Day d);
};

// RepoDayKeys per (repo, day). Bounded: it starts over when it holds too many entries.
class KeyCache {
 public:
  explicit KeyCache(std::size_t max_entries = 10000) : max_(max_entries) {}
  std::shared_ptr<RepoDayKeys> get(const RepoRef& repo, Day d);
  std::size_t size() const { return map_.size(); }

 private:
  std::size_t max_;
  std::string id_;  // reused lookup buffer
  std::unordered_map<std::string, std::shared_ptr<RepoDayKeys>> map_;
};

}  // namespace hubstats::module
