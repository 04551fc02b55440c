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
  FoldOptions fold;  // batch size, lanes, retention_days, ledger retention
  // The continuous fold runs a pass every fold_interval: the most an empty Redis loses.
  std::chrono::milliseconds fold_interval{5'000};
  // After a failed pass (Redis or PostgreSQL down) the next try waits 1 s, doubling up
  // to this, so a long outage costs a few log lines and a recovery is quick.
  std::chrono::milliseconds fold_backoff_max{30'000};
  bool background_fold = true;  // false: only `fold --once` folds (config fold.background)
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
  // continuous fold (a pass at once, then every fold_interval). Idempotent.
  void start_background_fold();
  // Stops both threads; the fold stops between batches. Idempotent.
  void stop();

  // One continuous-fold pass (legacy day indexes drained first) plus ledger pruning
  // (CLI `hubstatsd fold --once`, tests). Throws Unavailable.
  FoldStats fold_once();
  // The pass of the continuous fold: drain legacy day indexes, fold every dirty shard.
  FoldStats fold_pass(const std::atomic<bool>& stop);

  PgRedisStatsStore& stats() { return *stats_; }
  PgPool& pg() { return *pg_; }
  RedisClient& redis() { return *redis_; }
  Folder& folder() { return *folder_; }
  hubstats::Day today() const { return hubstats::day_of(clock_()); }
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
