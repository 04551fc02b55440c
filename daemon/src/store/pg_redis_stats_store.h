// The StatsStore of hubstatsd: PostgreSQL daily rows for folded days, Redis for today
// (and any past day not folded yet), the in-memory TrendingIndex for /api/trending.
// Reading a repo folds its pending past days first (lazy fold).
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

#include "store/fold.h"
#include "store/pg_pool.h"
#include "store/redis_client.h"
#include "store/stats_store.h"
#include "store/trending_index.h"

namespace hubstatsd {

struct StatsStoreOptions {
  std::function<std::int64_t()> clock;  // unix seconds (UTC); decides "today"
  // How long today's counters of all repos (for trending) are reused. 0: every call.
  std::chrono::milliseconds today_cache_ttl{1000};
  // How often the trending index picks up folds of other daemons from the ledger.
  std::chrono::milliseconds trending_refresh{2000};
  // false: trending always runs the SQL query (benchmark baseline, tests).
  bool use_trending_index = true;
  // How long a repo's folded total is reused while its fold version (hs:{tag}:v) is
  // unchanged; 0 disables the cache (every /stats sums in PostgreSQL). Must stay well
  // below the version key's TTL (8 days).
  std::chrono::milliseconds total_cache_ttl{std::chrono::hours(1)};
  std::size_t total_cache_max = 200'000;  // repos; the cache is cleared when full
};

// Sums rows per day into one entry per day of the period, ascending, zeros elsewhere.
// Rows outside the period are ignored.
std::vector<DayCounts> zero_fill(const hubstats::Period& period,
                                 const std::vector<DayCounts>& rows);

class PgRedisStatsStore final : public StatsStore {
 public:
  // Registers itself as the folder's listener (folds update the trending index).
  PgRedisStatsStore(RedisClient& redis, PgPool& pg, Folder& folder, StatsStoreOptions opt);
  ~PgRedisStatsStore() override;

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
  std::vector<TrendingCandidate> trending(
      hubstats::RepoType type, const hubstats::Period& period, std::size_t limit,
      const std::function<bool(const hubstats::RepoRef&)>& keep) override;

  // The SQL-only trending (what trending() does before the index is loaded).
  std::vector<TrendingCandidate> trending_sql(
      hubstats::RepoType type, const hubstats::Period& period, std::size_t limit,
      const std::function<bool(const hubstats::RepoRef&)>& keep);

  hubstats::Day today() const;

 private:
  struct Unfolded;  // a past day still in Redis after the lazy fold
  struct Live {
    DayCounts today;
    std::vector<Unfolded> past;
    std::string version;  // hs:{tag}:v, read before any PostgreSQL query of the repo
  };
  Live lazy_fold_and_read(const hubstats::RepoRef& repo, hubstats::Day today);
  using TodayByType = std::array<std::unordered_map<std::string, std::int64_t>, 3>;
  std::shared_ptr<const TodayByType> today_counts(hubstats::Day day);
  // The folded total cached under this fold version, if fresh.
  std::optional<std::int64_t> cached_total(const std::string& tag, std::string_view version,
                                           std::chrono::steady_clock::time_point now);
  void maintain();

  RedisClient& redis_;
  PgPool& pg_;
  Folder& folder_;
  StatsStoreOptions opt_;
  TrendingIndex index_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> fast_redis_failed_{false};  // AsyncRedis cannot be made: pool only
  std::string watermark_;

  struct CachedTotal {
    std::string version;
    std::int64_t folded = 0;
    std::chrono::steady_clock::time_point at;
  };
  std::mutex totals_mu_;
  std::unordered_map<std::string, CachedTotal> totals_;  // by repo tag

  std::mutex today_mu_;
  hubstats::Day today_day_ = 0;
  std::chrono::steady_clock::time_point today_at_{};
  std::shared_ptr<const TodayByType> today_;

  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
};

}  // namespace hubstatsd
