// The reader's maintenance thread: loads the trending index, then keeps it in step
// with the ledger (folds of other daemons).
#include "log/logger.h"
#include "store/reader_snapshot.h"

namespace hubstatsd {

namespace keys = hubstats::keys;
using hubstats::Day;
using hubstats::RepoRef;

void PgRedisStatsReader::load_trending_index_now() {
  std::lock_guard lk(refresh_mu_);
  auto mark = load_trending_index(pg_, index_, today());
  ready_ = true;
  watermark_ = refresh_trending_index(pg_, index_, mark);
}

void PgRedisStatsReader::maintain() {
  std::unique_lock lk(mu_);
  while (!stop_) {
    lk.unlock();
    try {
      if (!ready_.load()) {
        load_trending_index_now();
        log::info("trending index loaded", {{"repos", std::to_string(index_.size())}});
      } else {
        std::lock_guard rl(refresh_mu_);
        watermark_ = refresh_trending_index(pg_, index_, watermark_);
      }
    } catch (const std::exception& e) {
      log::warn("trending index update failed", {{"error", e.what()}});
    }
    lk.lock();
    cv_.wait_for(lk, opt_.trending_refresh, [this] { return stop_; });
  }
}

void PgRedisStatsReader::start() {
  std::lock_guard lk(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { maintain(); });
}

void PgRedisStatsReader::stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace hubstatsd
