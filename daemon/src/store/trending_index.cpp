#include "store/trending_index.h"

#include <algorithm>
#include <charconv>
#include <optional>

#include "db/pg_pool.h"

namespace hubstatsd {

using hubstats::Day;
using hubstats::RepoRef;

bool rank_before(const RankEntry& a, const RankEntry& b) {
  if (a.recent != b.recent) return a.recent > b.recent;
  if (a.downloads != b.downloads) return a.downloads > b.downloads;
  return *a.id < *b.id;
}

std::vector<RankEntry> rank_top(std::vector<RankEntry> entries, std::size_t limit,
                                const std::function<bool(const RankEntry&)>& accept) {
  std::vector<RankEntry> out;
  if (limit == 0) return out;
  // Max-heap on rank: the best entry is on top; each pop is O(log n).
  auto worse = [](const RankEntry& a, const RankEntry& b) { return rank_before(b, a); };
  std::make_heap(entries.begin(), entries.end(), worse);
  auto end = entries.end();
  while (end != entries.begin() && out.size() < limit) {
    std::pop_heap(entries.begin(), end, worse);
    --end;
    if (accept(*end)) out.push_back(*end);
  }
  return out;
}

std::uint32_t TrendingIndex::row_of(Part& p, const RepoRef& repo) {
  std::string id = repo.id();
  auto it = p.rows.find(id);
  if (it != p.rows.end()) return it->second;
  const auto row = static_cast<std::uint32_t>(p.refs.size());
  p.rows.emplace(id, row);
  p.refs.push_back(repo);
  p.ids.push_back(std::move(id));
  p.totals.push_back(0);
  for (auto& c : p.cols)
    if (!c.empty() || p.slot_day[&c - p.cols.data()] != std::numeric_limits<Day>::min())
      c.resize(p.refs.size(), 0);
  windows_grow(static_cast<int>(repo.type), p);
  return row;
}

int TrendingIndex::claim(Part& p, Day d) {
  const int s = slot_of(d);
  if (p.slot_day[s] == d) return s;
  if (p.slot_day[s] > d) return -1;  // the slot holds a newer day: d left the ring
  // Cached windows summed the day leaving the slot, if any; none summed d (a window
  // skips days the ring does not hold), and its column starts at zero.
  if (p.slot_day[s] != std::numeric_limits<Day>::min()) windows_drop(p, p.slot_day[s]);
  p.slot_day[s] = d;
  p.cols[s].assign(p.refs.size(), 0);
  return s;
}

bool TrendingIndex::set_day(const RepoRef& repo, Day day, std::int64_t downloads) {
  std::unique_lock lk(mu_);
  ++changes_;
  return set_day_locked(repo, day, downloads, false);
}

std::vector<FoldedRow> TrendingIndex::apply(const std::vector<FoldedRow>& rows,
                                            const std::vector<std::string>& gens) {
  std::vector<FoldedRow> old;
  if (rows.empty() && gens.empty()) return old;  // no change: cached state stays valid
  std::unique_lock lk(mu_);
  ++changes_;
  for (const auto& r : rows)
    if (!set_day_locked(r.repo, r.day, r.downloads, true)) old.push_back(r);
  const auto now = std::chrono::steady_clock::now();
  // A generation recorded minutes ago was in the ledger when any running reader
  // checked it there: forget it.
  if (gens_.size() > 100'000 && now - gens_pruned_ > std::chrono::minutes(1)) {
    std::erase_if(gens_, [&](const auto& g) { return now - g.second > std::chrono::minutes(10); });
    gens_pruned_ = now;
  }
  for (const auto& g : gens) gens_[g] = now;
  return old;
}

bool TrendingIndex::set_day_locked(const RepoRef& repo, Day day, std::int64_t downloads,
                                   bool only_up) {
  Part& p = parts_[static_cast<int>(repo.type)];
  const auto row = row_of(p, repo);
  const int s = claim(p, day);
  if (s < 0) return false;
  const std::int64_t old = p.cols[s][row];
  const auto v = static_cast<std::uint32_t>(
      std::clamp<std::int64_t>(downloads, 0, std::numeric_limits<std::uint32_t>::max()));
  if (v != old && (!only_up || v > old)) {
    p.cols[s][row] = v;
    p.totals[row] += static_cast<std::int64_t>(v) - old;
    windows_add(static_cast<int>(repo.type), p, day, row, static_cast<std::int64_t>(v) - old);
  }
  return true;
}

void TrendingIndex::set_total(const RepoRef& repo, std::int64_t total) {
  std::unique_lock lk(mu_);
  ++changes_;
  Part& p = parts_[static_cast<int>(repo.type)];
  p.totals[row_of(p, repo)] = total;  // window sums do not depend on totals
}

void TrendingIndex::load_repo(const RepoRef& repo, std::int64_t total,
                              const std::vector<std::pair<Day, std::int64_t>>& days) {
  std::unique_lock lk(mu_);
  ++changes_;
  Part& p = parts_[static_cast<int>(repo.type)];
  const auto row = row_of(p, repo);
  for (const auto& [d, n] : days) {
    const int s = claim(p, d);
    if (s >= 0)
      p.cols[s][row] = static_cast<std::uint32_t>(
          std::clamp<std::int64_t>(n, 0, std::numeric_limits<std::uint32_t>::max()));
  }
  p.totals[row] = total;
  ++p.version;
}

std::int64_t TrendingIndex::day_downloads(const RepoRef& repo, Day day) const {
  std::shared_lock lk(mu_);
  const Part& p = parts_[static_cast<int>(repo.type)];
  auto it = p.rows.find(repo.id());
  const int s = slot_of(day);
  if (it == p.rows.end() || p.slot_day[s] != day) return 0;
  return p.cols[s][it->second];
}

std::int64_t TrendingIndex::total(const RepoRef& repo) const {
  std::shared_lock lk(mu_);
  const Part& p = parts_[static_cast<int>(repo.type)];
  auto it = p.rows.find(repo.id());
  return it == p.rows.end() ? 0 : p.totals[it->second];
}

std::size_t TrendingIndex::size() const {
  std::shared_lock lk(mu_);
  return parts_[0].refs.size() + parts_[1].refs.size() + parts_[2].refs.size();
}

void TrendingIndex::windows_add(int type, const Part& p, Day day, std::uint32_t row,
                                std::int64_t delta) {
  std::lock_guard ck(cache_mu_);
  for (auto& c : cache_[type])
    if (c.version == p.version && day >= c.first && day <= c.last && row < c.sums->size())
      (*c.sums)[row] =
          static_cast<std::uint64_t>(static_cast<std::int64_t>((*c.sums)[row]) + delta);
}

void TrendingIndex::windows_drop(const Part& p, Day day) {
  std::lock_guard ck(cache_mu_);
  std::erase_if(cache_[&p - parts_.data()],
                [&](const WindowCache& c) { return day >= c.first && day <= c.last; });
}

void TrendingIndex::windows_grow(int type, const Part& p) {
  std::lock_guard ck(cache_mu_);
  for (auto& c : cache_[type])
    if (c.version == p.version && c.sums->size() + 1 == p.refs.size()) c.sums->push_back(0);
}

std::shared_ptr<const std::vector<std::uint64_t>> TrendingIndex::window(const Part& p, int type,
                                                                        Day first, Day last) const {
  {
    std::lock_guard ck(cache_mu_);
    for (auto& c : cache_[type])
      if (c.first == first && c.last == last && c.version == p.version &&
          c.sums->size() == p.refs.size()) {
        c.used = ++cache_clock_;
        return c.sums;
      }
  }
  ++window_builds_;
  // Column-wise running sums: each day adds one contiguous column (vectorizes well).
  auto sums = std::make_shared<std::vector<std::uint64_t>>(p.refs.size(), 0);
  for (Day d = first; d <= last && d > last - kSlots; ++d) {
    const int s = slot_of(d);
    if (p.slot_day[s] != d) continue;
    const std::uint32_t* col = p.cols[s].data();
    std::uint64_t* out = sums->data();
    const std::size_t n = std::min(sums->size(), p.cols[s].size());
    for (std::size_t r = 0; r < n; ++r) out[r] += col[r];
  }
  std::lock_guard ck(cache_mu_);
  auto& windows = cache_[type];
  // Stale entries go first, then the least recently used one when full.
  std::erase_if(windows, [&](const WindowCache& c) {
    return c.version != p.version || (c.first == first && c.last == last);
  });
  if (windows.size() >= kWindows)
    windows.erase(std::min_element(windows.begin(), windows.end(),
                                   [](const auto& a, const auto& b) { return a.used < b.used; }));
  windows.push_back(WindowCache{first, last, p.version, ++cache_clock_, sums});
  return sums;
}

std::shared_ptr<const TrendingIndex::TopCache> TrendingIndex::top_of(
    const Part& p, int type, Day first, Day last, const std::vector<std::uint64_t>& sums) const {
  const std::uint64_t changes = changes_.load();
  {
    std::lock_guard ck(cache_mu_);
    for (auto& c : tops_[type])
      if (c->first == first && c->last == last && c->changes == changes) {
        const_cast<TopCache&>(*c).used = ++cache_clock_;
        return c;
      }
  }
  ++top_builds_;
  std::vector<RankEntry> heap;  // the worst kept entry on top
  heap.reserve(kTop);
  std::size_t with_downloads = 0;
  for (std::size_t r = 0; r < sums.size(); ++r) {
    if (sums[r] == 0) continue;
    ++with_downloads;
    const RankEntry e{static_cast<std::int64_t>(sums[r]), p.totals[r], &p.ids[r],
                      static_cast<std::uint32_t>(r)};
    keep_best(heap, e, kTop);
  }
  std::sort(heap.begin(), heap.end(), rank_before);
  auto rows = std::make_shared<std::vector<std::uint32_t>>();
  rows->reserve(heap.size());
  for (const auto& e : heap) rows->push_back(e.row);
  auto top = std::make_shared<TopCache>(
      TopCache{first, last, changes, 0, with_downloads <= kTop, std::move(rows)});
  std::lock_guard ck(cache_mu_);
  auto& tops = tops_[type];
  std::erase_if(tops, [&](const auto& c) {
    return c->changes != changes || (c->first == first && c->last == last);
  });
  if (tops.size() >= kWindows)
    tops.erase(std::min_element(tops.begin(), tops.end(),
                                [](const auto& a, const auto& b) { return a->used < b->used; }));
  top->used = ++cache_clock_;
  tops.push_back(top);
  return top;
}

std::vector<TrendingCandidate> TrendingIndex::trending(
    hubstats::RepoType type, const hubstats::Period& period,
    const std::unordered_map<std::string, LiveCounts>& counts, std::size_t limit,
    const std::function<bool(const RepoRef&)>& keep) const {
  std::shared_lock lk(mu_);
  const int t = static_cast<int>(type);
  const Part& p = parts_[t];
  const std::size_t n = p.refs.size();
  auto sums = window(p, t, period.start, period.end);

  // Live counts as (row, recent, total) sorted by row, merged into the scan; repos the
  // index does not know yet (first download ever) get rows past n. A folding hash
  // whose generation the ring already holds is not counted again (same lock).
  struct Live {
    std::uint32_t row;
    std::int64_t recent, total;
    bool operator<(const Live& o) const { return row < o.row; }
  };
  std::vector<Live> live;
  std::vector<RepoRef> fresh_refs;
  std::vector<RankEntry> fresh;
  for (const auto& [id, c] : counts) {
    std::int64_t recent = c.recent, total = c.total;
    for (const auto& f : c.folding)
      if (!gens_.count(f.gen)) {
        recent += f.recent;
        total += f.total;
      }
    if (recent <= 0 && total <= 0) continue;
    auto it = p.rows.find(id);
    if (it != p.rows.end()) {
      live.push_back({it->second, recent, total});
      continue;
    }
    auto slash = id.find('/');
    if (slash == std::string::npos || recent <= 0) continue;
    fresh_refs.push_back({type, id.substr(0, slash), id.substr(slash + 1)});
    fresh.push_back({recent, total, &id, static_cast<std::uint32_t>(n + fresh.size())});
  }
  std::sort(live.begin(), live.end());
  const std::uint64_t* sum = sums->data();
  const std::int64_t* totals = p.totals.data();
  auto each = [&](auto&& emit) {
    std::size_t li = 0;
    for (std::size_t r = 0; r < n; ++r) {
      std::int64_t lr = 0, lt = 0;
      for (; li < live.size() && live[li].row == r; ++li) {
        lr += live[li].recent;
        lt += live[li].total;
      }
      const std::int64_t recent = static_cast<std::int64_t>(sum[r]) + lr;
      if (recent > 0)
        emit(RankEntry{recent, totals[r] + lt, &p.ids[r], static_cast<std::uint32_t>(r)});
    }
    for (const auto& e : fresh) emit(e);
  };
  auto ref_of = [&](const RankEntry& e) -> const RepoRef& {
    return e.row < n ? p.refs[e.row] : fresh_refs[e.row - n];
  };
  auto accept = [&](const RankEntry& e) { return !keep || keep(ref_of(e)); };
  std::vector<TrendingCandidate> out;

  // Fast path: the window's cached top list (folded counts only; rows with live counts
  // left out) plus every row with live counts, ranked together. Any repo outside the
  // list without live counts ranks after the list's last entry (`bound`), so entries
  // ranked before it are in their final order; needing one past it means a full scan.
  const auto top = top_of(p, t, period.start, period.end, *sums);
  {
    std::vector<RankEntry> cand;
    cand.reserve(top->rows->size() + live.size() + fresh.size());
    auto is_live = [&](std::uint32_t row) {
      return std::binary_search(live.begin(), live.end(), Live{row, 0, 0});
    };
    for (const auto r : *top->rows)
      if (!is_live(r)) cand.push_back({static_cast<std::int64_t>(sum[r]), totals[r], &p.ids[r], r});
    for (std::size_t li = 0; li < live.size();) {
      const std::uint32_t r = live[li].row;
      std::int64_t lr = 0, lt = 0;
      for (; li < live.size() && live[li].row == r; ++li) {
        lr += live[li].recent;
        lt += live[li].total;
      }
      const std::int64_t recent = static_cast<std::int64_t>(sum[r]) + lr;
      if (recent > 0) cand.push_back({recent, totals[r] + lt, &p.ids[r], r});
    }
    for (const auto& e : fresh) cand.push_back(e);
    std::sort(cand.begin(), cand.end(), rank_before);
    std::optional<RankEntry> bound;
    if (!top->complete && !top->rows->empty()) {
      const auto b = top->rows->back();
      bound = RankEntry{static_cast<std::int64_t>(sum[b]), totals[b], &p.ids[b], b};
    }
    std::size_t i = 0;
    for (; i < cand.size() && out.size() < limit; ++i) {
      if (bound && !rank_before(cand[i], *bound)) break;
      if (accept(cand[i])) out.push_back({ref_of(cand[i]), cand[i].recent, cand[i].downloads});
    }
    if (out.size() == limit || (i == cand.size() && !bound)) return out;
    out.clear();
  }
  ++top_builds_;
  auto ranked = rank_top_streaming(each, limit, accept);
  out.reserve(ranked.size());
  for (const auto& e : ranked) out.push_back({ref_of(e), e.recent, e.downloads});
  return out;
}

namespace {

std::int64_t parse_i64(std::string_view s) {
  std::int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

constexpr std::chrono::minutes kLoadTimeout{10};

}  // namespace

std::string load_trending_index(PgPool& pg, TrendingIndex& index, Day today) {
  const Day first = today - TrendingIndex::kSlots + 1;
  auto conn = pg.acquire();
  const auto mark = conn.exec("SELECT now()::text").str(0, 0);
  conn.exec("BEGIN");
  conn.exec("SET LOCAL statement_timeout = 0");
  // One row per repo: its all-time total and "offset:downloads,..." for ring days.
  auto res = conn.exec_with_timeout(
      "SELECT repo_type, namespace, name, sum(downloads)::bigint, "
      "string_agg(CASE WHEN day >= $1::date THEN (day - $1::date)::text || ':' || "
      "downloads::text END, ',') "
      "FROM hubstats.all_time_downloads GROUP BY 1, 2, 3",  // + imported baselines
      {hubstats::format_iso(first)}, kLoadTimeout);
  conn.exec("COMMIT");
  std::vector<std::pair<Day, std::int64_t>> days;
  for (int i = 0; i < res.rows(); ++i) {
    auto type = hubstats::parse_repo_type(res.text(i, 0));
    if (!type) continue;
    days.clear();
    std::string_view agg = res.text(i, 4);
    while (!agg.empty()) {
      auto comma = agg.find(',');
      auto item = agg.substr(0, comma);
      auto colon = item.find(':');
      if (colon != std::string_view::npos)
        days.emplace_back(first + static_cast<Day>(parse_i64(item.substr(0, colon))),
                          parse_i64(item.substr(colon + 1)));
      agg = comma == std::string_view::npos ? std::string_view() : agg.substr(comma + 1);
    }
    std::sort(days.begin(), days.end());
    index.load_repo({*type, res.str(i, 1), res.str(i, 2)}, res.i64(i, 3), days);
  }
  return mark;
}

std::string refresh_trending_index(PgPool& pg, TrendingIndex& index, const std::string& watermark) {
  auto conn = pg.acquire();
  // One snapshot for the rows and the generations they hold.
  conn.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  const auto mark = conn.exec("SELECT now()::text").str(0, 0);
  // A fold's applied_at is its statement's start; it becomes visible at commit, at
  // most a statement timeout later: re-reading a slack window catches late commits.
  auto gens = conn.exec(
      "SELECT gen FROM hubstats.fold_ledger WHERE applied_at > $1::timestamptz - interval '10 "
      "seconds'",
      {watermark});
  auto res = conn.exec(
      "SELECT d.repo_type, d.namespace, d.name, d.day::text, d.downloads "
      "FROM (SELECT DISTINCT repo_type, namespace, name, day FROM hubstats.fold_ledger "
      "      WHERE applied_at > $1::timestamptz - interval '10 seconds') c "
      "JOIN hubstats.daily_downloads d USING (repo_type, namespace, name, day) "
      "ORDER BY d.day",
      {watermark});
  conn.exec("COMMIT");
  std::vector<FoldedRow> rows;
  rows.reserve(static_cast<std::size_t>(res.rows()));
  for (int i = 0; i < res.rows(); ++i) {
    auto type = hubstats::parse_repo_type(res.text(i, 0));
    auto day = hubstats::parse_iso(res.text(i, 3));
    if (type && day) rows.push_back({{*type, res.str(i, 1), res.str(i, 2)}, *day, res.i64(i, 4)});
  }
  std::vector<std::string> applied;
  applied.reserve(static_cast<std::size_t>(gens.rows()));
  for (int i = 0; i < gens.rows(); ++i) applied.push_back(gens.str(i, 0));
  std::vector<std::string> types, nss, names;
  for (const auto& r : index.apply(rows, applied)) {
    types.emplace_back(hubstats::to_string(r.repo.type));
    nss.push_back(r.repo.ns);
    names.push_back(r.repo.name);
  }
  if (!types.empty()) {
    // Days older than the ring changed: recompute those repos' totals.
    auto tot = conn.exec(
        "SELECT d.repo_type, d.namespace, d.name, sum(d.downloads)::bigint "
        "FROM hubstats.all_time_downloads d "
        "JOIN (SELECT DISTINCT * FROM unnest($1::text[], $2::text[], $3::text[]) "
        "      AS u(repo_type, namespace, name)) u USING (repo_type, namespace, name) "
        "GROUP BY 1, 2, 3",
        {pg_array(types), pg_array(nss), pg_array(names)});
    for (int i = 0; i < tot.rows(); ++i)
      if (auto type = hubstats::parse_repo_type(tot.text(i, 0)))
        index.set_total({*type, tot.str(i, 1), tot.str(i, 2)}, tot.i64(i, 3));
  }
  return mark;
}

}  // namespace hubstatsd
