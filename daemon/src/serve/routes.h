// The operator and user kit served next to the Statistics API: /metrics, the chart.svg
// and badge pictures, /dashboard and /openapi.json. commands.cpp wires it with:
//   serve::SiteRoutes extras(router, catalog, stats_store);
//   extras.register_routes(router);
//   http::Pipeline pipeline(router, &extras.request_observer());
#pragma once

#include "catalog/catalog.h"
#include "serve/http/pipeline.h"
#include "serve/http/router.h"
#include "serve/metrics/metrics_endpoint.h"
#include "serve/pictures/pictures_api.h"
#include "store/stats_reader.h"

namespace hubstatsd::serve {

class SiteRoutes {
 public:
  // All three must outlive this object; `router` is read for metrics labels.
  SiteRoutes(const http::Router& router, Catalog& catalog, StatsReader& stats,
             Clock clock = system_unix_now);

  void register_routes(http::Router& router);
  // Per-request metrics; pass to the Pipeline.
  http::RequestObserver& request_observer() { return metrics_.http(); }
  metrics::MetricsEndpoint& metrics() { return metrics_; }

 private:
  metrics::MetricsEndpoint metrics_;
  pictures::PicturesApi pictures_;
};

}  // namespace hubstatsd::serve
