#include "serve/api/catalog_routes.h"

#include "serve/api/caller.h"

#include <nlohmann/json.hpp>

#include "serve/api/query_validation.h"
#include "serve/api/stats_api.h"
#include "catalog/admin.h"
#include "catalog/likes.h"
#include "serve/http/json_body.h"

namespace hubstatsd {

namespace {

using nlohmann::ordered_json;

constexpr std::int64_t kDefaultLimit = 50;
constexpr std::int64_t kMaxLimit = 1000;

http::Response json(int status, const ordered_json& j) {
  return http::json_response(status, http::to_json_body(j));
}

// {"detail":{"error":"..."}} — KohakuHub's shape for its likes 400/404s.
http::Response detail_error(int status, std::string_view msg) {
  ordered_json j;
  j["detail"]["error"] = msg;
  return json(status, j);
}

ordered_json repo_json(const RepoInfo& r) {
  ordered_json j;
  j["type"] = hubstats::to_string(r.ref.type);
  j["namespace"] = r.ref.ns;
  j["name"] = r.ref.name;
  j["private"] = r.is_private;
  j["likes"] = r.likes;
  return j;
}

// A 400 naming the offending field of an admin request body.
struct BadRequest : std::runtime_error {
  using std::runtime_error::runtime_error;
};

ordered_json parse_body(const http::Request& req) {
  ordered_json body = ordered_json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) throw BadRequest("body: malformed JSON");
  if (!body.is_object()) throw BadRequest("body: expected a JSON object");
  return body;
}

std::string segment_field(const ordered_json& body, const char* key) {
  const auto it = body.find(key);
  if (it == body.end()) throw BadRequest(std::string(key) + ": required");
  if (!it->is_string() || !hubstats::valid_segment(it->get_ref<const std::string&>()))
    throw BadRequest(std::string(key) + ": expected 1..96 chars of [A-Za-z0-9._-]");
  return it->get<std::string>();
}

std::string text_field(const ordered_json& body, const char* key, std::size_t max_len) {
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) return "";
  if (!it->is_string() || it->get_ref<const std::string&>().size() > max_len)
    throw BadRequest(std::string(key) + ": expected a string of at most " +
                     std::to_string(max_len) + " chars");
  return it->get<std::string>();
}

bool bool_field(const ordered_json& body, const char* key, std::optional<bool> def) {
  const auto it = body.find(key);
  if (it == body.end()) {
    if (def) return *def;
    throw BadRequest(std::string(key) + ": required");
  }
  if (!it->is_boolean()) throw BadRequest(std::string(key) + ": expected a boolean");
  return it->get<bool>();
}

hubstats::RepoType type_field(const ordered_json& body) {
  const auto it = body.find("type");
  if (it == body.end()) throw BadRequest("type: required");
  std::optional<hubstats::RepoType> t;
  if (it->is_string()) t = hubstats::parse_repo_type(it->get_ref<const std::string&>());
  if (!t) throw BadRequest("type: expected model, dataset or space");
  return *t;
}

}  // namespace

// ---- likes ----

http::Response CatalogApi::like(const http::Request& req, const http::PathParams& p) {
  const Caller caller = caller_of(catalog_, req);
  if (!caller.authenticated()) return http::detail_response(401, "Not authenticated");
  const hubstats::RepoRef ref = api::repo_from_params(p);
  const auto repo = catalog_.visible_repo(caller, ref);
  if (!repo) return api::repo_not_found(ref);
  const LikeResult r = catalog_.likes()->like(*repo, *caller.username);
  if (r.outcome != LikeOutcome::kDone) return detail_error(400, "Repository already liked");
  ordered_json j;
  j["success"] = true;
  j["message"] = "Repository liked successfully";
  j["likes_count"] = r.likes_count;
  return json(200, j);
}

http::Response CatalogApi::unlike(const http::Request& req, const http::PathParams& p) {
  const Caller caller = caller_of(catalog_, req);
  if (!caller.authenticated()) return http::detail_response(401, "Not authenticated");
  const hubstats::RepoRef ref = api::repo_from_params(p);
  const auto repo = catalog_.visible_repo(caller, ref);
  if (!repo) return api::repo_not_found(ref);
  const LikeResult r = catalog_.likes()->unlike(*repo, *caller.username);
  if (r.outcome != LikeOutcome::kDone) return detail_error(400, "Repository not liked");
  ordered_json j;
  j["success"] = true;
  j["message"] = "Repository unliked successfully";
  j["likes_count"] = r.likes_count;
  return json(200, j);
}

http::Response CatalogApi::liked(const http::Request& req, const http::PathParams& p) {
  const Caller caller = caller_of(catalog_, req);
  const hubstats::RepoRef ref = api::repo_from_params(p);
  const auto repo = catalog_.visible_repo(caller, ref);
  if (!repo) return api::repo_not_found(ref);
  ordered_json j;
  j["liked"] = caller.authenticated() && catalog_.likes()->liked(*repo, *caller.username);
  return json(200, j);
}

http::Response CatalogApi::likers(const http::Request& req, const http::PathParams& p) {
  api::QueryValidator v(req);
  const auto limit = v.integer("limit", kDefaultLimit, 1, kMaxLimit);
  if (!v.ok()) return v.error_response();
  const Caller caller = caller_of(catalog_, req);
  const hubstats::RepoRef ref = api::repo_from_params(p);
  const auto repo = catalog_.visible_repo(caller, ref);
  if (!repo) return api::repo_not_found(ref);
  ordered_json out = ordered_json::array();
  for (const Liker& l : catalog_.likes()->likers(*repo, static_cast<std::size_t>(limit))) {
    ordered_json j;
    j["user"] = l.username;
    j["fullname"] = l.fullname.empty() ? l.username : l.fullname;
    j["avatarUrl"] = nullptr;
    out.push_back(std::move(j));
  }
  return json(200, out);
}

http::Response CatalogApi::user_likes(const http::Request& req, const http::PathParams& p) {
  api::QueryValidator v(req);
  const auto limit = v.integer("limit", kDefaultLimit, 1, kMaxLimit);
  if (!v.ok()) return v.error_response();
  const Caller caller = caller_of(catalog_, req);
  const auto likes = catalog_.likes()->user_likes(
      p.find("user")->second, static_cast<std::size_t>(limit),
      [&](const RepoInfo& repo) { return catalog_.can_read(caller, repo); });
  if (!likes) return detail_error(404, "User not found");
  ordered_json out = ordered_json::array();
  for (const UserLike& l : *likes) {
    ordered_json j;
    j["createdAt"] = l.created_at;
    j["repo"]["name"] = l.repo.ref.id();
    j["repo"]["type"] = hubstats::to_string(l.repo.ref.type);
    out.push_back(std::move(j));
  }
  return json(200, out);
}

// ---- admin ----

template <class F>
http::Response CatalogApi::as_admin(const http::Request& req, F&& f) {
  const std::string_view token = req.bearer_token();
  if (token.empty() || !catalog_.authenticate(token, "").is_admin)
    return http::detail_response(401, "Admin token required");
  try {
    return f(*catalog_.admin());
  } catch (const BadRequest& e) {
    return http::detail_response(400, e.what());
  } catch (const AdminError& e) {
    return http::detail_response(e.status, e.what());
  }
}

http::Response CatalogApi::admin_list_repos(const http::Request& req, const http::PathParams&) {
  return as_admin(req, [&](CatalogAdmin& a) {
    ordered_json out = ordered_json::array();
    for (const RepoInfo& r : a.list_repos()) out.push_back(repo_json(r));
    return json(200, out);
  });
}

http::Response CatalogApi::admin_add_repo(const http::Request& req, const http::PathParams&) {
  return as_admin(req, [&](CatalogAdmin& a) {
    const ordered_json body = parse_body(req);
    hubstats::RepoRef ref;
    ref.type = type_field(body);
    ref.ns = segment_field(body, "namespace");
    ref.name = segment_field(body, "name");
    const bool is_private = bool_field(body, "private", false);
    return json(201, repo_json(a.add_repo(ref, is_private)));
  });
}

http::Response CatalogApi::admin_remove_repo(const http::Request& req, const http::PathParams& p) {
  return as_admin(req, [&](CatalogAdmin& a) {
    a.remove_repo(api::repo_from_params(p));
    ordered_json j;
    j["deleted"] = true;
    return json(200, j);
  });
}

http::Response CatalogApi::admin_set_private(const http::Request& req, const http::PathParams& p) {
  return as_admin(req, [&](CatalogAdmin& a) {
    const ordered_json body = parse_body(req);
    const bool is_private = bool_field(body, "private", std::nullopt);
    return json(200, repo_json(a.set_private(api::repo_from_params(p), is_private)));
  });
}

http::Response CatalogApi::admin_list_users(const http::Request& req, const http::PathParams&) {
  return as_admin(req, [&](CatalogAdmin& a) {
    ordered_json out = ordered_json::array();
    for (const UserRecord& u : a.list_users()) {
      ordered_json j;
      j["username"] = u.username;
      j["fullname"] = u.fullname;
      out.push_back(std::move(j));
    }
    return json(200, out);
  });
}

http::Response CatalogApi::admin_add_user(const http::Request& req, const http::PathParams&) {
  return as_admin(req, [&](CatalogAdmin& a) {
    const ordered_json body = parse_body(req);
    const std::string username = segment_field(body, "username");
    const std::string fullname = text_field(body, "fullname", 256);
    const UserRecord u = a.add_user(username, fullname);
    ordered_json j;
    j["username"] = u.username;
    j["fullname"] = u.fullname;
    return json(201, j);
  });
}

http::Response CatalogApi::admin_org_members(const http::Request& req, const http::PathParams& p) {
  return as_admin(req, [&](CatalogAdmin& a) {
    ordered_json out = ordered_json::array();
    for (const std::string& m : a.org_members(p.find("org")->second)) out.push_back(m);
    return json(200, out);
  });
}

http::Response CatalogApi::admin_add_member(const http::Request& req, const http::PathParams& p) {
  return as_admin(req, [&](CatalogAdmin& a) {
    const ordered_json body = parse_body(req);
    const std::string org = p.find("org")->second;
    const std::string username = segment_field(body, "username");
    const bool added = a.add_member(org, username);
    ordered_json j;
    j["org"] = org;
    j["username"] = username;
    j["added"] = added;
    return json(200, j);
  });
}

http::Response CatalogApi::admin_remove_member(const http::Request& req,
                                               const http::PathParams& p) {
  return as_admin(req, [&](CatalogAdmin& a) {
    const std::string org = p.find("org")->second;
    const std::string username = p.find("username")->second;
    a.remove_member(org, username);
    ordered_json j;
    j["org"] = org;
    j["username"] = username;
    j["removed"] = true;
    return json(200, j);
  });
}

http::Response CatalogApi::admin_list_tokens(const http::Request& req, const http::PathParams&) {
  return as_admin(req, [&](CatalogAdmin& a) {
    std::optional<std::string> user;
    if (auto u = req.query_param("username")) user = std::string(*u);
    ordered_json out = ordered_json::array();
    for (const TokenRecord& t : a.list_tokens(user)) {
      ordered_json j;
      j["id"] = t.id;
      j["username"] = t.username;
      j["name"] = t.name;
      j["created_at"] = t.created_at;
      j["revoked"] = t.revoked;
      out.push_back(std::move(j));
    }
    return json(200, out);
  });
}

http::Response CatalogApi::admin_create_token(const http::Request& req, const http::PathParams&) {
  return as_admin(req, [&](CatalogAdmin& a) {
    const ordered_json body = parse_body(req);
    const std::string username = segment_field(body, "username");
    const std::string name = text_field(body, "name", 128);
    const NewToken t = a.create_token(username, name);
    ordered_json j;
    j["id"] = t.id;
    j["username"] = t.username;
    j["name"] = t.name;
    j["token"] = t.token;
    return json(201, j);
  });
}

http::Response CatalogApi::admin_revoke_token(const http::Request& req, const http::PathParams& p) {
  return as_admin(req, [&](CatalogAdmin& a) {
    const std::int64_t id = std::stoll(p.find("token_id")->second);
    a.revoke_token(id);
    ordered_json j;
    j["id"] = id;
    j["revoked"] = true;
    return json(200, j);
  });
}

// ---- registration ----

void register_catalog_routes(http::Router& router, CatalogApi& api) {
  Catalog& catalog = api.catalog();
  api::constrain_repo_params(router);
  router.constrain("org", [](std::string_view v) { return hubstats::valid_segment(v); });
  router.constrain("username", [](std::string_view v) { return hubstats::valid_segment(v); });
  router.constrain("token_id", [](std::string_view v) {
    if (v.empty() || v.size() > 18) return false;
    for (char c : v)
      if (c < '0' || c > '9') return false;
    return true;
  });
  auto bind = [&api](
                  http::Response (CatalogApi::*m)(const http::Request&, const http::PathParams&)) {
    return
        [&api, m](const http::Request& req, const http::PathParams& p) { return (api.*m)(req, p); };
  };
  if (catalog.likes()) {
    router.add_with_api_prefix("POST", "/{type}s/{ns}/{name}/like", bind(&CatalogApi::like));
    router.add_with_api_prefix("DELETE", "/{type}s/{ns}/{name}/like", bind(&CatalogApi::unlike));
    router.add_with_api_prefix("GET", "/{type}s/{ns}/{name}/like", bind(&CatalogApi::liked));
    router.add_with_api_prefix("GET", "/{type}s/{ns}/{name}/likers", bind(&CatalogApi::likers));
    router.add_with_api_prefix("GET", "/users/{user}/likes", bind(&CatalogApi::user_likes));
  }
  if (catalog.admin()) {
    router.add("GET", "/api/admin/repos", bind(&CatalogApi::admin_list_repos));
    router.add("POST", "/api/admin/repos", bind(&CatalogApi::admin_add_repo));
    router.add("DELETE", "/api/admin/repos/{type}s/{ns}/{name}",
               bind(&CatalogApi::admin_remove_repo));
    router.add("PUT", "/api/admin/repos/{type}s/{ns}/{name}/private",
               bind(&CatalogApi::admin_set_private));
    router.add("GET", "/api/admin/users", bind(&CatalogApi::admin_list_users));
    router.add("POST", "/api/admin/users", bind(&CatalogApi::admin_add_user));
    router.add("GET", "/api/admin/orgs/{org}/members", bind(&CatalogApi::admin_org_members));
    router.add("POST", "/api/admin/orgs/{org}/members", bind(&CatalogApi::admin_add_member));
    router.add("DELETE", "/api/admin/orgs/{org}/members/{username}",
               bind(&CatalogApi::admin_remove_member));
    router.add("GET", "/api/admin/tokens", bind(&CatalogApi::admin_list_tokens));
    router.add("POST", "/api/admin/tokens", bind(&CatalogApi::admin_create_token));
    router.add("DELETE", "/api/admin/tokens/{token_id}", bind(&CatalogApi::admin_revoke_token));
  }
}

}  // namespace hubstatsd
