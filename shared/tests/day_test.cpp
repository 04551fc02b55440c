#include "hubstats/day.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace hubstats {
namespace {

TEST(Day, EpochAndKnownDates) {
  EXPECT_EQ(day_of(0), 0);
  EXPECT_EQ(day_of(86399), 0);
  EXPECT_EQ(day_of(86400), 1);
  EXPECT_EQ(day_of(-1), -1);
  EXPECT_EQ(format_iso(0), "1970-01-01");
  // 2026-11-26T06:23:28Z
  EXPECT_EQ(format_iso(day_of(1795674208)), "2026-11-26");
  EXPECT_EQ(format_compact(day_of(1795674208)), "20261126");
  EXPECT_EQ(day_start(day_of(1795674208)), 1795651200);
}

TEST(Day, RoundTripsEveryDayForCenturies) {
  for (Day d = 0; d < 150000; ++d) {
    auto iso = format_iso(d);
    ASSERT_EQ(parse_iso(iso), d) << iso;
    ASSERT_EQ(parse_compact(format_compact(d)), d);
  }
}

// format_iso / format_compact write digits by hand: the same text as printf's
// "%04d-%02u-%02u", years 0001 through 9999 and beyond.
TEST(Day, FormatsLikePrintfForEveryYear) {
  for (Day d = -719162; d < 2932897 + 800; d += 37) {  // 0001-01-01 .. past 9999-12-31
    int y;
    unsigned m, dd;
    civil_from_days(d, y, m, dd);
    char iso[32], compact[32];
    std::snprintf(iso, sizeof iso, "%04d-%02u-%02u", y, m, dd);
    std::snprintf(compact, sizeof compact, "%04d%02u%02u", y, m, dd);
    ASSERT_EQ(format_iso(d), iso);
    ASSERT_EQ(format_compact(d), compact);
    std::string key = "k:";
    append_compact(key, d);
    ASSERT_EQ(key, std::string("k:") + compact);
  }
}

TEST(Day, LeapYears) {
  EXPECT_TRUE(parse_iso("2024-02-29").has_value());
  EXPECT_TRUE(parse_iso("2000-02-29").has_value());
  EXPECT_FALSE(parse_iso("2100-02-29").has_value());
  EXPECT_FALSE(parse_iso("2025-02-29").has_value());
  EXPECT_EQ(*parse_iso("2024-03-01") - *parse_iso("2024-02-28"), 2);
  EXPECT_EQ(*parse_iso("2025-03-01") - *parse_iso("2025-02-28"), 1);
}

TEST(Day, StrictParsing) {
  for (const char* bad : {"", "2025-1-01", "2025-13-01", "2025-00-10", "2025-04-31", "20250101",
                          "2025/01/01", "2025-01-01T", " 2025-01-01", "1969-12-31", "abcd-ef-gh"}) {
    EXPECT_FALSE(parse_iso(bad).has_value()) << bad;
  }
  for (const char* bad : {"", "2025011", "202501011", "2025-101", "20251301", "2025013a"}) {
    EXPECT_FALSE(parse_compact(bad).has_value()) << bad;
  }
}

TEST(Day, PeriodIsInclusiveEndingToday) {
  const Day today = *parse_iso("2025-01-16");
  Period p = period_ending(today, 7);
  EXPECT_EQ(format_iso(p.start), "2025-01-10");
  EXPECT_EQ(format_iso(p.end), "2025-01-16");
  EXPECT_EQ(p.end - p.start + 1, 7);
  Period one = period_ending(today, 1);
  EXPECT_EQ(one.start, one.end);
  Period year = period_ending(*parse_iso("2025-03-01"), 365);
  EXPECT_EQ(format_iso(year.start), "2024-03-02");
}

}  // namespace
}  // namespace hubstats
