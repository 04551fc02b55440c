#include "serve/api/stats_api.h"

#include <chrono>
#include <map>
#include <unordered_map>

#include "serve/api/caller.h"
#include "serve/api/query_validation.h"
#include "serve/http/json_body.h"

namespace hubstatsd::api {

namespace {

using nlohmann::ordered_json;

ordered_json period_json(const hubstats::Period& p) {
  ordered_json j;
  j["start"] = hubstats::format_iso(p.start);
  j["end"] = hubstats::format_iso(p.end);
  j["days"] = p.days;
  return j;
}

const std::vector<std::string_view> kRepoTypes = {"model", "dataset", "space"};
constexpr std::string_view kRepoTypePattern = "^(model|dataset|space)$";

}  // namespace

void constrain_repo_params(http::Router& router) {
  router.constrain("type",
                   [](std::string_view v) { return hubstats::parse_repo_type(v).has_value(); });
  router.constrain("ns", [](std::string_view v) { return hubstats::valid_segment(v); });
  router.constrain("name", [](std::string_view v) { return hubstats::valid_segment(v); });
}

hubstats::RepoRef repo_from_params(const http::PathParams& p) {
  hubstats::RepoRef r;
  r.type = hubstats::parse_repo_type(p.find("type")->second).value_or(hubstats::RepoType::kModel);
  r.ns = p.find("ns")->second;
  r.name = p.find("name")->second;
  return r;
}

http::Response repo_not_found(const hubstats::RepoRef& repo) {
  const std::string msg =
      "Repository '" + repo.id() + "' (" + std::string(to_string(repo.type)) + ") not found";
  http::Response res = http::detail_response(404, msg);
  res.headers.emplace_back("X-Error-Code", "RepoNotFound");
  res.headers.emplace_back("X-Error-Message", msg);
  return res;
}

hubstats::Day StatsApi::today() const {
  return hubstats::day_of(clock_());
}

namespace {

http::Response stats_response(std::int64_t downloads, std::int64_t likes) {
  ordered_json j;
  j["downloads"] = downloads;
  j["likes"] = likes;
  return http::json_response(200, http::to_json_body(j));
}

// The body of every per-repo period query: {"<key>": list, "period": {...}}.
http::Response period_response(const char* key, ordered_json list, const hubstats::Period& period) {
  ordered_json j;
  j[key] = std::move(list);
  j["period"] = period_json(period);
  return http::json_response(200, http::to_json_body(j));
}

}  // namespace

std::optional<http::Response> StatsApi::unreadable(const http::Request& req,
                                                   const hubstats::RepoRef& ref) {
  if (catalog_.visible_repo(caller_of(catalog_, req), ref)) return std::nullopt;
  return repo_not_found(ref);
}

http::Response StatsApi::stats(const http::Request& req, const http::PathParams& p) {
  const hubstats::RepoRef ref = repo_from_params(p);
  const auto repo = catalog_.visible_repo(caller_of(catalog_, req), ref);
  if (!repo) return repo_not_found(ref);
  return stats_response(store_.total_downloads(ref), repo->likes);
}

void StatsApi::stats_fast(const http::Request& req, const http::PathParams& p,
                          http::FastDone done) {
  // Credentials may need a lookup to resolve: only anonymous callers take this path.
  const std::string_view cookie_name = catalog_.session_cookie_name();
  if (!req.bearer_token().empty() || (!cookie_name.empty() && !req.cookie(cookie_name).empty()))
    return done({});
  hubstats::RepoRef ref = repo_from_params(p);
  const auto cached = catalog_.cached_repo(ref);
  if (!cached) return done({});  // not cached: the lookup may block
  // Missing or private: 404 for an anonymous caller, exactly as visible_repo decides.
  if (!*cached || (*cached)->is_private) return done({repo_not_found(ref), nullptr});
  const std::int64_t likes = (*cached)->likes;
  store_.total_downloads_fast(
      ref,
      [likes, done = std::move(done)](std::optional<std::int64_t> total, std::exception_ptr error) {
        if (error) return done({std::nullopt, error});
        if (!total) return done({});
        done({stats_response(*total, likes), nullptr});
      });
}

http::Response StatsApi::recent(const http::Request& req, const http::PathParams& p) {
  QueryValidator v(req);
  const auto days = static_cast<int>(v.integer("days", 30, 1, 365));
  if (!v.ok()) return v.error_response();

  const hubstats::RepoRef ref = repo_from_params(p);
  if (auto hidden = unreadable(req, ref)) return std::move(*hidden);

  const hubstats::Period period = hubstats::period_ending(today(), days);
  // The store promises one row per day; zero-fill anyway so the response always lists
  // every day of the period exactly once, ascending.
  ordered_json stats = ordered_json::array();
  for (const DayCounts& c : zero_fill(period, store_.recent(ref, period))) {
    ordered_json row;
    row["date"] = hubstats::format_iso(c.day);
    row["downloads"] = c.downloads;
    row["authenticated"] = c.authenticated;
    row["anonymous"] = c.anonymous;
    row["files"] = c.files;
    stats.push_back(std::move(row));
  }
  return period_response("stats", std::move(stats), period);
}

http::Response StatsApi::files(const http::Request& req, const http::PathParams& p) {
  QueryValidator v(req);
  const auto days = static_cast<int>(v.integer("days", 30, 1, 365));
  const auto limit = static_cast<std::size_t>(v.integer("limit", 100, 1, 1000));
  if (!v.ok()) return v.error_response();

  const hubstats::RepoRef ref = repo_from_params(p);
  if (auto hidden = unreadable(req, ref)) return std::move(*hidden);

  const hubstats::Period period = hubstats::period_ending(today(), days);
  ordered_json list = ordered_json::array();
  for (const PathCount& f : store_.files(ref, period, limit)) {
    if (list.size() >= limit) break;
    ordered_json e;
    e["path"] = f.path;
    e["files"] = f.files;
    list.push_back(std::move(e));
  }
  return period_response("files", std::move(list), period);
}

http::Response StatsApi::clients(const http::Request& req, const http::PathParams& p) {
  QueryValidator v(req);
  const auto days = static_cast<int>(v.integer("days", 30, 1, 365));
  if (!v.ok()) return v.error_response();

  const hubstats::RepoRef ref = repo_from_params(p);
  if (auto hidden = unreadable(req, ref)) return std::move(*hidden);

  const hubstats::Period period = hubstats::period_ending(today(), days);
  ordered_json list = ordered_json::array();
  for (const ClientCount& c : store_.clients(ref, period)) {
    ordered_json e;
    e["client"] = c.client;
    e["downloads"] = c.downloads;
    e["files"] = c.files;
    list.push_back(std::move(e));
  }
  return period_response("clients", std::move(list), period);
}

http::Response StatsApi::trending(const http::Request& req, const http::PathParams&) {
  QueryValidator v(req);
  const std::string type_name = v.one_of("repo_type", "model", kRepoTypes, kRepoTypePattern);
  const auto days = static_cast<int>(v.integer("days", 7, 1, 90));
  const auto limit = static_cast<std::size_t>(v.integer("limit", 20, 1, 100));
  if (!v.ok()) return v.error_response();

  const hubstats::RepoType type = *hubstats::parse_repo_type(type_name);
  const hubstats::Period period = hubstats::period_ending(today(), days);
  const Caller caller = caller_of(catalog_, req);

  // Visibility (and existence in the catalog) is decided before the limit, inside the
  // store's ranking; remember what the catalog said for building the entries.
  std::unordered_map<std::string, RepoInfo> seen;
  const auto keep = [&](const hubstats::RepoRef& ref) {
    if (ref.type != type) return false;
    auto info = catalog_.visible_repo(caller, ref);
    if (!info) return false;
    seen.insert_or_assign(ref.id(), std::move(*info));
    return true;
  };
  const auto ranked = store_.trending(type, period, limit, keep);

  ordered_json list = ordered_json::array();
  for (const TrendingCandidate& c : ranked) {
    const auto it = seen.find(c.repo.id());
    if (it == seen.end()) continue;  // the store must only return kept repos
    if (list.size() >= limit) break;
    ordered_json e;
    e["id"] = c.repo.id();
    e["type"] = std::string(to_string(c.repo.type));
    e["downloads"] = c.downloads;
    e["likes"] = it->second.likes;
    e["recent_downloads"] = c.recent_downloads;
    e["private"] = it->second.is_private;
    list.push_back(std::move(e));
  }
  ordered_json j;
  j["trending"] = std::move(list);
  j["period"] = period_json(period);
  return http::json_response(200, http::to_json_body(j));
}

void register_stats_routes(http::Router& router, StatsApi& api) {
  constrain_repo_params(router);
  router.add_with_api_prefix(
      "GET", "/{type}s/{ns}/{name}/stats",
      [&api](const http::Request& r, const http::PathParams& p) { return api.stats(r, p); });
  router.add_fast_with_api_prefix(
      "GET", "/{type}s/{ns}/{name}/stats",
      [&api](const http::Request& r, const http::PathParams& p, http::FastDone done) {
        api.stats_fast(r, p, std::move(done));
      });
  router.add_with_api_prefix(
      "GET", "/{type}s/{ns}/{name}/stats/recent",
      [&api](const http::Request& r, const http::PathParams& p) { return api.recent(r, p); });
  router.add_with_api_prefix(
      "GET", "/{type}s/{ns}/{name}/stats/files",
      [&api](const http::Request& r, const http::PathParams& p) { return api.files(r, p); });
  router.add_with_api_prefix(
      "GET", "/{type}s/{ns}/{name}/stats/clients",
      [&api](const http::Request& r, const http::PathParams& p) { return api.clients(r, p); });
  router.add("GET", "/api/trending", [&api](const http::Request& r, const http::PathParams& p) {
    return api.trending(r, p);
  });
  // Public read endpoints: callable from pages on other origins (http.cors.allow_origins).
  router.allow_cors("/{type}s/{ns}/{name}/stats");
  router.allow_cors("/{type}s/{ns}/{name}/stats/recent");
  router.allow_cors("/{type}s/{ns}/{name}/stats/files");
  router.allow_cors("/{type}s/{ns}/{name}/stats/clients");
  router.allow_cors("/api/trending");
}

}  // namespace hubstatsd::api
