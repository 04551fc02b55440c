#include "app/backends.h"

#include <algorithm>

#include "catalog/make_catalog.h"

namespace hubstatsd::app {

StoreConfig store_config(const config::Config& c) {
  StoreConfig s;
  s.pg.dsn = c.postgres.dsn;
  s.pg.size = c.postgres.pool_size;
  s.pg.connect_timeout = c.postgres.connect_timeout;
  s.pg.statement_timeout = c.postgres.statement_timeout;
  // Waiting for a free connection is bounded like a statement: a request answers 503
  // rather than queueing behind a stuck database.
  s.pg.acquire_timeout = c.postgres.statement_timeout;

  s.redis.address = c.redis.address;
  s.redis.pool_size = std::max(4, c.http.handler_threads);
  s.redis.connect_timeout = c.redis.connect_timeout;
  s.redis.command_timeout = c.redis.command_timeout;
  s.redis.acquire_timeout = c.redis.command_timeout;

  s.fold.retention_days = static_cast<int>(c.fold.retention.count() / 86'400'000);
  s.fold_interval = c.fold.interval;
  s.fold.redis_fsync_lag = c.fold.redis_fsync_lag;
  s.fold.max_paths = c.fold.max_paths;
  s.background_fold = c.fold.background;
  s.today_cache_ttl = c.fold.today_cache_ttl;
  return s;
}

Backends::Backends(const config::Config& c)
    : store_(std::make_unique<Store>(store_config(c))),
      catalog_(make_catalog(c.catalog, store_->pg())) {}

Backends::~Backends() {
  catalog_.reset();
  store_->stop();
}

}  // namespace hubstatsd::app
