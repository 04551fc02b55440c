#include "catalog/builtin_catalog.h"

#include "catalog/token.h"
#include "db/pg_pool.h"

namespace hubstatsd {

namespace {

using Params = std::vector<std::optional<std::string>>;

std::string type_str(const hubstats::RepoRef& ref) {
  return std::string(hubstats::to_string(ref.type));
}

Params repo_params(const hubstats::RepoRef& ref) {
  return {type_str(ref), ref.ns, ref.name};
}

bool as_bool(const PgResult& r, int row, int col) {
  return r.text(row, col) == "t";
}

RepoInfo repo_row(const PgResult& r, int row) {
  // Columns: type, namespace, name, private, likes
  RepoInfo info;
  info.ref.type = hubstats::parse_repo_type(r.text(row, 0)).value_or(hubstats::RepoType::kModel);
  info.ref.ns = r.str(row, 1);
  info.ref.name = r.str(row, 2);
  info.is_private = as_bool(r, row, 3);
  info.likes = r.i64(row, 4);
  return info;
}

// Like/unlike each run as one statement: the likes row change and the counter update
// commit together, and the counter's row lock serializes concurrent updates, so N
// concurrent likes by N users add exactly N.
constexpr const char* kLike = R"sql(
WITH ins AS (
  INSERT INTO hubstats.likes (repo_id, user_id)
  SELECT r.id, u.id FROM hubstats.repos r, hubstats.users u
   WHERE r.type = $1 AND r.namespace = $2 AND r.name = $3 AND u.username = $4
  ON CONFLICT DO NOTHING
  RETURNING repo_id)
UPDATE hubstats.repos SET likes = likes + 1
 WHERE id IN (SELECT repo_id FROM ins)
RETURNING likes)sql";

constexpr const char* kUnlike = R"sql(
WITH del AS (
  DELETE FROM hubstats.likes l USING hubstats.repos r, hubstats.users u
   WHERE l.repo_id = r.id AND l.user_id = u.id
     AND r.type = $1 AND r.namespace = $2 AND r.name = $3 AND u.username = $4
  RETURNING l.repo_id)
UPDATE hubstats.repos SET likes = likes - 1
 WHERE id IN (SELECT repo_id FROM del)
RETURNING likes)sql";

// Cap on rows examined for /api/users/{user}/likes before filtering by visibility.
constexpr int kMaxUserLikesScan = 10000;

}  // namespace

// ---- uncached lookups ----

std::optional<std::string> BuiltinSource::user_by_token_hash(const std::string& token_hash) {
  auto r = pool_.exec(
      "SELECT u.username FROM hubstats.tokens t JOIN hubstats.users u ON u.id = t.user_id "
      "WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
      {token_hash});
  if (r.rows() == 0) return std::nullopt;
  return r.str(0, 0);
}

std::optional<RepoInfo> BuiltinSource::repo(const hubstats::RepoRef& ref) {
  auto r = pool_.exec(
      "SELECT type, namespace, name, private, likes FROM hubstats.repos "
      "WHERE type = $1 AND namespace = $2 AND name = $3",
      repo_params(ref));
  if (r.rows() == 0) return std::nullopt;
  return repo_row(r, 0);
}

bool BuiltinSource::is_member(const std::string& org, const std::string& username) {
  auto r = pool_.exec(
      "SELECT 1 FROM hubstats.org_members m "
      "JOIN hubstats.organizations o ON o.id = m.org_id "
      "JOIN hubstats.users u ON u.id = m.user_id "
      "WHERE o.name = $1 AND u.username = $2",
      {org, username});
  return r.rows() > 0;
}

BuiltinCatalog::BuiltinCatalog(PgPool& pool, CacheOptions cache, std::string admin_token,
                               CacheClock clock)
    : BuiltinSource(pool),
      CachingCatalog(static_cast<CatalogSource&>(*this), cache, std::move(admin_token), "",
                     std::move(clock)) {}

// ---- likes ----

LikeResult BuiltinCatalog::like(const RepoInfo& repo, const std::string& username) {
  Params p = repo_params(repo.ref);
  p.push_back(username);
  auto r = pool_.exec(kLike, p);
  invalidate_repo(repo.ref);
  if (r.rows() == 0) return {LikeOutcome::kAlreadyLiked, 0};
  return {LikeOutcome::kDone, r.i64(0, 0)};
}

LikeResult BuiltinCatalog::unlike(const RepoInfo& repo, const std::string& username) {
  Params p = repo_params(repo.ref);
  p.push_back(username);
  auto r = pool_.exec(kUnlike, p);
  invalidate_repo(repo.ref);
  if (r.rows() == 0) return {LikeOutcome::kNotLiked, 0};
  return {LikeOutcome::kDone, r.i64(0, 0)};
}

bool BuiltinCatalog::liked(const RepoInfo& repo, const std::string& username) {
  Params p = repo_params(repo.ref);
  p.push_back(username);
  auto r = pool_.exec(
      "SELECT 1 FROM hubstats.likes l JOIN hubstats.repos r ON r.id = l.repo_id "
      "JOIN hubstats.users u ON u.id = l.user_id "
      "WHERE r.type = $1 AND r.namespace = $2 AND r.name = $3 AND u.username = $4",
      p);
  return r.rows() > 0;
}

std::vector<Liker> BuiltinCatalog::likers(const RepoInfo& repo, std::size_t limit) {
  Params p = repo_params(repo.ref);
  p.push_back(std::to_string(limit));
  auto r = pool_.exec(
      "SELECT u.username, u.fullname FROM hubstats.likes l "
      "JOIN hubstats.repos r ON r.id = l.repo_id JOIN hubstats.users u ON u.id = l.user_id "
      "WHERE r.type = $1 AND r.namespace = $2 AND r.name = $3 "
      "ORDER BY l.created_at DESC, u.username LIMIT $4::bigint",
      p);
  std::vector<Liker> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back({r.str(i, 0), r.str(i, 1)});
  return out;
}

std::optional<std::vector<UserLike>> BuiltinCatalog::user_likes(
    const std::string& username, std::size_t limit,
    const std::function<bool(const RepoInfo&)>& keep) {
  auto user = pool_.exec("SELECT id FROM hubstats.users WHERE username = $1", {username});
  if (user.rows() == 0) return std::nullopt;
  auto r = pool_.exec(
      "SELECT r.type, r.namespace, r.name, r.private, r.likes, "
      "to_char(l.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"') "
      "FROM hubstats.likes l JOIN hubstats.repos r ON r.id = l.repo_id "
      "WHERE l.user_id = $1::bigint ORDER BY l.created_at DESC, l.repo_id DESC LIMIT $2::bigint",
      {user.str(0, 0), std::to_string(kMaxUserLikesScan)});
  std::vector<UserLike> out;
  for (int i = 0; i < r.rows() && out.size() < limit; ++i) {
    RepoInfo repo = repo_row(r, i);
    if (!keep(repo)) continue;
    out.push_back({r.str(i, 5), std::move(repo)});
  }
  return out;
}

// ---- admin ----

std::vector<RepoInfo> BuiltinCatalog::list_repos() {
  auto r = pool_.exec(
      "SELECT type, namespace, name, private, likes FROM hubstats.repos "
      "ORDER BY type, namespace, name");
  std::vector<RepoInfo> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(repo_row(r, i));
  return out;
}

RepoInfo BuiltinCatalog::add_repo(const hubstats::RepoRef& ref, bool is_private) {
  Params p = repo_params(ref);
  p.push_back(is_private ? "true" : "false");
  auto r = pool_.exec(
      "INSERT INTO hubstats.repos (type, namespace, name, private) "
      "VALUES ($1, $2, $3, $4::boolean) ON CONFLICT DO NOTHING "
      "RETURNING type, namespace, name, private, likes",
      p);
  invalidate_repo(ref);
  if (r.rows() == 0) throw AdminError(409, "repository already exists");
  return repo_row(r, 0);
}

void BuiltinCatalog::remove_repo(const hubstats::RepoRef& ref) {
  auto r = pool_.exec(
      "DELETE FROM hubstats.repos WHERE type = $1 AND namespace = $2 AND name = $3 RETURNING id",
      repo_params(ref));
  invalidate_repo(ref);
  if (r.rows() == 0) throw AdminError(404, "repository not found");
}

RepoInfo BuiltinCatalog::set_private(const hubstats::RepoRef& ref, bool is_private) {
  Params p = repo_params(ref);
  p.push_back(is_private ? "true" : "false");
  auto r = pool_.exec(
      "UPDATE hubstats.repos SET private = $4::boolean "
      "WHERE type = $1 AND namespace = $2 AND name = $3 "
      "RETURNING type, namespace, name, private, likes",
      p);
  invalidate_repo(ref);
  if (r.rows() == 0) throw AdminError(404, "repository not found");
  return repo_row(r, 0);
}

std::vector<UserRecord> BuiltinCatalog::list_users() {
  auto r = pool_.exec("SELECT username, fullname FROM hubstats.users ORDER BY username");
  std::vector<UserRecord> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back({r.str(i, 0), r.str(i, 1)});
  return out;
}

UserRecord BuiltinCatalog::add_user(const std::string& username, const std::string& fullname) {
  auto r = pool_.exec(
      "INSERT INTO hubstats.users (username, fullname) SELECT $1, $2 "
      "WHERE NOT EXISTS (SELECT 1 FROM hubstats.organizations WHERE name = $1) "
      "ON CONFLICT DO NOTHING RETURNING username, fullname",
      {username, fullname});
  if (r.rows() == 0) throw AdminError(409, "a user or organization with that name exists");
  return {r.str(0, 0), r.str(0, 1)};
}

std::vector<std::string> BuiltinCatalog::org_members(const std::string& org) {
  auto o = pool_.exec("SELECT id FROM hubstats.organizations WHERE name = $1", {org});
  if (o.rows() == 0) throw AdminError(404, "organization not found");
  auto r = pool_.exec(
      "SELECT u.username FROM hubstats.org_members m JOIN hubstats.users u ON u.id = m.user_id "
      "WHERE m.org_id = $1::bigint ORDER BY u.username",
      {o.str(0, 0)});
  std::vector<std::string> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(r.str(i, 0));
  return out;
}

bool BuiltinCatalog::add_member(const std::string& org, const std::string& username) {
  auto u = pool_.exec("SELECT id FROM hubstats.users WHERE username = $1", {username});
  if (u.rows() == 0) throw AdminError(404, "user not found");
  pool_.exec(
      "INSERT INTO hubstats.organizations (name) SELECT $1 "
      "WHERE NOT EXISTS (SELECT 1 FROM hubstats.users WHERE username = $1) "
      "ON CONFLICT DO NOTHING",
      {org});
  auto o = pool_.exec("SELECT id FROM hubstats.organizations WHERE name = $1", {org});
  if (o.rows() == 0) throw AdminError(409, "a user with that name exists");
  auto r = pool_.exec(
      "INSERT INTO hubstats.org_members (org_id, user_id) VALUES ($1::bigint, $2::bigint) "
      "ON CONFLICT DO NOTHING RETURNING org_id",
      {o.str(0, 0), u.str(0, 0)});
  invalidate_membership();
  return r.rows() > 0;
}

void BuiltinCatalog::remove_member(const std::string& org, const std::string& username) {
  auto r = pool_.exec(
      "DELETE FROM hubstats.org_members m USING hubstats.organizations o, hubstats.users u "
      "WHERE m.org_id = o.id AND m.user_id = u.id AND o.name = $1 AND u.username = $2 "
      "RETURNING m.org_id",
      {org, username});
  invalidate_membership();
  if (r.rows() == 0) throw AdminError(404, "not a member");
}

std::vector<TokenRecord> BuiltinCatalog::list_tokens(const std::optional<std::string>& username) {
  auto r = pool_.exec(
      "SELECT t.id, u.username, t.name, "
      "to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
      "t.revoked_at IS NOT NULL "
      "FROM hubstats.tokens t JOIN hubstats.users u ON u.id = t.user_id "
      "WHERE $1::text IS NULL OR u.username = $1 ORDER BY t.id",
      {username});
  std::vector<TokenRecord> out;
  for (int i = 0; i < r.rows(); ++i)
    out.push_back({r.i64(i, 0), r.str(i, 1), r.str(i, 2), r.str(i, 3), as_bool(r, i, 4)});
  return out;
}

NewToken BuiltinCatalog::create_token(const std::string& username, const std::string& name) {
  std::string token = generate_token();
  auto r = pool_.exec(
      "INSERT INTO hubstats.tokens (user_id, token_hash, name) "
      "SELECT id, $2, $3 FROM hubstats.users WHERE username = $1 RETURNING id",
      {username, sha3_512_hex(token), name});
  if (r.rows() == 0) throw AdminError(404, "user not found");
  return {r.i64(0, 0), username, name, std::move(token)};
}

void BuiltinCatalog::revoke_token(std::int64_t id) {
  auto r = pool_.exec(
      "UPDATE hubstats.tokens SET revoked_at = now() "
      "WHERE id = $1::bigint AND revoked_at IS NULL RETURNING id",
      {std::to_string(id)});
  invalidate_credentials();
  if (r.rows() == 0) throw AdminError(404, "token not found");
}

}  // namespace hubstatsd
