// Owner of the storage side of hubstatsd: the PostgreSQL pool, the Redis client, the
// folder, the StatsStore and the background threads (periodic fold, trending index).
// Connections open lazily, so constructing a Store never blocks on a server.
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
#include <vector>

#include "store/fold.h"
#include "store/pg_pool.h"
#include "store/pg_redis_stats_store.h"
#include "store/redis_client.h"

namespace hubstatsd {

struct StoreConfig {
  RedisConfig redis;
  PgPoolConfig pg;
  FoldOptions fold;  // batch size, retention_days, ledger retention
  std::chrono::milliseconds fold_interval{60'000};
  bool background_fold = true;
  // The background fold takes a day only this long after it ended, so events the
  // module flushes late (queued near midnight) land before the day's index is
  // cleaned: the module indexes a repo once per day and connection. Reads still
  // fold a past day lazily at once.
  std::chrono::seconds fold_settle{
      300};  // false: only lazy folds and `fold --once` (config fold.background)
  std::chrono::milliseconds today_cache_ttl{1000};
  std::chrono::milliseconds trending_refresh{2000};
  std::function<std::int64_t()> clock;  // unix seconds; empty: the system clock
};

// Unix seconds from std::chrono::system_clock (follows libfaketime in tests).
std::int64_t system_unix_now();

class Store {
 public:
  explicit Store(StoreConfig cfg);  // throws std::invalid_argument on a bad redis address
  ~Store();                         // stop()
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Applies pending migrations (embedded, or HUBSTATS_MIGRATIONS_DIR). Returns names.
  std::vector<std::string> migrate();

  // Starts the trending index loader/refresher and, when background_fold, the
  // background fold (a pass at once, then every fold_interval). Idempotent.
  void start_background_fold();
  // Stops both threads; the fold stops between batches. Idempotent.
  void stop();

  // One fold pass over [today - retention, yesterday] plus ledger pruning (CLI
  // `hubstatsd fold --once`, tests). Throws Unavailable.
  FoldStats fold_once();

  PgRedisStatsStore& stats() { return *stats_; }
  PgPool& pg() { return *pg_; }
  RedisClient& redis() { return *redis_; }
  Folder& folder() { return *folder_; }
  hubstats::Day today() const { return hubstats::day_of(clock_()); }
  // Days before this one are due for the background fold (today, or yesterday
  // during the first fold_settle of a day).
  hubstats::Day fold_horizon() const;
  const StoreConfig& config() const { return cfg_; }

 private:
  void fold_loop();

  StoreConfig cfg_;
  std::function<std::int64_t()> clock_;
  std::unique_ptr<PgPool> pg_;
  std::unique_ptr<RedisClient> redis_;
  std::unique_ptr<Folder> folder_;
  std::unique_ptr<PgRedisStatsStore> stats_;

  std::thread fold_thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> stop_{false};
  std::chrono::steady_clock::time_point last_prune_{};
};

}  // namespace hubstatsd
