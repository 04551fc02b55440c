#include "store/pg_redis_stats_store.h"

#include <algorithm>
#include <set>

#include "http/loop_local.h"
#include "hubstats/keys.h"
#include "log/logger.h"
#include "store/async_redis.h"

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

// Counters (and the fold generation, for :f: hashes) of an HGETALL reply.
DayCounts counts_of(const redisReply* r, Day day, std::string* gen = nullptr) {
  DayCounts c{day, 0, 0, 0, 0};
  for (std::size_t k = 0; k + 1 < reply_len(r); k += 2) {
    auto f = reply_str(reply_at(r, k));
    const redisReply* v = reply_at(r, k + 1);
    if (f == keys::kDownloads)
      c.downloads = reply_int(v);
    else if (f == keys::kAuthenticated)
      c.authenticated = reply_int(v);
    else if (f == keys::kAnonymous)
      c.anonymous = reply_int(v);
    else if (f == keys::kFiles)
      c.files = reply_int(v);
    else if (gen && f == keys::kGen)
      *gen = std::string(reply_str(v));
  }
  return c;
}

void check(const RedisReply& r, const char* what) {
  if (r.is_error())
    throw Unavailable(std::string("redis: ") + what + ": " + std::string(r.error()));
}

std::vector<std::optional<std::string>> repo_params(const RepoRef& r) {
  return {std::string(hubstats::to_string(r.type)), r.ns, r.name};
}

}  // namespace

struct PgRedisStatsStore::Unfolded {
  Day day = 0;
  DayCounts live;     // hs:{tag}:d:D, not taken yet: never in PostgreSQL
  DayCounts folding;  // hs:{tag}:f:D: in PostgreSQL iff its gen is in the ledger
  std::string gen;    // empty when there is no :f:D
};

PgRedisStatsStore::PgRedisStatsStore(RedisClient& redis, PgPool& pg, Folder& folder,
                                     StatsStoreOptions opt)
    : redis_(redis), pg_(pg), folder_(folder), opt_(std::move(opt)) {
  if (!opt_.clock) throw std::invalid_argument("StatsStoreOptions.clock is required");
  folder_.set_listener([this](const std::vector<FoldedRow>& rows) {
    // Before the index is loaded, the post-load ledger refresh picks these up.
    if (!ready_.load()) return;
    for (const auto& r : rows) index_.set_day(r.repo, r.day, r.downloads);
  });
}

PgRedisStatsStore::~PgRedisStatsStore() {
  stop();
  folder_.set_listener(nullptr);
}

Day PgRedisStatsStore::today() const {
  return hubstats::day_of(opt_.clock());
}

PgRedisStatsStore::Live PgRedisStatsStore::lazy_fold_and_read(const RepoRef& repo, Day today) {
  Live live;
  std::vector<Day> past;
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto r = redis_.pipeline({{"SMEMBERS", keys::days(repo)},
                              {"HGETALL", keys::day(repo, today)},
                              {"GET", fold_version_key(repo)}});
    check(r[0], "SMEMBERS");
    check(r[1], "HGETALL");
    check(r[2], "GET");
    live.version = std::string(reply_str(r[2].get()));
    past.clear();
    for (std::size_t i = 0; i < reply_len(r[0].get()); ++i) {
      auto d = hubstats::parse_compact(reply_str(reply_at(r[0].get(), i)));
      if (d && *d < today) past.push_back(*d);
    }
    live.today = counts_of(r[1].get(), today);
    if (past.empty() || attempt == 1) break;
    std::vector<FoldItem> items;
    for (Day d : past) items.push_back({repo, d});
    folder_.fold_items(std::move(items));
  }
  if (past.empty()) return live;
  // Still pending after our fold: events that arrived meanwhile, or a generation
  // another daemon is folding right now. Read them so nothing is missing.
  std::vector<std::vector<std::string>> cmds;
  for (Day d : past) {
    cmds.push_back({"HGETALL", keys::day(repo, d)});
    cmds.push_back({"HGETALL", keys::folding(repo, d)});
  }
  auto r = redis_.pipeline(cmds);
  for (std::size_t i = 0; i < past.size(); ++i) {
    check(r[2 * i], "HGETALL");
    check(r[2 * i + 1], "HGETALL");
    Unfolded u;
    u.day = past[i];
    u.live = counts_of(r[2 * i].get(), past[i]);
    u.folding = counts_of(r[2 * i + 1].get(), past[i], &u.gen);
    live.past.push_back(std::move(u));
  }
  return live;
}

namespace {

// Which of the generations are already applied (their counts are in PostgreSQL).
std::set<std::string> applied_gens(PgPool& pg, const RepoRef& repo,
                                   const std::vector<std::string>& gens) {
  std::set<std::string> out;
  if (gens.empty()) return out;
  auto p = repo_params(repo);
  p.push_back(pg_array(gens));
  auto res = pg.exec(
      "SELECT gen FROM hubstats.fold_ledger WHERE repo_type = $1 AND namespace = $2 "
      "AND name = $3 AND gen = ANY($4::text[])",
      p);
  for (int i = 0; i < res.rows(); ++i) out.insert(res.str(i, 0));
  return out;
}

}  // namespace

std::int64_t PgRedisStatsStore::total_downloads(const RepoRef& repo) {
  const Day today = this->today();
  Live live = lazy_fold_and_read(repo, today);
  std::int64_t total = live.today.downloads;
  std::vector<std::string> gens;
  for (const auto& u : live.past) {
    total += u.live.downloads;
    if (!u.gen.empty()) gens.push_back(u.gen);
  }
  // With no pending past day, the folded total only changes with the repo's fold
  // version, which was read above, before the query whose result we cache.
  const bool cacheable = live.past.empty() && opt_.total_cache_ttl.count() > 0 &&
                         !pg_.failed_within(std::chrono::seconds(10));
  const std::string tag = keys::repo_tag(repo);
  const auto now = std::chrono::steady_clock::now();
  if (cacheable) {
    if (auto folded = cached_total(tag, live.version, now)) return total + *folded;
  }
  auto res = pg_.exec(
      // all_time_downloads: daily rows plus the baseline `import kohakuhub` recorded.
      "SELECT coalesce(sum(downloads), 0)::bigint FROM hubstats.all_time_downloads "
      "WHERE repo_type = $1 AND namespace = $2 AND name = $3",
      repo_params(repo));
  const std::int64_t folded = res.i64(0, 0);
  total += folded;
  if (cacheable) {
    std::lock_guard lk(totals_mu_);
    if (totals_.size() >= opt_.total_cache_max) totals_.clear();
    totals_[tag] = CachedTotal{live.version, folded, now};
  }
  if (!gens.empty()) {
    auto applied = applied_gens(pg_, repo, gens);
    for (const auto& u : live.past)
      if (!u.gen.empty() && !applied.count(u.gen)) total += u.folding.downloads;
  }
  return total;
}

std::optional<std::int64_t> PgRedisStatsStore::cached_total(
    const std::string& tag, std::string_view version, std::chrono::steady_clock::time_point now) {
  std::lock_guard lk(totals_mu_);
  auto it = totals_.find(tag);
  if (it != totals_.end() && it->second.version == version &&
      now - it->second.at < opt_.total_cache_ttl)
    return it->second.folded;
  return std::nullopt;
}

void PgRedisStatsStore::total_downloads_fast(const RepoRef& repo, TotalDone done) {
  if (opt_.total_cache_ttl.count() <= 0 || pg_.failed_within(std::chrono::seconds(10)))
    return done(std::nullopt, nullptr);
  if (fast_redis_failed_.load(std::memory_order_relaxed)) return done(std::nullopt, nullptr);
  AsyncRedis* redis = nullptr;
  try {
    redis = http::loop_local<AsyncRedis>(this, [this](boost::asio::io_context& ioc) {
      return std::make_unique<AsyncRedis>(ioc, redis_.config());
    });
  } catch (const std::exception& e) {  // e.g. an address asio cannot parse: stay on the pool
    if (!fast_redis_failed_.exchange(true)) log::warn("redis fast path off", {{"error", e.what()}});
  }
  if (!redis) return done(std::nullopt, nullptr);  // not on an io thread
  const Day today = this->today();
  std::string tag = keys::repo_tag(repo);
  // The same three reads as lazy_fold_and_read, in one round trip.
  redis->pipeline(
      {{"SMEMBERS", keys::days(repo)},
       {"HGETALL", keys::day(repo, today)},
       {"GET", fold_version_key(repo)}},
      [this, today, tag = std::move(tag), done = std::move(done)](std::vector<RedisReply>&& r,
                                                                  const std::string* error) {
        if (error) return done(std::nullopt, std::make_exception_ptr(Unavailable(*error)));
        for (const auto& x : r)
          if (x.is_error())
            return done(std::nullopt,
                        std::make_exception_ptr(Unavailable("redis: " + std::string(x.error()))));
        for (std::size_t i = 0; i < reply_len(r[0].get()); ++i) {
          auto d = hubstats::parse_compact(reply_str(reply_at(r[0].get(), i)));
          // A past day still pending needs the (blocking) lazy fold.
          if (d && *d < today) return done(std::nullopt, nullptr);
        }
        const auto folded =
            cached_total(tag, reply_str(r[2].get()), std::chrono::steady_clock::now());
        if (!folded) return done(std::nullopt, nullptr);
        done(*folded + counts_of(r[1].get(), today).downloads, nullptr);
      });
}

std::vector<DayCounts> PgRedisStatsStore::recent(const RepoRef& repo,
                                                 const hubstats::Period& period) {
  const Day today = this->today();
  Live live = lazy_fold_and_read(repo, today);
  auto p = repo_params(repo);
  p.push_back(hubstats::format_iso(period.start));
  p.push_back(hubstats::format_iso(period.end));
  auto res = pg_.exec(
      "SELECT day::text, downloads, authenticated, anonymous, files "
      "FROM hubstats.daily_downloads WHERE repo_type = $1 AND namespace = $2 AND name = $3 "
      "AND day BETWEEN $4::date AND $5::date ORDER BY day",
      p);
  std::vector<DayCounts> rows;
  rows.reserve(static_cast<std::size_t>(res.rows()) + 1 + live.past.size() * 2);
  for (int i = 0; i < res.rows(); ++i) {
    auto d = hubstats::parse_iso(res.text(i, 0));
    if (d) rows.push_back({*d, res.i64(i, 1), res.i64(i, 2), res.i64(i, 3), res.i64(i, 4)});
  }
  rows.push_back(live.today);
  std::vector<std::string> gens;
  for (const auto& u : live.past) {
    rows.push_back(u.live);
    if (!u.gen.empty()) gens.push_back(u.gen);
  }
  if (!gens.empty()) {
    auto applied = applied_gens(pg_, repo, gens);
    for (const auto& u : live.past)
      if (!u.gen.empty() && !applied.count(u.gen)) rows.push_back(u.folding);
  }
  return zero_fill(period, rows);
}

std::shared_ptr<const PgRedisStatsStore::TodayByType> PgRedisStatsStore::today_counts(Day day) {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lk(today_mu_);
    if (today_ && today_day_ == day && opt_.today_cache_ttl.count() > 0 &&
        now - today_at_ < opt_.today_cache_ttl)
      return today_;
  }
  auto out = std::make_shared<TodayByType>();
  auto members = redis_.command({"SMEMBERS", keys::index(day)});
  check(members, "SMEMBERS");
  std::vector<RepoRef> refs;
  for (std::size_t i = 0; i < reply_len(members.get()); ++i)
    if (auto ref = keys::parse_repo_tag(reply_str(reply_at(members.get(), i))))
      refs.push_back(std::move(*ref));
  constexpr std::size_t kBatch = 1000;
  for (std::size_t off = 0; off < refs.size(); off += kBatch) {
    const std::size_t end = std::min(refs.size(), off + kBatch);
    std::vector<std::vector<std::string>> cmds;
    cmds.reserve(end - off);
    for (std::size_t i = off; i < end; ++i)
      cmds.push_back({"HGET", keys::day(refs[i], day), std::string(keys::kDownloads)});
    auto replies = redis_.pipeline(cmds);
    for (std::size_t i = off; i < end; ++i) {
      const auto n = reply_int(replies[i - off].get());
      if (n > 0) (*out)[static_cast<int>(refs[i].type)][refs[i].id()] += n;
    }
  }
  std::lock_guard lk(today_mu_);
  today_ = out;
  today_day_ = day;
  today_at_ = now;
  return out;
}

std::vector<TrendingCandidate> PgRedisStatsStore::trending(
    hubstats::RepoType type, const hubstats::Period& period, std::size_t limit,
    const std::function<bool(const RepoRef&)>& keep) {
  if (!opt_.use_trending_index || !ready_.load()) return trending_sql(type, period, limit, keep);
  auto live = today_counts(period.end);
  return index_.trending(type, period, (*live)[static_cast<int>(type)], limit, keep);
}

std::vector<TrendingCandidate> PgRedisStatsStore::trending_sql(
    hubstats::RepoType type, const hubstats::Period& period, std::size_t limit,
    const std::function<bool(const RepoRef&)>& keep) {
  auto live = today_counts(period.end);
  const auto& today = (*live)[static_cast<int>(type)];
  const std::string type_s(hubstats::to_string(type));
  // Folded downloads in the period before its last day (which is live): an
  // index-only scan of daily_downloads_type_day.
  auto res = pg_.exec(
      "SELECT namespace, name, sum(downloads)::bigint FROM hubstats.daily_downloads "
      "WHERE repo_type = $1 AND day BETWEEN $2::date AND $3::date GROUP BY 1, 2",
      {type_s, hubstats::format_iso(period.start), hubstats::format_iso(period.end - 1)});
  struct Row {
    RepoRef ref;
    std::string id;
    std::int64_t recent = 0, live = 0;
  };
  std::vector<Row> rows;
  rows.reserve(static_cast<std::size_t>(res.rows()) + today.size());
  std::unordered_map<std::string, std::size_t> by_id;
  for (int i = 0; i < res.rows(); ++i) {
    Row r{{type, res.str(i, 0), res.str(i, 1)}, {}, res.i64(i, 2), 0};
    r.id = r.ref.id();
    by_id.emplace(r.id, rows.size());
    rows.push_back(std::move(r));
  }
  for (const auto& [id, n] : today) {
    if (n <= 0) continue;
    auto it = by_id.find(id);
    if (it != by_id.end()) {
      rows[it->second].recent += n;
      rows[it->second].live = n;
      continue;
    }
    auto slash = id.find('/');
    if (slash == std::string::npos) continue;
    rows.push_back({{type, id.substr(0, slash), id.substr(slash + 1)}, id, n, n});
  }
  std::erase_if(rows, [](const Row& r) { return r.recent <= 0; });
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return a.recent != b.recent ? a.recent > b.recent : a.id < b.id;
  });
  // All-time totals break ties: fetch them one group of equal recent counts at a
  // time, in rank order, only as far down as the answer needs.
  std::vector<TrendingCandidate> out;
  for (std::size_t g = 0; g < rows.size() && out.size() < limit;) {
    std::size_t e = g;
    while (e < rows.size() && rows[e].recent == rows[g].recent) ++e;
    std::vector<std::string> nss, names;
    for (std::size_t i = g; i < e; ++i) {
      nss.push_back(rows[i].ref.ns);
      names.push_back(rows[i].ref.name);
    }
    auto tot = pg_.exec(
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
  return out;
}

void PgRedisStatsStore::load_trending_index_now() {
  auto mark = load_trending_index(pg_, index_, today());
  ready_ = true;
  watermark_ = refresh_trending_index(pg_, index_, mark);
}

void PgRedisStatsStore::maintain() {
  std::unique_lock lk(mu_);
  while (!stop_) {
    lk.unlock();
    try {
      if (!ready_.load()) {
        load_trending_index_now();
        log::info("trending index loaded", {{"repos", std::to_string(index_.size())}});
      } else {
        watermark_ = refresh_trending_index(pg_, index_, watermark_);
      }
    } catch (const std::exception& e) {
      log::warn("trending index update failed", {{"error", e.what()}});
    }
    lk.lock();
    cv_.wait_for(lk, opt_.trending_refresh, [this] { return stop_; });
  }
}

void PgRedisStatsStore::start() {
  std::lock_guard lk(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { maintain(); });
}

void PgRedisStatsStore::stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace hubstatsd
