// The price of /metrics on the request path: Pipeline::handle with and without the
// HttpMetrics observer (same router, same request), recording alone from 1 and 2
// threads, and rendering a scrape. Ratios go to docs/benchmarks.md.
#include <benchmark/benchmark.h>

#include "serve/http/pipeline.h"
#include "serve/http/router.h"
#include "log/logger.h"
#include "serve/metrics/exposition.h"
#include "serve/metrics/http_metrics.h"

namespace {

using namespace hubstatsd;

// A route table shaped like hubstatsd's (the target route is near the end).
http::Router& router() {
  static http::Router r = [] {
    http::Router router;
    auto ok = [](const http::Request&, const http::PathParams&) {
      return http::json_response(200, R"({"downloads":1,"likes":0})");
    };
    for (const char* p : {"/health", "/metrics", "/dashboard", "/openapi.json", "/api/trending",
                          "/api/admin/repos", "/api/admin/users", "/api/admin/tokens"})
      router.add("GET", p, ok);
    for (const char* p :
         {"/{type}s/{ns}/{name}/like", "/{type}s/{ns}/{name}/likers", "/users/{user}/likes",
          "/{type}s/{ns}/{name}/stats/chart.svg", "/{type}s/{ns}/{name}/stats/badge",
          "/{type}s/{ns}/{name}/stats", "/{type}s/{ns}/{name}/stats/recent"})
      router.add_with_api_prefix("GET", p, ok);
    return router;
  }();
  return r;
}

http::Request request() {
  http::Request req;
  req.method = "GET";
  req.path = "/api/models/demo/tiny-model/stats/recent";
  req.query = {{"days", "30"}};
  req.headers["x-request-id"] = "bench-request-id";
  return req;
}

void BM_Pipeline(benchmark::State& state) {
  log::Logger::global().configure(log::Level::kWarn, log::Format::kLogfmt, "");
  metrics::HttpMetrics m(router());
  const http::Pipeline pipeline(router(), state.range(0) ? &m : nullptr);
  for (auto _ : state) {
    http::Request req = request();
    benchmark::DoNotOptimize(pipeline.handle(req));
  }
  state.SetLabel(state.range(0) ? "with metrics" : "without metrics");
}
BENCHMARK(BM_Pipeline)->Arg(0)->Arg(1);

void BM_Record(benchmark::State& state) {
  static metrics::HttpMetrics* m = new metrics::HttpMetrics(router());
  int i = 0;
  for (auto _ : state) {
    m->record(i % 20, "GET", 200, std::chrono::microseconds(150 + (i & 63)));
    ++i;
  }
}
BENCHMARK(BM_Record)->Threads(1)->Threads(2);

void BM_RenderScrape(benchmark::State& state) {
  metrics::HttpMetrics m(router());
  const auto routes = router().routes().size();
  for (std::size_t r = 0; r < routes; ++r)
    for (int s : {200, 404, 422, 503})
      m.record(static_cast<int>(r), "GET", s, std::chrono::milliseconds(2));
  std::size_t bytes = 0;
  for (auto _ : state) {
    metrics::Exposition e;
    m.render(e);
    bytes = e.text().size();
    benchmark::DoNotOptimize(bytes);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_RenderScrape);

}  // namespace

BENCHMARK_MAIN();
