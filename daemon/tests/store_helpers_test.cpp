// Pure helpers of the store: zero-fill, generation ids, array literals, migration
// names, Redis addresses.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "fold/folder.h"
#include "fold/random_ids.h"
#include "db/migrator.h"
#include "db/pg_pool.h"
#include "store/pg_redis_stats_reader.h"
#include "db/redis_client.h"

namespace hubstatsd {
namespace {

TEST(StoreZeroFill, EveryDayAscendingWithZerosAndSums) {
  const auto p = hubstats::period_ending(1000, 5);  // 996..1000
  std::vector<DayCounts> rows = {
      {1000, 1, 1, 0, 3}, {997, 4, 2, 2, 9}, {1000, 2, 0, 2, 2}, {990, 9, 9, 9, 9}};
  auto out = zero_fill(p, rows);
  ASSERT_EQ(out.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(out[i].day, 996 + i);
  EXPECT_EQ(out[0].downloads, 0);
  EXPECT_EQ(out[1].downloads, 4);
  EXPECT_EQ(out[1].files, 9);
  EXPECT_EQ(out[4].downloads, 3);  // two rows for one day add up
  EXPECT_EQ(out[4].anonymous, 2);
  EXPECT_EQ(out[4].files, 5);
}

TEST(StoreZeroFill, SingleDay) {
  auto out = zero_fill(hubstats::period_ending(7, 1), {});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].day, 7);
  EXPECT_EQ(out[0].downloads, 0);
}

TEST(StoreGeneration, UuidV4Format) {
  std::array<unsigned char, 16> b{};
  b.fill(0xff);
  EXPECT_EQ(format_uuid_v4(b), "ffffffff-ffff-4fff-bfff-ffffffffffff");
  b.fill(0);
  EXPECT_EQ(format_uuid_v4(b), "00000000-0000-4000-8000-000000000000");
  const std::regex re("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto g = new_generation_id();
    EXPECT_TRUE(std::regex_match(g, re)) << g;
    seen.insert(g);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(StorePgArray, QuotesAndEscapes) {
  EXPECT_EQ(pg_array({}), "{}");
  EXPECT_EQ(pg_array({"a", "b c"}), "{\"a\",\"b c\"}");
  EXPECT_EQ(pg_array({"q\"x", "b\\s", "NULL"}), "{\"q\\\"x\",\"b\\\\s\",\"NULL\"}");
}

TEST(StoreMigrations, FileNamesAndEmbedded) {
  auto m = Migration::from_file("007_add_index.sql", "SELECT 1;");
  EXPECT_EQ(m.version, 7);
  EXPECT_EQ(m.name, "007_add_index.sql");
  EXPECT_THROW(Migration::from_file("stats.sql", ""), std::invalid_argument);
  EXPECT_THROW(Migration::from_file("001-stats.sql", ""), std::invalid_argument);
  EXPECT_THROW(Migration::from_file("001_stats.txt", ""), std::invalid_argument);
  EXPECT_THROW(Migration::from_file("000_zero.sql", ""), std::invalid_argument);
  const auto& all = embedded_migrations();
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.front().name, "001_stats.sql");
  EXPECT_NE(all.front().sql.find("hubstats.daily_downloads"), std::string::npos);
  for (std::size_t i = 1; i < all.size(); ++i) EXPECT_LT(all[i - 1].version, all[i].version);
}

TEST(StoreRedisEndpoint, Parses) {
  auto a = RedisEndpoint::parse("127.0.0.1:6380");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 6380);
  auto u = RedisEndpoint::parse("unix:/run/redis.sock");
  EXPECT_EQ(u.unix_path, "/run/redis.sock");
  EXPECT_THROW(RedisEndpoint::parse("localhost"), std::invalid_argument);
  EXPECT_THROW(RedisEndpoint::parse("1.2.3.4:0"), std::invalid_argument);
  EXPECT_THROW(RedisEndpoint::parse("1.2.3.4:x"), std::invalid_argument);
  EXPECT_THROW(RedisEndpoint::parse("unix:relative"), std::invalid_argument);
  // IPv6 in brackets; the host is handed to hiredis and asio without them.
  auto v6 = RedisEndpoint::parse("[::1]:6381");
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.port, 6381);
  EXPECT_THROW(RedisEndpoint::parse("::1:6381"), std::invalid_argument);  // ambiguous
  EXPECT_THROW(RedisEndpoint::parse("[localhost]:6381"), std::invalid_argument);
  EXPECT_THROW(RedisEndpoint::parse("redis.internal:6379"), std::invalid_argument);
}

}  // namespace
}  // namespace hubstatsd
