#include "serve/pictures/pictures_api.h"

#include "serve/api/query_validation.h"
#include "serve/api/caller.h"
#include "serve/http/json_body.h"
#include "serve/pictures/human_count.h"
#include "serve/pictures/svg_chart.h"

namespace hubstatsd::pictures {

namespace {

// Public pictures may sit in shared caches (README renderers, CDNs) for a few minutes;
// a private repo's only in the reader's own browser.
std::string cache_control(const RepoInfo& repo) {
  return repo.is_private ? "private, max-age=60" : "public, max-age=300";
}

struct BadgePeriod {
  std::string_view name;
  int days;  // 0: all time
  std::string_view suffix;
};
constexpr BadgePeriod kBadgePeriods[] = {{"all", 0, ""},
                                         {"1d", 1, "/day"},
                                         {"7d", 7, "/week"},
                                         {"30d", 30, "/month"},
                                         {"365d", 365, "/year"}};
const std::vector<std::string_view> kBadgePeriodNames = {"all", "1d", "7d", "30d", "365d"};
constexpr std::string_view kBadgePeriodPattern = "^(all|1d|7d|30d|365d)$";

}  // namespace

std::vector<DayCounts> PicturesApi::daily(const hubstats::RepoRef& ref,
                                          const hubstats::Period& period) {
  // As /stats/recent: exactly one entry per day of the period, ascending.
  return zero_fill(period, store_.recent(ref, period));
}

http::Response PicturesApi::chart(const http::Request& req, const http::PathParams& p) {
  api::QueryValidator v(req);
  const auto days = static_cast<int>(v.integer("days", 30, 1, 365));
  if (!v.ok()) return v.error_response();

  const hubstats::RepoRef ref = api::repo_from_params(p);
  const auto repo = catalog_.visible_repo(caller_of(catalog_, req), ref);
  if (!repo) return api::repo_not_found(ref);

  const hubstats::Period period = hubstats::period_ending(today(), days);
  ChartInput in;
  in.days = daily(ref, period);
  std::int64_t total = 0;
  for (const DayCounts& d : in.days) total += d.downloads;
  in.title = std::string(hubstats::to_string(ref.type)) + " " + ref.id();
  in.subtitle = "Daily downloads, " + hubstats::format_iso(period.start) + " to " +
                hubstats::format_iso(period.end) + " (" + std::to_string(days) +
                (days == 1 ? " day): " : " days): ") + grouped_count(total);

  http::Response res;
  res.content_type = "image/svg+xml; charset=utf-8";
  res.body = render_chart_svg(in);
  res.headers.emplace_back("Cache-Control", cache_control(*repo));
  res.headers.emplace_back("X-Content-Type-Options", "nosniff");
  // Opened directly, an SVG is a document: allow nothing but its inline styling.
  res.headers.emplace_back("Content-Security-Policy",
                           "default-src 'none'; style-src 'unsafe-inline'");
  return res;
}

http::Response PicturesApi::badge(const http::Request& req, const http::PathParams& p) {
  api::QueryValidator v(req);
  const std::string name = v.one_of("period", "all", kBadgePeriodNames, kBadgePeriodPattern);
  if (!v.ok()) return v.error_response();
  BadgePeriod period = kBadgePeriods[0];
  for (const BadgePeriod& bp : kBadgePeriods)
    if (bp.name == name) period = bp;

  const hubstats::RepoRef ref = api::repo_from_params(p);
  const auto repo = catalog_.visible_repo(caller_of(catalog_, req), ref);
  if (!repo) return api::repo_not_found(ref);

  std::int64_t count = 0;
  if (period.days == 0) {
    count = store_.total_downloads(ref);
  } else {
    for (const DayCounts& d : daily(ref, hubstats::period_ending(today(), period.days)))
      count += d.downloads;
  }
  nlohmann::ordered_json j;
  j["schemaVersion"] = 1;
  j["label"] = "downloads";
  j["message"] = human_count(count) + std::string(period.suffix);
  j["color"] = "blue";
  j["cacheSeconds"] = repo->is_private ? 60 : 300;
  http::Response res = http::json_response(200, http::to_json_body(j));
  res.headers.emplace_back("Cache-Control", cache_control(*repo));
  return res;
}

void register_picture_routes(http::Router& router, PicturesApi& api) {
  api::constrain_repo_params(router);
  router.add_with_api_prefix(
      "GET", "/{type}s/{ns}/{name}/stats/chart.svg",
      [&api](const http::Request& r, const http::PathParams& p) { return api.chart(r, p); });
  router.add_with_api_prefix(
      "GET", "/{type}s/{ns}/{name}/stats/badge",
      [&api](const http::Request& r, const http::PathParams& p) { return api.badge(r, p); });
  router.allow_cors("/{type}s/{ns}/{name}/stats/chart.svg");  // public read endpoints
  router.allow_cors("/{type}s/{ns}/{name}/stats/badge");
}

}  // namespace hubstatsd::pictures
