// /openapi.json describes exactly the routes the daemon registers: the router is built
// with the same registration functions hubstatsd's run() calls (stats, catalog with the
// builtin backend, extras), and its (method, pattern) pairs must equal the document's
// (method, path) operations, /api twins included.
#include <gtest/gtest.h>

#include <functional>

#include "serve/api/stats_api.h"
#include "api_fakes.h"
#include "catalog/catalog_config.h"
#include "serve/api/catalog_routes.h"
#include "catalog/make_catalog.h"
#include "serve/dashboard/dashboard_page.h"
#include "serve/routes.h"
#include "serve/http/pipeline.h"
#include "serve/openapi/openapi_document.h"
#include "db/pg_pool.h"

namespace hubstatsd {
namespace {

using J = nlohmann::ordered_json;

// Everything run() registers, with a builtin catalog over a pool that never connects.
struct FullRouter {
  FullRouter() : pool(PgPoolConfig{"host=127.0.0.1 port=1 dbname=none", 1}) {
    CatalogConfig cfg;
    cfg.admin_token = "t";
    catalog = make_catalog(cfg, pool);
    // commands.cpp registers /health inline; mirrored here (the integration suite checks
    // the real daemon's route table through /metrics).
    router.add("GET", "/health", [](const http::Request&, const http::PathParams&) {
      return http::json_response(200, R"({"status":"ok"})");
    });
    stats.emplace(*catalog, store);
    api::register_stats_routes(router, *stats);
    catalog_api.emplace(*catalog);
    register_catalog_routes(router, *catalog_api);
    extras.emplace(router, *catalog, store);
    extras->register_routes(router);
  }
  PgPool pool;
  std::unique_ptr<Catalog> catalog;
  testing::FakeStore store;
  http::Router router;
  std::optional<api::StatsApi> stats;
  std::optional<CatalogApi> catalog_api;
  std::optional<serve::SiteRoutes> extras;
};

TEST(OpenApi, DocumentsExactlyTheRouterRoutes) {
  FullRouter full;
  std::set<std::pair<std::string, std::string>> served;
  for (const auto& [method, pattern] : full.router.routes())
    served.emplace(method, openapi::to_openapi_path(pattern));
  const auto documented = openapi::documented_operations();
  for (const auto& op : served)
    EXPECT_TRUE(documented.count(op)) << "undocumented route: " << op.first << " " << op.second;
  for (const auto& op : documented)
    EXPECT_TRUE(served.count(op)) << "documented but not served: " << op.first << " " << op.second;
  EXPECT_GT(served.size(), 30u);
  // The /api twins are there, e.g. for the pictures.
  EXPECT_TRUE(documented.count({"GET", "/api/{type}s/{ns}/{name}/stats/chart.svg"}));
  EXPECT_TRUE(documented.count({"GET", "/{type}s/{ns}/{name}/stats/badge"}));
}

const J* resolve(const J& doc, const std::string& ref) {
  if (ref.rfind("#/", 0) != 0) return nullptr;
  const J* node = &doc;
  std::size_t pos = 2;
  while (pos <= ref.size()) {
    std::size_t next = ref.find('/', pos);
    if (next == std::string::npos) next = ref.size();
    const std::string key = ref.substr(pos, next - pos);
    if (!node->is_object() || !node->contains(key)) return nullptr;
    node = &(*node)[key];
    pos = next + 1;
  }
  return node;
}

void check_refs(const J& doc, const J& node, int& count) {
  if (node.is_object()) {
    if (node.contains("$ref")) {
      ++count;
      EXPECT_NE(resolve(doc, node["$ref"].get<std::string>()), nullptr) << node["$ref"];
    }
    for (const auto& [k, v] : node.items()) check_refs(doc, v, count);
  } else if (node.is_array()) {
    for (const auto& v : node) check_refs(doc, v, count);
  }
}

TEST(OpenApi, WellFormedRefsResolveAndPathParamsAreDeclared) {
  const J& doc = openapi::document();
  EXPECT_EQ(doc["openapi"].get<std::string>().rfind("3.0.", 0), 0u);
  EXPECT_EQ(doc["info"]["version"], HUBSTATS_VERSION);
  int refs = 0;
  check_refs(doc, doc, refs);
  EXPECT_GT(refs, 50);
  std::set<std::string> ids;
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, op] : item.items()) {
      EXPECT_TRUE(ids.insert(op["operationId"].get<std::string>()).second) << op["operationId"];
      ASSERT_TRUE(op.contains("responses")) << path;
      // Every {capture} of the path is declared as a path parameter.
      std::set<std::string> declared;
      if (op.contains("parameters"))
        for (const auto& p : op["parameters"]) {
          const J& param = p.contains("$ref") ? *resolve(doc, p["$ref"]) : p;
          if (param["in"] == "path") declared.insert(param["name"]);
        }
      for (std::size_t i = path.find('{'); i != std::string::npos; i = path.find('{', i + 1)) {
        const std::string name = path.substr(i + 1, path.find('}', i) - i - 1);
        EXPECT_TRUE(declared.count(name)) << method << " " << path << " lacks " << name;
      }
    }
  }
}

const J& query_param(const std::string& path, const std::string& name) {
  const J& doc = openapi::document();
  for (const auto& p : doc["paths"][path]["get"]["parameters"])
    if (p.contains("name") && p["name"] == name) return p;
  static const J none;
  ADD_FAILURE() << path << " has no parameter " << name;
  return none;
}

TEST(OpenApi, BoundsMatchTheHandlers) {
  const auto expect_int = [](const J& p, int min, int max, int def) {
    EXPECT_EQ(p["schema"]["minimum"], min);
    EXPECT_EQ(p["schema"]["maximum"], max);
    EXPECT_EQ(p["schema"]["default"], def);
  };
  expect_int(query_param("/{type}s/{ns}/{name}/stats/recent", "days"), 1, 365, 30);
  expect_int(query_param("/api/{type}s/{ns}/{name}/stats/chart.svg", "days"), 1, 365, 30);
  expect_int(query_param("/api/trending", "days"), 1, 90, 7);
  expect_int(query_param("/api/trending", "limit"), 1, 100, 20);
  expect_int(query_param("/{type}s/{ns}/{name}/likers", "limit"), 1, 1000, 50);
  EXPECT_EQ(query_param("/api/trending", "repo_type")["schema"]["enum"],
            J::array({"model", "dataset", "space"}));
  const J& doc = openapi::document();
  const J& r404 = doc["components"]["responses"]["RepoNotFound"];
  EXPECT_TRUE(r404["headers"].contains("X-Error-Code"));
  EXPECT_TRUE(r404["headers"].contains("X-Error-Message"));
  EXPECT_TRUE(doc["components"]["responses"]["Unavailable"]["headers"].contains("Retry-After"));
  EXPECT_EQ(doc["paths"]["/{type}s/{ns}/{name}/stats/recent"]["get"]["responses"]["422"]["$ref"],
            "#/components/responses/ValidationError");
}

TEST(OpenApi, ServedAsJson) {
  FullRouter full;
  http::Pipeline pipeline(full.router);
  http::Request req;
  req.method = "GET";
  req.path = "/openapi.json";
  const auto res = pipeline.handle(req);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.content_type, "application/json");
  EXPECT_EQ(nlohmann::ordered_json::parse(res.body), openapi::document());
}

TEST(Dashboard, SelfContainedPageWithoutUnsafeDomWrites) {
  FullRouter full;
  http::Pipeline pipeline(full.router);
  http::Request req;
  req.method = "GET";
  req.path = "/dashboard";
  const auto res = pipeline.handle(req);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(res.header("Content-Security-Policy"), dashboard::kContentSecurityPolicy);
  const std::string& html = res.body;
  EXPECT_EQ(html.rfind("<!doctype html>", 0), 0u);
  for (const char* banned : {"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write",
                             "<link", "@import", "src=\"http", "src=\"//", "eval("})
    EXPECT_EQ(html.find(banned), std::string::npos) << banned;
  // API calls are made relative to the page's location.
  EXPECT_NE(html.find("location.pathname.replace(/\\/dashboard\\/?$/, \"\")"), std::string::npos);
}

}  // namespace
}  // namespace hubstatsd
