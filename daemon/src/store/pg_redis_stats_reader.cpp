#include "store/pg_redis_stats_reader.h"

#include <random>
#include <thread>
#include <chrono>
#include <algorithm>
#include <map>
#include <set>

#include "base/loop_local.h"
#include "hubstats/contract/keys.h"
#include "hubstats/contract/scripts.h"
#include "log/logger.h"
#include "db/async_redis.h"

namespace hubstatsd {

namespace keys = hubstats::keys;
using hubstats::Day;
using hubstats::RepoRef;

std::vector<DayCounts> zero_fill(const hubstats::Period& period,
                                 const std::vector<DayCounts>& rows) {
  std::vector<DayCounts> out;
  if (period.end < period.start) return out;
  out.reserve(static_cast<std::size_t>(period.end - period.start + 1));
  for (Day d = period.start; d <= period.end; ++d) out.push_back(DayCounts{d, 0, 0, 0, 0});
  for (const auto& r : rows) {
    if (r.day < period.start || r.day > period.end) continue;
    auto& o = out[static_cast<std::size_t>(r.day - period.start)];
    o.downloads += r.downloads;
    o.authenticated += r.authenticated;
    o.anonymous += r.anonymous;
    o.files += r.files;
  }
  return out;
}

namespace {

// A read whose snapshot a fold overtook tries again: at once the first time, then after a
// short random pause that grows (1 ms to 32 ms), so folds running back to back on a hot
// repo cannot starve it (kReadAttempts bounds the whole wait to about a quarter second).
void race_backoff(int attempt) {
  thread_local std::minstd_rand rng{std::random_device{}()};
  if (attempt < 2) return;
  const int cap = 1 << std::min(attempt - 1, 5);
  std::this_thread::sleep_for(std::chrono::microseconds(500 + rng() % (cap * 1000)));
}

void check(const RedisReply& r, const char* what) {
  if (r.is_error())
    throw Unavailable(std::string("redis: ") + what + ": " + std::string(r.error()));
}

std::vector<std::optional<std::string>> repo_params(const RepoRef& r) {
  return {std::string(hubstats::to_string(r.type)), r.ns, r.name};
}

const RedisScript& residual_script() {
  static const RedisScript s(hubstats::scripts::kReadResidual);
  return s;
}

// "hs:{type/ns/name}:", to which kReadResidual appends "d:D" and "f:D".
std::string key_prefix(const RepoRef& r) {
  std::string p = keys::days(r);
  p.resize(p.size() - 4);
  return p;
}

EvalCall residual_call(const RepoRef& r) {
  return {&residual_script(), {keys::days(r), keys::epoch(r)}, {key_prefix(r)}};
}

std::vector<std::string> split_commas(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    auto comma = s.find(',');
    out.emplace_back(s.substr(0, comma));
    s = comma == std::string_view::npos ? std::string_view() : s.substr(comma + 1);
  }
  return out;
}

// The folded total of a repo and which of the given (day, gen) generations are applied,
// in ONE statement, so both come from the same database snapshot. Anything else that
// belongs to a repo's all-time total in PostgreSQL (e.g. an imported baseline) must be
// added inside this statement too, to stay in that snapshot.
constexpr const char* kFoldedTotalSql = R"sql(
SELECT (SELECT coalesce(sum(downloads), 0) FROM hubstats.all_time_downloads
        WHERE repo_type = $1 AND namespace = $2 AND name = $3)::bigint,
       (SELECT coalesce(string_agg(gen, ','), '') FROM hubstats.fold_ledger
        WHERE repo_type = $1 AND namespace = $2 AND name = $3
          AND (day, gen) IN (SELECT * FROM unnest($4::date[], $5::text[])))
)sql";

// A repo's daily rows in a period, then (rows with a gen) which of the given (day, gen)
// generations are applied: one statement, one snapshot.
constexpr const char* kRecentSql = R"sql(
SELECT day::text, downloads, authenticated, anonymous, files, NULL::text
FROM hubstats.daily_downloads
WHERE repo_type = $1 AND namespace = $2 AND name = $3 AND day BETWEEN $4::date AND $5::date
UNION ALL
SELECT NULL, 0, 0, 0, 0, gen FROM hubstats.fold_ledger
WHERE repo_type = $1 AND namespace = $2 AND name = $3
  AND (day, gen) IN (SELECT * FROM unnest($6::date[], $7::text[]))
)sql";

// A repo's per-file (or per-client) sums over a period, then (rows with a gen) which
// of the given (day, gen) generations are applied: one statement, one snapshot. Client
// rows come as "d:<family>" and "f:<family>", like the Redis clients hash.
constexpr const char* kPathsPeriodSql = R"sql(
SELECT path, sum(files)::bigint, NULL::text FROM hubstats.daily_paths
WHERE repo_type = $1 AND namespace = $2 AND name = $3 AND day BETWEEN $4::date AND $5::date
GROUP BY path
UNION ALL
SELECT NULL, 0, gen FROM hubstats.fold_ledger
WHERE repo_type = $1 AND namespace = $2 AND name = $3
  AND (day, gen) IN (SELECT * FROM unnest($6::date[], $7::text[]))
)sql";

constexpr const char* kClientsPeriodSql = R"sql(
SELECT k.field, k.n, NULL::text FROM (
  SELECT client, sum(downloads)::bigint AS dl, sum(files)::bigint AS fi
  FROM hubstats.daily_clients
  WHERE repo_type = $1 AND namespace = $2 AND name = $3 AND day BETWEEN $4::date AND $5::date
  GROUP BY client) c
CROSS JOIN LATERAL (VALUES ('d:' || c.client, c.dl), ('f:' || c.client, c.fi)) AS k(field, n)
UNION ALL
SELECT NULL, 0, gen FROM hubstats.fold_ledger
WHERE repo_type = $1 AND namespace = $2 AND name = $3
  AND (day, gen) IN (SELECT * FROM unnest($6::date[], $7::text[]))
)sql";

const RedisScript& breakdown_script() {
  static const RedisScript s(hubstats::scripts::kReadBreakdown);
  return s;
}

}  // namespace

// A reader's snapshot of a repo's unfolded paths (or clients) hashes (kReadBreakdown).
struct PgRedisStatsReader::Breakdown {
  struct Part {
    Day day = 0;
    std::string gen;  // of :f:D; empty when there is none
    std::vector<std::pair<std::string, std::int64_t>> live, folding;
  };
  std::string epoch;
  std::vector<Part> days;

  static Breakdown parse(const redisReply* r) {
    Breakdown out;
    out.epoch = std::string(reply_str(reply_at(r, 0)));
    for (std::size_t i = 1; i + 3 < reply_len(r); i += 4) {
      auto d = hubstats::parse_compact(reply_str(reply_at(r, i)));
      if (!d) continue;
      Part p;
      p.day = *d;
      p.gen = std::string(reply_str(reply_at(r, i + 1)));
      p.live = reply_int_pairs(reply_at(r, i + 2));
      p.folding = reply_int_pairs(reply_at(r, i + 3));
      out.days.push_back(std::move(p));
    }
    return out;
  }
};

struct PgRedisStatsReader::Residual {
  struct Part {
    Day day = 0;
    DayCounts live;     // hs:{tag}:d:D: never in PostgreSQL
    DayCounts folding;  // hs:{tag}:f:D: in PostgreSQL iff its gen is in the ledger
    std::string gen;    // empty when there is no :f:D
  };
  std::string epoch;  // hs:{tag}:e ("" when absent)
  std::vector<Part> days;

  std::int64_t live_downloads() const {
    std::int64_t n = 0;
    for (const auto& p : days) n += p.live.downloads;
    return n;
  }
  // (day, gen) of the folding hashes, as PostgreSQL array parameters.
  std::pair<std::string, std::string> gens_param() const {
    std::vector<std::string> ds, gs;
    for (const auto& p : days)
      if (!p.gen.empty()) {
        ds.push_back(hubstats::format_iso(p.day));
        gs.push_back(p.gen);
      }
    return {pg_array(ds), pg_array(gs)};
  }
  bool has_folding() const {
    for (const auto& p : days)
      if (!p.gen.empty()) return true;
    return false;
  }

  static Residual parse(const redisReply* r) {
    Residual out;
    out.epoch = std::string(reply_str(reply_at(r, 0)));
    const std::size_t n = reply_len(r);
    auto num = [&](std::size_t i) { return reply_int(reply_at(r, i)); };
    for (std::size_t i = 1; i + 9 < n; i += 10) {
      auto d = hubstats::parse_compact(reply_str(reply_at(r, i)));
      if (!d) continue;
      Part p;
      p.day = *d;
      p.live = {*d, num(i + 1), num(i + 2), num(i + 3), num(i + 4)};
      p.folding = {*d, num(i + 5), num(i + 6), num(i + 7), num(i + 8)};
      p.gen = std::string(reply_str(reply_at(r, i + 9)));
      if (p.gen.empty() && p.live.files == 0 && p.live.downloads == 0) continue;
      out.days.push_back(std::move(p));
    }
    return out;
  }
};

PgRedisStatsReader::PgRedisStatsReader(RedisClient& redis, PgPool& pg, Folder& folder,
                                       StatsReaderOptions opt)
    : redis_(redis), pg_(pg), folder_(folder), opt_(std::move(opt)) {
  if (!opt_.clock) throw std::invalid_argument("StatsReaderOptions.clock is required");
  folder_.set_listener([this](const FoldCommit& c) {
    // Before the index is loaded, the post-load ledger refresh picks these up.
    if (!ready_.load()) return;
    index_.apply(c.rows, c.gens);
  });
}

PgRedisStatsReader::~PgRedisStatsReader() {
  stop();
  folder_.set_listener(nullptr);
}

Day PgRedisStatsReader::today() const {
  return hubstats::day_of(opt_.clock());
}

PgRedisStatsReader::Residual PgRedisStatsReader::read_residual(const RepoRef& repo) {
  auto r = redis_.eval({residual_call(repo)});
  check(r[0], "read_residual");
  return Residual::parse(r[0].get());
}

bool PgRedisStatsReader::epoch_unchanged(const RepoRef& repo, const std::string& epoch) {
  auto r = redis_.command({"GET", keys::epoch(repo)});
  check(r, "GET epoch");
  return reply_str(r.get()) == epoch;
}

std::int64_t PgRedisStatsReader::total_downloads(const RepoRef& repo) {
  const std::string tag = keys::repo_tag(repo);
  const bool use_cache =
      opt_.total_cache_ttl.count() > 0 && !pg_.failed_within(std::chrono::seconds(10));
  for (int attempt = 0; attempt < kReadAttempts; ++attempt) {
    if (attempt > 0) race_backoff(attempt);
    const Residual r = read_residual(repo);
    const std::int64_t live = r.live_downloads();
    const auto now = std::chrono::steady_clock::now();
    // Cached only when every generation in flight was applied: the folded total is
    // then final for this epoch, and the snapshot's folding hashes are all in it.
    if (use_cache)
      if (auto folded = cached_total(tag, r.epoch, now)) return *folded + live;
    if (after_snapshot) after_snapshot();
    auto p = repo_params(repo);
    auto [days, gens] = r.gens_param();
    p.push_back(std::move(days));
    p.push_back(std::move(gens));
    auto res = pg_.exec(kFoldedTotalSql, p);
    const std::int64_t folded = res.i64(0, 0);
    const auto applied = split_commas(res.text(0, 1));
    // A take since the snapshot may have moved a day hash we counted into a generation
    // PostgreSQL already holds: read again.
    if (!epoch_unchanged(repo, r.epoch)) continue;
    std::int64_t total = folded + live;
    bool all_applied = true;
    for (const auto& d : r.days)
      if (!d.gen.empty() && std::find(applied.begin(), applied.end(), d.gen) == applied.end()) {
        total += d.folding.downloads;
        all_applied = false;
      }
    if (use_cache && all_applied) {
      std::lock_guard lk(totals_mu_);
      if (totals_.size() >= opt_.total_cache_max) totals_.clear();
      totals_[tag] = CachedTotal{r.epoch, folded, now};
    }
    return total;
  }
  throw Unavailable("folds kept racing the read of " + tag);
}

std::optional<std::int64_t> PgRedisStatsReader::cached_total(
    const std::string& tag, std::string_view epoch, std::chrono::steady_clock::time_point now) {
  std::lock_guard lk(totals_mu_);
  auto it = totals_.find(tag);
  if (it != totals_.end() && it->second.epoch == epoch &&
      now - it->second.at < opt_.total_cache_ttl)
    return it->second.folded;
  return std::nullopt;
}

void PgRedisStatsReader::total_downloads_fast(const RepoRef& repo, TotalDone done) {
  if (opt_.total_cache_ttl.count() <= 0 || pg_.failed_within(std::chrono::seconds(10)))
    return done(std::nullopt, nullptr);
  if (fast_redis_failed_.load(std::memory_order_relaxed)) return done(std::nullopt, nullptr);
  AsyncRedis* redis = nullptr;
  try {
    redis = loop_local<AsyncRedis>(this, [this](boost::asio::io_context& ioc) {
      return std::make_unique<AsyncRedis>(ioc, redis_.config());
    });
  } catch (const std::exception& e) {  // e.g. an address asio cannot parse: stay on the pool
    if (!fast_redis_failed_.exchange(true)) log::warn("redis fast path off", {{"error", e.what()}});
  }
  if (!redis) return done(std::nullopt, nullptr);  // not on an io thread
  std::string tag = keys::repo_tag(repo);
  // The same atomic snapshot as total_downloads, in one round trip; the pool loads
  // the script if Redis does not know it (NOSCRIPT declines).
  redis->pipeline(
      {{"EVALSHA", residual_script().sha, "2", keys::days(repo), keys::epoch(repo),
        key_prefix(repo)}},
      [this, tag = std::move(tag), done = std::move(done)](std::vector<RedisReply>&& r,
                                                           const std::string* error) {
        if (error) return done(std::nullopt, std::make_exception_ptr(Unavailable(*error)));
        if (r[0].is_error()) {
          if (r[0].error().starts_with("NOSCRIPT")) return done(std::nullopt, nullptr);
          return done(std::nullopt,
                      std::make_exception_ptr(Unavailable("redis: " + std::string(r[0].error()))));
        }
        const Residual res = Residual::parse(r[0].get());
        const auto folded = cached_total(tag, res.epoch, std::chrono::steady_clock::now());
        if (!folded) return done(std::nullopt, nullptr);
        done(*folded + res.live_downloads(), nullptr);
      });
}

std::vector<DayCounts> PgRedisStatsReader::recent(const RepoRef& repo,
                                                  const hubstats::Period& period) {
  for (int attempt = 0; attempt < kReadAttempts; ++attempt) {
    if (attempt > 0) race_backoff(attempt);
    const Residual r = read_residual(repo);
    if (after_snapshot) after_snapshot();
    auto p = repo_params(repo);
    p.push_back(hubstats::format_iso(period.start));
    p.push_back(hubstats::format_iso(period.end));
    auto [days, gens] = r.gens_param();
    p.push_back(std::move(days));
    p.push_back(std::move(gens));
    auto res = pg_.exec(kRecentSql, p);
    if (!epoch_unchanged(repo, r.epoch)) continue;
    std::vector<DayCounts> rows;
    std::vector<std::string> applied;
    rows.reserve(static_cast<std::size_t>(res.rows()) + r.days.size() * 2);
    for (int i = 0; i < res.rows(); ++i) {
      if (!res.is_null(i, 5)) {
        applied.push_back(res.str(i, 5));
        continue;
      }
      auto d = hubstats::parse_iso(res.text(i, 0));
      if (d) rows.push_back({*d, res.i64(i, 1), res.i64(i, 2), res.i64(i, 3), res.i64(i, 4)});
    }
    for (const auto& d : r.days) {
      rows.push_back(d.live);
      if (!d.gen.empty() && std::find(applied.begin(), applied.end(), d.gen) == applied.end())
        rows.push_back(d.folding);
    }
    return zero_fill(period, rows);
  }
  throw Unavailable("folds kept racing the read of " + keys::repo_tag(repo));
}

std::unordered_map<std::string, std::int64_t> PgRedisStatsReader::breakdown(
    const RepoRef& repo, const hubstats::Period& period, bool clients) {
  for (int attempt = 0; attempt < kReadAttempts; ++attempt) {
    if (attempt > 0) race_backoff(attempt);
    auto reply =
        redis_.eval({{&breakdown_script(),
                      {keys::days(repo), keys::epoch(repo)},
                      {key_prefix(repo), clients ? "c:" : "p:", clients ? "fc:" : "fp:"}}});
    check(reply[0], "read_breakdown");
    const Breakdown b = Breakdown::parse(reply[0].get());
    if (after_snapshot) after_snapshot();
    auto p = repo_params(repo);
    p.push_back(hubstats::format_iso(period.start));
    p.push_back(hubstats::format_iso(period.end));
    std::vector<std::string> ds, gs;
    for (const auto& d : b.days)
      if (!d.gen.empty()) {
        ds.push_back(hubstats::format_iso(d.day));
        gs.push_back(d.gen);
      }
    p.push_back(pg_array(ds));
    p.push_back(pg_array(gs));
    auto res = pg_.exec(clients ? kClientsPeriodSql : kPathsPeriodSql, p);
    // A take since the snapshot may have moved hashes we read into PostgreSQL: again.
    if (!epoch_unchanged(repo, b.epoch)) continue;
    std::unordered_map<std::string, std::int64_t> out;
    std::set<std::string> applied;
    for (int i = 0; i < res.rows(); ++i) {
      if (!res.is_null(i, 2))
        applied.insert(res.str(i, 2));
      else
        out[res.str(i, 0)] += res.i64(i, 1);
    }
    for (const auto& d : b.days) {
      if (d.day < period.start || d.day > period.end) continue;
      for (const auto& [k, n] : d.live) out[k] += n;
      if (!d.gen.empty() && !applied.count(d.gen))
        for (const auto& [k, n] : d.folding) out[k] += n;
    }
    return out;
  }
  throw Unavailable("folds kept racing the read of " + keys::repo_tag(repo));
}

std::vector<PathCount> PgRedisStatsReader::files(const RepoRef& repo,
                                                 const hubstats::Period& period,
                                                 std::size_t limit) {
  std::vector<PathCount> out;
  for (auto& [path, n] : breakdown(repo, period, false))
    if (n > 0) out.push_back({path, n});
  std::sort(out.begin(), out.end(), [](const PathCount& a, const PathCount& b) {
    return a.files != b.files ? a.files > b.files : a.path < b.path;
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

std::vector<ClientCount> PgRedisStatsReader::clients(const RepoRef& repo,
                                                     const hubstats::Period& period) {
  std::map<std::string, ClientCount> by;
  for (auto& [field, n] : breakdown(repo, period, true)) {
    const auto f = keys::parse_client_field(field);
    if (!f) continue;
    auto& c = by[std::string(f->family)];
    (f->sessions ? c.downloads : c.files) += n;
  }
  std::vector<ClientCount> out;
  for (auto& [name, c] : by)
    if (c.downloads > 0 || c.files > 0) out.push_back({name, c.downloads, c.files});
  std::sort(out.begin(), out.end(), [](const ClientCount& a, const ClientCount& b) {
    return a.downloads != b.downloads ? a.downloads > b.downloads : a.client < b.client;
  });
  return out;
}

std::vector<std::pair<RepoRef, PgRedisStatsReader::Residual>> PgRedisStatsReader::dirty_residuals(
    hubstats::RepoType type) {
  // Each shard's dirty set before its taken set, in one pipeline Redis runs in order:
  // a repo moving from one to the other (a fold's take) is seen in at least one.
  std::vector<std::vector<std::string>> cmds;
  for (int s = 0; s < keys::kDirtyShards; ++s) {
    cmds.push_back({"SMEMBERS", keys::dirty(s)});
    cmds.push_back({"SMEMBERS", keys::dirty_taken(s)});
  }
  auto sets = redis_.pipeline(cmds);
  std::set<std::string> tags;
  const std::string prefix = std::string(hubstats::to_string(type)) + "/";
  for (const auto& x : sets) {
    check(x, "SMEMBERS dirty");
    for (std::size_t i = 0; i < reply_len(x.get()); ++i) {
      auto t = reply_str(reply_at(x.get(), i));
      if (t.starts_with(prefix)) tags.emplace(t);
    }
  }
  std::vector<std::pair<RepoRef, Residual>> out;
  std::vector<RepoRef> refs;
  for (const auto& t : tags)
    if (auto ref = keys::parse_repo_tag(t)) refs.push_back(std::move(*ref));
  constexpr std::size_t kBatch = 1000;
  for (std::size_t off = 0; off < refs.size(); off += kBatch) {
    const std::size_t end = std::min(refs.size(), off + kBatch);
    std::vector<EvalCall> calls;
    for (std::size_t i = off; i < end; ++i) calls.push_back(residual_call(refs[i]));
    auto replies = redis_.eval(calls);
    for (std::size_t i = off; i < end; ++i) {
      check(replies[i - off], "read_residual");
      out.emplace_back(refs[i], Residual::parse(replies[i - off].get()));
    }
  }
  return out;
}

bool PgRedisStatsReader::epochs_unchanged(const std::vector<std::pair<RepoRef, Residual>>& snaps) {
  constexpr std::size_t kBatch = 2000;
  for (std::size_t off = 0; off < snaps.size(); off += kBatch) {
    const std::size_t end = std::min(snaps.size(), off + kBatch);
    std::vector<std::vector<std::string>> cmds;
    for (std::size_t i = off; i < end; ++i) cmds.push_back({"GET", keys::epoch(snaps[i].first)});
    auto r = redis_.pipeline(cmds);
    for (std::size_t i = off; i < end; ++i) {
      check(r[i - off], "GET epoch");
      if (reply_str(r[i - off].get()) != snaps[i].second.epoch) return false;
    }
  }
  return true;
}

namespace {

// Which (repo, day, gen) generations of the snapshots are in the ledger, on `conn`
// (inside the caller's transaction when it has one).
template <class Snaps>
std::set<std::string> applied_gens(PgConn& conn, const Snaps& snaps) {
  std::vector<std::string> types, nss, names, days, gens;
  for (const auto& [ref, r] : snaps)
    for (const auto& d : r.days)
      if (!d.gen.empty()) {
        types.emplace_back(hubstats::to_string(ref.type));
        nss.push_back(ref.ns);
        names.push_back(ref.name);
        days.push_back(hubstats::format_iso(d.day));
        gens.push_back(d.gen);
      }
  std::set<std::string> out;
  if (gens.empty()) return out;
  auto res = conn.exec(
      "SELECT gen FROM hubstats.fold_ledger WHERE (repo_type, namespace, name, day, gen) IN "
      "(SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::date[], $5::text[]))",
      {pg_array(types), pg_array(nss), pg_array(names), pg_array(days), pg_array(gens)});
  for (int i = 0; i < res.rows(); ++i) out.insert(res.str(i, 0));
  return out;
}

}  // namespace

// The residual of the dirty repos of one type as trending needs it, for any period:
// per repo and pending day, the day hash's downloads and, unless its generation was
// already applied, the folding hash's.
struct PgRedisStatsReader::TrendingResidual {
  struct Part {
    Day day = 0;
    std::int64_t live = 0;
    std::string gen;
    std::int64_t folding = 0;
  };
  std::vector<std::pair<std::string, std::vector<Part>>> repos;  // by "ns/name"

  std::unordered_map<std::string, LiveCounts> for_period(const hubstats::Period& period) const {
    std::unordered_map<std::string, LiveCounts> live;
    live.reserve(repos.size());
    for (const auto& [id, parts] : repos) {
      LiveCounts& c = live[id];
      for (const auto& d : parts) {
        const bool in = d.day >= period.start && d.day <= period.end;
        c.total += d.live;
        if (in) c.recent += d.live;
        if (!d.gen.empty()) c.folding.push_back({d.gen, in ? d.folding : 0, d.folding});
      }
    }
    return live;
  }
};

std::vector<TrendingCandidate> PgRedisStatsReader::trending(
    hubstats::RepoType type, const hubstats::Period& period, std::size_t limit,
    const std::function<bool(const RepoRef&)>& keep) {
  if (!opt_.use_trending_index || !ready_.load()) return trending_sql(type, period, limit, keep);
  const auto now = std::chrono::steady_clock::now();
  if (opt_.today_cache_ttl.count() > 0) {
    std::shared_ptr<const TrendingResidual> cached;
    std::uint64_t changes = 0;
    {
      std::lock_guard lk(live_mu_);
      for (const auto& c : live_cache_)
        if (c.type == type && now - c.at < opt_.today_cache_ttl) {
          cached = c.residual;
          changes = c.changes;
        }
    }
    // Reused only against the very index state it was checked with (changes are
    // monotonic: equal before and after the ranking means the ranking saw it).
    if (cached && index_.changes() == changes) {
      auto out = index_.trending(type, period, cached->for_period(period), limit, keep);
      if (index_.changes() == changes) return out;
    }
  }
  for (int attempt = 0; attempt < kReadAttempts; ++attempt) {
    if (attempt > 0) race_backoff(attempt);
    // 1. The residual of every dirty repo (atomic per repo, with its epoch).
    auto snaps = dirty_residuals(type);
    if (after_snapshot) after_snapshot();
    // 2. Generations in flight already applied: the index holds them (it is refreshed
    //    after this check, and local folds add theirs at once).
    std::set<std::string> applied;
    {
      auto conn = pg_.acquire();
      applied = applied_gens(conn, snaps);
    }
    // 3. Folds of other daemons up to now. Generations applied after step 2 reach the
    //    index together with their rows, so ranking skips their folding hashes.
    {
      std::lock_guard lk(refresh_mu_);
      watermark_ = refresh_trending_index(pg_, index_, watermark_);
    }
    auto residual = std::make_shared<TrendingResidual>();
    residual->repos.reserve(snaps.size());
    for (const auto& [ref, r] : snaps) {
      std::vector<TrendingResidual::Part> parts;
      for (const auto& d : r.days) {
        const bool pending = !d.gen.empty() && !applied.count(d.gen);
        parts.push_back({d.day, d.live.downloads, pending ? d.gen : std::string(),
                         pending ? d.folding.downloads : 0});
      }
      residual->repos.emplace_back(ref.id(), std::move(parts));
    }
    const std::uint64_t changes = index_.changes();
    auto out = index_.trending(type, period, residual->for_period(period), limit, keep);
    // 4. A take since step 1 may have moved counted day hashes into the index: again.
    if (!epochs_unchanged(snaps)) continue;
    if (opt_.today_cache_ttl.count() > 0 && index_.changes() == changes) {
      std::lock_guard lk(live_mu_);
      std::erase_if(live_cache_, [&](const LiveCache& c) { return c.type == type; });
      live_cache_.push_back({type, changes, now, std::move(residual)});
    }
    return out;
  }
  throw Unavailable("folds kept racing the trending read");
}

std::vector<TrendingCandidate> PgRedisStatsReader::trending_sql(
    hubstats::RepoType type, const hubstats::Period& period, std::size_t limit,
    const std::function<bool(const RepoRef&)>& keep) {
  const std::string type_s(hubstats::to_string(type));
  for (int attempt = 0; attempt < kReadAttempts; ++attempt) {
    if (attempt > 0) race_backoff(attempt);
    auto snaps = dirty_residuals(type);
    if (after_snapshot) after_snapshot();
    struct Row {
      RepoRef ref;
      std::string id;
      std::int64_t recent = 0, live = 0;  // live: residual of all days (total)
    };
    std::vector<Row> rows;
    std::vector<TrendingCandidate> out;
    auto conn = pg_.acquire();
    // One snapshot for the period sums, the totals and the ledger check.
    conn.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const auto applied = applied_gens(conn, snaps);
    // Folded downloads in the period: an index-only scan of daily_downloads_type_day.
    auto res = conn.exec(
        "SELECT namespace, name, sum(downloads)::bigint FROM hubstats.daily_downloads "
        "WHERE repo_type = $1 AND day BETWEEN $2::date AND $3::date GROUP BY 1, 2",
        {type_s, hubstats::format_iso(period.start), hubstats::format_iso(period.end)});
    rows.reserve(static_cast<std::size_t>(res.rows()) + snaps.size());
    std::unordered_map<std::string, std::size_t> by_id;
    for (int i = 0; i < res.rows(); ++i) {
      Row r{{type, res.str(i, 0), res.str(i, 1)}, {}, res.i64(i, 2), 0};
      r.id = r.ref.id();
      by_id.emplace(r.id, rows.size());
      rows.push_back(std::move(r));
    }
    for (const auto& [ref, snap] : snaps) {
      std::int64_t recent = 0, total = 0;
      for (const auto& d : snap.days) {
        const bool in = d.day >= period.start && d.day <= period.end;
        std::int64_t n = d.live.downloads;
        if (!d.gen.empty() && !applied.count(d.gen)) n += d.folding.downloads;
        total += n;
        if (in) recent += n;
      }
      if (total == 0) continue;
      auto id = ref.id();
      auto it = by_id.find(id);
      if (it == by_id.end()) {
        it = by_id.emplace(id, rows.size()).first;
        rows.push_back({ref, id, 0, 0});
      }
      rows[it->second].recent += recent;
      rows[it->second].live += total;
    }
    std::erase_if(rows, [](const Row& r) { return r.recent <= 0; });
    std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
      return a.recent != b.recent ? a.recent > b.recent : a.id < b.id;
    });
    // All-time totals break ties: fetch them one group of equal recent counts at a
    // time, in rank order, only as far down as the answer needs.
    for (std::size_t g = 0; g < rows.size() && out.size() < limit;) {
      std::size_t e = g;
      while (e < rows.size() && rows[e].recent == rows[g].recent) ++e;
      std::vector<std::string> nss, names;
      for (std::size_t i = g; i < e; ++i) {
        nss.push_back(rows[i].ref.ns);
        names.push_back(rows[i].ref.name);
      }
      auto tot = conn.exec(
          "SELECT d.namespace, d.name, sum(d.downloads)::bigint FROM hubstats.all_time_downloads d "
          "JOIN unnest($2::text[], $3::text[]) AS u(namespace, name) USING (namespace, name) "
          "WHERE d.repo_type = $1 GROUP BY 1, 2",
          {type_s, pg_array(nss), pg_array(names)});
      std::unordered_map<std::string, std::int64_t> totals;
      for (int i = 0; i < tot.rows(); ++i)
        totals[tot.str(i, 0) + "/" + tot.str(i, 1)] = tot.i64(i, 2);
      std::vector<RankEntry> group;
      for (std::size_t i = g; i < e; ++i)
        group.push_back({rows[i].recent, totals[rows[i].id] + rows[i].live, &rows[i].id,
                         static_cast<std::uint32_t>(i)});
      std::sort(group.begin(), group.end(), rank_before);
      for (const auto& x : group) {
        if (out.size() == limit) break;
        const Row& r = rows[x.row];
        if (!keep || keep(r.ref)) out.push_back({r.ref, x.recent, x.downloads});
      }
      g = e;
    }
    conn.exec("COMMIT");
    if (epochs_unchanged(snaps)) return out;
  }
  throw Unavailable("folds kept racing the trending read");
}

void PgRedisStatsReader::load_trending_index_now() {
  std::lock_guard lk(refresh_mu_);
  auto mark = load_trending_index(pg_, index_, today());
  ready_ = true;
  watermark_ = refresh_trending_index(pg_, index_, mark);
}

void PgRedisStatsReader::maintain() {
  std::unique_lock lk(mu_);
  while (!stop_) {
    lk.unlock();
    try {
      if (!ready_.load()) {
        load_trending_index_now();
        log::info("trending index loaded", {{"repos", std::to_string(index_.size())}});
      } else {
        std::lock_guard rl(refresh_mu_);
        watermark_ = refresh_trending_index(pg_, index_, watermark_);
      }
    } catch (const std::exception& e) {
      log::warn("trending index update failed", {{"error", e.what()}});
    }
    lk.lock();
    cv_.wait_for(lk, opt_.trending_refresh, [this] { return stop_; });
  }
}

void PgRedisStatsReader::start() {
  std::lock_guard lk(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { maintain(); });
}

void PgRedisStatsReader::stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace hubstatsd
