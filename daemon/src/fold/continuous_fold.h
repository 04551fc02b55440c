// The continuous fold: one pass at once, then one every interval, on its own thread. A
// pass drains the legacy day indexes, then folds every dirty shard; the ledger is pruned
// once an hour. After a failed pass (Redis or PostgreSQL down) the next waits 1 s,
// doubling up to backoff_max, so a long outage costs a few log lines and a recovery is
// quick. Nothing is lost meanwhile: dirty and taken sets stay in Redis.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "fold/folder.h"
#include "hubstats/day.h"

namespace hubstatsd {

class ContinuousFold {
 public:
  // today: the day the legacy indexes are drained up to.
  ContinuousFold(Folder& folder, std::function<hubstats::Day()> today,
                 std::chrono::milliseconds interval, std::chrono::milliseconds backoff_max);
  ~ContinuousFold();  // stop()
  ContinuousFold(const ContinuousFold&) = delete;
  ContinuousFold& operator=(const ContinuousFold&) = delete;

  // One pass (legacy day indexes drained first, then every dirty shard); returns early
  // between shards when stop becomes true. Throws Unavailable.
  FoldStats pass(const std::atomic<bool>& stop);
  // One pass plus ledger pruning (`hubstatsd fold --once`, tests). Throws Unavailable.
  FoldStats once();

  void start();  // the thread; idempotent
  void stop();   // the fold stops between batches; idempotent

 private:
  void loop();

  Folder& folder_;
  std::function<hubstats::Day()> today_;
  const std::chrono::milliseconds interval_;
  const std::chrono::milliseconds backoff_max_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> stop_{false};
  std::chrono::steady_clock::time_point last_prune_{};
};

}  // namespace hubstatsd
