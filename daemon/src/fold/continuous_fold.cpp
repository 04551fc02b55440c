#include "fold/continuous_fold.h"

#include <algorithm>

#include "log/logger.h"

namespace hubstatsd {

ContinuousFold::ContinuousFold(Folder& folder, std::function<hubstats::Day()> today,
                               std::chrono::milliseconds interval,
                               std::chrono::milliseconds backoff_max)
    : folder_(folder), today_(std::move(today)), interval_(interval), backoff_max_(backoff_max) {}

ContinuousFold::~ContinuousFold() {
  stop();
}

FoldStats ContinuousFold::pass(const std::atomic<bool>& stop) {
  folder_.drain_legacy_indexes(today_());
  return folder_.fold_dirty(stop);
}

FoldStats ContinuousFold::once() {
  const std::atomic<bool> never{false};
  auto st = pass(never);
  folder_.prune_ledger();
  folder_.settle_partitions();
  return st;
}

void ContinuousFold::loop() {
  std::unique_lock lk(mu_);
  std::chrono::milliseconds backoff{0};
  while (!stop_) {
    lk.unlock();
    try {
      const FoldStats s = pass(stop_);
      if (backoff.count() > 0) log::info("fold pass succeeded again");
      backoff = std::chrono::milliseconds(0);
      if (s.taken > 0)
        log::debug("fold pass", {{"taken", std::to_string(s.taken)},
                                 {"applied", std::to_string(s.applied)},
                                 {"repos", std::to_string(s.repos)}});
      if (std::chrono::steady_clock::now() - last_prune_ > std::chrono::hours(1)) {
        folder_.prune_ledger();
        folder_.settle_partitions();
        last_prune_ = std::chrono::steady_clock::now();
      }
    } catch (const std::exception& e) {
      // Nothing is lost: dirty and taken sets stay in Redis until a pass succeeds.
      backoff =
          std::min(backoff_max_, backoff.count() ? backoff * 2 : std::chrono::milliseconds(1000));
      log::warn("fold pass failed",
                {{"error", e.what()}, {"retry_in_ms", std::to_string(backoff.count())}});
    }
    lk.lock();
    cv_.wait_for(lk, backoff.count() ? backoff : interval_, [this] { return stop_.load(); });
  }
}

void ContinuousFold::start() {
  std::lock_guard lk(mu_);
  stop_ = false;
  if (!thread_.joinable()) thread_ = std::thread([this] { loop(); });
}

void ContinuousFold::stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace hubstatsd
