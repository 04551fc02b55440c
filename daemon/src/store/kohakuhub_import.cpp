#include "store/kohakuhub_import.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <set>
#include <stdexcept>
#include <tuple>
#include <vector>

#include "base/unavailable.h"
#include "db/pg_pool.h"
#include "db/redis_client.h"
#include "hubstats/contract/keys.h"

namespace hubstatsd {

namespace {

using namespace std::chrono_literals;

constexpr const char* kSource = "kohakuhub";
constexpr std::size_t kBatch = 10000;  // rows per INSERT (arrays of this many elements)
constexpr auto kLongStatement = std::chrono::milliseconds(30min);

// The hub's counts per (repository_id, UTC day): its dailyrepostats rows, and for a day
// without one (the hub aggregates past days lazily) its downloadsession rows counted the
// way the hub does (a session is a download; user_id NULL is anonymous). Session times are
// wall time in the database's TimeZone (see kohakuhub_catalog.cpp), hence the conversion.
std::string hub_days_cte(const std::string& s) {
  std::string sql =
      "WITH agg AS ("
      "  SELECT repository_id, day, count(*) AS dl, count(user_id) AS au,"
      "         count(*) - count(user_id) AS an, coalesce(sum(file_count), 0) AS fi"
      "  FROM (SELECT repository_id, user_id, file_count,"
      "               ((first_download_at AT TIME ZONE current_setting('TimeZone'))"
      "                AT TIME ZONE 'UTC')::date AS day"
      "        FROM @downloadsession) x"
      "  GROUP BY 1, 2),"
      " days AS ("
      "  SELECT repository_id, date AS day, download_sessions AS dl,"
      "         authenticated_downloads AS au, anonymous_downloads AS an, total_files AS fi"
      "  FROM @dailyrepostats"
      "  UNION ALL"
      "  SELECT a.repository_id, a.day, a.dl, a.au, a.an, a.fi FROM agg a"
      "  WHERE NOT EXISTS (SELECT 1 FROM @dailyrepostats r"
      "                    WHERE r.repository_id = a.repository_id AND r.date = a.day)) ";
  // @table -> "schema".table (the schema is a validated identifier, never a value).
  for (std::size_t at = sql.find('@'); at != std::string::npos; at = sql.find('@', at)) {
    sql.replace(at, 1, s);
    at += s.size();
  }
  return sql;
}

std::optional<ImportRow> row_of(const PgResult& r, int i, int day_col, bool with_day) {
  auto type = hubstats::parse_repo_type(r.text(i, 0));
  if (!type || !hubstats::valid_segment(r.text(i, 1)) || !hubstats::valid_segment(r.text(i, 2)))
    return std::nullopt;
  ImportRow row;
  row.repo = {*type, r.str(i, 1), r.str(i, 2)};
  if (with_day) {
    auto d = hubstats::parse_iso(r.text(i, day_col));
    if (!d) return std::nullopt;
    row.day = *d;
  }
  return row;
}

std::int64_t clamp0(std::int64_t v) {
  return v < 0 ? 0 : v;
}

struct Columns {
  std::vector<std::string> type, ns, name, day, dl, au, an, fi;
  void add(const ImportRow& r) {
    type.emplace_back(hubstats::to_string(r.repo.type));
    ns.push_back(r.repo.ns);
    name.push_back(r.repo.name);
    day.push_back(hubstats::format_iso(r.day));
    dl.push_back(std::to_string(r.downloads));
    au.push_back(std::to_string(r.authenticated));
    an.push_back(std::to_string(r.anonymous));
    fi.push_back(std::to_string(r.files));
  }
  std::size_t size() const { return type.size(); }
  void clear() { *this = Columns{}; }
};

ImportReport import_in(PgPool& hub, PgConn& out, const ImportOptions& opt, const std::string& s,
                       ImportReport rep);

}  // namespace

ImportReport import_kohakuhub(PgPool& hub, PgPool& hubstats_pool, const ImportOptions& opt) {
  ImportReport rep;
  const std::string s = "\"" + opt.schema + "\".";

  auto out = hubstats_pool.acquire();
  try {
    return import_in(hub, out, opt, s, rep);
  } catch (...) {
    out.discard();  // mid-transaction: never back into the pool
    throw;
  }
}

namespace {

// One consistent snapshot of the hub (read-only), then every write in one transaction.
ImportReport import_in(PgPool& hub, PgConn& out, const ImportOptions& opt, const std::string& s,
                       ImportReport rep) {
  std::vector<ImportRow> days;
  std::vector<std::pair<ImportRow, std::int64_t>> baselines;
  out.exec("BEGIN");
  out.exec("SET LOCAL statement_timeout = 0");
  // Two imports at once would race for the cut-over; the second waits.
  out.exec("SELECT pg_advisory_xact_lock(hashtext('hubstats import kohakuhub'))");
  auto rec = out.exec("SELECT cutover::text FROM hubstats.import_cutover WHERE source = $1",
                      {std::string(kSource)});
  if (rec.rows() > 0) {
    rep.cutover_was_recorded = true;
    rep.cutover = *hubstats::parse_iso(rec.text(0, 0));
    if (opt.cutover && *opt.cutover != rep.cutover)
      throw std::runtime_error("--cutover " + hubstats::format_iso(*opt.cutover) +
                               ": an earlier import recorded the cut-over " +
                               hubstats::format_iso(rep.cutover) + "; it cannot change");
  } else {
    // Default: today, or the first day hubstats counted (folded, or still in Redis) if
    // that is earlier.
    hubstats::Day first = opt.today;
    if (opt.first_unfolded && *opt.first_unfolded < first) first = *opt.first_unfolded;
    auto f = out.exec("SELECT min(day)::text FROM hubstats.daily_downloads");
    if (!f.is_null(0, 0))
      if (auto d = hubstats::parse_iso(f.text(0, 0)); d && *d < first) first = *d;
    if (opt.cutover && *opt.cutover > first)
      throw std::runtime_error("--cutover " + hubstats::format_iso(*opt.cutover) +
                               ": hubstats counted downloads from " + hubstats::format_iso(first) +
                               "; a later cut-over would count those days twice");
    rep.cutover = opt.cutover.value_or(first);
  }

  const auto t0 = std::chrono::steady_clock::now();
  auto ms_since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 t)
        .count();
  };
  {
    auto in = hub.acquire();
    in.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    in.exec("SET LOCAL statement_timeout = 0");
    const std::string cte = hub_days_cte(s);
    auto r = in.exec_with_timeout(
        cte +
            "SELECT p.repo_type, p.namespace, p.name, d.day::text, d.dl, d.au, d.an, d.fi "
            "FROM days d JOIN " +
            s +
            "repository p ON p.id = d.repository_id "
            "WHERE d.day < $1::date AND (d.dl > 0 OR d.fi > 0)",
        {hubstats::format_iso(rep.cutover)}, kLongStatement);
    days.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) {
      auto row = row_of(r, i, 3, true);
      if (!row) {
        ++rep.skipped;
        continue;
      }
      row->downloads = clamp0(r.i64(i, 4));
      row->authenticated = clamp0(r.i64(i, 5));
      row->anonymous = clamp0(r.i64(i, 6));
      row->files = clamp0(r.i64(i, 7));
      rep.downloads_read += row->downloads;
      days.push_back(std::move(*row));
    }
    auto b = in.exec_with_timeout(
        cte +
            "SELECT p.repo_type, p.namespace, p.name, p.downloads - coalesce(t.n, 0) "
            "FROM " +
            s +
            "repository p "
            "LEFT JOIN (SELECT repository_id, sum(dl) AS n FROM days GROUP BY 1) t "
            "ON t.repository_id = p.id",
        {}, kLongStatement);
    rep.repos = b.rows();
    baselines.reserve(static_cast<std::size_t>(b.rows()));
    for (int i = 0; i < b.rows(); ++i) {
      auto row = row_of(b, i, 0, false);
      if (!row) {
        ++rep.skipped;
        continue;
      }
      const std::int64_t n = clamp0(b.i64(i, 3));
      rep.baseline_read += n;
      baselines.emplace_back(std::move(*row), n);
    }
    in.exec("COMMIT");
  }
  rep.days_read = static_cast<std::int64_t>(days.size());
  // In primary-key order (bytewise, as the "C" collation compares): each batch then
  // touches neighbouring index pages instead of 10,000 random ones.
  std::sort(days.begin(), days.end(), [](const ImportRow& a, const ImportRow& b) {
    return std::tie(a.repo.type, a.repo.ns, a.repo.name, a.day) <
           std::tie(b.repo.type, b.repo.ns, b.repo.name, b.day);
  });
  rep.read_ms = ms_since(t0);
  const auto t1 = std::chrono::steady_clock::now();

  {
    // The month partitions of the imported days (040_monthly_partitions.sql), so the
    // rows land in their months rather than the DEFAULT partition.
    std::set<std::string> months;
    std::vector<std::string> firsts;
    for (const auto& r : days) {
      auto d = hubstats::format_iso(r.day);
      if (months.insert(d.substr(0, 7)).second) firsts.push_back(std::move(d));
    }
    if (!firsts.empty())
      out.exec_with_timeout("SELECT hubstats.ensure_partitions($1::date[])", {pg_array(firsts)},
                            kLongStatement);
  }

  out.exec(
      "INSERT INTO hubstats.import_cutover (source, cutover) VALUES ($1, $2::date) "
      "ON CONFLICT DO NOTHING",
      {std::string(kSource), hubstats::format_iso(rep.cutover)});
  // A day hubstats already has (imported before, or counted) is never written again. (No
  // fold-ledger rows: a running daemon's trending index picks imported days up at its next
  // start; docs/kohakuhub.md says to restart it after the import.)
  Columns cols;
  auto flush_days = [&] {
    if (cols.size() == 0) return;
    auto r = out.exec_with_timeout(
        "WITH src AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::date[],"
        "  $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[])"
        "  AS s(repo_type, namespace, name, day, downloads, authenticated, anonymous, files)),"
        " ins AS (INSERT INTO hubstats.daily_downloads"
        "  (repo_type, namespace, name, day, downloads, authenticated, anonymous, files)"
        "  SELECT * FROM src s WHERE day < $9::date AND NOT EXISTS (SELECT 1 FROM"
        "   hubstats.daily_downloads d WHERE d.repo_type = s.repo_type AND"
        "   d.namespace = s.namespace AND d.name = s.name AND d.day = s.day)"
        "  RETURNING repo_type, namespace, name, day, downloads, authenticated, anonymous, files)"
        " SELECT repo_type, namespace, name, day::text, downloads, authenticated, anonymous,"
        "  files FROM ins",
        {pg_array(cols.type), pg_array(cols.ns), pg_array(cols.name), pg_array(cols.day),
         pg_array(cols.dl), pg_array(cols.au), pg_array(cols.an), pg_array(cols.fi),
         hubstats::format_iso(rep.cutover)},
        kLongStatement);
    rep.days_written += r.rows();
    if (opt.on_day)
      for (int i = 0; i < r.rows(); ++i)
        if (auto row = row_of(r, i, 3, true)) {
          row->downloads = r.i64(i, 4);
          row->authenticated = r.i64(i, 5);
          row->anonymous = r.i64(i, 6);
          row->files = r.i64(i, 7);
          opt.on_day(*row);
        }
    cols.clear();
  };
  for (const auto& d : days) {
    cols.add(d);
    if (cols.size() == kBatch) flush_days();
  }
  flush_days();

  auto flush_baselines = [&] {
    if (cols.size() == 0) return;
    auto r = out.exec_with_timeout(
        "INSERT INTO hubstats.import_baseline (repo_type, namespace, name, source, downloads) "
        "SELECT t, ns, nm, $4, n FROM unnest($1::text[], $2::text[], $3::text[], $5::bigint[]) "
        "AS u(t, ns, nm, n) ON CONFLICT DO NOTHING RETURNING repo_type, namespace, name, downloads",
        {pg_array(cols.type), pg_array(cols.ns), pg_array(cols.name), std::string(kSource),
         pg_array(cols.dl)},
        kLongStatement);
    rep.baselines_written += r.rows();
    if (opt.on_baseline)
      for (int i = 0; i < r.rows(); ++i)
        if (auto row = row_of(r, i, 0, false)) opt.on_baseline(row->repo, r.i64(i, 3));
    cols.clear();
  };
  for (const auto& [row, n] : baselines) {
    ImportRow b = row;
    b.downloads = n;
    cols.add(b);
    if (cols.size() == kBatch) flush_baselines();
  }
  flush_baselines();

  // A dry run did every write above to learn exactly what would change, then undoes it.
  out.exec(opt.dry_run ? "ROLLBACK" : "COMMIT");
  rep.write_ms = ms_since(t1);
  return rep;
}

}  // namespace

// The earliest day any repo has counters for in Redis that are not folded yet: every
// repo's days set (hs:{tag}:days), walked with SCAN on every master of a cluster.
std::optional<hubstats::Day> earliest_unfolded_day(RedisClient& redis) {
  std::optional<hubstats::Day> first;
  for (const std::string& node : redis.scan_nodes()) {
    std::string cursor = "0";
    do {
      auto page = redis.command_at(node, {"SCAN", cursor, "MATCH", "hs:{*}:days", "COUNT", "1000"});
      if (page.is_error()) throw Unavailable("redis: SCAN: " + std::string(page.error()));
      cursor = std::string(reply_str(reply_at(page.get(), 0)));
      const redisReply* keys = reply_at(page.get(), 1);
      std::vector<std::vector<std::string>> reads;
      for (std::size_t i = 0; i < reply_len(keys); ++i)
        reads.push_back({"SMEMBERS", std::string(reply_str(reply_at(keys, i)))});
      if (reads.empty()) continue;
      for (const auto& r : redis.pipeline(reads))
        for (std::size_t i = 0; i < reply_len(r.get()); ++i)
          if (auto d = hubstats::parse_compact(reply_str(reply_at(r.get(), i)));
              d && (!first || *d < *first))
            first = *d;
    } while (cursor != "0" && !cursor.empty());
  }
  return first;
}

// Running daemons cache a repo's folded all-time total under the repo's fold epoch
// (keys::epoch, store/fast_total.cpp): move the epoch of every repo the import
// changed, as a fold take does (a random start when absent, then a random step), so
// no cached total outlives the import.
void publish_new_totals(RedisClient& redis, const std::set<std::string>& tags) {
  std::random_device rd;
  std::vector<std::vector<std::string>> batch;
  auto flush = [&] {
    for (const auto& r : redis.pipeline(batch))
      if (r.is_error()) throw Unavailable("redis: move fold epoch: " + std::string(r.error()));
    batch.clear();
  };
  for (const auto& tag : tags) {
    const auto repo = hubstats::keys::parse_repo_tag(tag);
    if (!repo) continue;
    const std::uint64_t start = (static_cast<std::uint64_t>(rd()) << 24) ^ rd();
    batch.push_back({"SET", hubstats::keys::epoch(*repo), std::to_string(start), "NX"});
    batch.push_back({"INCRBY", hubstats::keys::epoch(*repo), std::to_string(1 + rd() % 1000003)});
    if (batch.size() >= 1000) flush();
  }
  if (!batch.empty()) flush();
}

}  // namespace hubstatsd
