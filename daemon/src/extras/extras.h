// The operator and user kit served next to the Statistics API: /metrics, the chart.svg
// and badge pictures, /dashboard and /openapi.json. commands.cpp wires it with:
//   extras::Extras extras(router, catalog, stats_store);
//   extras.register_routes(router);
//   http::Pipeline pipeline(router, &extras.request_observer());
#pragma once

#include "catalog/catalog.h"
#include "http/pipeline.h"
#include "http/router.h"
#include "metrics/metrics_endpoint.h"
#include "pictures/pictures_api.h"
#include "store/stats_store.h"

namespace hubstatsd::extras {

class Extras {
 public:
  // All three must outlive this object; `router` is read for metrics labels.
  Extras(const http::Router& router, Catalog& catalog, StatsStore& stats,
         api::Clock clock = api::system_clock_now);

  void register_routes(http::Router& router);
  // Per-request metrics; pass to the Pipeline.
  http::RequestObserver& request_observer() { return metrics_.http(); }
  metrics::MetricsEndpoint& metrics() { return metrics_; }

 private:
  metrics::MetricsEndpoint metrics_;
  pictures::PicturesApi pictures_;
};

}  // namespace hubstatsd::extras
