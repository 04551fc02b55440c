// /metrics: exposition format, per-route counting through the real Pipeline, the
// histogram's invariants, lock-free counting under concurrency, fold and cache counters.
#include <gtest/gtest.h>

#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "api_fakes.h"
#include "catalog/caching_catalog.h"
#include "serve/http/pipeline.h"
#include "serve/http/router.h"
#include "base/counters.h"
#include "serve/metrics/exposition.h"
#include "serve/metrics/http_metrics.h"
#include "serve/metrics/metrics_endpoint.h"
#include "store/stats_reader.h"

namespace hubstatsd {
namespace {

using metrics::HttpMetrics;

http::Request get(std::string path, std::string method = "GET") {
  http::Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  return r;
}

// Value of the sample whose line starts with `prefix` followed by a space.
std::optional<double> sample(const std::string& text, const std::string& prefix) {
  std::size_t pos = 0;
  while ((pos = text.find(prefix + " ", pos)) != std::string::npos) {
    if (pos == 0 || text[pos - 1] == '\n') return std::stod(text.substr(pos + prefix.size() + 1));
    pos += prefix.size();
  }
  return std::nullopt;
}

http::Router demo_router() {
  http::Router router;
  router.add("GET", "/items/{id}", [](const http::Request&, const http::PathParams& p) {
    if (p.at("id") == "gone") return http::detail_response(404, "gone");
    if (p.at("id") == "down") throw Unavailable("redis down");
    return http::json_response(200, "{}");
  });
  router.add("POST", "/items/{id}", [](const http::Request&, const http::PathParams&) {
    return http::json_response(201, "{}");
  });
  return router;
}

TEST(Exposition, EscapesLabelValuesAndFormatsValues) {
  EXPECT_EQ(metrics::escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(metrics::format_value(3.0), "3");
  EXPECT_EQ(metrics::format_value(0.25), "0.25");
  EXPECT_EQ(metrics::format_value(1.0 / 0.0), "+Inf");
  metrics::Exposition e;
  e.family("x_total", "counter", "Help with \\ and\nnewline.");
  e.sample("x_total", {{"route", "/{a}\""}}, std::uint64_t{7});
  EXPECT_EQ(e.text(),
            "# HELP x_total Help with \\\\ and\\nnewline.\n# TYPE x_total counter\n"
            "x_total{route=\"/{a}\\\"\"} 7\n");
}

TEST(HttpMetrics, CountsByRoutePatternMethodAndStatusThroughThePipeline) {
  http::Router router = demo_router();
  HttpMetrics m(router);
  http::Pipeline pipeline(router, &m);
  for (const char* id : {"a", "b", "c"}) {
    auto r = get(std::string("/items/") + id);
    EXPECT_EQ(pipeline.handle(r).status, 200);
  }
  auto gone = get("/items/gone");
  EXPECT_EQ(pipeline.handle(gone).status, 404);
  auto down = get("/items/down");
  EXPECT_EQ(pipeline.handle(down).status, 503);  // thrown by the handler: still its route
  auto post = get("/items/x", "POST");
  EXPECT_EQ(pipeline.handle(post).status, 201);
  auto unknown = get("/nope/1");
  EXPECT_EQ(pipeline.handle(unknown).status, 404);
  auto wrong = get("/items/x", "DELETE");
  EXPECT_EQ(pipeline.handle(wrong).status, 405);
  auto weird = get("/nope", "BREW");

  EXPECT_EQ(pipeline.handle(weird).status, 404);

  metrics::Exposition e;
  m.render(e);
  const std::string t = e.text();
  const std::string c = "hubstatsd_http_requests_total";
  EXPECT_EQ(sample(t, c + R"({route="/items/{id}",method="GET",status="200"})"), 3);
  EXPECT_EQ(sample(t, c + R"({route="/items/{id}",method="GET",status="404"})"), 1);
  EXPECT_EQ(sample(t, c + R"({route="/items/{id}",method="GET",status="503"})"), 1);
  EXPECT_EQ(sample(t, c + R"({route="/items/{id}",method="POST",status="201"})"), 1);
  EXPECT_EQ(sample(t, c + R"({route="unmatched",method="GET",status="404"})"), 1);
  EXPECT_EQ(sample(t, c + R"({route="unmatched",method="DELETE",status="405"})"), 1);
  EXPECT_EQ(sample(t, c + R"({route="unmatched",method="other",status="404"})"), 1);
  // The raw path never becomes a label.
  EXPECT_EQ(t.find("/items/a"), std::string::npos);
  EXPECT_EQ(t.find("BREW"), std::string::npos);
  EXPECT_EQ(sample(t, R"(hubstatsd_http_route_info{route="/items/{id}",method="POST"})"), 1);

  const std::string h = "hubstatsd_http_request_duration_seconds";
  EXPECT_EQ(sample(t, h + R"(_count{route="/items/{id}",method="GET"})"), 5);
  EXPECT_EQ(sample(t, h + R"(_bucket{route="/items/{id}",method="GET",le="+Inf"})"), 5);
  EXPECT_NE(t.find("# TYPE " + h + " histogram"), std::string::npos);
}

TEST(HttpMetrics, BucketsAreCumulativeAndSumIsInSeconds) {
  http::Router router = demo_router();
  HttpMetrics m(router);
  using std::chrono::microseconds;
  using std::chrono::milliseconds;
  m.record(0, "GET", 200, microseconds(100));         // <= 0.0005
  m.record(0, "GET", 200, milliseconds(3));           // <= 0.005
  m.record(0, "GET", 200, milliseconds(3));           // <= 0.005
  m.record(0, "GET", 200, std::chrono::seconds(20));  // above every bound
  metrics::Exposition e;
  m.render(e);
  const std::string t = e.text();
  const std::string b =
      R"(hubstatsd_http_request_duration_seconds_bucket{route="/items/{id}",method="GET",le=")";
  EXPECT_EQ(sample(t, b + "0.0005\"}"), 1);
  EXPECT_EQ(sample(t, b + "0.0025\"}"), 1);
  EXPECT_EQ(sample(t, b + "0.005\"}"), 3);
  EXPECT_EQ(sample(t, b + "10\"}"), 3);
  EXPECT_EQ(sample(t, b + "+Inf\"}"), 4);
  const auto sum =
      sample(t, R"(hubstatsd_http_request_duration_seconds_sum{route="/items/{id}",method="GET"})");
  ASSERT_TRUE(sum);
  EXPECT_NEAR(*sum, 20.0061, 1e-9);
}

TEST(HttpMetrics, ConcurrentRecordingLosesNothing) {
  http::Router router = demo_router();
  HttpMetrics m(router);
  constexpr int kThreads = 4, kEach = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&m, t] {
      for (int i = 0; i < kEach; ++i)
        m.record(i % 2, i % 2 ? "POST" : "GET", 200 + (t + i) % 5, std::chrono::microseconds(i));
    });
  for (auto& th : threads) th.join();
  metrics::Exposition e;
  m.render(e);
  const std::string t = e.text();
  double total = 0;
  std::regex line(R"(^hubstatsd_http_requests_total\{.*\} (\d+)$)");
  std::istringstream in(t);
  for (std::string l; std::getline(in, l);) {
    std::smatch mm;
    if (std::regex_match(l, mm, line)) total += std::stod(mm[1]);
  }
  EXPECT_EQ(total, kThreads * kEach);
  EXPECT_EQ(
      sample(t,
             R"(hubstatsd_http_request_duration_seconds_count{route="/items/{id}",method="GET"})"),
      kThreads * kEach / 2);
}

TEST(HttpMetrics, TooManyDistinctStatusesFallIntoOther) {
  http::Router router = demo_router();
  HttpMetrics m(router);
  for (int s = 0; s < static_cast<int>(HttpMetrics::kMaxStatuses) + 3; ++s)
    m.record(0, "GET", 200 + s, std::chrono::microseconds(1));
  metrics::Exposition e;
  m.render(e);
  EXPECT_EQ(
      sample(e.text(),
             R"(hubstatsd_http_requests_total{route="/items/{id}",method="GET",status="other"})"),
      3);
}

TEST(FoldRun, CountsPassesRowsErrorsAndLastSuccess) {
  auto& c = metrics::counters();
  const auto runs = c.fold_runs.load(), errors = c.fold_errors.load(), rows = c.fold_rows.load();
  {
    std::int64_t applied = 0;
    metrics::FoldRun run(applied);
    applied = 5;
  }
  EXPECT_EQ(c.fold_runs.load(), runs + 1);
  EXPECT_EQ(c.fold_rows.load(), rows + 5);
  EXPECT_EQ(c.fold_errors.load(), errors);
  EXPECT_GT(c.fold_last_success_ms.load(), 0);
  const auto last = c.fold_last_success_ms.load();
  try {
    std::int64_t applied = 2;
    metrics::FoldRun run(applied);
    throw Unavailable("postgres down");
  } catch (const Unavailable&) {
  }
  EXPECT_EQ(c.fold_runs.load(), runs + 2);
  EXPECT_EQ(c.fold_errors.load(), errors + 1);
  EXPECT_EQ(c.fold_rows.load(), rows + 7);
  EXPECT_EQ(c.fold_last_success_ms.load(), last);  // a failed pass is no success
}

class CountingSource : public CatalogSource {
 public:
  std::optional<std::string> user_by_token_hash(const std::string&) override {
    return std::nullopt;
  }
  std::optional<std::string> user_by_session(const std::string&) override { return std::nullopt; }
  std::optional<RepoInfo> repo(const hubstats::RepoRef& ref) override {
    return RepoInfo{ref, false, 3};
  }
  bool is_member(const std::string&, const std::string&) override { return false; }
};

TEST(MetricsEndpoint, RendersBackendAndCacheCounters) {
  CountingSource source;
  CachingCatalog catalog(source, CacheOptions{std::chrono::seconds(60), 100}, "", "");
  const hubstats::RepoRef ref{hubstats::RepoType::kModel, "demo", "m"};
  catalog.find_repo(ref);                  // miss
  catalog.find_repo(ref);                  // hit
  catalog.find_repo(ref);                  // hit
  catalog.authenticate("some-token", "");  // token cache miss

  http::Router router;
  metrics::MetricsEndpoint endpoint(router, catalog);
  metrics::register_metrics_route(router, endpoint);
  metrics::add(metrics::counters().redis_errors);
  const auto redis_errors = metrics::counters().redis_errors.load();

  http::Pipeline pipeline(router, &endpoint.http());
  auto req = get("/metrics");
  const http::Response res = pipeline.handle(req);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.content_type, "text/plain; version=0.0.4; charset=utf-8");
  const std::string& t = res.body;
  EXPECT_EQ(sample(t, R"(hubstatsd_cache_hits_total{cache="repo"})"), 2);
  EXPECT_EQ(sample(t, R"(hubstatsd_cache_misses_total{cache="repo"})"), 1);
  EXPECT_EQ(sample(t, R"(hubstatsd_cache_misses_total{cache="token"})"), 1);
  EXPECT_EQ(sample(t, R"(hubstatsd_cache_hits_total{cache="membership"})"), 0);
  EXPECT_EQ(sample(t, "hubstatsd_redis_errors_total"), static_cast<double>(redis_errors));
  EXPECT_TRUE(sample(t, "hubstatsd_postgres_errors_total"));
  EXPECT_TRUE(sample(t, "hubstatsd_fold_runs_total"));
  const auto lag = sample(t, "hubstatsd_fold_lag_seconds");
  ASSERT_TRUE(lag);
  EXPECT_GE(*lag, 0);
  EXPECT_EQ(sample(t, R"(hubstatsd_build_info{version=")" + std::string(HUBSTATS_VERSION) + "\"}"),
            1);

  // Every non-comment line is "name{labels} value" or "name value"; every family has TYPE.
  std::istringstream in(t);
  std::regex sample_line(
      R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? [-+0-9.eEInfa]+$)");
  for (std::string l; std::getline(in, l);) {
    if (l.rfind("# HELP ", 0) == 0 || l.rfind("# TYPE ", 0) == 0) continue;
    EXPECT_TRUE(std::regex_match(l, sample_line)) << l;
  }
}

TEST(TtlCacheCounters, HitsAndMissesIncludingExpiry) {
  auto now = std::chrono::steady_clock::time_point{};
  TtlCache<int> cache(std::chrono::milliseconds(10), 10, [&] { return now; });
  EXPECT_FALSE(cache.get("a"));
  cache.put("a", 1);
  EXPECT_EQ(cache.get("a"), 1);
  now += std::chrono::milliseconds(11);
  EXPECT_FALSE(cache.get("a"));  // expired
  EXPECT_EQ(cache.hits(), 1u);
  EXPECT_EQ(cache.misses(), 2u);
}

}  // namespace
}  // namespace hubstatsd
