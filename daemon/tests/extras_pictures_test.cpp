// chart.svg and badge: formatting helpers, SVG content and safety, and the access and
// validation rules shared with /stats (compared response for response).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "serve/api/stats_api.h"
#include "api_fakes.h"
#include "serve/http/pipeline.h"
#include "serve/http/router.h"
#include "serve/pictures/human_count.h"
#include "serve/pictures/pictures_api.h"
#include "serve/pictures/svg_chart.h"

namespace hubstatsd {
namespace {

using hubstats::RepoType;
using pictures::human_count;

TEST(HumanCount, ShieldsStyleShortForms) {
  const std::vector<std::pair<std::int64_t, std::string>> cases = {
      {0, "0"},           {7, "7"},           {999, "999"},   {1000, "1k"},      {1049, "1k"},
      {1050, "1.1k"},     {1234, "1.2k"},     {9949, "9.9k"}, {9950, "10k"},     {12345, "12k"},
      {123456, "123k"},   {999499, "999k"},   {999500, "1M"}, {1234567, "1.2M"}, {5678900, "5.7M"},
      {1000000000, "1G"}, {INT64_MAX, "9.2E"}};
  for (const auto& [n, s] : cases) EXPECT_EQ(human_count(n), s) << n;
  EXPECT_EQ(pictures::grouped_count(1234567), "1,234,567");
  EXPECT_EQ(pictures::grouped_count(999), "999");
  EXPECT_EQ(pictures::grouped_count(1000), "1,000");
}

TEST(NiceScale, StepsAreOneTwoFiveTimesPowersOfTen) {
  EXPECT_EQ(pictures::nice_scale(0).top, 4);
  EXPECT_EQ(pictures::nice_scale(3).step, 1);
  EXPECT_EQ(pictures::nice_scale(7).step, 2);
  EXPECT_EQ(pictures::nice_scale(7).top, 8);
  EXPECT_EQ(pictures::nice_scale(123).step, 50);
  EXPECT_EQ(pictures::nice_scale(123).top, 150);
  EXPECT_EQ(pictures::nice_scale(1000).step, 500);
  for (std::int64_t max : {1, 9, 10, 11, 99, 101, 4567, 99999, 1234567}) {
    const auto s = pictures::nice_scale(max);
    EXPECT_GE(s.top, max);
    EXPECT_LE(s.top / s.step, 5) << max;
    std::int64_t m = s.step;
    while (m % 10 == 0) m /= 10;
    EXPECT_TRUE(m == 1 || m == 2 || m == 5) << s.step;
  }
}

TEST(XmlEscape, EscapesMarkupAndDropsControlCharacters) {
  EXPECT_EQ(pictures::xml_escape("<a href=\"x\">&'</a>\x01"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt; ");
}

std::vector<DayCounts> sample_days(hubstats::Day first, int n) {
  std::vector<DayCounts> out;
  for (int i = 0; i < n; ++i) out.push_back(DayCounts{first + i, 3 * i, i, 2 * i, 5 * i});
  return out;
}

TEST(SvgChart, StandaloneEscapedAndWithoutActiveContent) {
  pictures::ChartInput in;
  in.title = "model <evil>&\"co\"/x";
  in.subtitle = "sub </svg><script>alert(1)</script>";
  in.days = sample_days(hubstats::days_from_civil(2025, 1, 1), 30);
  const std::string svg = pictures::render_chart_svg(in);
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_EQ(svg.find("<script"), std::string::npos);
  EXPECT_EQ(svg.find("<evil>"), std::string::npos);
  EXPECT_NE(svg.find("model &lt;evil&gt;&amp;&quot;co&quot;/x"), std::string::npos);
  EXPECT_EQ(svg.find("href"), std::string::npos);  // no links, no external refs
  EXPECT_EQ(svg.find("url("), std::string::npos);
  EXPECT_EQ(svg.find("<image"), std::string::npos);
  EXPECT_EQ(svg.find("<foreignObject"), std::string::npos);
  EXPECT_FALSE(std::regex_search(svg, std::regex(R"(\son[a-z]+=)")));  // no event handlers
  // One tooltip per day; the legend; first and last date labels.
  std::size_t tooltips = 0;
  for (std::size_t p = 0; (p = svg.find("<g><title>", p)) != std::string::npos; ++p) ++tooltips;
  EXPECT_EQ(tooltips, 30u);
  EXPECT_NE(svg.find(">authenticated</text>"), std::string::npos);
  EXPECT_NE(svg.find(">anonymous</text>"), std::string::npos);
  EXPECT_NE(svg.find(">Jan 1</text>"), std::string::npos);
  EXPECT_NE(svg.find(">Jan 30</text>"), std::string::npos);
  EXPECT_NE(svg.find("2025-01-30: 87 downloads (29 authenticated, 58 anonymous)"),
            std::string::npos);
  // Balanced tags (a cheap well-formedness check: every opened element is closed).
  std::size_t open = 0, close = 0, self = 0;
  for (std::size_t i = 0; i + 1 < svg.size(); ++i) {
    if (svg[i] == '<' && svg[i + 1] == '/')
      ++close;
    else if (svg[i] == '<')
      ++open;
    if (svg[i] == '/' && svg[i + 1] == '>') ++self;
  }
  EXPECT_EQ(open, close + self);
}

TEST(SvgChart, EmptyAndSingleDay) {
  pictures::ChartInput in;
  in.title = "t";
  in.days = {DayCounts{hubstats::days_from_civil(2025, 3, 4)}};
  const std::string svg = pictures::render_chart_svg(in);
  EXPECT_NE(svg.find(">Mar 4</text>"), std::string::npos);
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  EXPECT_EQ(svg.find("inf"), std::string::npos);
}

// 2025-01-16 10:00:00 UTC
constexpr std::int64_t kNow = 1737021600;
const hubstats::Day kToday = hubstats::days_from_civil(2025, 1, 16);

class PicturesTest : public ::testing::Test {
 protected:
  PicturesTest()
      : stats(catalog, store, [] { return kNow; }), pics(catalog, store, [] { return kNow; }) {
    api::register_stats_routes(router, stats);
    pictures::register_picture_routes(router, pics);
    catalog.add(RepoType::kModel, "myorg", "mymodel", false, 89);
    catalog.add(RepoType::kModel, "alice", "secret", true, 3);
    catalog.tokens["alice-token"] = "alice";
    store.totals["myorg/mymodel"] = 1234567;
    store.totals["alice/secret"] = 4321;
    store.days["myorg/mymodel"] = {DayCounts{kToday, 10, 4, 6, 20},
                                   DayCounts{kToday - 2, 5, 5, 0, 9},
                                   DayCounts{kToday - 40, 1000, 0, 1000, 1000}};
  }

  http::Response get(std::string path, std::vector<std::pair<std::string, std::string>> q = {},
                     std::string token = "") {
    http::Request r;
    r.method = "GET";
    r.path = std::move(path);
    r.query = std::move(q);
    if (!token.empty()) r.headers["authorization"] = "Bearer " + token;
    http::Pipeline p(router);
    return p.handle(r);
  }

  static void expect_same_error(const http::Response& a, const http::Response& b) {
    EXPECT_EQ(a.status, b.status);
    EXPECT_EQ(a.body, b.body);
    EXPECT_EQ(a.header("X-Error-Code"), b.header("X-Error-Code"));
    EXPECT_EQ(a.header("X-Error-Message"), b.header("X-Error-Message"));
    EXPECT_EQ(a.content_type, b.content_type);
  }

  testing::FakeCatalog catalog;
  testing::FakeStore store;
  http::Router router;
  api::StatsApi stats;
  pictures::PicturesApi pics;
};

TEST_F(PicturesTest, ChartIsAnSvgOfThePeriod) {
  for (const char* prefix : {"", "/api"}) {
    const auto r =
        get(std::string(prefix) + "/models/myorg/mymodel/stats/chart.svg", {{"days", "7"}});
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.content_type, "image/svg+xml; charset=utf-8");
    EXPECT_EQ(r.header("Cache-Control"), "public, max-age=300");
    EXPECT_EQ(r.header("X-Content-Type-Options"), "nosniff");
    EXPECT_NE(r.body.find("model myorg/mymodel"), std::string::npos);
    EXPECT_NE(r.body.find("2025-01-10 to 2025-01-16 (7 days): 15"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("2025-01-16: 10 downloads (4 authenticated, 6 anonymous)"),
              std::string::npos);
    EXPECT_NE(r.body.find("2025-01-15: 0 downloads"), std::string::npos);  // zero-filled
    EXPECT_EQ(r.body.find("2025-01-09"), std::string::npos);               // outside the period
  }
  EXPECT_NE(get("/models/myorg/mymodel/stats/chart.svg").body.find("(30 days)"), std::string::npos);
}

TEST_F(PicturesTest, PrivateAndMissingAreTheSame404AsStats) {
  for (const char* suffix : {"/stats/chart.svg", "/stats/badge"}) {
    const auto missing = get(std::string("/models/alice/nothing") + suffix);
    const auto hidden = get(std::string("/models/alice/secret") + suffix);
    const auto hidden_other = get(std::string("/models/alice/secret") + suffix, {}, "nobody-token");
    const auto stats_missing = get("/models/alice/nothing/stats");
    EXPECT_EQ(hidden.status, 404);
    EXPECT_EQ(hidden.header("X-Error-Code"), "RepoNotFound");
    expect_same_error(missing, stats_missing);
    // Same repo name: private and missing differ only by name, so compare to /stats of it.
    expect_same_error(hidden, get("/models/alice/secret/stats"));
    expect_same_error(hidden_other, hidden);
    const auto owner = get(std::string("/models/alice/secret") + suffix, {}, "alice-token");
    EXPECT_EQ(owner.status, 200);
    EXPECT_EQ(owner.header("Cache-Control"), "private, max-age=60");
  }
  // The type is part of the identity.
  EXPECT_EQ(get("/datasets/myorg/mymodel/stats/badge").status, 404);
}

TEST_F(PicturesTest, ChartDaysValidationIsRecentsValidation) {
  for (const char* days : {"0", "366", "x", "-1", "3.5"}) {
    const auto chart = get("/models/myorg/mymodel/stats/chart.svg", {{"days", days}});
    const auto recent = get("/models/myorg/mymodel/stats/recent", {{"days", days}});
    EXPECT_EQ(chart.status, 422) << days;
    EXPECT_EQ(chart.body, recent.body) << days;
  }
  // Validation comes before the repo lookup, as for /stats/recent.
  EXPECT_EQ(get("/models/alice/nothing/stats/chart.svg", {{"days", "0"}}).status, 422);
  EXPECT_EQ(get("/models/myorg/mymodel/stats/chart.svg", {{"days", "365"}}).status, 200);
  EXPECT_EQ(get("/models/myorg/mymodel/stats/chart.svg", {{"days", "1"}}).status, 200);
}

TEST_F(PicturesTest, BadgeIsShieldsEndpointJson) {
  auto j = nlohmann::json::parse(get("/models/myorg/mymodel/stats/badge").body);
  EXPECT_EQ(j["schemaVersion"], 1);
  EXPECT_EQ(j["label"], "downloads");
  EXPECT_EQ(j["message"], "1.2M");
  EXPECT_EQ(j["color"], "blue");
  j = nlohmann::json::parse(get("/api/models/myorg/mymodel/stats/badge", {{"period", "7d"}}).body);
  EXPECT_EQ(j["message"], "15/week");
  j = nlohmann::json::parse(get("/models/myorg/mymodel/stats/badge", {{"period", "1d"}}).body);
  EXPECT_EQ(j["message"], "10/day");
  j = nlohmann::json::parse(get("/models/myorg/mymodel/stats/badge", {{"period", "365d"}}).body);
  EXPECT_EQ(j["message"], "1k/year");
  const auto bad = get("/models/myorg/mymodel/stats/badge", {{"period", "week"}});
  EXPECT_EQ(bad.status, 422);
  const auto detail = nlohmann::json::parse(bad.body)["detail"][0];
  EXPECT_EQ(detail["type"], "string_pattern_mismatch");
  EXPECT_EQ(detail["loc"], nlohmann::json::array({"query", "period"}));
}

TEST_F(PicturesTest, StoreOutageIs503) {
  store.unavailable = true;
  EXPECT_EQ(get("/models/myorg/mymodel/stats/chart.svg").status, 503);
  EXPECT_EQ(get("/models/myorg/mymodel/stats/badge").status, 503);
}

}  // namespace
}  // namespace hubstatsd
