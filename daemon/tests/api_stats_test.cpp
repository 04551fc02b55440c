#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "serve/api/stats_api.h"
#include "api_fakes.h"
#include "serve/http/pipeline.h"
#include "serve/http/router.h"

using hubstats::RepoType;
using hubstatsd::DayCounts;
using hubstatsd::TrendingCandidate;
using hubstatsd::api::StatsApi;
using hubstatsd::http::Request;
using hubstatsd::http::Response;
using hubstatsd::testing::FakeCatalog;
using hubstatsd::testing::FakeStore;

namespace {

// 2025-01-16 10:00:00 UTC
constexpr std::int64_t kNow = 1737021600;
const hubstats::Day kToday = hubstats::days_from_civil(2025, 1, 16);

class StatsApiTest : public ::testing::Test {
 protected:
  StatsApiTest() : api(catalog, store, [] { return kNow; }) {
    hubstatsd::api::register_stats_routes(router, api);
    catalog.add(RepoType::kModel, "myorg", "mymodel", false, 89);
    catalog.add(RepoType::kModel, "alice", "secret", true, 3);
    catalog.add(RepoType::kDataset, "myorg", "data", false, 5);
    catalog.tokens["alice-token"] = "alice";
    catalog.tokens["bob-token"] = "bob";
    store.totals["myorg/mymodel"] = 1234567;
    store.totals["alice/secret"] = 42;
  }

  Response get(std::string path, std::vector<std::pair<std::string, std::string>> q = {},
               std::string token = "") {
    Request r;
    r.method = "GET";
    r.path = std::move(path);
    r.query = std::move(q);
    if (!token.empty()) r.headers["authorization"] = "Bearer " + token;
    return router.dispatch(r);
  }

  FakeCatalog catalog;
  FakeStore store;
  StatsApi api;
  hubstatsd::http::Router router;
};

TEST_F(StatsApiTest, StatsShapeAndFieldOrder) {
  for (const char* path : {"/models/myorg/mymodel/stats", "/api/models/myorg/mymodel/stats"}) {
    const Response r = get(path);
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.body, R"({"downloads":1234567,"likes":89})") << path;
  }
}

TEST_F(StatsApiTest, UnknownRepoIs404WithErrorHeaders) {
  const Response r = get("/models/myorg/nope/stats");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.header("X-Error-Code"), "RepoNotFound");
  EXPECT_EQ(r.header("X-Error-Message"), "Repository 'myorg/nope' (model) not found");
  EXPECT_EQ(r.body, R"({"detail":"Repository 'myorg/nope' (model) not found"})");
}

TEST_F(StatsApiTest, TypeIsPartOfTheRepoIdentity) {
  // myorg/data is a dataset: as a model it does not exist.
  EXPECT_EQ(get("/models/myorg/data/stats").status, 404);
  EXPECT_EQ(get("/datasets/myorg/data/stats").status, 200);
  EXPECT_EQ(get("/datasets/myorg/data/stats").header("X-Error-Code"), "");
}

TEST_F(StatsApiTest, PrivateRepoLooksExactlyLikeAMissingOne) {
  for (const std::string token : {"", "bob-token", "garbage"}) {
    const Response hidden = get("/models/alice/secret/stats", {}, token);
    const Response expected = get("/models/alice/secret2/stats", {}, token);
    EXPECT_EQ(hidden.status, 404);
    EXPECT_EQ(hidden.body, R"({"detail":"Repository 'alice/secret' (model) not found"})");
    EXPECT_EQ(hidden.headers.size(), expected.headers.size());
  }
  const Response owner = get("/models/alice/secret/stats", {}, "alice-token");
  EXPECT_EQ(owner.status, 200);
  EXPECT_EQ(owner.body, R"({"downloads":42,"likes":3})");
}

TEST_F(StatsApiTest, RecentZeroFillsEveryDayAscending) {
  // The store returns days out of order, sparse, and one outside the period.
  store.days["myorg/mymodel"] = {
      DayCounts{kToday, 5, 2, 3, 9},
      DayCounts{kToday - 2, 1, 0, 1, 4},
      DayCounts{kToday - 100, 7, 7, 0, 7},
  };
  const Response r = get("/models/myorg/mymodel/stats/recent", {{"days", "3"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body,
            R"({"stats":[)"
            R"({"date":"2025-01-14","downloads":1,"authenticated":0,"anonymous":1,"files":4},)"
            R"({"date":"2025-01-15","downloads":0,"authenticated":0,"anonymous":0,"files":0},)"
            R"({"date":"2025-01-16","downloads":5,"authenticated":2,"anonymous":3,"files":9}],)"
            R"("period":{"start":"2025-01-14","end":"2025-01-16","days":3}})");
  ASSERT_EQ(store.periods_seen.size(), 1u);
  EXPECT_EQ(store.periods_seen[0].start, kToday - 2);
  EXPECT_EQ(store.periods_seen[0].end, kToday);
}

TEST_F(StatsApiTest, RecentDefaultsTo30DaysEndingToday) {
  const Response r = get("/api/models/myorg/mymodel/stats/recent");
  ASSERT_EQ(r.status, 200);
  const auto j = nlohmann::json::parse(r.body);
  ASSERT_EQ(j["stats"].size(), 30u);
  EXPECT_EQ(j["period"]["start"], "2024-12-18");
  EXPECT_EQ(j["period"]["end"], "2025-01-16");
  EXPECT_EQ(j["period"]["days"], 30);
  EXPECT_EQ(j["stats"][0]["date"], "2024-12-18");
  EXPECT_EQ(j["stats"][29]["date"], "2025-01-16");
}

TEST_F(StatsApiTest, RecentBoundsAreInclusive) {
  EXPECT_EQ(get("/models/myorg/mymodel/stats/recent", {{"days", "1"}}).status, 200);
  const Response year = get("/models/myorg/mymodel/stats/recent", {{"days", "365"}});
  ASSERT_EQ(year.status, 200);
  EXPECT_EQ(nlohmann::json::parse(year.body)["stats"].size(), 365u);
  EXPECT_EQ(get("/models/myorg/mymodel/stats/recent", {{"days", "366"}}).status, 422);
  EXPECT_EQ(get("/models/myorg/mymodel/stats/recent", {{"days", "0"}}).status, 422);
}

TEST_F(StatsApiTest, ValidationComesBeforeTheRepoLookup) {
  // As in FastAPI, a bad parameter is a 422 even for a repo that does not exist.
  const int before = catalog.lookups;
  const Response r = get("/models/nobody/nothing/stats/recent", {{"days", "abc"}});
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(catalog.lookups, before);
}

TEST_F(StatsApiTest, TrendingShapePeriodAndOrderFromTheStore) {
  store.ranked = {
      TrendingCandidate{{RepoType::kModel, "myorg", "mymodel"}, 10, 1234567},
      TrendingCandidate{{RepoType::kDataset, "myorg", "data"}, 9, 100},
  };
  const Response r = get("/api/trending");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body,
            R"({"trending":[{"id":"myorg/mymodel","type":"model","downloads":1234567,"likes":89,)"
            R"("recent_downloads":10,"private":false}],)"
            R"("period":{"start":"2025-01-10","end":"2025-01-16","days":7}})");
}

TEST_F(StatsApiTest, TrendingHidesPrivateFromAnonymousAndOutsiders) {
  catalog.add(RepoType::kModel, "pub", "a", false, 0);
  store.ranked = {
      TrendingCandidate{{RepoType::kModel, "alice", "secret"}, 50, 50},
      TrendingCandidate{{RepoType::kModel, "pub", "a"}, 40, 40},
      TrendingCandidate{{RepoType::kModel, "ghost", "unknown-to-catalog"}, 30, 30},
      TrendingCandidate{{RepoType::kModel, "myorg", "mymodel"}, 20, 20},
  };
  auto ids = [](const Response& r) {
    std::vector<std::string> out;
    const auto body = nlohmann::json::parse(r.body);
    for (const auto& e : body["trending"]) out.push_back(e["id"]);
    return out;
  };
  // limit applies after filtering: two visible entries even though a hidden one ranks first
  EXPECT_EQ(ids(get("/api/trending", {{"limit", "2"}})),
            (std::vector<std::string>{"pub/a", "myorg/mymodel"}));
  EXPECT_EQ(ids(get("/api/trending", {{"limit", "2"}}, "bob-token")),
            (std::vector<std::string>{"pub/a", "myorg/mymodel"}));
  const Response owner = get("/api/trending", {{"limit", "2"}}, "alice-token");
  EXPECT_EQ(ids(owner), (std::vector<std::string>{"alice/secret", "pub/a"}));
  EXPECT_EQ(nlohmann::json::parse(owner.body)["trending"][0]["private"], true);
}

TEST_F(StatsApiTest, TrendingFiltersByType) {
  store.ranked = {
      TrendingCandidate{{RepoType::kModel, "myorg", "mymodel"}, 10, 10},
      TrendingCandidate{{RepoType::kDataset, "myorg", "data"}, 9, 9},
  };
  const auto j = nlohmann::json::parse(get("/api/trending", {{"repo_type", "dataset"}}).body);
  ASSERT_EQ(j["trending"].size(), 1u);
  EXPECT_EQ(j["trending"][0]["id"], "myorg/data");
  EXPECT_EQ(j["trending"][0]["type"], "dataset");
  EXPECT_EQ(j["trending"][0]["likes"], 5);
}

TEST_F(StatsApiTest, TrendingValidationReportsAllParams) {
  const Response r =
      get("/api/trending", {{"repo_type", "nope"}, {"days", "91"}, {"limit", "101"}});
  EXPECT_EQ(r.status, 422);
  const auto j = nlohmann::json::parse(r.body);
  ASSERT_EQ(j["detail"].size(), 3u);
  EXPECT_EQ(j["detail"][0]["type"], "string_pattern_mismatch");
  EXPECT_EQ(j["detail"][1]["ctx"]["le"], 90);
  EXPECT_EQ(j["detail"][2]["ctx"]["le"], 100);
}

TEST_F(StatsApiTest, TrendingPeriodMath) {
  const auto j = nlohmann::json::parse(get("/api/trending", {{"days", "1"}}).body);
  EXPECT_EQ(j["period"]["start"], "2025-01-16");
  EXPECT_EQ(j["period"]["end"], "2025-01-16");
  const auto k = nlohmann::json::parse(get("/api/trending", {{"days", "90"}}).body);
  EXPECT_EQ(k["period"]["start"], "2024-10-19");
}

TEST_F(StatsApiTest, UnavailableBackendIs503ThroughThePipeline) {
  store.unavailable = true;
  hubstatsd::http::Pipeline pipeline(router);
  Request r;
  r.method = "GET";
  r.path = "/models/myorg/mymodel/stats";
  const Response res = pipeline.handle(r);
  EXPECT_EQ(res.status, 503);
  EXPECT_EQ(res.body, R"({"detail":"Service temporarily unavailable"})");
  EXPECT_FALSE(res.header("X-Request-Id").empty());
}

TEST_F(StatsApiTest, UnknownTypeOrBadSegmentsAreUnknownRoutes) {
  EXPECT_EQ(get("/widgets/myorg/mymodel/stats").body, R"({"detail":"Not Found"})");
  EXPECT_EQ(get("/models/my:org/mymodel/stats").status, 404);
  EXPECT_EQ(get("/models/my:org/mymodel/stats").header("X-Error-Code"), "");
}

}  // namespace
