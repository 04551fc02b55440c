// The part of a catalog common to every backend: credential resolution, the read
// rule and TTL caches in front of the backend's uncached lookups (CatalogSource).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "catalog/catalog.h"
#include "catalog/ttl_cache.h"

namespace hubstatsd {

// Uncached lookups a backend answers from its database. May throw Unavailable.
class CatalogSource {
 public:
  virtual ~CatalogSource() = default;
  // Username of the active user owning the token with this SHA3-512 hex hash.
  virtual std::optional<std::string> user_by_token_hash(const std::string& token_hash) = 0;
  // Username of the active user of an unexpired web session; nullopt without sessions.
  virtual std::optional<std::string> user_by_session(const std::string& session_id) = 0;
  virtual std::optional<RepoInfo> repo(const hubstats::RepoRef& ref) = 0;
  // Whether username is a member of the organization named org.
  virtual bool is_member(const std::string& org, const std::string& username) = 0;
};

struct CacheOptions {
  std::chrono::milliseconds ttl{5000};
  std::size_t max_entries = 100000;
};

// How credentials are read. kHubstats: the bearer token wins over the session cookie.
// kKohakuHub: what KohakuHub's auth does (auth/dependencies.py, external_token_parser.py):
// the session cookie is tried first, then the token, and the token is the part of
// "Bearer <token>|<url>,<external token>|..." before the first '|'.
enum class CredentialRules { kHubstats, kKohakuHub };

class CachingCatalog : public Catalog {
 public:
  // admin_token: the admin secret (empty: nobody is admin). session_cookie: the
  // cookie name to read sessions from (empty: no session credentials).
  CachingCatalog(CatalogSource& source, CacheOptions cache, std::string admin_token,
                 std::string session_cookie, CacheClock clock = steady_now,
                 CredentialRules rules = CredentialRules::kHubstats);

  Caller authenticate(std::string_view bearer_token, std::string_view session_cookie) override;
  std::optional<RepoInfo> find_repo(const hubstats::RepoRef& ref) override;
  std::optional<std::optional<RepoInfo>> cached_repo(const hubstats::RepoRef& ref) override;
  bool can_read(const Caller& caller, const RepoInfo& repo) override;
  std::string_view session_cookie_name() const override { return session_cookie_; }

  // Hits and misses of each cache, for /metrics.
  struct CacheCounts {
    const char* cache;  // "token", "session", "repo", "membership"
    std::uint64_t hits;
    std::uint64_t misses;
  };
  std::array<CacheCounts, 4> cache_counts() const {
    return {{{"token", tokens_.hits(), tokens_.misses()},
             {"session", sessions_.hits(), sessions_.misses()},
             {"repo", repos_.hits(), repos_.misses()},
             {"membership", members_.hits(), members_.misses()}}};
  }

  // Drop cached knowledge after a change made through this daemon.
  void invalidate_repo(const hubstats::RepoRef& ref);
  void invalidate_credentials();
  void invalidate_membership();

 private:
  std::optional<std::string> user_of_token(std::string_view token);
  std::optional<std::string> user_of_session(std::string_view session_id);

  CatalogSource& source_;
  const std::string admin_token_hash_;  // sha3_512_hex of the admin token; empty: none
  const std::string session_cookie_;
  const CredentialRules rules_;
  TtlCache<std::optional<std::string>> tokens_;    // token hash -> username
  TtlCache<std::optional<std::string>> sessions_;  // session id -> username
  TtlCache<std::optional<RepoInfo>> repos_;        // keys::repo_tag -> repo
  TtlCache<bool> members_;                         // "org\0user" -> member
};

}  // namespace hubstatsd
