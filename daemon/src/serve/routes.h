// The routes served around the Statistics API (once called "extras"): /metrics, the
// chart.svg and badge pictures, /dashboard and /openapi.json. app/commands.cpp wires:
//   serve::SiteRoutes site(router, catalog, storage.reader());
//   site.register_routes(router);
//   http::Pipeline pipeline(router, &site.request_observer());
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
