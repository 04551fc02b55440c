// GET /metrics: the daemon's Prometheus metrics (docs/metrics.md) - HTTP requests by
// route and status, latency histograms, fold passes and lag, Redis/PostgreSQL errors
// and catalog cache hits/misses.
#pragma once

#include <string>

#include "catalog/catalog.h"
#include "serve/http/message.h"
#include "serve/http/router.h"
#include "serve/metrics/http_metrics.h"

namespace hubstatsd::metrics {

class MetricsEndpoint {
 public:
  // Both must outlive this object. Cache metrics appear when the catalog is a
  // CachingCatalog (both backends are).
  MetricsEndpoint(const http::Router& router, Catalog& catalog);

  // The pipeline's observer for per-request metrics.
  HttpMetrics& http() { return http_; }

  std::string render() const;
  http::Response handle(const http::Request& req, const http::PathParams& p) const;

 private:
  HttpMetrics http_;
  Catalog& catalog_;
};

// Registers GET /metrics.
void register_metrics_route(http::Router& router, MetricsEndpoint& endpoint);

}  // namespace hubstatsd::metrics
