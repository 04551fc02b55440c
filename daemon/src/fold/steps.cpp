// The three steps of folding one batch of (repo, day) items: take, commit, finish
// (fold/folder.h explains them).
#include <algorithm>
#include <set>
#include <unordered_map>

#include "db/pg_pool.h"
#include "fold/fold_sql.h"
#include "fold/random_ids.h"
#include "fold/taken.h"
#include "hubstats/contract/keys.h"
#include "hubstats/contract/scripts.h"

namespace hubstatsd {

namespace keys = hubstats::keys;
using hubstats::Day;

using namespace fold_detail;
using namespace fold_sql;

Folder::Folder(RedisClient& redis, PgPool& pg, FoldOptions opt)
    : redis_(redis),
      pg_(pg),
      opt_(opt),
      take_script_(hubstats::scripts::kFoldTake),
      finish_script_(hubstats::scripts::kFoldFinish),
      dirty_take_script_(hubstats::scripts::kDirtyTake),
      dirty_finish_script_(hubstats::scripts::kDirtyFinish) {
  if (opt_.batch_size == 0) opt_.batch_size = 1;
}

std::vector<Folder::Taken> Folder::take(const std::vector<FoldItem>& items) {
  std::vector<EvalCall> calls;
  calls.reserve(items.size());
  const std::string ttl = std::to_string(opt_.folding_ttl_s);
  auto gens = new_generation_ids(items.size());
  const std::string start = std::to_string(random_epoch_start());
  const std::string step = std::to_string(1 + (random_epoch_start() >> 16) % 1000003);
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto& it = items[i];
    calls.push_back(
        {&take_script_,
         {keys::day(it.repo, it.day), keys::folding(it.repo, it.day), keys::epoch(it.repo),
          keys::paths(it.repo, it.day), keys::clients(it.repo, it.day),
          keys::folding_paths(it.repo, it.day), keys::folding_clients(it.repo, it.day),
          keys::breakdown_log(it.repo, it.day), keys::folding_breakdown_log(it.repo, it.day)},
         {gens[i], ttl, start, step}});
  }
  // On a cluster the takes must reach the replicas before PostgreSQL counts them: a
  // replica promoted with the day hash not yet moved aside would fold it again.
  auto replies = redis_.eval(calls, /*replicated=*/true);
  std::vector<Taken> out;
  out.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (replies[i].is_error())
      throw Unavailable("redis: fold_take failed: " + std::string(replies[i].error()));
    Taken t{items[i], {}, false, 0, 0, 0, 0, 0, {}, {}};
    const redisReply* r = reply_at(replies[i].get(), 0);
    for (std::size_t k = 0; k + 1 < reply_len(r); k += 2) {
      auto field = reply_str(reply_at(r, k));
      const redisReply* v = reply_at(r, k + 1);
      if (field == keys::kGen) {
        t.gen = std::string(reply_str(v));
        t.resumed = t.gen != gens[i];
      } else if (field == keys::kDownloads)
        t.downloads = reply_int(v);
      else if (field == keys::kAuthenticated)
        t.authenticated = reply_int(v);
      else if (field == keys::kAnonymous)
        t.anonymous = reply_int(v);
      else if (field == keys::kFiles)
        t.files = reply_int(v);
      else if (field == keys::kBots)
        t.bots = reply_int(v);
    }
    // What compactions left in the paths and clients hashes, plus the breakdown log.
    auto log = hubstats::scripts::parse_breakdown_log(reply_str(reply_at(replies[i].get(), 3)));
    std::unordered_map<std::string, std::int64_t> paths;
    for (const auto& [path, n] : reply_int_pairs(reply_at(replies[i].get(), 1))) paths[path] += n;
    for (const auto& [path, n] : log.paths) paths[path] += n;
    for (const auto& [path, n] : paths)
      if (n > 0) t.paths.emplace_back(path, n);
    for (const auto& [field, n] : reply_int_pairs(reply_at(replies[i].get(), 2)))
      add_client_field(t.clients, field, n);
    for (const auto& [field, n] : log.clients) add_client_field(t.clients, field, n);
    out.push_back(std::move(t));
  }
  return out;
}

std::int64_t Folder::commit(const std::vector<Taken>& taken) {
  std::vector<std::string> type, ns, name, day, gen, dl, au, an, fi, bo;
  for (const auto& t : taken) {
    if (t.gen.empty()) continue;
    type.emplace_back(hubstats::to_string(t.item.repo.type));
    ns.push_back(t.item.repo.ns);
    name.push_back(t.item.repo.name);
    day.push_back(hubstats::format_iso(t.item.day));
    gen.push_back(t.gen);
    dl.push_back(std::to_string(t.downloads));
    au.push_back(std::to_string(t.authenticated));
    an.push_back(std::to_string(t.anonymous));
    fi.push_back(std::to_string(t.files));
    bo.push_back(std::to_string(t.bots));
  }
  if (gen.empty()) return 0;
  ensure_partitions(taken);
  const std::vector<std::optional<std::string>> params = {
      pg_array(type), pg_array(ns), pg_array(name), pg_array(day), pg_array(gen),
      pg_array(dl),   pg_array(au), pg_array(an),   pg_array(fi),  pg_array(bo)};
  PgResult res;
  for (int attempt = 0;; ++attempt) {
    auto conn = pg_.acquire();
    try {
      // One transaction: the counters (and the ledger row that makes them once only),
      // then the per-file and per-client counts of exactly the generations it applied.
      conn.exec("BEGIN");
      res = conn.exec(kCommitSql, params);
      std::set<std::string, std::less<>> applied;
      for (int i = 0; i < res.rows(); ++i) applied.insert(res.str(i, 5));
      commit_breakdowns(conn, taken, applied);
      conn.exec("COMMIT");
      break;
    } catch (const PgError& e) {
      try {
        conn.exec("ROLLBACK");
      } catch (...) {
        conn.discard();
      }
      // Two daemons committing overlapping batches may deadlock; the loser retries.
      if (attempt < 3 && (e.sqlstate == "40P01" || e.sqlstate == "40001")) continue;
      throw;
    }
  }
  FoldCommit done;
  done.rows.reserve(static_cast<std::size_t>(res.rows()));
  done.gens.reserve(static_cast<std::size_t>(res.rows()));
  for (int i = 0; i < res.rows(); ++i) {
    done.gens.push_back(res.str(i, 5));
    auto t = hubstats::parse_repo_type(res.text(i, 0));
    auto d = hubstats::parse_iso(res.text(i, 3));
    if (!t || !d) continue;
    done.rows.push_back({{*t, res.str(i, 1), res.str(i, 2)}, *d, res.i64(i, 4)});
  }
  if (listener_ && !done.rows.empty()) listener_(done);
  return static_cast<std::int64_t>(done.rows.size());
}

void Folder::ensure_partitions(const std::vector<Taken>& taken) {
  std::vector<std::string> days, months;
  {
    std::lock_guard lk(months_mu_);
    for (const auto& t : taken) {
      if (t.gen.empty()) continue;
      std::string d = hubstats::format_iso(t.item.day);
      std::string m = d.substr(0, 7);
      if (months_ready_.count(m) || std::find(months.begin(), months.end(), m) != months.end())
        continue;
      months.push_back(std::move(m));
      days.push_back(std::move(d));
    }
  }
  if (days.empty()) return;
  pg_.exec("SELECT hubstats.ensure_partitions($1::date[])", {pg_array(days)});
  std::lock_guard lk(months_mu_);
  for (auto& m : months) months_ready_.insert(std::move(m));
}

void Folder::commit_breakdowns(PgConn& conn, const std::vector<Taken>& taken,
                               const std::set<std::string, std::less<>>& applied) {
  std::vector<std::string> type, ns, name, day, path, files;
  std::vector<std::string> ctype, cns, cname, cday, client, cdl, cfi;
  for (const auto& t : taken) {
    if (t.gen.empty() || !applied.count(t.gen)) continue;
    const std::string ty(hubstats::to_string(t.item.repo.type));
    const std::string d = hubstats::format_iso(t.item.day);
    for (const auto& [p, n] : t.paths) {
      type.push_back(ty);
      ns.push_back(t.item.repo.ns);
      name.push_back(t.item.repo.name);
      day.push_back(d);
      path.push_back(p);
      files.push_back(std::to_string(n));
    }
    for (const auto& c : t.clients) {
      ctype.push_back(ty);
      cns.push_back(t.item.repo.ns);
      cname.push_back(t.item.repo.name);
      cday.push_back(d);
      client.push_back(c.name);
      cdl.push_back(std::to_string(c.downloads));
      cfi.push_back(std::to_string(c.files));
    }
  }
  if (!path.empty())
    conn.exec(kPathsSql, {pg_array(type), pg_array(ns), pg_array(name), pg_array(day),
                          pg_array(path), pg_array(files), std::to_string(opt_.max_paths)});
  if (!client.empty())
    conn.exec(kClientsSql, {pg_array(ctype), pg_array(cns), pg_array(cname), pg_array(cday),
                            pg_array(client), pg_array(cdl), pg_array(cfi)});
}

void Folder::finish(const std::vector<Taken>& taken) {
  std::vector<EvalCall> calls;
  for (const auto& t : taken) {
    if (t.gen.empty()) continue;
    const auto& r = t.item.repo;
    const Day d = t.item.day;
    calls.push_back(
        {&finish_script_,
         {keys::folding(r, d), keys::day(r, d), keys::days(r), keys::folding_paths(r, d),
          keys::folding_clients(r, d), keys::paths(r, d), keys::clients(r, d),
          keys::folding_breakdown_log(r, d), keys::breakdown_log(r, d)},
         {t.gen, hubstats::format_compact(t.item.day)}});
  }
  auto replies = redis_.eval(calls);
  for (const auto& r : replies)
    if (r.is_error()) throw Unavailable("redis: fold_finish failed: " + std::string(r.error()));
}

}  // namespace hubstatsd
