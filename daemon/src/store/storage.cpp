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
  continuous_fold_ = std::make_unique<ContinuousFold>(
      *folder_, [this] { return today(); }, cfg_.fold_interval, cfg_.fold_backoff_max);
}

Storage::~Storage() {
  stop();
}

std::vector<std::string> Storage::migrate() {
  return hubstatsd::migrate(*pg_);
}

FoldStats Storage::fold_once() {
  return continuous_fold_->once();
}

void Storage::start_background_fold() {
  reader_->start();
  if (cfg_.background_fold) continuous_fold_->start();
}

void Storage::stop() {
  continuous_fold_->stop();
  reader_->stop();
}

}  // namespace hubstatsd
