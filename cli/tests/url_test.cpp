#include "url.h"

#include <gtest/gtest.h>

#include "exit_codes.h"

namespace hubstats::cli {
namespace {

TEST(ParseBaseUrl, DefaultsAndPrefix) {
  auto u = parse_base_url("http://127.0.0.1:28080");
  EXPECT_EQ(u.scheme, "http");
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, "28080");
  EXPECT_EQ(u.prefix, "");
  EXPECT_EQ(u.host_header(), "127.0.0.1:28080");

  auto v = parse_base_url("HTTPS://hub.example/stats-api/");
  EXPECT_EQ(v.scheme, "https");
  EXPECT_EQ(v.port, "443");
  EXPECT_EQ(v.prefix, "/stats-api");
  EXPECT_EQ(v.host_header(), "hub.example");
  EXPECT_EQ(v.display(), "https://hub.example/stats-api");
}

TEST(ParseBaseUrl, Ipv6Literal) {
  auto u = parse_base_url("http://[::1]:8080/");
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, "8080");
  EXPECT_EQ(u.host_header(), "[::1]:8080");
}

TEST(ParseBaseUrl, RejectsWithExit2) {
  for (const char* bad :
       {"127.0.0.1:28080", "ftp://x", "http://", "http://h:", "http://h:0", "http://h:65536",
        "http://h:12ab", "http://u:p@h", "http://h/?q=1", "http://[::1"}) {
    try {
      parse_base_url(bad);
      ADD_FAILURE() << bad;
    } catch (const CliError& e) {
      EXPECT_EQ(e.code(), ExitCode::kBadArgument) << bad;
    }
  }
}

TEST(PercentEncode, KeepsUnreservedOnly) {
  EXPECT_EQ(percent_encode("a-b.c_d~9"), "a-b.c_d~9");
  EXPECT_EQ(percent_encode("a b/c?"), "a%20b%2Fc%3F");
  EXPECT_EQ(percent_encode("\xC3\xA9"), "%C3%A9");
}

TEST(QueryString, BuildsInOrder) {
  EXPECT_EQ(query_string({}), "");
  EXPECT_EQ(query_string({{"repo_type", "model"}, {"days", "7"}}), "?repo_type=model&days=7");
  EXPECT_EQ(query_string({{"username", "a&b"}}), "?username=a%26b");
}

}  // namespace
}  // namespace hubstats::cli
