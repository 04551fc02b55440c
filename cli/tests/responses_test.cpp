#include "responses.h"

#include <gtest/gtest.h>

#include "api_client.h"
#include "exit_codes.h"

namespace hubstats::cli {
namespace {

using nlohmann::json;

TEST(ParseRecent, SpecExample) {
  auto j = json::parse(R"({"stats":[
      {"date":"2025-01-15","downloads":123,"authenticated":45,"anonymous":78,"files":456},
      {"date":"2025-01-16","downloads":145,"authenticated":52,"anonymous":93,"files":512}],
    "period":{"start":"2025-01-15","end":"2025-01-16","days":2}})");
  auto r = parse_recent_stats(j);
  ASSERT_EQ(r.days.size(), 2u);
  EXPECT_EQ(r.days[1].date, "2025-01-16");
  EXPECT_EQ(r.days[1].anonymous, 93);
  EXPECT_EQ(r.days[0].files, 456);
  EXPECT_EQ(r.period.days, 2);
}

TEST(ParseRecent, WrongShapeIsHttpError) {
  for (const char* body : {R"({})", R"({"stats":{},"period":{}})",
                           R"({"stats":[{"date":"x"}],"period":{"start":"a","end":"b","days":1}})",
                           R"({"stats":[],"period":{"start":"a","end":"b","days":"1"}})"}) {
    try {
      parse_recent_stats(json::parse(body));
      ADD_FAILURE() << body;
    } catch (const CliError& e) {
      EXPECT_EQ(e.code(), ExitCode::kHttpError);
    }
  }
}

TEST(ParseTrending, ReadsEntriesAndPrivateFlag) {
  auto j = json::parse(R"({"trending":[
      {"id":"a/b","type":"model","downloads":10,"likes":2,"recent_downloads":5,"private":true},
      {"id":"c/d","type":"model","downloads":3,"likes":0,"recent_downloads":1,"private":false}],
    "period":{"start":"2025-01-09","end":"2025-01-16","days":7}})");
  auto t = parse_trending(j);
  ASSERT_EQ(t.entries.size(), 2u);
  EXPECT_TRUE(t.entries[0].is_private);
  EXPECT_FALSE(t.entries[1].is_private);
  EXPECT_EQ(t.entries[0].recent_downloads, 5);
}

TEST(ParseRepoStats, NeedsIntegers) {
  EXPECT_EQ(parse_repo_stats(json::parse(R"({"downloads":7,"likes":1})")).downloads, 7);
  EXPECT_THROW(parse_repo_stats(json::parse(R"({"downloads":"7","likes":1})")), CliError);
}

HttpResponse response(int status, std::string body, std::string x_error = "") {
  HttpResponse r;
  r.status = status;
  r.reason = status == 502 ? "Bad Gateway" : "Error";
  r.body = std::move(body);
  r.error_message = std::move(x_error);
  return r;
}

TEST(ErrorDetail, FastApiShapes) {
  EXPECT_EQ(error_detail(response(409, R"({"detail":"repository already exists"})")),
            "repository already exists");
  EXPECT_EQ(error_detail(response(400, R"({"detail":{"error":"Repository already liked"}})")),
            "Repository already liked");
  EXPECT_EQ(error_detail(
                response(422, R"({"detail":[{"loc":["query","limit"],"msg":"must be <= 1000"}]})")),
            "query.limit: must be <= 1000");
}

TEST(ErrorDetail, FallsBackToHeaderThenBodyThenStatus) {
  EXPECT_EQ(error_detail(response(404, "", "Repository 'a/b' (model) not found")),
            "Repository 'a/b' (model) not found");
  EXPECT_EQ(error_detail(response(500, "boom\nmore")), "boom");
  EXPECT_EQ(error_detail(response(502, "<html><body>bad</body></html>")), "502 Bad Gateway");
}

TEST(ErrorDetail, AlwaysOneLine) {
  auto d = error_detail(response(500, R"({"detail":"line one\nline two"})"));
  EXPECT_EQ(d.find('\n'), std::string::npos);
  EXPECT_EQ(d, "line one line two");
  auto long_detail = error_detail(response(500, std::string(1000, 'x')));
  EXPECT_LE(long_detail.size(), 303u);
}

TEST(RepoPath, EncodesSegments) {
  EXPECT_EQ(repo_path({RepoType::kSpace, "org", "app"}), "/spaces/org/app");
  EXPECT_EQ(repo_path({RepoType::kModel, "a", "b.c"}), "/models/a/b.c");
}

}  // namespace
}  // namespace hubstats::cli
