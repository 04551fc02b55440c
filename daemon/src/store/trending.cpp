// /api/trending: the in-memory TrendingIndex plus the dirty repos' Redis residual, or
// (before the index is loaded) one SQL query.
#include <algorithm>
#include <set>

#include "store/reader_snapshot.h"

namespace hubstatsd {

namespace keys = hubstats::keys;
using hubstats::Day;
using hubstats::RepoRef;

using namespace reader_detail;

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

}  // namespace hubstatsd
