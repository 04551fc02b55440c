// Reads download statistics: PostgreSQL daily rows for folded days plus Redis for
// today and any day not folded yet. Reading a repo folds its pending past days first.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/unavailable.h"
#include "hubstats/day.h"
#include "hubstats/repo.h"

namespace hubstatsd {

struct DayCounts {
  hubstats::Day day = 0;
  std::int64_t downloads = 0;
  std::int64_t authenticated = 0;
  std::int64_t anonymous = 0;
  std::int64_t files = 0;
};

// Issue 12 breakdowns over a period (per-file and per-client counts).
struct PathCount {
  std::string path;
  std::int64_t files = 0;
};
struct ClientCount {
  std::string client;  // client family; "bot" for bots
  std::int64_t downloads = 0;
  std::int64_t files = 0;
};

struct TrendingCandidate {
  hubstats::RepoRef repo;
  std::int64_t recent_downloads = 0;  // sessions in the period, today included
  std::int64_t downloads = 0;         // all time
};

// Sums rows per day into one entry per day of the period, ascending, zeros elsewhere.
// Rows outside the period are ignored. (What recent() returns, and what its callers
// apply to any reader's answer.)
std::vector<DayCounts> zero_fill(const hubstats::Period& period,
                                 const std::vector<DayCounts>& rows);

class StatsReader {
 public:
  virtual ~StatsReader() = default;

  // All-time download sessions of the repo (folded + today's live counters).
  virtual std::int64_t total_downloads(const hubstats::RepoRef& repo) = 0;

  // Non-blocking total_downloads for the HTTP io threads: calls done exactly once, on
  // the calling thread, now or later: with the total; with an error (Unavailable); or
  // with neither when the answer needs blocking work (pending past days, a total not
  // cached, not on an io thread): then use total_downloads.
  using TotalDone = std::function<void(std::optional<std::int64_t> total, std::exception_ptr)>;
  virtual void total_downloads_fast(const hubstats::RepoRef& /*repo*/, TotalDone done) {
    done(std::nullopt, nullptr);
  }

  // One entry per day of the period, ascending, zeros where nothing was counted.
  virtual std::vector<DayCounts> recent(const hubstats::RepoRef& repo,
                                        const hubstats::Period& period) = 0;

  // Countable fetches per file path in the period, sorted by files desc, then path;
  // at most limit entries.
  virtual std::vector<PathCount> files(const hubstats::RepoRef& /*repo*/,
                                       const hubstats::Period& /*period*/, std::size_t /*limit*/) {
    return {};
  }
  // Download sessions and files per client family in the period, sorted by downloads
  // desc, then client.
  virtual std::vector<ClientCount> clients(const hubstats::RepoRef& /*repo*/,
                                           const hubstats::Period& /*period*/) {
    return {};
  }

  // Repos of the type with recent_downloads > 0 in the period, ranked by
  // recent_downloads desc, then downloads desc, then id ("ns/name") asc; only those
  // for which keep() is true; at most limit entries.
  virtual std::vector<TrendingCandidate> trending(
      hubstats::RepoType type, const hubstats::Period& period, std::size_t limit,
      const std::function<bool(const hubstats::RepoRef&)>& keep) = 0;
};

}  // namespace hubstatsd
