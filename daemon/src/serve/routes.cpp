#include "serve/routes.h"

#include "serve/dashboard/dashboard_page.h"
#include "serve/openapi/openapi_document.h"

namespace hubstatsd::serve {

SiteRoutes::SiteRoutes(const http::Router& router, Catalog& catalog, StatsReader& stats,
                       Clock clock)
    : metrics_(router, catalog), pictures_(catalog, stats, std::move(clock)) {}

void SiteRoutes::register_routes(http::Router& router) {
  pictures::register_picture_routes(router, pictures_);
  metrics::register_metrics_route(router, metrics_);
  dashboard::register_dashboard_route(router);
  openapi::register_openapi_route(router);
}

}  // namespace hubstatsd::serve
