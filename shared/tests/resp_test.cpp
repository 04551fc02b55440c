#include "hubstats/contract/resp.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using hubstats::contract::append_command;

TEST(Resp, EncodesBulkStrings) {
  std::string out;
  append_command(out, {"GET", "k"});
  EXPECT_EQ(out, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
  append_command(out, {""});
  EXPECT_EQ(out, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$0\r\n\r\n");
}

TEST(Resp, KeepsBinaryArguments) {
  const std::string bin("a\0\r\nb", 5);
  const std::vector<std::string_view> argv{"SET", "k", bin};
  std::string out;
  append_command(out, argv);
  static constexpr char kWant[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\na\0\r\nb\r\n";
  EXPECT_EQ(out, std::string(kWant, sizeof kWant - 1));
}
