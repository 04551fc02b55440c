// Owner of the storage side of hubstatsd: the PostgreSQL pool, the Redis client, the
// folder and its continuous fold (fold/), and the StatsReader with its trending index
// thread (store/). app/ builds one and hands its parts to the catalog and serve/.
// Connections open lazily, so constructing a Storage never blocks on a server.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "fold/continuous_fold.h"
#include "fold/folder.h"
#include "db/pg_pool.h"
#include "store/pg_redis_stats_reader.h"
#include "db/redis_client.h"

namespace hubstatsd {

struct StorageConfig {
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

class Storage {
 public:
  explicit Storage(StorageConfig cfg);  // throws std::invalid_argument on a bad redis address
  ~Storage();                           // stop()
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  // Applies pending migrations (embedded, or HUBSTATS_MIGRATIONS_DIR). Returns names.
  std::vector<std::string> migrate();

  // Starts the trending index loader/refresher and, when background_fold, the
  // continuous fold (a pass at once, then every fold_interval). Idempotent.
  void start_background_fold();
  // Stops both threads; the fold stops between batches. Idempotent.
  void stop();

  // One continuous-fold pass plus ledger pruning (CLI `hubstatsd fold --once`, tests).
  // Throws Unavailable.
  FoldStats fold_once();

  PgRedisStatsReader& reader() { return *reader_; }
  PgPool& pg() { return *pg_; }
  RedisClient& redis() { return *redis_; }
  Folder& folder() { return *folder_; }
  hubstats::Day today() const { return hubstats::day_of(clock_()); }
  const StorageConfig& config() const { return cfg_; }

 private:
  StorageConfig cfg_;
  std::function<std::int64_t()> clock_;
  std::unique_ptr<PgPool> pg_;
  std::unique_ptr<RedisClient> redis_;
  std::unique_ptr<Folder> folder_;
  std::unique_ptr<PgRedisStatsReader> reader_;
  std::unique_ptr<ContinuousFold> continuous_fold_;  // stopped and destroyed first
};

}  // namespace hubstatsd
