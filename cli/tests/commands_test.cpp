// The command line end to end without a server: parsing, validation, exit codes, help.
#include "commands.h"

#include <gtest/gtest.h>

#include <sstream>

namespace hubstats::cli {
namespace {

struct Result {
  int code;
  std::string out;
  std::string err;
};

Result run_cli(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  args.insert(args.begin(), "hubstats");
  std::ostringstream out, err;
  int code = run(args, env, out, err);
  return {code, out.str(), err.str()};
}

// Exactly one line on stderr, prefixed "hubstats: ".
void expect_one_line_error(const Result& r) {
  EXPECT_EQ(r.err.rfind("hubstats: ", 0), 0u) << r.err;
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.back(), '\n');
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(Commands, HelpExitsZeroAndDocumentsExitCodes) {
  auto r = run_cli({"--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("Exit codes: 0 ok, 2 bad argument, 3 not found"), std::string::npos);
  EXPECT_NE(r.out.find("trending"), std::string::npos);
}

TEST(Commands, SubcommandHelpShowsItsOptions) {
  auto r = run_cli({"stats", "export", "--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("--output"), std::string::npos);
}

TEST(Commands, VersionExitsZero) {
  auto r = run_cli({"--version"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out.rfind("hubstats ", 0), 0u);
}

TEST(Commands, BadArgumentsExit2WithOneLine) {
  const std::vector<std::vector<std::string>> cases = {
      {},
      {"stats"},
      {"stats", "get", "model"},
      {"stats", "get", "modle", "a/b"},
      {"stats", "get", "model", "nope"},
      {"stats", "recent", "model", "a/b", "--days", "0"},
      {"stats", "recent", "model", "a/b", "--days", "366"},
      {"stats", "recent", "model", "a/b", "--days", "many"},
      {"stats", "export", "dataset", "a/b/c"},
      {"trending", "--days", "91"},
      {"trending", "--limit", "0"},
      {"trending", "--limit", "101"},
      {"trending", "--type", "models"},
      {"frobnicate"},
      {"stats", "get", "model", "a/b", "--url", "ftp://x"},
      {"stats", "get", "model", "a/b", "--timeout", "0"},
      {"stats", "get", "model", "a/b", "--timeout", "-1"},
      {"admin", "repo", "set-private", "model", "a/b", "maybe", "--token", "t"},
      {"admin", "user", "add", "bad/name", "--token", "t"},
      {"admin", "token", "revoke", "x", "--token", "t"},
  };
  for (const auto& args : cases) {
    auto r = run_cli(args);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    EXPECT_EQ(r.code, 2) << joined << "\n" << r.err;
    expect_one_line_error(r);
    EXPECT_EQ(r.out, "") << joined;
  }
}

TEST(Commands, BadUrlFromEnvironmentIsExit2) {
  auto r = run_cli({"trending"}, {{"HUBSTATS_URL", "not-a-url"}});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("invalid --url 'not-a-url'"), std::string::npos) << r.err;
}

TEST(Commands, UrlOptionBeatsEnvironment) {
  // The option's bad URL is reported, not the environment's good one.
  auto r = run_cli({"trending", "--url", "bogus"}, {{"HUBSTATS_URL", "http://127.0.0.1:1"}});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("'bogus'"), std::string::npos) << r.err;
}

TEST(Commands, AdminWithoutTokenIsAuthError) {
  auto r = run_cli({"admin", "user", "add", "alice"});
  EXPECT_EQ(r.code, 6);
  expect_one_line_error(r);
}

TEST(Commands, UnreadableAdminTokenFileIsBadArgument) {
  auto r = run_cli({"admin", "user", "list", "--admin-token-file", "/nonexistent/admin.token"});
  EXPECT_EQ(r.code, 2);
  expect_one_line_error(r);
}

}  // namespace
}  // namespace hubstats::cli
