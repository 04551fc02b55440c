#include "store/storage.h"

#include "log/logger.h"
#include "db/migrator.h"

namespace hubstatsd {

Storage::Storage(StorageConfig cfg)
    : cfg_(std::move(cfg)),
      clock_(cfg_.clock ? cfg_.clock : std::function<std::int64_t()>(system_unix_now)),
      pg_(std::make_unique<PgPool>(cfg_.pg)),
      redis_(std::make_unique<RedisClient>(cfg_.redis)),
      folder_(std::make_unique<Folder>(*redis_, *pg_, cfg_.fold)) {
  StatsReaderOptions so;
  so.clock = clock_;
  so.today_cache_ttl = cfg_.today_cache_ttl;
  so.trending_refresh = cfg_.trending_refresh;
  reader_ = std::make_unique<PgRedisStatsReader>(*redis_, *pg_, *folder_, so);
}

Storage::~Storage() {
  stop();
}

std::vector<std::string> Storage::migrate() {
  return hubstatsd::migrate(*pg_);
}

FoldStats Storage::fold_pass(const std::atomic<bool>& stop) {
  folder_->drain_legacy_indexes(today());
  return folder_->fold_dirty(stop);
}

FoldStats Storage::fold_once() {
  const std::atomic<bool> never{false};
  auto st = fold_pass(never);
  folder_->prune_ledger();
  return st;
}

void Storage::fold_loop() {
  std::unique_lock lk(mu_);
  std::chrono::milliseconds backoff{0};
  while (!stop_) {
    lk.unlock();
    try {
      const FoldStats s = fold_pass(stop_);
      if (backoff.count() > 0) log::info("fold pass succeeded again");
      backoff = std::chrono::milliseconds(0);
      if (s.taken > 0)
        log::debug("fold pass", {{"taken", std::to_string(s.taken)},
                                 {"applied", std::to_string(s.applied)},
                                 {"repos", std::to_string(s.repos)}});
      if (std::chrono::steady_clock::now() - last_prune_ > std::chrono::hours(1)) {
        folder_->prune_ledger();
        last_prune_ = std::chrono::steady_clock::now();
      }
    } catch (const std::exception& e) {
      // Nothing is lost: dirty and taken sets stay in Redis until a pass succeeds.
      backoff = std::min(cfg_.fold_backoff_max,
                         backoff.count() ? backoff * 2 : std::chrono::milliseconds(1000));
      log::warn("fold pass failed",
                {{"error", e.what()}, {"retry_in_ms", std::to_string(backoff.count())}});
    }
    lk.lock();
    cv_.wait_for(lk, backoff.count() ? backoff : cfg_.fold_interval,
                 [this] { return stop_.load(); });
  }
}

void Storage::start_background_fold() {
  std::lock_guard lk(mu_);
  stop_ = false;
  reader_->start();
  if (cfg_.background_fold && !fold_thread_.joinable())
    fold_thread_ = std::thread([this] { fold_loop(); });
}

void Storage::stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (fold_thread_.joinable()) fold_thread_.join();
  reader_->stop();
}

}  // namespace hubstatsd
