#include "catalog/kohakuhub_catalog.h"

#include "db/pg_pool.h"

namespace hubstatsd {

bool valid_schema_name(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(s[0])) return false;
  for (char c : s)
    if (!alpha(c) && !(c >= '0' && c <= '9')) return false;
  return true;
}

KohakuhubSource::KohakuhubSource(PgPool& hub_pool, const std::string& schema) : pool_(hub_pool) {
  // The schema is an identifier from the config (validated by valid_schema_name), not a
  // value: it is quoted into the text once here; every value stays a $n parameter.
  const std::string s = "\"" + schema + "\".";
  // KohakuHub writes timezone-aware UTC datetimes into `timestamp` (no time zone)
  // columns, so PostgreSQL stores them as wall time in the TimeZone of the writing
  // session (the database's default), and KohakuHub compares them with an aware "now"
  // that converts the same way. LOCALTIMESTAMP is "now" as wall time in this session's
  // TimeZone, which is that same default (hubstatsd sets none): correct in any server
  // time zone. (now() AT TIME ZONE 'UTC' was right only on a UTC database.)
  sql_token_ = "SELECT u.username FROM " + s + "token t JOIN " + s +
               "\"user\" u ON u.id = t.user_id "
               "WHERE t.token_hash = $1 AND u.is_active AND NOT u.is_org";
  sql_session_ = "SELECT u.username FROM " + s + "session x JOIN " + s +
                 "\"user\" u ON u.id = x.user_id "
                 "WHERE x.session_id = $1 AND x.expires_at > LOCALTIMESTAMP "
                 "AND u.is_active AND NOT u.is_org";
  sql_repo_ = "SELECT private, likes_count FROM " + s +
              "repository WHERE repo_type = $1 AND namespace = $2 AND name = $3";
  sql_member_ = "SELECT 1 FROM " + s + "userorganization m JOIN " + s +
                "\"user\" o ON o.id = m.organization_id JOIN " + s +
                "\"user\" u ON u.id = m.user_id "
                "WHERE o.username = $1 AND o.is_org AND u.username = $2";
}

std::optional<std::string> KohakuhubSource::user_by_token_hash(const std::string& token_hash) {
  auto r = pool_.exec(sql_token_, {token_hash});
  if (r.rows() == 0) return std::nullopt;
  return r.str(0, 0);
}

std::optional<std::string> KohakuhubSource::user_by_session(const std::string& session_id) {
  auto r = pool_.exec(sql_session_, {session_id});
  if (r.rows() == 0) return std::nullopt;
  return r.str(0, 0);
}

std::optional<RepoInfo> KohakuhubSource::repo(const hubstats::RepoRef& ref) {
  auto r = pool_.exec(sql_repo_, {std::string(hubstats::to_string(ref.type)), ref.ns, ref.name});
  if (r.rows() == 0) return std::nullopt;
  RepoInfo info;
  info.ref = ref;
  info.is_private = r.text(0, 0) == "t";
  info.likes = r.is_null(0, 1) ? 0 : r.i64(0, 1);
  return info;
}

bool KohakuhubSource::is_member(const std::string& org, const std::string& username) {
  return pool_.exec(sql_member_, {org, username}).rows() > 0;
}

KohakuhubCatalog::KohakuhubCatalog(PgPool& hub_pool, const std::string& schema, CacheOptions cache,
                                   std::string session_cookie, CacheClock clock)
    : KohakuhubSource(hub_pool, schema),
      CachingCatalog(static_cast<CatalogSource&>(*this), cache, "", std::move(session_cookie),
                     std::move(clock), CredentialRules::kKohakuHub) {}

}  // namespace hubstatsd
