#include "catalog/caching_catalog.h"

#include "catalog/token.h"
#include "hubstats/contract/keys.h"
#include "hubstats/identity.h"

namespace hubstatsd {

namespace {
// Longer credentials are not tokens of ours or the hub's; don't spend a hash or a
// cache slot on them.
constexpr std::size_t kMaxCredential = 512;
}  // namespace

bool may_read(const Caller& caller, const RepoInfo& repo,
              const std::function<bool(const std::string&, const std::string&)>& is_member) {
  if (!repo.is_private) return true;
  if (!caller.username) return false;
  if (*caller.username == repo.ref.ns) return true;
  return is_member(repo.ref.ns, *caller.username);
}

CachingCatalog::CachingCatalog(CatalogSource& source, CacheOptions cache, std::string admin_token,
                               std::string session_cookie, CacheClock clock, CredentialRules rules)
    : source_(source),
      admin_token_hash_(admin_token.empty() ? "" : sha3_512_hex(admin_token)),
      session_cookie_(std::move(session_cookie)),
      rules_(rules),
      tokens_(cache.ttl, cache.max_entries, clock),
      sessions_(cache.ttl, cache.max_entries, clock),
      repos_(cache.ttl, cache.max_entries, clock),
      members_(cache.ttl, cache.max_entries, clock) {}

std::optional<std::string> CachingCatalog::user_of_token(std::string_view token) {
  if (token.empty() || token.size() > kMaxCredential) return std::nullopt;
  const std::string hash = sha3_512_hex(token);
  return tokens_.get_or_load(hash, [&] { return source_.user_by_token_hash(hash); });
}

std::optional<std::string> CachingCatalog::user_of_session(std::string_view session_id) {
  if (session_cookie_.empty() || session_id.empty() || session_id.size() > kMaxCredential)
    return std::nullopt;
  const std::string sid(session_id);
  return sessions_.get_or_load(sid, [&] { return source_.user_by_session(sid); });
}

Caller CachingCatalog::authenticate(std::string_view bearer, std::string_view cookie) {
  Caller caller;
  if (rules_ == CredentialRules::kKohakuHub) {
    // The hub's order: a live session first, then the hub token before any '|'.
    caller.username = user_of_session(cookie);
    if (!caller.username) caller.username = user_of_token(hubstats::hub_token(bearer));
    return caller;
  }
  if (!bearer.empty() && bearer.size() <= kMaxCredential) {
    const std::string hash = sha3_512_hex(bearer);
    // Compared as digests: constant time, and the admin token itself is not kept.
    if (!admin_token_hash_.empty() && digests_equal(hash, admin_token_hash_)) {
      caller.is_admin = true;
      return caller;
    }
  }
  caller.username = user_of_token(bearer);
  if (caller.username) return caller;
  caller.username = user_of_session(cookie);
  return caller;
}

std::optional<RepoInfo> CachingCatalog::find_repo(const hubstats::RepoRef& ref) {
  return repos_.get_or_load(hubstats::keys::repo_tag(ref), [&] { return source_.repo(ref); });
}

std::optional<std::optional<RepoInfo>> CachingCatalog::cached_repo(const hubstats::RepoRef& ref) {
  return repos_.peek(hubstats::keys::repo_tag(ref));
}

bool CachingCatalog::can_read(const Caller& caller, const RepoInfo& repo) {
  return may_read(caller, repo, [&](const std::string& org, const std::string& user) {
    std::string key = org;
    key.push_back('\0');
    key += user;
    return members_.get_or_load(key, [&] { return source_.is_member(org, user); });
  });
}

void CachingCatalog::invalidate_repo(const hubstats::RepoRef& ref) {
  repos_.erase(hubstats::keys::repo_tag(ref));
}

void CachingCatalog::invalidate_credentials() {
  tokens_.clear();
  sessions_.clear();
}

void CachingCatalog::invalidate_membership() {
  members_.clear();
}

}  // namespace hubstatsd
