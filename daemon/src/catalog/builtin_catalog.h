// catalog.backend: builtin — hubstats' own tables (migrations/010_catalog.sql):
// repos, users, organizations, tokens (hashed) and likes, administered over HTTP.
#pragma once

#include <string>

#include "catalog/admin.h"
#include "catalog/caching_catalog.h"
#include "catalog/likes.h"

namespace hubstatsd {

class PgPool;

// Uncached lookups against schema hubstats.
class BuiltinSource : public CatalogSource {
 public:
  explicit BuiltinSource(PgPool& pool) : pool_(pool) {}
  std::optional<std::string> user_by_token_hash(const std::string& token_hash) override;
  std::optional<std::string> user_by_session(const std::string&) override { return std::nullopt; }
  std::optional<RepoInfo> repo(const hubstats::RepoRef& ref) override;
  bool is_member(const std::string& org, const std::string& username) override;

 protected:
  PgPool& pool_;
};

class BuiltinCatalog : private BuiltinSource,
                       public CachingCatalog,
                       public Likes,
                       public CatalogAdmin {
 public:
  BuiltinCatalog(PgPool& pool, CacheOptions cache, std::string admin_token,
                 CacheClock clock = steady_now);

  Likes* likes() override { return this; }
  CatalogAdmin* admin() override { return this; }

  // Likes
  LikeResult like(const RepoInfo& repo, const std::string& username) override;
  LikeResult unlike(const RepoInfo& repo, const std::string& username) override;
  bool liked(const RepoInfo& repo, const std::string& username) override;
  std::vector<Liker> likers(const RepoInfo& repo, std::size_t limit) override;
  std::optional<std::vector<UserLike>> user_likes(
      const std::string& username, std::size_t limit,
      const std::function<bool(const RepoInfo&)>& keep) override;

  // Admin
  std::vector<RepoInfo> list_repos() override;
  RepoInfo add_repo(const hubstats::RepoRef& ref, bool is_private) override;
  void remove_repo(const hubstats::RepoRef& ref) override;
  RepoInfo set_private(const hubstats::RepoRef& ref, bool is_private) override;
  std::vector<UserRecord> list_users() override;
  UserRecord add_user(const std::string& username, const std::string& fullname) override;
  std::vector<std::string> org_members(const std::string& org) override;
  bool add_member(const std::string& org, const std::string& username) override;
  void remove_member(const std::string& org, const std::string& username) override;
  std::vector<TokenRecord> list_tokens(const std::optional<std::string>& username) override;
  NewToken create_token(const std::string& username, const std::string& name) override;
  void revoke_token(std::int64_t id) override;
};

}  // namespace hubstatsd
