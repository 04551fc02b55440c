#include "serve/metrics/metrics_endpoint.h"

#include "catalog/caching_catalog.h"
#include "base/counters.h"
#include "serve/metrics/exposition.h"

namespace hubstatsd::metrics {

MetricsEndpoint::MetricsEndpoint(const http::Router& router, Catalog& catalog)
    : http_(router), catalog_(catalog) {}

namespace {

std::uint64_t load(const std::atomic<std::uint64_t>& c) {
  return c.load(std::memory_order_relaxed);
}

void render_backend(Exposition& out) {
  const Counters& c = counters();
  out.family("hubstatsd_fold_runs_total", "counter",
             "Background fold passes that ended (successfully or not).");
  out.sample("hubstatsd_fold_runs_total", {}, load(c.fold_runs));
  out.family("hubstatsd_fold_errors_total", "counter",
             "Background fold passes that failed (Redis or PostgreSQL unavailable).");
  out.sample("hubstatsd_fold_errors_total", {}, load(c.fold_errors));
  out.family("hubstatsd_fold_rows_total", "counter",
             "(repo, day) rows that background fold passes applied to PostgreSQL.");
  out.sample("hubstatsd_fold_rows_total", {}, load(c.fold_rows));

  const std::int64_t now = unix_now_ms();
  const std::int64_t last = c.fold_last_success_ms.load(std::memory_order_relaxed);
  out.family("hubstatsd_fold_last_success_timestamp_seconds", "gauge",
             "Unix time the last successful background fold pass ended; 0 before the first.");
  out.sample("hubstatsd_fold_last_success_timestamp_seconds", {},
             static_cast<double>(last) / 1000.0);
  const std::int64_t since = last > 0 ? last : process_start_ms();
  out.family("hubstatsd_fold_lag_seconds", "gauge",
             "Seconds since the last successful background fold pass ended (since the "
             "daemon started, before the first). Past days older than this may still be "
             "waiting in Redis.");
  out.sample("hubstatsd_fold_lag_seconds", {},
             static_cast<double>(now > since ? now - since : 0) / 1000.0);

  out.family("hubstatsd_redis_errors_total", "counter",
             "Redis calls that failed: connect errors, broken connections, timeouts, calls "
             "refused while reconnecting or for want of a pooled connection.");
  out.sample("hubstatsd_redis_errors_total", {}, load(c.redis_errors));
  out.family("hubstatsd_postgres_errors_total", "counter",
             "PostgreSQL calls that failed: the same causes as for Redis, plus statements "
             "the server rejected.");
  out.sample("hubstatsd_postgres_errors_total", {}, load(c.postgres_errors));
}

void render_caches(Exposition& out, Catalog& catalog) {
  const auto* caching = dynamic_cast<const CachingCatalog*>(&catalog);
  if (!caching) return;
  const auto counts = caching->cache_counts();
  out.family("hubstatsd_cache_hits_total", "counter",
             "Catalog lookups answered from the in-memory cache, by cache.");
  for (const auto& c : counts)
    out.sample("hubstatsd_cache_hits_total", {{"cache", c.cache}}, c.hits);
  out.family("hubstatsd_cache_misses_total", "counter",
             "Catalog lookups the cache could not answer (absent or expired), by cache.");
  for (const auto& c : counts)
    out.sample("hubstatsd_cache_misses_total", {{"cache", c.cache}}, c.misses);
}

}  // namespace

std::string MetricsEndpoint::render() const {
  Exposition out;
  http_.render(out);
  render_backend(out);
  render_caches(out, catalog_);
  out.family("hubstatsd_build_info", "gauge", "hubstatsd's version, value 1.");
  out.sample("hubstatsd_build_info", {{"version", HUBSTATS_VERSION}}, std::uint64_t{1});
  out.family("process_start_time_seconds", "gauge", "Unix time the process started.");
  out.sample("process_start_time_seconds", {}, static_cast<double>(process_start_ms()) / 1000.0);
  return out.take();
}

http::Response MetricsEndpoint::handle(const http::Request&, const http::PathParams&) const {
  http::Response res;
  res.status = 200;
  res.content_type = std::string(kContentType);
  res.headers.emplace_back("Cache-Control", "no-store");
  res.body = render();
  return res;
}

void register_metrics_route(http::Router& router, MetricsEndpoint& endpoint) {
  router.add("GET", "/metrics", [&endpoint](const http::Request& r, const http::PathParams& p) {
    return endpoint.handle(r, p);
  });
}

}  // namespace hubstatsd::metrics
