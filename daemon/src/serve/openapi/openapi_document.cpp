#include "serve/openapi/openapi_document.h"

#include "serve/http/json_body.h"

namespace hubstatsd::openapi {

namespace {

using J = nlohmann::ordered_json;

J jref(std::string_view where) {
  return J{{"$ref", std::string(where)}};
}

J int_schema(std::int64_t min, std::int64_t max, std::int64_t def) {
  return J{{"type", "integer"}, {"minimum", min}, {"maximum", max}, {"default", def}};
}

J query_int(std::string_view name, std::int64_t min, std::int64_t max, std::int64_t def,
            std::string_view description) {
  return J{{"name", name},
           {"in", "query"},
           {"required", false},
           {"description", description},
           {"schema", int_schema(min, max, def)}};
}

J query_enum(std::string_view name, std::vector<std::string> values, std::string_view def,
             std::string_view description) {
  return J{{"name", name},
           {"in", "query"},
           {"required", false},
           {"description", description},
           {"schema", J{{"type", "string"}, {"enum", values}, {"default", def}}}};
}

J segment_param(std::string_view name, std::string_view description) {
  return J{{"name", name},
           {"in", "path"},
           {"required", true},
           {"description", description},
           {"schema", J{{"type", "string"},
                        {"minLength", 1},
                        {"maxLength", 96},
                        {"pattern", "^[A-Za-z0-9._-]+$"}}}};
}

J repo_params() {
  return J::array({jref("#/components/parameters/type"), jref("#/components/parameters/ns"),
                   jref("#/components/parameters/name")});
}

J json_content(J schema) {
  return J{{"application/json", J{{"schema", std::move(schema)}}}};
}

J ok(std::string_view description, J schema) {
  return J{{"description", description}, {"content", json_content(std::move(schema))}};
}

J array_of(J items) {
  return J{{"type", "array"}, {"items", std::move(items)}};
}

struct Op {
  std::string method;  // lower case, as OpenAPI spells it
  std::string path;
  J body;
};

class Builder {
 public:
  // The operation at `path` and, when twin, also at "/api" + path (Router::add_with_api_prefix).
  void add(std::string_view method, std::string_view path, J op, bool twin) {
    ops_.push_back({std::string(method), std::string(path), op});
    if (twin) {
      op["operationId"] = op["operationId"].get<std::string>() + "Api";
      ops_.push_back({std::string(method), "/api" + std::string(path), std::move(op)});
    }
  }
  J paths() const {
    J p = J::object();
    for (const Op& o : ops_) p[o.path][o.method] = o.body;
    return p;
  }

 private:
  std::vector<Op> ops_;
};

J op(std::string_view id, std::string_view tag, std::string_view summary, J params, J responses,
     J extra = J::object()) {
  J o{{"operationId", id}, {"tags", J::array({tag})}, {"summary", summary}};
  if (!params.empty()) o["parameters"] = std::move(params);
  for (auto& [k, v] : extra.items()) o[k] = v;
  o["responses"] = std::move(responses);
  return o;
}

J with_errors(J responses, std::initializer_list<std::string_view> errors) {
  for (std::string_view e : errors) {
    responses[std::string(e.substr(0, 3))] =
        jref("#/components/responses/" + std::string(e.substr(4)));
  }
  return responses;
}

J body_of(std::string_view schema) {
  return J{{"requestBody",
            J{{"required", true},
              {"content", json_content(jref("#/components/schemas/" + std::string(schema)))}}}};
}

J schema_obj(J properties, std::vector<std::string> required) {
  return J{{"type", "object"}, {"required", required}, {"properties", std::move(properties)}};
}

J components() {
  const J str{{"type", "string"}};
  const J integer{{"type", "integer"}, {"format", "int64"}, {"minimum", 0}};
  const J boolean{{"type", "boolean"}};
  J c;
  c["securitySchemes"]["bearer"] = J{{"type", "http"},
                                     {"scheme", "bearer"},
                                     {"description",
                                      "An API token (optional on read endpoints: "
                                      "a missing or invalid one means anonymous)."}};
  c["parameters"]["type"] =
      J{{"name", "type"},
        {"in", "path"},
        {"required", true},
        {"description", "Repository type, singular (the path says e.g. \"models\")."},
        {"schema", J{{"type", "string"}, {"enum", {"model", "dataset", "space"}}}}};
  c["parameters"]["ns"] = segment_param("ns", "Repository namespace (user or organization).");
  c["parameters"]["name"] = segment_param("name", "Repository name.");

  c["headers"]["X-Request-Id"] = J{
      {"description", "The request id (the client's when sane, else generated)."}, {"schema", str}};
  c["headers"]["X-Error-Code"] = J{{"description", "RepoNotFound"},
                                   {"schema", J{{"type", "string"}, {"enum", {"RepoNotFound"}}}}};
  c["headers"]["X-Error-Message"] =
      J{{"description", "Repository 'ns/name' (type) not found"}, {"schema", str}};
  c["headers"]["Retry-After"] =
      J{{"description", "Seconds to wait before retrying."}, {"schema", J{{"type", "integer"}}}};

  auto& s = c["schemas"];
  s["Detail"] = schema_obj(
      J{{"detail", J{{"oneOf", J::array({str, schema_obj(J{{"error", str}}, {"error"})})}}}},
      {"detail"});
  s["ValidationError"] = schema_obj(
      J{{"detail", array_of(schema_obj(J{{"type", J{{"type", "string"},
                                                    {"enum",
                                                     {"greater_than_equal", "less_than_equal",
                                                      "int_parsing", "string_pattern_mismatch"}}}},
                                         {"loc", array_of(str)},
                                         {"msg", str},
                                         {"input", str},
                                         {"ctx", J{{"type", "object"}}}},
                                       {"type", "loc", "msg", "input"}))}},
      {"detail"});
  s["Stats"] = schema_obj(J{{"downloads", integer}, {"likes", integer}}, {"downloads", "likes"});
  s["Period"] = schema_obj(J{{"start", J{{"type", "string"}, {"format", "date"}}},
                             {"end", J{{"type", "string"}, {"format", "date"}}},
                             {"days", J{{"type", "integer"}}}},
                           {"start", "end", "days"});
  s["DayStats"] = schema_obj(J{{"date", J{{"type", "string"}, {"format", "date"}}},
                               {"downloads", integer},
                               {"authenticated", integer},
                               {"anonymous", integer},
                               {"files", integer}},
                             {"date", "downloads", "authenticated", "anonymous", "files"});
  s["RecentStats"] = schema_obj(J{{"stats", array_of(jref("#/components/schemas/DayStats"))},
                                  {"period", jref("#/components/schemas/Period")}},
                                {"stats", "period"});
  s["FileCount"] = schema_obj(J{{"path", str}, {"files", integer}}, {"path", "files"});
  s["FileStats"] = schema_obj(J{{"files", array_of(jref("#/components/schemas/FileCount"))},
                                {"period", jref("#/components/schemas/Period")}},
                              {"files", "period"});
  s["ClientCount"] = schema_obj(J{{"client", str}, {"downloads", integer}, {"files", integer}},
                                {"client", "downloads", "files"});
  s["ClientStats"] = schema_obj(J{{"clients", array_of(jref("#/components/schemas/ClientCount"))},
                                  {"period", jref("#/components/schemas/Period")}},
                                {"clients", "period"});
  s["TrendingEntry"] =
      schema_obj(J{{"id", str},
                   {"type", J{{"type", "string"}, {"enum", {"model", "dataset", "space"}}}},
                   {"downloads", integer},
                   {"likes", integer},
                   {"recent_downloads", integer},
                   {"private", boolean}},
                 {"id", "type", "downloads", "likes", "recent_downloads", "private"});
  s["Trending"] = schema_obj(J{{"trending", array_of(jref("#/components/schemas/TrendingEntry"))},
                               {"period", jref("#/components/schemas/Period")}},
                             {"trending", "period"});
  s["Badge"] = schema_obj(J{{"schemaVersion", J{{"type", "integer"}, {"enum", {1}}}},
                            {"label", str},
                            {"message", str},
                            {"color", str},
                            {"cacheSeconds", J{{"type", "integer"}}}},
                          {"schemaVersion", "label", "message", "color"});
  s["LikeResult"] = schema_obj(J{{"success", boolean}, {"message", str}, {"likes_count", integer}},
                               {"success", "message", "likes_count"});
  s["Liked"] = schema_obj(J{{"liked", boolean}}, {"liked"});
  s["Liker"] = schema_obj(
      J{{"user", str}, {"fullname", str}, {"avatarUrl", J{{"type", "string"}, {"nullable", true}}}},
      {"user", "fullname", "avatarUrl"});
  s["UserLike"] =
      schema_obj(J{{"createdAt", J{{"type", "string"}, {"format", "date-time"}}},
                   {"repo", schema_obj(J{{"name", str}, {"type", str}}, {"name", "type"})}},
                 {"createdAt", "repo"});
  s["Repo"] = schema_obj(J{{"type", J{{"type", "string"}, {"enum", {"model", "dataset", "space"}}}},
                           {"namespace", str},
                           {"name", str},
                           {"private", boolean},
                           {"likes", integer}},
                         {"type", "namespace", "name", "private", "likes"});
  s["NewRepo"] =
      schema_obj(J{{"type", J{{"type", "string"}, {"enum", {"model", "dataset", "space"}}}},
                   {"namespace", str},
                   {"name", str},
                   {"private", J{{"type", "boolean"}, {"default", false}}}},
                 {"type", "namespace", "name"});
  s["Privacy"] = schema_obj(J{{"private", boolean}}, {"private"});
  s["User"] = schema_obj(J{{"username", str}, {"fullname", str}}, {"username", "fullname"});
  s["NewUser"] = schema_obj(
      J{{"username", str}, {"fullname", J{{"type", "string"}, {"default", ""}}}}, {"username"});
  s["Member"] = schema_obj(J{{"username", str}}, {"username"});
  s["MemberChange"] =
      schema_obj(J{{"org", str}, {"username", str}, {"added", boolean}, {"removed", boolean}},
                 {"org", "username"});
  s["TokenInfo"] = schema_obj(J{{"id", integer},
                                {"username", str},
                                {"name", str},
                                {"created_at", J{{"type", "string"}, {"format", "date-time"}}},
                                {"revoked", boolean}},
                              {"id", "username", "name", "created_at", "revoked"});
  s["NewToken"] = schema_obj(J{{"username", str}, {"name", J{{"type", "string"}, {"default", ""}}}},
                             {"username"});
  s["CreatedToken"] =
      schema_obj(J{{"id", integer}, {"username", str}, {"name", str}, {"token", str}},
                 {"id", "username", "name", "token"});

  auto& r = c["responses"];
  const J request_id{{"X-Request-Id", jref("#/components/headers/X-Request-Id")}};
  r["RepoNotFound"] =
      J{{"description",
         "No such repository, or a private one the caller may not read "
         "(indistinguishable)."},
        {"headers", J{{"X-Error-Code", jref("#/components/headers/X-Error-Code")},
                      {"X-Error-Message", jref("#/components/headers/X-Error-Message")},
                      {"X-Request-Id", jref("#/components/headers/X-Request-Id")}}},
        {"content", json_content(jref("#/components/schemas/Detail"))}};
  r["ValidationError"] = J{{"description",
                            "A query parameter is invalid (FastAPI's shape; every bad "
                            "parameter is listed)."},
                           {"headers", request_id},
                           {"content", json_content(jref("#/components/schemas/ValidationError"))}};
  r["Unavailable"] = J{{"description", "Redis or PostgreSQL could not answer in time."},
                       {"headers", J{{"Retry-After", jref("#/components/headers/Retry-After")},
                                     {"X-Request-Id", jref("#/components/headers/X-Request-Id")}}},
                       {"content", json_content(jref("#/components/schemas/Detail"))}};
  r["NotAuthenticated"] = J{{"description", "A valid credential is required."},
                            {"content", json_content(jref("#/components/schemas/Detail"))}};
  r["AdminRequired"] = J{{"description", "The admin token is required."},
                         {"content", json_content(jref("#/components/schemas/Detail"))}};
  r["BadRequest"] = J{{"description",
                       "Malformed JSON or an invalid field (named in detail), or a "
                       "like/unlike that changes nothing."},
                      {"content", json_content(jref("#/components/schemas/Detail"))}};
  r["NotFound"] = J{{"description", "No such object."},
                    {"content", json_content(jref("#/components/schemas/Detail"))}};
  r["Conflict"] = J{{"description", "It already exists."},
                    {"content", json_content(jref("#/components/schemas/Detail"))}};
  return c;
}

J build() {
  Builder b;
  const J bearer_security = J::array({J{{"bearer", J::array()}}});
  const J limit = query_int("limit", 1, 1000, 50, "Maximum entries.");

  // Statistics API
  b.add("get", "/{type}s/{ns}/{name}/stats",
        op("getRepoStats", "statistics", "All-time downloads and likes of a repository",
           repo_params(),
           with_errors(J{{"200", ok("Totals", jref("#/components/schemas/Stats"))}},
                       {"404 RepoNotFound", "503 Unavailable"})),
        true);
  J recent_params = repo_params();
  recent_params.push_back(query_int("days", 1, 365, 30, "Days to list, ending today (UTC)."));
  b.add("get", "/{type}s/{ns}/{name}/stats/recent",
        op("getRecentStats", "statistics", "Daily downloads of the last `days` days (zero-filled)",
           recent_params,
           with_errors(J{{"200", ok("One entry per day, ascending",
                                    jref("#/components/schemas/RecentStats"))}},
                       {"404 RepoNotFound", "422 ValidationError", "503 Unavailable"})),
        true);
  J files_params = repo_params();
  files_params.push_back(
      query_int("days", 1, 365, 30, "Period length in days, ending today (UTC)."));
  files_params.push_back(query_int("limit", 1, 1000, 100, "Maximum entries."));
  b.add("get", "/{type}s/{ns}/{name}/stats/files",
        op("getFileStats", "statistics",
           "Countable fetches per file path in the last `days` days (bots excluded; (git), "
           "(lfs), (other) are special paths), by files descending, then path",
           files_params,
           with_errors(J{{"200", ok("Files", jref("#/components/schemas/FileStats"))}},
                       {"404 RepoNotFound", "422 ValidationError", "503 Unavailable"})),
        true);
  J clients_params = repo_params();
  clients_params.push_back(
      query_int("days", 1, 365, 30, "Period length in days, ending today (UTC)."));
  b.add("get", "/{type}s/{ns}/{name}/stats/clients",
        op("getClientStats", "statistics",
           "Download sessions and files per client family in the last `days` days (bots as "
           "client bot), by downloads descending, then client",
           clients_params,
           with_errors(J{{"200", ok("Clients", jref("#/components/schemas/ClientStats"))}},
                       {"404 RepoNotFound", "422 ValidationError", "503 Unavailable"})),
        true);
  b.add("get", "/api/trending",
        op("getTrending", "statistics", "Repositories ranked by downloads in the last `days` days",
           J::array(
               {query_enum("repo_type", {"model", "dataset", "space"}, "model", "Repository type."),
                query_int("days", 1, 90, 7, "Period length in days, ending today (UTC)."),
                query_int("limit", 1, 100, 20, "Maximum entries.")}),
           with_errors(J{{"200", ok("Ranking", jref("#/components/schemas/Trending"))}},
                       {"422 ValidationError", "503 Unavailable"})),
        false);

  // Pictures
  J chart_params = repo_params();
  chart_params.push_back(query_int("days", 1, 365, 30, "Days to draw, ending today (UTC)."));
  b.add(
      "get", "/{type}s/{ns}/{name}/stats/chart.svg",
      op("getChartSvg", "pictures",
         "Daily downloads as an SVG bar chart (authenticated/anonymous stacked), for READMEs",
         chart_params,
         with_errors(
             J{{"200",
                J{{"description", "A standalone SVG image (no scripts, no external references)"},
                  {"headers", J{{"Cache-Control",
                                 J{{"schema", J{{"type", "string"}}},
                                   {"description",
                                    "public, max-age=300 (private repos: private, max-age=60)"}}}}},
                  {"content", J{{"image/svg+xml", J{{"schema", J{{"type", "string"}}}}}}}}}},
             {"404 RepoNotFound", "422 ValidationError", "503 Unavailable"})),
      true);
  J badge_params = repo_params();
  badge_params.push_back(query_enum("period", {"all", "1d", "7d", "30d", "365d"}, "all",
                                    "all: all-time downloads; Nd: downloads of the last N days "
                                    "(message suffixed /day, /week, /month, /year)."));
  b.add(
      "get", "/{type}s/{ns}/{name}/stats/badge",
      op("getBadge", "pictures",
         "shields.io endpoint-badge JSON (https://shields.io/badges/endpoint-badge)", badge_params,
         with_errors(J{{"200", ok("Badge", jref("#/components/schemas/Badge"))}},
                     {"404 RepoNotFound", "422 ValidationError", "503 Unavailable"})),
      true);

  // Likes (builtin catalog)
  b.add("post", "/{type}s/{ns}/{name}/like",
        op("likeRepo", "likes", "Like a repository (login required)", repo_params(),
           with_errors(
               J{{"200", ok("Liked", jref("#/components/schemas/LikeResult"))}},
               {"400 BadRequest", "401 NotAuthenticated", "404 RepoNotFound", "503 Unavailable"}),
           J{{"security", bearer_security}}),
        true);
  b.add("delete", "/{type}s/{ns}/{name}/like",
        op("unlikeRepo", "likes", "Remove one's like (login required)", repo_params(),
           with_errors(
               J{{"200", ok("Unliked", jref("#/components/schemas/LikeResult"))}},
               {"400 BadRequest", "401 NotAuthenticated", "404 RepoNotFound", "503 Unavailable"}),
           J{{"security", bearer_security}}),
        true);
  b.add("get", "/{type}s/{ns}/{name}/like",
        op("getLiked", "likes", "Whether the caller likes the repository (anonymous: false)",
           repo_params(),
           with_errors(J{{"200", ok("Liked or not", jref("#/components/schemas/Liked"))}},
                       {"404 RepoNotFound", "503 Unavailable"})),
        true);
  J likers_params = repo_params();
  likers_params.push_back(limit);
  b.add("get", "/{type}s/{ns}/{name}/likers",
        op("getLikers", "likes", "Users who like the repository, newest first", likers_params,
           with_errors(J{{"200", ok("Likers", array_of(jref("#/components/schemas/Liker")))}},
                       {"404 RepoNotFound", "422 ValidationError", "503 Unavailable"})),
        true);
  b.add("get", "/users/{user}/likes",
        op("getUserLikes", "likes",
           "Repositories a user likes, newest first (without private ones the caller may not read)",
           J::array({J{{"name", "user"},
                       {"in", "path"},
                       {"required", true},
                       {"schema", J{{"type", "string"}}}},
                     limit}),
           with_errors(J{{"200", ok("Likes", array_of(jref("#/components/schemas/UserLike")))}},
                       {"404 NotFound", "422 ValidationError", "503 Unavailable"})),
        true);

  // Admin (builtin catalog)
  const auto admin = [&](std::string_view method, std::string_view path, std::string_view id,
                         std::string_view summary, J params, J responses,
                         std::string_view body = {}) {
    J extra{{"security", bearer_security}};
    if (!body.empty()) extra.update(body_of(body));
    b.add(method, path,
          op(id, "admin", summary, std::move(params),
             with_errors(std::move(responses), {"401 AdminRequired", "503 Unavailable"}), extra),
          false);
  };
  const J org{
      {"name", "org"}, {"in", "path"}, {"required", true}, {"schema", J{{"type", "string"}}}};
  admin("get", "/api/admin/repos", "adminListRepos", "List repositories", J::array(),
        J{{"200", ok("Repositories", array_of(jref("#/components/schemas/Repo")))}});
  admin("post", "/api/admin/repos", "adminAddRepo", "Register a repository", J::array(),
        with_errors(J{{"201", ok("Created", jref("#/components/schemas/Repo"))}},
                    {"400 BadRequest", "409 Conflict"}),
        "NewRepo");
  admin("delete", "/api/admin/repos/{type}s/{ns}/{name}", "adminRemoveRepo",
        "Remove a repository (and its likes)", repo_params(),
        with_errors(J{{"200", ok("Deleted",
                                 schema_obj(J{{"deleted", J{{"type", "boolean"}}}}, {"deleted"}))}},
                    {"404 NotFound"}));
  admin("put", "/api/admin/repos/{type}s/{ns}/{name}/private", "adminSetPrivate",
        "Make a repository private or public", repo_params(),
        with_errors(J{{"200", ok("Updated", jref("#/components/schemas/Repo"))}},
                    {"400 BadRequest", "404 NotFound"}),
        "Privacy");
  admin("get", "/api/admin/users", "adminListUsers", "List users", J::array(),
        J{{"200", ok("Users", array_of(jref("#/components/schemas/User")))}});
  admin("post", "/api/admin/users", "adminAddUser", "Create a user", J::array(),
        with_errors(J{{"201", ok("Created", jref("#/components/schemas/User"))}},
                    {"400 BadRequest", "409 Conflict"}),
        "NewUser");
  admin(
      "get", "/api/admin/orgs/{org}/members", "adminOrgMembers", "Members of an organization",
      J::array({org}),
      with_errors(J{{"200", ok("Usernames", array_of(J{{"type", "string"}}))}}, {"404 NotFound"}));
  admin("post", "/api/admin/orgs/{org}/members", "adminAddMember",
        "Add a member (creates the organization if needed)", J::array({org}),
        with_errors(J{{"200", ok("Added", jref("#/components/schemas/MemberChange"))}},
                    {"400 BadRequest", "404 NotFound", "409 Conflict"}),
        "Member");
  admin("delete", "/api/admin/orgs/{org}/members/{username}", "adminRemoveMember",
        "Remove a member",
        J::array({org, J{{"name", "username"},
                         {"in", "path"},
                         {"required", true},
                         {"schema", J{{"type", "string"}}}}}),
        with_errors(J{{"200", ok("Removed", jref("#/components/schemas/MemberChange"))}},
                    {"404 NotFound"}));
  admin("get", "/api/admin/tokens", "adminListTokens", "List tokens (never their secret)",
        J::array({J{{"name", "username"},
                    {"in", "query"},
                    {"required", false},
                    {"schema", J{{"type", "string"}}}}}),
        J{{"200", ok("Tokens", array_of(jref("#/components/schemas/TokenInfo")))}});
  admin("post", "/api/admin/tokens", "adminCreateToken",
        "Create a token (shown only in this response)", J::array(),
        with_errors(J{{"201", ok("Created", jref("#/components/schemas/CreatedToken"))}},
                    {"400 BadRequest", "404 NotFound"}),
        "NewToken");
  admin("delete", "/api/admin/tokens/{token_id}", "adminRevokeToken", "Revoke a token",
        J::array({J{{"name", "token_id"},
                    {"in", "path"},
                    {"required", true},
                    {"schema", J{{"type", "integer"}}}}}),
        with_errors(J{{"200", ok("Revoked", schema_obj(J{{"id", J{{"type", "integer"}}},
                                                         {"revoked", J{{"type", "boolean"}}}},
                                                       {"id", "revoked"}))}},
                    {"404 NotFound"}));

  // Operations
  b.add("get", "/health",
        op("getHealth", "operations", "Liveness", J::array(),
           J{{"200", ok("Alive", schema_obj(J{{"status", J{{"type", "string"}, {"enum", {"ok"}}}}},
                                            {"status"}))}}),
        false);
  b.add("get", "/metrics",
        op("getMetrics", "operations",
           "Prometheus metrics (text exposition format 0.0.4; see docs/metrics.md)", J::array(),
           J{{"200", J{{"description", "Metrics"},
                       {"content",
                        J{{"text/plain; version=0.0.4", J{{"schema", J{{"type", "string"}}}}}}}}}}),
        false);
  b.add("get", "/dashboard",
        op("getDashboard", "operations",
           "The dashboard: trending per type and per-repo pages (#type/ns/name), a self-contained "
           "HTML page",
           J::array(),
           J{{"200", J{{"description", "HTML"},
                       {"content", J{{"text/html", J{{"schema", J{{"type", "string"}}}}}}}}}}),
        false);
  b.add("get", "/openapi.json",
        op("getOpenApi", "operations", "This document", J::array(),
           J{{"200", ok("OpenAPI 3.0 document", J{{"type", "object"}})}}),
        false);

  J doc;
  doc["openapi"] = "3.0.3";
  doc["info"] =
      J{{"title", "hubstats"},
        {"version", HUBSTATS_VERSION},
        {"description",
         "Download statistics for KohakuHub-style model hubs: the Statistics API, likes, "
         "administration of the builtin catalog, pictures, metrics and the dashboard. "
         "Per-repo paths are also served under /api. Every response carries X-Request-Id. "
         "An unknown route answers 404 {\"detail\":\"Not Found\"}, a wrong method 405 with Allow. "
         "Likes and admin paths exist only with the builtin catalog."}};
  doc["servers"] = J::array({J{{"url", "/"}}});
  doc["tags"] = J::array({J{{"name", "statistics"}}, J{{"name", "pictures"}}, J{{"name", "likes"}},
                          J{{"name", "admin"}}, J{{"name", "operations"}}});
  doc["paths"] = b.paths();
  doc["components"] = components();
  return doc;
}

}  // namespace

const nlohmann::ordered_json& document() {
  static const J doc = build();
  return doc;
}

std::set<std::pair<std::string, std::string>> documented_operations() {
  std::set<std::pair<std::string, std::string>> out;
  for (const auto& [path, item] : document()["paths"].items()) {
    for (const auto& [method, operation] : item.items()) {
      std::string m = method;
      for (char& ch : m) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      out.emplace(m, path);
    }
  }
  return out;
}

std::string to_openapi_path(const std::string& pattern) {
  std::string p = pattern;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

void register_openapi_route(http::Router& router) {
  router.add("GET", "/openapi.json", [](const http::Request&, const http::PathParams&) {
    static const std::string body = http::to_json_body(document());
    http::Response res = http::json_response(200, body);
    res.headers.emplace_back("Cache-Control", "public, max-age=300");
    return res;
  });
}

}  // namespace hubstatsd::openapi
