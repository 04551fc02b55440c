#include "hubstats/contract/redis_address.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

using hubstats::contract::parse_redis_address;

TEST(RedisAddress, AcceptsIpv4WithPort) {
  auto a = parse_redis_address("127.0.0.1:6379");
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->is_unix);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 6379);
}

TEST(RedisAddress, AcceptsBracketedIpv6) {
  auto a = parse_redis_address("[::1]:7000");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 7000);
}

TEST(RedisAddress, AcceptsUnixSocket) {
  auto a = parse_redis_address("unix:/run/redis/redis.sock");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->is_unix);
  EXPECT_EQ(a->host, "/run/redis/redis.sock");
}

TEST(RedisAddress, RejectsHostNamesAndMalformed) {
  for (const char* bad : {"localhost:6379", "redis:6379", "127.0.0.1", "127.0.0.1:", ":6379",
                          "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:12a", "::1:6379", "[::1]",
                          "[::1]6379", "unix:", "unix:relative", "", "1.2.3:80", "[localhost]:1"}) {
    EXPECT_FALSE(parse_redis_address(bad)) << bad;
  }
}

TEST(RedisAddress, SaysWhyItRejects) {
  const std::pair<const char*, const char*> cases[] = {
      {"localhost:6379", "an IP literal is required: name lookups would block"},
      {"::1:6379", "write IPv6 as [addr]:port"},
      {"unix:relative", "unix:/absolute/path"},
      {"127.0.0.1", "ip:port, [ipv6]:port or unix:/path"},
      {"127.0.0.1:0", "the port must be 1..65535"},
  };
  for (const auto& [text, reason] : cases) {
    std::string why;
    EXPECT_FALSE(parse_redis_address(text, &why)) << text;
    EXPECT_EQ(why, reason) << text;
  }
}
