// In-memory per-repo daily downloads of the last kSlots days plus all-time folded
// totals, so /api/trending ranks 100k repos in about a millisecond instead of a SQL
// GROUP BY over 90 days of rows. Filled from PostgreSQL at start, updated by local
// folds and refreshed from the fold ledger (folds of other daemons).
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "hubstats/day.h"
#include "hubstats/repo.h"
#include "fold/folder.h"
#include "store/stats_reader.h"

namespace hubstatsd {

class PgPool;

// One ranking candidate; id points into the index (valid while it is locked).
struct RankEntry {
  std::int64_t recent = 0;
  std::int64_t downloads = 0;
  const std::string* id = nullptr;  // "ns/name"
  std::uint32_t row = 0;
};

// True when a ranks before b: recent desc, downloads desc, id asc.
bool rank_before(const RankEntry& a, const RankEntry& b);

// Visits entries best-first, calling accept(e) until it returned true `limit` times or
// entries run out; returns the accepted entries in rank order. Only entries visited
// are ever passed to accept (a heap, so a short list costs O(n + k log n)).
std::vector<RankEntry> rank_top(std::vector<RankEntry> entries, std::size_t limit,
                                const std::function<bool(const RankEntry&)>& accept);

// Offers e to a bounded heap of the best k entries (the worst kept one on top).
inline void keep_best(std::vector<RankEntry>& heap, const RankEntry& e, std::size_t k) {
  if (heap.size() < k) {
    heap.push_back(e);
    std::push_heap(heap.begin(), heap.end(), rank_before);
  } else if (rank_before(e, heap.front())) {
    std::pop_heap(heap.begin(), heap.end(), rank_before);
    heap.back() = e;
    std::push_heap(heap.begin(), heap.end(), rank_before);
  }
}

// rank_top over a stream: each(emit) calls emit(entry) for every candidate, possibly
// several times (it is re-run when accept() rejects so many of the best entries that
// a wider selection is needed). Keeps only the best max(64, 4 * limit) entries in a
// bounded heap, so a pass over 100k candidates allocates almost nothing; accept() is
// called once per entry, in rank order, until `limit` were accepted.
template <class Each>
std::vector<RankEntry> rank_top_streaming(Each&& each, std::size_t limit,
                                          const std::function<bool(const RankEntry&)>& accept) {
  std::vector<RankEntry> out;
  if (limit == 0) return out;
  std::size_t judged = 0;  // entries of the sorted selection already passed to accept()
  for (std::size_t m = std::max<std::size_t>(64, 4 * limit);; m *= 8) {
    std::vector<RankEntry> heap;  // the worst kept entry on top
    heap.reserve(m);
    std::size_t total = 0;
    each([&](const RankEntry& e) {
      ++total;
      keep_best(heap, e, m);
    });
    std::sort(heap.begin(), heap.end(), rank_before);
    // The order is total (ids are unique), so the first `judged` entries are the same
    // as in the previous, narrower round.
    for (; judged < heap.size() && out.size() < limit; ++judged)
      if (accept(heap[judged])) out.push_back(heap[judged]);
    if (out.size() == limit || total <= m) return out;
  }
}

// A repo's counts still in Redis (not folded) as trending sees them: day hashes, never
// in PostgreSQL; folding hashes, in PostgreSQL once their generation is applied.
struct LiveCounts {
  std::int64_t recent = 0;  // in the period
  std::int64_t total = 0;   // all days
  struct Folding {
    std::string gen;
    std::int64_t recent = 0, total = 0;
  };
  std::vector<Folding> folding;  // counted unless the index already applied gen
};

class TrendingIndex {
 public:
  static constexpr int kSlots = 96;  // >= 90-day period + fold retention slack

  // Folded downloads of (repo, day) are now `downloads` (absolute). Adjusts the
  // repo's all-time total by the change. Returns false when the day is older than
  // the ring: the caller must then set_total() from PostgreSQL.
  bool set_day(const hubstats::RepoRef& repo, hubstats::Day day, std::int64_t downloads);
  // Applies folded rows (absolute; a row never goes down, so an older value arriving
  // late is ignored) and records the generations whose counts they hold, in one step:
  // trending() then never counts a folding hash of such a generation from Redis again.
  // Returns the rows older than the ring (their repos need set_total()).
  std::vector<FoldedRow> apply(const std::vector<FoldedRow>& rows,
                               const std::vector<std::string>& gens);
  // All-time folded total of the repo (absolute).
  void set_total(const hubstats::RepoRef& repo, std::int64_t total);
  // Bulk load of one repo: its total and its recent days (days outside the ring are
  // ignored; the total already counts them).
  void load_repo(const hubstats::RepoRef& repo, std::int64_t total,
                 const std::vector<std::pair<hubstats::Day, std::int64_t>>& days);

  // Ranks repos of `type` over [period.start, period.end]: folded days from the ring
  // plus `live` (counts still in Redis, by "ns/name"). Totals include the live counts.
  std::vector<TrendingCandidate> trending(
      hubstats::RepoType type, const hubstats::Period& period,
      const std::unordered_map<std::string, LiveCounts>& live, std::size_t limit,
      const std::function<bool(const hubstats::RepoRef&)>& keep) const;

  // Folded downloads of a repo on a day (0 when unknown or outside the ring).
  std::int64_t day_downloads(const hubstats::RepoRef& repo, hubstats::Day day) const;
  std::int64_t total(const hubstats::RepoRef& repo) const;
  std::size_t size() const;
  // Grows with every change (rows, totals, recorded generations): equal values mean
  // the same index state.
  std::uint64_t changes() const { return changes_.load(); }
  // Window sums computed from the columns so far (a cache miss each); for tests and
  // the benchmark.
  std::uint64_t window_builds() const { return window_builds_.load(); }
  // Full scans of a type's repos (a top list built, or a call it could not answer).
  std::uint64_t full_scans() const { return top_builds_.load(); }

  // Window sums kept per repo type (least recently used evicted).
  static constexpr std::size_t kWindows = 8;

 private:
  struct Part {                                           // one repo type
    std::unordered_map<std::string, std::uint32_t> rows;  // "ns/name" -> row
    std::vector<hubstats::RepoRef> refs;
    std::vector<std::string> ids;
    std::vector<std::int64_t> totals;
    std::array<hubstats::Day, kSlots> slot_day;
    std::array<std::vector<std::uint32_t>, kSlots> cols;  // slot-major: cols[slot][row]
    // Bumped by changes the cached window sums do not follow (a bulk load): cached
    // sums of an older version are stale.
    std::uint64_t version = 0;
    Part() { slot_day.fill(std::numeric_limits<hubstats::Day>::min()); }
  };
  // Per-repo downloads over [first, last] of one type. Kept current by set_day (a
  // folded row adds its change to every cached window holding its day) and row_of (a
  // new repo adds a zero), so a fold every few seconds does not make the next call of
  // every period recompute ~90 columns of a million repos.
  struct WindowCache {
    hubstats::Day first = 0, last = -1;
    std::uint64_t version = ~0ull;
    std::uint64_t used = 0;  // LRU stamp
    std::shared_ptr<std::vector<std::uint64_t>> sums;
  };

  static int slot_of(hubstats::Day d) { return ((d % kSlots) + kSlots) % kSlots; }
  // Cached windows of `type` still current (mu_ held exclusively): add `delta` to row
  // `row` of those holding `day`, or (row == new row, day unused) append a zero.
  void windows_add(int type, const Part& p, hubstats::Day day, std::uint32_t row,
                   std::int64_t delta);
  void windows_grow(int type, const Part& p);
  void windows_drop(const Part& p, hubstats::Day day);  // those holding `day` go
  bool set_day_locked(const hubstats::RepoRef& repo, hubstats::Day day, std::int64_t downloads,
                      bool only_up);
  std::uint32_t row_of(Part& p, const hubstats::RepoRef& repo);  // adds the repo if new
  // Slot for day d, claiming (clearing) it when it holds an older day; -1 if d is older.
  int claim(Part& p, hubstats::Day d);
  std::shared_ptr<const std::vector<std::uint64_t>> window(const Part& p, int type,
                                                           hubstats::Day first,
                                                           hubstats::Day last) const;

  mutable std::shared_mutex mu_;
  std::array<Part, 3> parts_;
  // Generations whose counts the ring holds, with when they were recorded (kept a few
  // minutes: older ones were already applied when a reader checked the ledger).
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> gens_;
  std::chrono::steady_clock::time_point gens_pruned_{};
  std::atomic<std::uint64_t> changes_{0};
  // The best kTop repos of a window by folded counts alone (window sum, total, id),
  // best first, valid while changes_ is unchanged: a call then ranks these plus the
  // repos with live counts instead of scanning every repo of the type. complete: every
  // repo with downloads in the window is in `rows`.
  static constexpr std::size_t kTop = 512;
  struct TopCache {
    hubstats::Day first = 0, last = -1;
    std::uint64_t changes = ~0ull;
    std::uint64_t used = 0;
    bool complete = false;
    std::shared_ptr<const std::vector<std::uint32_t>> rows;
  };
  std::shared_ptr<const TopCache> top_of(const Part& p, int type, hubstats::Day first,
                                         hubstats::Day last,
                                         const std::vector<std::uint64_t>& sums) const;
  mutable std::array<std::vector<std::shared_ptr<const TopCache>>, 3> tops_;
  mutable std::atomic<std::uint64_t> top_builds_{0};
  mutable std::atomic<std::uint64_t> window_builds_{0};
  mutable std::mutex cache_mu_;
  mutable std::array<std::vector<WindowCache>, 3> cache_;
  mutable std::uint64_t cache_clock_ = 0;
};

// Loads the whole index from PostgreSQL (all-time totals and the ring's days up to
// `today`). Returns the database time the snapshot was taken, as the watermark for
// refresh(). Throws Unavailable / PgError.
std::string load_trending_index(PgPool& pg, TrendingIndex& index, hubstats::Day today);

// Applies every (repo, day) the fold ledger records since `watermark` (minus a slack
// covering transactions that committed late), as absolute values, with their
// generations, in one database snapshot. Returns the new watermark.
std::string refresh_trending_index(PgPool& pg, TrendingIndex& index, const std::string& watermark);

}  // namespace hubstatsd
