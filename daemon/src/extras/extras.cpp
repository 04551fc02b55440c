#include "extras/extras.h"

#include "dashboard/dashboard_page.h"
#include "openapi/openapi_document.h"

namespace hubstatsd::extras {

Extras::Extras(const http::Router& router, Catalog& catalog, StatsStore& stats, api::Clock clock)
    : metrics_(router, catalog), pictures_(catalog, stats, std::move(clock)) {}

void Extras::register_routes(http::Router& router) {
  pictures::register_picture_routes(router, pictures_);
  metrics::register_metrics_route(router, metrics_);
  dashboard::register_dashboard_route(router);
  openapi::register_openapi_route(router);
}

}  // namespace hubstatsd::extras
