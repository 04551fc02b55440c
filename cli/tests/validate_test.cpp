#include "validate.h"

#include <gtest/gtest.h>

#include <functional>

#include "exit_codes.h"

namespace hubstats::cli {
namespace {

ExitCode code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const CliError& e) {
    return e.code();
  }
  return ExitCode::kOk;
}

TEST(ParseRepoArg, AcceptsTypeAndId) {
  auto ref = parse_repo_arg("dataset", "my-org/data.v2_1");
  EXPECT_EQ(ref.type, RepoType::kDataset);
  EXPECT_EQ(ref.ns, "my-org");
  EXPECT_EQ(ref.name, "data.v2_1");
}

TEST(ParseRepoArg, RejectsBadTypeWithExit2) {
  EXPECT_EQ(code_of([] { parse_repo_arg("models", "a/b"); }), ExitCode::kBadArgument);
  EXPECT_EQ(code_of([] { parse_repo_arg("", "a/b"); }), ExitCode::kBadArgument);
  try {
    parse_repo_arg("modle", "a/b");
  } catch (const CliError& e) {
    EXPECT_STREQ(e.what(), "invalid repository type 'modle' (expected model, dataset or space)");
  }
}

TEST(ParseRepoArg, RejectsBadIds) {
  for (const char* id :
       {"noslash", "/name", "ns/", "a/b/c", "../x", "a/..", "a b/c", "a/{b}", "a:b/c", ""}) {
    EXPECT_EQ(code_of([&] { parse_repo_arg("model", id); }), ExitCode::kBadArgument) << id;
  }
  EXPECT_EQ(code_of([] { parse_repo_arg("model", std::string(97, 'a') + "/b"); }),
            ExitCode::kBadArgument);
  EXPECT_EQ(code_of([] { parse_repo_arg("model", std::string(96, 'a') + "/b"); }), ExitCode::kOk);
}

TEST(CheckRange, InclusiveBoundsAndMessage) {
  EXPECT_EQ(check_range("--days", 1, 1, 365), 1);
  EXPECT_EQ(check_range("--days", 365, 1, 365), 365);
  EXPECT_EQ(code_of([] { check_range("--days", 0, 1, 365); }), ExitCode::kBadArgument);
  EXPECT_EQ(code_of([] { check_range("--days", 366, 1, 365); }), ExitCode::kBadArgument);
  try {
    check_range("--limit", 101, 1, 100);
    FAIL();
  } catch (const CliError& e) {
    EXPECT_STREQ(e.what(), "--limit must be between 1 and 100 (got 101)");
  }
}

TEST(ParseNameArg, UsesSegmentRule) {
  EXPECT_EQ(parse_name_arg("user name", "alice_1"), "alice_1");
  EXPECT_EQ(code_of([] { parse_name_arg("user name", "al/ice"); }), ExitCode::kBadArgument);
  EXPECT_EQ(code_of([] { parse_name_arg("user name", ""); }), ExitCode::kBadArgument);
}

TEST(ExitCodes, StatusMapping) {
  EXPECT_EQ(exit_code_for_status(200), ExitCode::kOk);
  EXPECT_EQ(exit_code_for_status(201), ExitCode::kOk);
  EXPECT_EQ(exit_code_for_status(404), ExitCode::kNotFound);
  EXPECT_EQ(exit_code_for_status(401), ExitCode::kAuth);
  EXPECT_EQ(exit_code_for_status(403), ExitCode::kAuth);
  EXPECT_EQ(exit_code_for_status(400), ExitCode::kBadArgument);
  EXPECT_EQ(exit_code_for_status(422), ExitCode::kBadArgument);
  EXPECT_EQ(exit_code_for_status(409), ExitCode::kHttpError);
  EXPECT_EQ(exit_code_for_status(500), ExitCode::kHttpError);
  EXPECT_EQ(exit_code_for_status(502), ExitCode::kHttpError);
  EXPECT_EQ(exit_code_for_status(302), ExitCode::kHttpError);
}

TEST(ExitCodes, DistinctValues) {
  EXPECT_EQ(static_cast<int>(ExitCode::kOk), 0);
  EXPECT_EQ(static_cast<int>(ExitCode::kBadArgument), 2);
  EXPECT_EQ(static_cast<int>(ExitCode::kNotFound), 3);
  EXPECT_EQ(static_cast<int>(ExitCode::kUnreachable), 4);
  EXPECT_EQ(static_cast<int>(ExitCode::kHttpError), 5);
  EXPECT_EQ(static_cast<int>(ExitCode::kAuth), 6);
}

}  // namespace
}  // namespace hubstats::cli
