// Ranking, ties, lazy visibility filtering and the day ring of the trending index.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <tuple>

#include "store/trending_index.h"

namespace hubstatsd {
namespace {

using hubstats::Period;
using hubstats::RepoRef;
using hubstats::RepoType;

RepoRef model(const std::string& name) {
  return {RepoType::kModel, "ns", name};
}

std::vector<std::string> ids(const std::vector<TrendingCandidate>& v) {
  std::vector<std::string> out;
  for (const auto& c : v) out.push_back(c.repo.id());
  return out;
}

TEST(StoreRankTop, OrdersByRecentThenTotalThenId) {
  std::vector<std::string> names = {"b", "a", "c", "d"};
  std::vector<RankEntry> e = {
      {3, 5, &names[0], 0}, {3, 5, &names[1], 1}, {3, 9, &names[2], 2}, {7, 0, &names[3], 3}};
  auto top = rank_top(e, 10, [](const RankEntry&) { return true; });
  ASSERT_EQ(top.size(), 4u);
  EXPECT_EQ(*top[0].id, "d");
  EXPECT_EQ(*top[1].id, "c");
  EXPECT_EQ(*top[2].id, "a");
  EXPECT_EQ(*top[3].id, "b");
}

TEST(StoreRankTop, FiltersBeforeTheLimitAndVisitsOnlyWhatItNeeds) {
  std::vector<std::string> names;
  for (int i = 0; i < 1000; ++i) names.push_back("r" + std::to_string(1000 + i));
  std::vector<RankEntry> e;
  for (int i = 0; i < 1000; ++i) e.push_back({i + 1, 0, &names[i], static_cast<std::uint32_t>(i)});
  int visited = 0;
  // Hide every other repo: the answer must still hold `limit` entries.
  auto top = rank_top(e, 5, [&](const RankEntry& x) {
    ++visited;
    return x.recent % 2 == 0;
  });
  ASSERT_EQ(top.size(), 5u);
  EXPECT_EQ(top[0].recent, 1000);
  EXPECT_EQ(top[4].recent, 992);
  EXPECT_EQ(visited, 9);  // lazily: only as many catalog checks as needed
}

TEST(StoreRankTop, StreamingWidensWhenTheFilterRejectsTheBest) {
  std::vector<std::string> names;
  for (int i = 0; i < 5000; ++i) names.push_back("r" + std::to_string(10000 + i));
  auto each = [&](auto&& emit) {
    for (int i = 0; i < 5000; ++i)
      emit(RankEntry{1 + i / 10, i % 7, &names[i], static_cast<std::uint32_t>(i)});
  };
  std::vector<RankEntry> all;
  each([&](const RankEntry& e) { all.push_back(e); });
  // Only every 50th entry is visible: the first 64-entry selection holds too few.
  auto visible = [](const RankEntry& e) { return e.row % 50 == 0; };
  int calls = 0;
  auto got = rank_top_streaming(each, 20, [&](const RankEntry& e) {
    ++calls;
    return visible(e);
  });
  auto want = rank_top(all, 20, visible);
  ASSERT_EQ(got.size(), 20u);
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].row, want[i].row) << i;
  // accept() saw each entry at most once, in rank order, stopping at the 20th visible.
  std::vector<RankEntry> sorted = all;
  std::sort(sorted.begin(), sorted.end(), rank_before);
  std::size_t last = 0;
  for (std::size_t i = 0; i < sorted.size(); ++i)
    if (sorted[i].row == got.back().row) last = i;
  EXPECT_EQ(calls, static_cast<int>(last + 1));
}

TEST(StoreRankTop, ZeroLimitAndEmpty) {
  EXPECT_TRUE(rank_top({}, 5, [](const RankEntry&) { return true; }).empty());
  std::string n = "x";
  EXPECT_TRUE(rank_top({{1, 1, &n, 0}}, 0, [](const RankEntry&) { return true; }).empty());
}

TEST(StoreTrendingIndex, WindowSumsTodayAndTies) {
  TrendingIndex idx;
  const hubstats::Day today = 20000;
  idx.load_repo(model("a"), 100, {{today - 1, 3}, {today - 5, 4}});
  idx.load_repo(model("b"), 50, {{today - 1, 7}});
  idx.load_repo(model("c"), 10, {{today - 30, 9}});  // outside a 7-day period
  idx.load_repo({RepoType::kDataset, "ns", "d"}, 5, {{today - 1, 100}});
  std::unordered_map<std::string, LiveCounts> live = {{"ns/a", {0, 0, {}}}, {"ns/new", {2, 2, {}}}};
  auto p7 = hubstats::period_ending(today, 7);
  auto r = idx.trending(RepoType::kModel, p7, live, 10, nullptr);
  // a: 3 + 4 = 7 recent, b: 7 recent; the tie is broken by all-time (a 100 > b 50).
  EXPECT_EQ(ids(r), (std::vector<std::string>{"ns/a", "ns/b", "ns/new"}));
  EXPECT_EQ(r[0].recent_downloads, 7);
  EXPECT_EQ(r[2].downloads, 2);
  // A fold adds to b and today's live count adds to a.
  idx.set_day(model("b"), today - 2, 5);
  live["ns/a"] = {1, 1, {}};
  r = idx.trending(RepoType::kModel, p7, live, 10, nullptr);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].repo.id(), "ns/b");
  EXPECT_EQ(r[0].recent_downloads, 12);
  EXPECT_EQ(r[0].downloads, 55);
  EXPECT_EQ(r[1].repo.id(), "ns/a");
  EXPECT_EQ(r[1].recent_downloads, 8);
  EXPECT_EQ(r[1].downloads, 101);
  // One-day period: only today's live counts.
  r = idx.trending(RepoType::kModel, hubstats::period_ending(today, 1), live, 10, nullptr);
  EXPECT_EQ(ids(r), (std::vector<std::string>{"ns/new", "ns/a"}));
  // Long period reaches c; dataset repos never show up under model.
  r = idx.trending(RepoType::kModel, hubstats::period_ending(today, 31), {}, 10, nullptr);
  EXPECT_EQ(ids(r), (std::vector<std::string>{"ns/b", "ns/c", "ns/a"}));
  EXPECT_EQ(r[1].recent_downloads, 9);
}

// Several periods asked in turn while folds land: each period's window sums are
// computed once and then follow the folded rows (and new repos), giving the same
// rankings as an index built from scratch with the final data.
TEST(StoreTrendingIndex, CachedWindowsFollowFoldsForEveryPeriod) {
  const hubstats::Day today = 20000;
  auto build = [&](TrendingIndex& idx) {
    for (int i = 0; i < 40; ++i)
      idx.load_repo(model("r" + std::to_string(i)), 1000 + i,
                    {{today - i % 90, 1 + i % 7}, {today - (i * 7) % 90, 2 + i % 5}});
  };
  auto changes = [&](TrendingIndex& idx) {
    idx.set_day(model("r3"), today, 50);
    idx.set_day(model("r39"), today - 60, 80);             // in the 90-day window only
    idx.apply({{model("fresh"), today - 2, 30}}, {"g1"});  // a repo new to the index
    idx.apply({{model("r5"), today - 20, 9}}, {});
    idx.set_total(model("r7"), 5000);  // totals break ties, not window sums
  };
  const std::vector<int> periods = {1, 7, 30, 90};
  TrendingIndex idx;
  build(idx);
  for (int d : periods)
    idx.trending(RepoType::kModel, hubstats::period_ending(today, d), {}, 10, nullptr);
  const auto builds = idx.window_builds();
  EXPECT_EQ(builds, periods.size());
  changes(idx);
  TrendingIndex fresh;
  build(fresh);
  changes(fresh);
  for (int round = 0; round < 2; ++round)
    for (int d : periods) {
      auto p = hubstats::period_ending(today, d);
      auto got = idx.trending(RepoType::kModel, p, {}, 15, nullptr);
      auto want = fresh.trending(RepoType::kModel, p, {}, 15, nullptr);
      ASSERT_EQ(ids(got), ids(want)) << d;
      for (std::size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].recent_downloads, want[i].recent_downloads) << d;
        EXPECT_EQ(got[i].downloads, want[i].downloads) << d;
      }
    }
  EXPECT_EQ(idx.window_builds(), builds) << "folds must not make periods recompute";
  // A new day takes a slot: windows are recomputed once, and stay right.
  idx.set_day(model("r1"), today + 1, 4);
  fresh.set_day(model("r1"), today + 1, 4);
  auto p = hubstats::period_ending(today + 1, 7);
  EXPECT_EQ(ids(idx.trending(RepoType::kModel, p, {}, 15, nullptr)),
            ids(fresh.trending(RepoType::kModel, p, {}, 15, nullptr)));
  EXPECT_GT(idx.window_builds(), builds);
}

// The cached top list plus live counts answers like a full ranking (computed here by
// brute force) for random data well past the list's size, with live counts that lift
// repos from far down, fresh repos, and filters that reject most repos (which need a
// full scan); repeated calls with new live counts reuse the list.
TEST(StoreTrendingIndex, TopListWithLiveCountsRanksLikeAFullRanking) {
  const hubstats::Day today = 20000;
  std::mt19937 rng(7);
  TrendingIndex idx;
  struct Repo {
    std::string id;
    std::int64_t total = 0;
    std::map<hubstats::Day, std::int64_t> days;
  };
  std::vector<Repo> repos(3000);
  for (std::size_t i = 0; i < repos.size(); ++i) {
    auto& r = repos[i];
    r.id = "ns/r" + std::to_string(i);
    std::vector<std::pair<hubstats::Day, std::int64_t>> days;
    for (int k = 0; k < 3; ++k) {
      hubstats::Day d = today - static_cast<int>(rng() % 60);
      std::int64_t n = 1 + static_cast<std::int64_t>(rng() % (1 + 3000 / (i + 1)));
      r.days[d] = n;
    }
    for (auto& [d, n] : r.days) {
      days.emplace_back(d, n);
      r.total += n;
    }
    r.total += static_cast<std::int64_t>(rng() % 5);
    idx.load_repo(model("r" + std::to_string(i)), r.total, days);
  }
  std::size_t scans = 0;
  for (int round = 0; round < 40; ++round) {
    const int days = std::vector<int>{1, 7, 30, 60}[round % 4];
    const auto period = hubstats::period_ending(today, days);
    std::unordered_map<std::string, LiveCounts> live;
    for (int k = 0; k < 30; ++k) {
      const auto i = rng() % repos.size();
      const std::int64_t n = static_cast<std::int64_t>(rng() % 400);
      live[repos[i].id] = {n, n + 1, {}};
    }
    live["ns/fresh" + std::to_string(round)] = {150, 150, {}};
    const int reject = round % 3 == 2 ? 10 : 0;  // keep 1 in 10, or everything
    auto keep = [&](const RepoRef& r) {
      return reject == 0 || std::hash<std::string>{}(r.name) % reject == 0;
    };
    struct Want {
      std::int64_t recent, total;
      std::string id;
    };
    std::vector<Want> want;
    auto add = [&](const std::string& id, std::int64_t recent, std::int64_t total) {
      auto it = live.find(id);
      if (it != live.end()) {
        recent += it->second.recent;
        total += it->second.total;
      }
      if (recent > 0 && keep({RepoType::kModel, "ns", id.substr(3)}))
        want.push_back({recent, total, id});
    };
    for (const auto& r : repos) {
      std::int64_t recent = 0;
      for (const auto& [d, n] : r.days)
        if (d >= period.start && d <= period.end) recent += n;
      add(r.id, recent, r.total);
    }
    add("ns/fresh" + std::to_string(round), 0, 0);
    std::sort(want.begin(), want.end(), [](const Want& a, const Want& b) {
      return std::tie(b.recent, b.total, a.id) < std::tie(a.recent, a.total, b.id);
    });
    for (std::size_t limit : {1u, 20u, 100u}) {
      auto got = idx.trending(RepoType::kModel, period, live, limit, keep);
      ASSERT_EQ(got.size(), std::min(limit, want.size())) << round;
      for (std::size_t i = 0; i < got.size(); ++i) {
        ASSERT_EQ(got[i].repo.id(), want[i].id) << round << " " << limit << " " << i;
        EXPECT_EQ(got[i].recent_downloads, want[i].recent);
        EXPECT_EQ(got[i].downloads, want[i].total);
      }
    }
    if (round == 3) scans = idx.full_scans();  // one list per period built by now
  }
  // After the first round of each period, only the rejecting filter needs full scans.
  EXPECT_LE(idx.full_scans(), scans + 13 * 3);
  EXPECT_GE(idx.full_scans(), scans + 1);
}

TEST(StoreTrendingIndex, FoldingHashOfAnAppliedGenerationCountsOnce) {
  TrendingIndex idx;
  const hubstats::Day today = 20000;
  idx.load_repo(model("a"), 10, {{today, 10}});
  auto p7 = hubstats::period_ending(today, 7);
  // Redis still holds a folding hash (gen g, 5 downloads today) and a day hash (1,
  // of a day outside the period).
  std::unordered_map<std::string, LiveCounts> live = {{"ns/a", {0, 1, {{"g", 5, 5}}}}};
  auto r = idx.trending(RepoType::kModel, p7, live, 10, nullptr);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].recent_downloads, 15);
  EXPECT_EQ(r[0].downloads, 16);
  // The fold of g lands in the index: its row and its generation, in one step.
  EXPECT_TRUE(idx.apply({{model("a"), today, 15}}, {"g"}).empty());
  r = idx.trending(RepoType::kModel, p7, live, 10, nullptr);
  EXPECT_EQ(r[0].recent_downloads, 15);
  EXPECT_EQ(r[0].downloads, 16);
  // A late, older absolute value never takes a row back.
  idx.apply({{model("a"), today, 12}}, {});
  EXPECT_EQ(idx.day_downloads(model("a"), today), 15);
}

TEST(StoreTrendingIndex, SetDayAdjustsTotalsAndIsIdempotent) {
  TrendingIndex idx;
  idx.set_total(model("a"), 40);
  EXPECT_TRUE(idx.set_day(model("a"), 500, 10));
  EXPECT_EQ(idx.total(model("a")), 50);
  EXPECT_TRUE(idx.set_day(model("a"), 500, 10));  // same absolute value again
  EXPECT_EQ(idx.total(model("a")), 50);
  EXPECT_TRUE(idx.set_day(model("a"), 500, 15));
  EXPECT_EQ(idx.total(model("a")), 55);
  EXPECT_EQ(idx.day_downloads(model("a"), 500), 15);
}

TEST(StoreTrendingIndex, RingEvictsOldDaysWithoutChangingTotals) {
  TrendingIndex idx;
  EXPECT_TRUE(idx.set_day(model("a"), 100, 5));
  // The same slot, one ring later: day 100 leaves the ring, the total keeps it.
  EXPECT_TRUE(idx.set_day(model("a"), 100 + TrendingIndex::kSlots, 7));
  EXPECT_EQ(idx.day_downloads(model("a"), 100), 0);
  EXPECT_EQ(idx.total(model("a")), 12);
  // A day older than the ring cannot be stored: the caller recomputes the total.
  EXPECT_FALSE(idx.set_day(model("a"), 100, 6));
  EXPECT_EQ(idx.total(model("a")), 12);
}

TEST(StoreTrendingIndex, KeepFilterAppliesBeforeLimit) {
  TrendingIndex idx;
  for (int i = 0; i < 10; ++i) idx.load_repo(model("r" + std::to_string(i)), i, {{99, i + 1}});
  auto p = hubstats::period_ending(100, 7);
  auto r = idx.trending(RepoType::kModel, p, {}, 3,
                        [](const RepoRef& ref) { return ref.name != "r9" && ref.name != "r7"; });
  EXPECT_EQ(ids(r), (std::vector<std::string>{"ns/r8", "ns/r6", "ns/r5"}));
}

}  // namespace
}  // namespace hubstatsd
