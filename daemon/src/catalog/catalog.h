// Who exists and who may see what: repos, users, organizations, tokens, likes.
// Backends: "builtin" (hubstats' own tables) and "kohakuhub" (an existing hub's DB).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "hubstats/repo.h"

namespace hubstatsd {

struct RepoInfo {
  hubstats::RepoRef ref;
  bool is_private = false;
  std::int64_t likes = 0;
};

// The caller of a request. Anonymous unless a valid credential was presented.
struct Caller {
  std::optional<std::string> username;
  bool is_admin = false;  // holds the admin token (builtin catalog)
  bool authenticated() const { return username.has_value(); }
};

// The read rule shared by every backend: public repos are readable by anyone; a
// private repo by the user named like its namespace, or by a member of the
// organization named like its namespace. is_member(org, user) is only consulted
// for an authenticated caller of a private repo in someone else's namespace.
bool may_read(
    const Caller& caller, const RepoInfo& repo,
    const std::function<bool(const std::string& org, const std::string& user)>& is_member);

class Likes;         // catalog/likes.h
class CatalogAdmin;  // catalog/admin.h

class Catalog {
 public:
  virtual ~Catalog() = default;

  // Resolves credentials; an unknown, revoked or expired credential yields anonymous.
  virtual Caller authenticate(std::string_view bearer_token, std::string_view session_cookie) = 0;

  // The repo if it exists, regardless of visibility.
  virtual std::optional<RepoInfo> find_repo(const hubstats::RepoRef& ref) = 0;

  // Read permission: public, or owner (username == namespace), or member of the
  // organization named by the namespace.
  virtual bool can_read(const Caller& caller, const RepoInfo& repo) = 0;

  // The repo if it exists AND the caller may read it; nullopt otherwise. Every
  // per-repo endpoint goes through this one call so that a private repo and a
  // missing repo are indistinguishable, in bytes and in time: a missing repo is
  // checked as if it were private, so it costs the same lookups (the membership one
  // for an authenticated caller outside the namespace).
  std::optional<RepoInfo> visible_repo(const Caller& caller, const hubstats::RepoRef& ref) {
    auto r = find_repo(ref);
    const bool readable = can_read(caller, r ? *r : RepoInfo{ref, true, 0});
    if (!r || !readable) return std::nullopt;
    return r;
  }

  // What the catalog's cache holds for the repo, without any lookup (for the io
  // threads' non-blocking fast path): nullopt when nothing is cached; a cached nullopt
  // when the repo is cached as missing.
  virtual std::optional<std::optional<RepoInfo>> cached_repo(const hubstats::RepoRef& /*ref*/) {
    return std::nullopt;
  }
  // Name of the hub's session cookie accepted as a credential; empty when the
  // backend has no sessions (builtin).
  virtual std::string_view session_cookie_name() const { return {}; }

  // The likes API, when this backend serves it (builtin); nullptr otherwise
  // (kohakuhub: the hub serves its own likes).
  virtual Likes* likes() { return nullptr; }

  // Administration (builtin); nullptr when the backend is administered elsewhere.
  virtual CatalogAdmin* admin() { return nullptr; }
};

}  // namespace hubstatsd
