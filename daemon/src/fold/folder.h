// Folding Redis day hashes into PostgreSQL (docs/architecture.md, "Folding"):
//   take   EVALSHA fold_take   moves hs:{tag}:d:D aside as :f:D under a fresh gen (and
//          :p:D, :c:D as :fp:D, :fc:D) and bumps the repo's fold epoch hs:{tag}:e
//   commit one transaction     ledger insert (gen) and, only if inserted, add counts,
//          per-file counts (capped at max_paths) and per-client counts
//   finish EVALSHA fold_finish drops :f:D, :fp:D, :fc:D if :f:D still carries gen
// Every step is safe to repeat and to run from several daemons at once; a crash at
// any point leaves :f:D behind, which the next take returns unchanged.
// The continuous fold finds its work in the dirty sets (keys::dirty): per shard it
// takes the set whole (dirty_take), folds every pending day of each repo in it, then
// drops the taken set (dirty_finish). A crash leaves the taken set, which the next
// pass (of any daemon) folds again.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/unavailable.h"
#include "hubstats/day.h"
#include "hubstats/repo.h"
#include "db/redis_client.h"

namespace hubstatsd {

class PgPool;
class PgConn;

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
  std::int64_t applied = 0;  // (repo, day) rows changed in PostgreSQL by us
  std::int64_t repos = 0;    // (repo, day) items visited
  FoldStats& operator+=(const FoldStats& o) {
    taken += o.taken;
    applied += o.applied;
    repos += o.repos;
    return *this;
  }
};

// What one commit changed: the rows (absolute values) and the generations it applied
// (those whose ledger row this commit inserted; their counts are in those rows).
struct FoldCommit {
  std::vector<FoldedRow> rows;
  std::vector<std::string> gens;
};

struct FoldOptions {
  std::size_t batch_size = 1000;  // items per pipelined take / commit / finish
  std::size_t lanes = 4;          // dirty shards folded concurrently
  std::int64_t folding_ttl_s =
      7 * 86400;            // TTL of :f:D hashes and taken sets (ledger keeps longer)
  int retention_days = 14;  // legacy day indexes drained this far back
  std::chrono::hours ledger_keep{24 * 8};
  // How long Redis may take to make an acknowledged write durable (appendfsync
  // everysec: up to 2 s). A pass commits its takes only this long after them, so a
  // Redis crash never brings back a day hash whose counts PostgreSQL already has.
  // 0 with appendfsync always, or without persistence.
  std::chrono::milliseconds redis_fsync_lag{2000};
  // Distinct file paths a repo-day keeps in hubstats.daily_paths besides the special
  // (git), (lfs), (other); the rest add to (other) (config fold.max_paths).
  std::int64_t max_paths = 1000;
  // Test hook, called after each step ("shard" after a dirty set was taken, then per
  // batch "take", "commit", "finish") so crash tests can stop a folder at an exact
  // point. Empty in production.
  std::function<void(std::string_view step)> after_step;
};

class Folder {
 public:
  Folder(RedisClient& redis, PgPool& pg, FoldOptions opt = {});

  // Called after each commit that applied something (for the trending index).
  void set_listener(std::function<void(const FoldCommit&)> fn) { listener_ = std::move(fn); }

  // Folds the items (deduplicated), today included: take all, wait redis_fsync_lag,
  // commit and finish. An item whose take resumed a generation already in flight goes
  // back to its dirty set (its day hash may hold newer events). Throws Unavailable
  // (or PgError).
  FoldStats fold_items(std::vector<FoldItem> items);

  // Continuous fold: every dirty shard (lanes at a time): take them all, wait
  // redis_fsync_lag once, commit and finish them all. A shard whose taken set an
  // earlier fold left is folded again at once, with its new dirty set. Returns early
  // (between shards) when stop becomes true. Throws Unavailable.
  FoldStats fold_dirty(const std::atomic<bool>& stop);
  // The same for one shard.
  FoldStats fold_shard(int shard);

  // Upgrade path: moves the repos of the legacy day indexes hs:idx:D of the retained
  // days (up to `today`) into their dirty shards, then deletes the indexes. Returns
  // the repo tags moved.
  std::int64_t drain_legacy_indexes(hubstats::Day today);

  // Deletes ledger rows older than ledger_keep (they can no longer be re-taken:
  // :f:D hashes expire sooner). Returns rows deleted.
  std::int64_t prune_ledger();

  // Moves rows that landed in a DEFAULT partition into their month's partition and
  // creates the current and next month's partitions (hubstats.settle_default_partitions,
  // 040_monthly_partitions.sql). Returns the partitions created.
  std::int64_t settle_partitions();

  const FoldOptions& options() const { return opt_; }

 private:
  struct Taken;
  struct ShardWork;
  std::vector<Taken> take(const std::vector<FoldItem>& items);
  std::int64_t commit(const std::vector<Taken>& taken);
  void commit_breakdowns(PgConn& conn, const std::vector<Taken>& taken,
                         const std::set<std::string, std::less<>>& applied);
  void finish(const std::vector<Taken>& taken);
  // Creates the month partitions of the batch's days this folder has not seen yet, so
  // its rows land in their month's partition (not the DEFAULT one).
  void ensure_partitions(const std::vector<Taken>& taken);
  void mark_dirty(const std::vector<FoldItem>& items);
  std::vector<std::vector<Taken>> take_items(std::vector<FoldItem> items);
  FoldStats apply_taken(const std::vector<std::vector<Taken>>& batches);
  void wait_durable(std::chrono::steady_clock::time_point taken_at) const;
  ShardWork take_shard(int shard);
  FoldStats apply_shard(const ShardWork& w);
  FoldStats fold_shards(std::vector<int> shards, const std::atomic<bool>& stop);
  // One round: the lanes take the shards and commit and finish each once its take is
  // durable, whichever is ready. Rethrows the first error.
  void take_and_apply(const std::vector<int>& shards, std::vector<ShardWork>& work,
                      const std::atomic<bool>& stop, FoldStats& st);

  RedisClient& redis_;
  PgPool& pg_;
  FoldOptions opt_;
  RedisScript take_script_;
  RedisScript finish_script_;
  RedisScript dirty_take_script_;
  RedisScript dirty_finish_script_;
  std::function<void(const FoldCommit&)> listener_;
  std::mutex months_mu_;
  std::set<std::string, std::less<>> months_ready_;  // "YYYY-MM" with partitions ensured
};

}  // namespace hubstatsd
