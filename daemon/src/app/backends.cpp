#include "app/backends.h"

#include <chrono>

#include "api/stats_api.h"
#include "catalog/make_catalog.h"
#include "log/logger.h"

namespace hubstatsd::app {

PgPoolConfig pg_pool_config(const config::Config& c) {
  PgPoolConfig p;
  p.dsn = c.postgres.dsn;
  p.size = c.postgres.pool_size;
  p.connect_timeout = c.postgres.connect_timeout;
  p.statement_timeout = c.postgres.statement_timeout;
  // Waiting for a free connection is bounded like a statement: a request answers 503
  // rather than queueing behind a stuck database.
  p.acquire_timeout = c.postgres.statement_timeout;
  return p;
}

RedisConfig redis_config(const config::Config& c) {
  RedisConfig r;
  r.address = c.redis.address;
  r.pool_size = std::max(4, c.http.handler_threads);
  r.connect_timeout = c.redis.connect_timeout;
  r.command_timeout = c.redis.command_timeout;
  r.acquire_timeout = c.redis.command_timeout;
  return r;
}

FoldOptions fold_options(const config::Config& c) {
  FoldOptions f;
  f.retention_days = static_cast<int>(c.fold.retention.count() / 86'400'000);
  return f;
}

Backends::Backends(const config::Config& c)
    : cfg_(c),
      pg_(std::make_unique<PgPool>(pg_pool_config(c))),
      redis_(std::make_unique<RedisClient>(redis_config(c))),
      catalog_(make_catalog(c.catalog, *pg_)),
      folder_(std::make_unique<Folder>(*redis_, *pg_, fold_options(c))) {}

Backends::~Backends() {
  stop_background_fold();
}

FoldStats Backends::fold_once() {
  const std::atomic<bool> never{false};
  return folder_->fold_all(hubstats::day_of(api::system_clock_now()), never);
}

void Backends::start_background_fold() {
  if (!cfg_.fold.background || fold_thread_.joinable()) return;
  fold_stop_ = false;
  fold_thread_ = std::thread([this] {
    while (!fold_stop_) {
      try {
        const FoldStats s =
            folder_->fold_all(hubstats::day_of(api::system_clock_now()), fold_stop_);
        if (s.taken > 0) {
          log::info("fold pass", {{"taken", std::to_string(s.taken)},
                                  {"applied", std::to_string(s.applied)},
                                  {"repos", std::to_string(s.repos)}});
        }
      } catch (const std::exception& e) {
        log::warn("fold pass failed", {{"error", e.what()}});
      }
      std::unique_lock lock(fold_mu_);
      fold_cv_.wait_for(lock, cfg_.fold.interval, [this] { return fold_stop_.load(); });
    }
  });
}

void Backends::stop_background_fold() {
  {
    std::lock_guard lock(fold_mu_);
    fold_stop_ = true;
  }
  fold_cv_.notify_all();
  if (fold_thread_.joinable()) fold_thread_.join();
}

}  // namespace hubstatsd::app
