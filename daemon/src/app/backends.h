// The daemon's backends built from its config: the PostgreSQL pool, the Redis client,
// the catalog, the stats store and the folder. Connections open lazily, so building
// never blocks on an unreachable server.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "catalog/catalog.h"
#include "config/config.h"
#include "store/fold.h"
#include "store/pg_pool.h"
#include "store/redis_client.h"
#include "store/stats_store.h"

namespace hubstatsd::app {

PgPoolConfig pg_pool_config(const config::Config& c);
RedisConfig redis_config(const config::Config& c);
FoldOptions fold_options(const config::Config& c);

class Backends {
 public:
  // Throws CatalogConfigError for a bad catalog section.
  explicit Backends(const config::Config& c);
  ~Backends();

  PgPool& pg() { return *pg_; }
  RedisClient& redis() { return *redis_; }
  Catalog& catalog() { return *catalog_; }
  StatsStore* stats() { return stats_; }

  // One background fold pass over every retained day before today.
  FoldStats fold_once();
  // Folds every fold.interval on a thread until stop_background_fold().
  void start_background_fold();
  void stop_background_fold();

 private:
  config::Config cfg_;
  std::unique_ptr<PgPool> pg_;
  std::unique_ptr<RedisClient> redis_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<Folder> folder_;
  StatsStore* stats_ = nullptr;

  std::thread fold_thread_;
  std::mutex fold_mu_;
  std::condition_variable fold_cv_;
  std::atomic<bool> fold_stop_{false};
};

}  // namespace hubstatsd::app
