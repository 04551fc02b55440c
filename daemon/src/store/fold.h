// Folding Redis day hashes into PostgreSQL (docs/architecture.md, "Folding"):
//   take   EVALSHA fold_take   moves hs:{tag}:d:D aside as :f:D under a fresh gen
//   commit one SQL statement   ledger insert (gen) and, only if inserted, add counts
//   finish SET hs:{tag}:v gen (the new fold version), then EVALSHA fold_finish drops
//          :f:D if it still carries gen
// Every step is safe to repeat and to run from several daemons at once; a crash at
// any point leaves :f:D behind, which the next take returns unchanged.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "hubstats/day.h"
#include "hubstats/repo.h"
#include "store/redis_client.h"

namespace hubstatsd {

class PgPool;

// A fresh fold generation id: a random UUID v4, lower-case hex with dashes.
std::string new_generation_id();
std::string format_uuid_v4(std::array<unsigned char, 16> bytes);  // sets version/variant bits

// hs:{type/ns/name}:v  the generation id of the repo's latest fold, set after its
// commit and before its finish. Readers cache a repo's folded total under this value:
// any fold by any daemon changes it, so an unchanged value means an unchanged total.
std::string fold_version_key(const hubstats::RepoRef& repo);

struct FoldItem {
  hubstats::RepoRef repo;
  hubstats::Day day = 0;
};

// A (repo, day) row of daily_downloads after a commit changed it (absolute value).
struct FoldedRow {
  hubstats::RepoRef repo;
  hubstats::Day day = 0;
  std::int64_t downloads = 0;
};

struct FoldStats {
  std::int64_t taken = 0;    // generations taken (or resumed) from Redis
  std::int64_t applied = 0;  // generations newly applied to PostgreSQL by us
  std::int64_t repos = 0;    // (repo, day) items visited
  FoldStats& operator+=(const FoldStats& o) {
    taken += o.taken;
    applied += o.applied;
    repos += o.repos;
    return *this;
  }
};

struct FoldOptions {
  std::size_t batch_size = 1000;           // items per pipelined take / commit / finish
  std::size_t lanes = 2;                   // background fold: slices of a day folded concurrently
  std::int64_t folding_ttl_s = 7 * 86400;  // TTL of :f:D hashes (ledger keeps longer)
  int retention_days = 14;                 // background fold looks back this far
  std::chrono::hours ledger_keep{24 * 8};
  // Test hook, called after each step of a batch ("take", "commit", "finish") so crash
  // tests can stop a folder at an exact point. Empty in production.
  std::function<void(std::string_view step)> after_step;
};

class Folder {
 public:
  Folder(RedisClient& redis, PgPool& pg, FoldOptions opt = {});

  // Called after each commit with the rows it changed (for the trending index).
  void set_listener(std::function<void(const std::vector<FoldedRow>&)> fn) {
    listener_ = std::move(fn);
  }

  // Folds the items (deduplicated; never pass today). Items whose take found data are
  // taken again (late events), up to 3 rounds. Throws Unavailable.
  FoldStats fold_items(std::vector<FoldItem> items);

  // Lazy fold of one repo: every day in hs:{tag}:days before `today`.
  FoldStats fold_repo(const hubstats::RepoRef& repo, hubstats::Day today);

  // Background pass: for each day in [today - retention, today - 1], every repo of the
  // day index hs:idx:D, in batches; a folded repo leaves the index unless it got new
  // counts meanwhile. Returns early (between batches) when stop becomes true.
  FoldStats fold_all(hubstats::Day today, const std::atomic<bool>& stop);

  // Deletes ledger rows older than ledger_keep (they can no longer be re-taken:
  // :f:D hashes expire sooner). Returns rows deleted.
  std::int64_t prune_ledger();

  const FoldOptions& options() const { return opt_; }

 private:
  struct Taken;
  std::vector<Taken> take(const std::vector<FoldItem>& items);
  std::int64_t commit(const std::vector<Taken>& taken);
  void finish(const std::vector<Taken>& taken);
  void drop_from_index(hubstats::Day day, const std::vector<FoldItem>& items);
  std::vector<FoldItem> scan_index(hubstats::Day day);
  FoldStats fold_lanes(hubstats::Day day, const std::vector<FoldItem>& items,
                       const std::atomic<bool>& stop);
  FoldStats fold_day(hubstats::Day day, const std::vector<FoldItem>& items,
                     const std::atomic<bool>& stop);

  RedisClient& redis_;
  PgPool& pg_;
  FoldOptions opt_;
  RedisScript take_script_;
  RedisScript finish_script_;
  std::function<void(const std::vector<FoldedRow>&)> listener_;
};

}  // namespace hubstatsd
