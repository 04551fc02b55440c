// Pictures of a repo's downloads, under the same access rules as /stats:
//   GET /{type}s/{ns}/{name}/stats/chart.svg?days=1..365 (30)   SVG bar chart
//   GET /{type}s/{ns}/{name}/stats/badge?period=all|1d|7d|30d|365d (all)
//                                     shields.io endpoint-badge JSON
// Both also under /api. A missing repo and a private one the caller may not read get
// the same 404 RepoNotFound as /stats (Catalog::visible_repo).
#pragma once

#include "serve/api/stats_api.h"
#include "catalog/catalog.h"
#include "serve/http/message.h"
#include "serve/http/router.h"
#include "store/stats_reader.h"

namespace hubstatsd::pictures {

class PicturesApi {
 public:
  PicturesApi(Catalog& catalog, StatsReader& store, Clock clock = system_unix_now)
      : catalog_(catalog), store_(store), clock_(std::move(clock)) {}

  http::Response chart(const http::Request& req, const http::PathParams& p);
  http::Response badge(const http::Request& req, const http::PathParams& p);

 private:
  hubstats::Day today() const { return hubstats::day_of(clock_()); }
  std::vector<DayCounts> daily(const hubstats::RepoRef& ref, const hubstats::Period& period);

  Catalog& catalog_;
  StatsReader& store_;
  Clock clock_;
};

// Registers both routes with and without /api. `api` must outlive the router.
void register_picture_routes(http::Router& router, PicturesApi& api);

}  // namespace hubstatsd::pictures
