// HTTP routes of the catalog: the likes API (builtin backend; KohakuHub's paths and
// shapes, with and without /api) and the admin API under /api/admin (builtin). Both
// are documented in docs/catalog.md. With a backend that has neither (kohakuhub),
// nothing is registered and those paths answer the router's 404.
#pragma once

#include "catalog/catalog.h"
#include "serve/http/message.h"
#include "serve/http/router.h"

namespace hubstatsd {

class CatalogApi {
 public:
  explicit CatalogApi(Catalog& catalog) : catalog_(catalog) {}
  Catalog& catalog() { return catalog_; }

  // Likes (require catalog.likes() != nullptr)
  http::Response like(const http::Request& req, const http::PathParams& p);
  http::Response unlike(const http::Request& req, const http::PathParams& p);
  http::Response liked(const http::Request& req, const http::PathParams& p);
  http::Response likers(const http::Request& req, const http::PathParams& p);
  http::Response user_likes(const http::Request& req, const http::PathParams& p);

  // Admin (require catalog.admin() != nullptr)
  http::Response admin_list_repos(const http::Request& req, const http::PathParams& p);
  http::Response admin_add_repo(const http::Request& req, const http::PathParams& p);
  http::Response admin_remove_repo(const http::Request& req, const http::PathParams& p);
  http::Response admin_set_private(const http::Request& req, const http::PathParams& p);
  http::Response admin_list_users(const http::Request& req, const http::PathParams& p);
  http::Response admin_add_user(const http::Request& req, const http::PathParams& p);
  http::Response admin_org_members(const http::Request& req, const http::PathParams& p);
  http::Response admin_add_member(const http::Request& req, const http::PathParams& p);
  http::Response admin_remove_member(const http::Request& req, const http::PathParams& p);
  http::Response admin_list_tokens(const http::Request& req, const http::PathParams& p);
  http::Response admin_create_token(const http::Request& req, const http::PathParams& p);
  http::Response admin_revoke_token(const http::Request& req, const http::PathParams& p);

 private:
  template <class F>
  http::Response as_admin(const http::Request& req, F&& f);

  Catalog& catalog_;
};

// Registers the likes routes when catalog.likes() exists and the admin routes when
// catalog.admin() exists. `api` must outlive the router. Installs the repo path
// constraints ({type}, {ns}, {name}) like the stats routes do.
void register_catalog_routes(http::Router& router, CatalogApi& api);

}  // namespace hubstatsd
