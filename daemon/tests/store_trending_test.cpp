// Ranking, ties, lazy visibility filtering and the day ring of the trending index.
#include <gtest/gtest.h>

#include <algorithm>

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
