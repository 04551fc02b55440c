// The Statistics API of the specification: per-repo /stats and /stats/recent, and
// /api/trending; per-repo /stats/files and /stats/clients (issue 12). Handlers are synchronous:
// they call the catalog and the stats store, which bound their own waits and throw Unavailable
// (answered 503 by the pipeline).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "base/clock.h"
#include "catalog/catalog.h"
#include "serve/http/message.h"
#include "serve/http/router.h"
#include "store/stats_reader.h"

namespace hubstatsd::api {

class StatsApi {
 public:
  StatsApi(Catalog& catalog, StatsReader& store, Clock clock = system_unix_now)
      : catalog_(catalog), store_(store), clock_(std::move(clock)) {}

  // GET /{type}s/{ns}/{name}/stats -> {"downloads","likes"}
  http::Response stats(const http::Request& req, const http::PathParams& p);
  // Its non-blocking variant for the io threads: anonymous callers, repos the catalog
  // has cached, totals the store can give without blocking; declines everything else.
  void stats_fast(const http::Request& req, const http::PathParams& p, http::FastDone done);
  // GET /{type}s/{ns}/{name}/stats/recent?days=1..365 (30)
  http::Response recent(const http::Request& req, const http::PathParams& p);
  // GET /{type}s/{ns}/{name}/stats/files?days=1..365 (30)&limit=1..1000 (100)
  http::Response files(const http::Request& req, const http::PathParams& p);
  // GET /{type}s/{ns}/{name}/stats/clients?days=1..365 (30)
  http::Response clients(const http::Request& req, const http::PathParams& p);
  // GET /api/trending?repo_type=model|dataset|space&days=1..90 (7)&limit=1..100 (20)
  http::Response trending(const http::Request& req, const http::PathParams& p);

 private:
  hubstats::Day today() const;
  // The 404 of a missing repo when the caller may not read ref, else nothing.
  std::optional<http::Response> unreadable(const http::Request& req, const hubstats::RepoRef& ref);

  Catalog& catalog_;
  StatsReader& store_;
  Clock clock_;
};

// Path captures shared by every per-repo route: {type} (singular, before the "s"),
// {ns} and {name}. Installs their constraints on the router.
void constrain_repo_params(http::Router& router);
// The repo named by the captures of a per-repo route (constraints already checked).
hubstats::RepoRef repo_from_params(const http::PathParams& p);

// 404 RepoNotFound, identical for a missing repo and one the caller may not read.
http::Response repo_not_found(const hubstats::RepoRef& repo);

// Registers the three endpoints (stats routes with and without /api; trending at
// /api/trending). `api` must outlive the router.
void register_stats_routes(http::Router& router, StatsApi& api);

}  // namespace hubstatsd::api
