#include "store/pg_redis_stats_reader.h"

#include <algorithm>
#include <map>

#include "store/reader_snapshot.h"

namespace hubstatsd {

namespace keys = hubstats::keys;
using hubstats::Day;
using hubstats::RepoRef;

using namespace reader_detail;

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
    if (use_cache && all_applied && !r.epoch.empty()) {  // see cached_total
      std::lock_guard lk(totals_mu_);
      if (totals_.size() >= opt_.total_cache_max) totals_.clear();
      totals_[tag] = CachedTotal{r.epoch, folded, now};
    }
    return total;
  }
  throw Unavailable("folds kept racing the read of " + tag);
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
    const Breakdown b = Breakdown::parse(reply[0].get(), clients);
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

}  // namespace hubstatsd
