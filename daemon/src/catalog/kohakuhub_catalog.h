// catalog.backend: kohakuhub — reads an existing KohakuHub database, read-only, with
// no change to it: "user", token, session, repository, userorganization. Only SELECT
// statements are sent. The likes API stays the hub's (likes() is nullptr).
#pragma once

#include <string>

#include "catalog/caching_catalog.h"

namespace hubstatsd {

class PgPool;

class KohakuhubSource : public CatalogSource {
 public:
  // schema: the (validated) schema holding the hub's tables, e.g. "public".
  KohakuhubSource(PgPool& hub_pool, const std::string& schema);
  std::optional<std::string> user_by_token_hash(const std::string& token_hash) override;
  std::optional<std::string> user_by_session(const std::string& session_id) override;
  std::optional<RepoInfo> repo(const hubstats::RepoRef& ref) override;
  bool is_member(const std::string& org, const std::string& username) override;

 private:
  PgPool& pool_;
  std::string sql_token_, sql_session_, sql_repo_, sql_member_;
};

class KohakuhubCatalog : private KohakuhubSource, public CachingCatalog {
 public:
  KohakuhubCatalog(PgPool& hub_pool, const std::string& schema, CacheOptions cache,
                   std::string session_cookie, CacheClock clock = steady_now);
};

// A schema name usable as a quoted identifier: [A-Za-z_][A-Za-z0-9_]{0,62}.
bool valid_schema_name(std::string_view s);

}  // namespace hubstatsd
