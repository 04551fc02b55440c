#include "hubstats/duration.h"

#include <gtest/gtest.h>

namespace hubstats {
namespace {

using std::chrono::milliseconds;

TEST(Duration, Units) {
  EXPECT_EQ(parse_duration("500ms"), milliseconds(500));
  EXPECT_EQ(parse_duration("30"), milliseconds(30'000));
  EXPECT_EQ(parse_duration("30s"), milliseconds(30'000));
  EXPECT_EQ(parse_duration("30m"), milliseconds(1'800'000));
  EXPECT_EQ(parse_duration("2h"), milliseconds(7'200'000));
  EXPECT_EQ(parse_duration("14d"), milliseconds(14LL * 86'400'000));
  EXPECT_EQ(parse_duration("0"), milliseconds(0));
}

TEST(Duration, RejectsMalformed) {
  for (const char* bad :
       {"", "m", "-1s", "1.5s", "10 s", "10x", "5mm", "s10", "1h30m", "99999999999999999999d"}) {
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace hubstats
