// The StatsReader of hubstatsd: PostgreSQL (the system of record, today included) plus
// the residual still in Redis (day hashes, and folding hashes whose generation is not
// in the ledger yet), combined in one consistent view: a read takes an atomic Redis
// snapshot of the repo (residual + fold epoch), then one PostgreSQL statement (rows +
// which of the snapshot's generations are applied), then re-reads the epoch and
// retries if a fold took a day hash meanwhile. /api/trending does the same over the
// dirty repos with the in-memory TrendingIndex. See docs/architecture.md, "Serving".
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "fold/folder.h"
#include "db/pg_pool.h"
#include "db/redis_client.h"
#include "store/stats_reader.h"
#include "store/trending_index.h"

namespace hubstatsd {

struct StatsReaderOptions {
  std::function<std::int64_t()> clock;  // unix seconds (UTC); decides "today"
  // How long trending reuses the Redis residual of the dirty repos it read, as long as
  // the index has not changed since (any fold landing in it forces a new read, so a
  // reused residual never counts a fold twice). 0: read it on every call.
  std::chrono::milliseconds today_cache_ttl{1000};
  // How often the trending index picks up folds of other daemons from the ledger.
  std::chrono::milliseconds trending_refresh{2000};
  // false: trending always runs the SQL query (benchmark baseline, tests).
  bool use_trending_index = true;
  // How long a repo's folded total is reused while its fold epoch (hs:{tag}:e) is
  // unchanged; 0 disables the cache (every /stats sums in PostgreSQL). Must stay well
  // below the epoch key's TTL (7 days).
  std::chrono::milliseconds total_cache_ttl{std::chrono::hours(1)};
  std::size_t total_cache_max = 200'000;  // repos; the cache is cleared when full
};

class PgRedisStatsReader final : public StatsReader {
 public:
  // How often a read retries when folds keep taking the repo's day hashes under it
  // before it answers Unavailable.
  static constexpr int kReadAttempts = 12;
  // Test hook: called between a read's Redis snapshot and its PostgreSQL query, where
  // a fold committing makes the read count a day hash twice unless it checks the epoch.
  std::function<void()> after_snapshot;

  // Registers itself as the folder's listener (folds update the trending index).
  PgRedisStatsReader(RedisClient& redis, PgPool& pg, Folder& folder, StatsReaderOptions opt);
  ~PgRedisStatsReader() override;

  // Starts the thread that loads the trending index (retrying until PostgreSQL
  // answers) and then refreshes it every trending_refresh. Until loaded, trending()
  // answers from SQL.
  void start();
  void stop();  // joins the thread; safe to call twice
  // Loads the index synchronously (tests, benchmarks). Throws Unavailable.
  void load_trending_index_now();
  bool trending_ready() const { return ready_.load(); }

  std::int64_t total_downloads(const hubstats::RepoRef& repo) override;
  // On an HTTP io thread: one pipelined round trip on the loop's own non-blocking Redis
  // connection, then the cached folded total (see total_cache_ttl).
  void total_downloads_fast(const hubstats::RepoRef& repo, TotalDone done) override;
  std::vector<DayCounts> recent(const hubstats::RepoRef& repo,
                                const hubstats::Period& period) override;
  std::vector<PathCount> files(const hubstats::RepoRef& repo, const hubstats::Period& period,
                               std::size_t limit) override;
  std::vector<ClientCount> clients(const hubstats::RepoRef& repo,
                                   const hubstats::Period& period) override;
  std::vector<TrendingCandidate> trending(
      hubstats::RepoType type, const hubstats::Period& period, std::size_t limit,
      const std::function<bool(const hubstats::RepoRef&)>& keep) override;

  // The SQL-only trending (what trending() does before the index is loaded).
  std::vector<TrendingCandidate> trending_sql(
      hubstats::RepoType type, const hubstats::Period& period, std::size_t limit,
      const std::function<bool(const hubstats::RepoRef&)>& keep);

  hubstats::Day today() const;

 private:
  struct Residual;
  struct Breakdown;
  // Per-key sums (path, or "d:<family>"/"f:<family>") of the repo's rows of `table`
  // in the period plus the unfolded Redis residual, read consistently.
  std::unordered_map<std::string, std::int64_t> breakdown(const hubstats::RepoRef& repo,
                                                          const hubstats::Period& period,
                                                          bool clients);
  Residual read_residual(const hubstats::RepoRef& repo);
  bool epoch_unchanged(const hubstats::RepoRef& repo, const std::string& epoch);
  // The dirty repos of a type with their residual snapshots (trending).
  std::vector<std::pair<hubstats::RepoRef, Residual>> dirty_residuals(hubstats::RepoType type);
  bool epochs_unchanged(const std::vector<std::pair<hubstats::RepoRef, Residual>>& snaps);
  // The folded total cached under this fold epoch, if fresh.
  std::optional<std::int64_t> cached_total(const std::string& tag, std::string_view epoch,
                                           std::chrono::steady_clock::time_point now);
  void maintain();

  RedisClient& redis_;
  PgPool& pg_;
  Folder& folder_;
  StatsReaderOptions opt_;
  TrendingIndex index_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> fast_redis_failed_{false};  // AsyncRedis cannot be made: pool only
  std::mutex refresh_mu_;  // one index refresh at a time (maintain() and trending())
  struct TrendingResidual;
  struct LiveCache {
    hubstats::RepoType type{};
    std::uint64_t changes = 0;  // the index state the residual was checked against
    std::chrono::steady_clock::time_point at;
    std::shared_ptr<const TrendingResidual> residual;
  };
  std::mutex live_mu_;
  std::vector<LiveCache> live_cache_;  // at most one per repo type
  std::string watermark_;

  struct CachedTotal {
    std::string epoch;
    std::int64_t folded = 0;
    std::chrono::steady_clock::time_point at;
  };
  std::mutex totals_mu_;
  std::unordered_map<std::string, CachedTotal> totals_;  // by repo tag

  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
};

}  // namespace hubstatsd
