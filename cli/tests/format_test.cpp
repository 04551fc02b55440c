#include "format.h"

#include <gtest/gtest.h>

namespace hubstats::cli {
namespace {

TEST(RenderTable, AlignsColumnsAndDrawsRule) {
  std::string t = render_table({"name", "n"}, {{"a", "1"}, {"long-name", "123"}},
                               {Align::kLeft, Align::kRight});
  EXPECT_EQ(t,
            "name         n\n"
            "---------  ---\n"
            "a            1\n"
            "long-name  123\n");
}

TEST(RenderTable, NoTrailingSpacesAndMissingCellsAreEmpty) {
  std::string t = render_table({"a", "b", "c"}, {{"x"}}, {});
  EXPECT_EQ(t, "a  b  c\n-  -  -\nx\n");
}

TEST(RenderTable, WidthCountsCodePointsNotBytes) {
  std::string t = render_table({"k", "v"}, {{"█▁", "1"}, {"abc", "2"}}, {});
  EXPECT_EQ(t, "k    v\n---  -\n█▁   1\nabc  2\n");
}

TEST(GroupThousands, Groups) {
  EXPECT_EQ(group_thousands(0), "0");
  EXPECT_EQ(group_thousands(999), "999");
  EXPECT_EQ(group_thousands(1000), "1,000");
  EXPECT_EQ(group_thousands(1234567), "1,234,567");
  EXPECT_EQ(group_thousands(-1234), "-1,234");
}

TEST(Sparkline, ScalesToMax) {
  EXPECT_EQ(sparkline({0, 1, 2, 3, 4, 5, 6, 7}), "▁▂▃▄▅▆▇█");
  EXPECT_EQ(sparkline({7, 14}), "▅█");  // 3.5 of 7 rounds up
}

TEST(Sparkline, AllZeroIsFlatAndEmptyIsEmpty) {
  EXPECT_EQ(sparkline({0, 0, 0}), "▁▁▁");
  EXPECT_EQ(sparkline({}), "");
}

TEST(Sparkline, SmallNonZeroIsNeverHidden) {
  // 1 out of a million still shows above the zero level.
  EXPECT_EQ(sparkline({0, 1, 1000000}), "▁▂█");
}

TEST(Sparkline, HugeValuesDoNotOverflow) {
  std::int64_t big = INT64_MAX;
  EXPECT_EQ(sparkline({big, big / 2, 0}), "█▅▁");
}

TEST(Csv, QuotesOnlyWhenNeeded) {
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
}

RecentStats sample() {
  RecentStats s;
  s.days = {{"2025-01-15", 123, 45, 78, 456},
            {"2025-01-16", 0, 0, 0, 0},
            {"2025-01-17", 1500, 500, 1000, 3000}};
  s.period = {"2025-01-15", "2025-01-17", 3};
  return s;
}

TEST(Csv, RecentHasHeaderAndOneLinePerDay) {
  EXPECT_EQ(recent_csv(sample()),
            "date,downloads,authenticated,anonymous,files\n"
            "2025-01-15,123,45,78,456\n"
            "2025-01-16,0,0,0,0\n"
            "2025-01-17,1500,500,1000,3000\n");
}

TEST(Csv, EmptyPeriodIsHeaderOnly) {
  EXPECT_EQ(recent_csv(RecentStats{}), "date,downloads,authenticated,anonymous,files\n");
}

TEST(FormatRecent, TableTotalsAndSparkline) {
  RepoRef ref{RepoType::kModel, "myorg", "mymodel"};
  std::string out = format_recent(ref, sample());
  EXPECT_NE(out.find("model myorg/mymodel: 3 days, 2025-01-15 to 2025-01-17"), std::string::npos);
  EXPECT_NE(out.find("date        downloads  authenticated  anonymous  files"), std::string::npos);
  EXPECT_NE(out.find("2025-01-17      1,500            500      1,000  3,000"), std::string::npos);
  EXPECT_NE(out.find("total           1,623            545      1,078  3,456"), std::string::npos);
  EXPECT_NE(out.find("downloads/day  ▂▁█  (max 1,500)"), std::string::npos) << out;
}

TEST(FormatRepoStats, OneRow) {
  RepoRef ref{RepoType::kDataset, "org", "data"};
  EXPECT_EQ(format_repo_stats(ref, {1234567, 89}),
            "repository  type     downloads  likes\n"
            "----------  -------  ---------  -----\n"
            "org/data    dataset  1,234,567     89\n");
}

TEST(FormatTrending, RanksInServerOrderAndMarksPrivate) {
  Trending t;
  t.period = {"2025-01-09", "2025-01-16", 7};
  t.entries = {{"openai/gpt-4", "model", 5678900, 1234, 12345, false},
               {"demo/secret", "model", 10, 0, 9, true}};
  std::string out = format_trending(RepoType::kModel, t);
  EXPECT_NE(out.find("trending models: 7 days, 2025-01-09 to 2025-01-16"), std::string::npos);
  EXPECT_NE(out.find("1  openai/gpt-4  12,345  5,678,900  1,234\n"), std::string::npos) << out;
  EXPECT_NE(out.find("2  demo/secret        9         10      0  yes\n"), std::string::npos) << out;
}

TEST(FormatTrending, EmptyListSaysSo) {
  Trending t;
  t.period = {"2025-01-09", "2025-01-16", 7};
  EXPECT_NE(format_trending(RepoType::kSpace, t).find("no downloads in this period"),
            std::string::npos);
}

}  // namespace
}  // namespace hubstats::cli

namespace hubstats::cli {
namespace {

TEST(Format, FilesAndClientsCsvAndTables) {
  FileStats f{{{"model.safetensors", 12}, {"a,b.bin", 3}}, {"2026-11-04", "2026-12-03", 30}};
  EXPECT_EQ(files_csv(f), "path,files\nmodel.safetensors,12\n\"a,b.bin\",3\n");
  ClientStats c{{{"git", 3, 3}, {"bot", 1, 4}}, {"2026-12-03", "2026-12-03", 1}};
  EXPECT_EQ(clients_csv(c), "client,downloads,files\ngit,3,3\nbot,1,4\n");
  const RepoRef ref{RepoType::kModel, "ns", "n"};
  const std::string t = format_clients(ref, c);
  EXPECT_NE(t.find("model ns/n: 1 days, 2026-12-03 to 2026-12-03"), std::string::npos) << t;
  EXPECT_NE(t.find("git             3  75.0%      3"), std::string::npos) << t;
  EXPECT_NE(format_files(ref, FileStats{}).find("no files fetched"), std::string::npos);
}

}  // namespace
}  // namespace hubstats::cli
