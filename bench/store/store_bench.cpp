// Storage benchmarks against real PostgreSQL and Redis (started by bench/store/run.sh):
//  1. /api/trending core: the in-memory TrendingIndex vs SQL GROUP BY, with
//     --repos repos x --days days of history in hubstats.daily_downloads.
//  2. The continuous fold of --dirty dirty repo-days (pipelined take/finish, batched
//     commit), --fold-rounds times.
//  3. The fold's CPU at a steady --rate downloads/s (a forked writer records them like
//     the module), in alternating --steady-seconds phases without and with the
//     continuous fold (every 5 s, its default interval), so the fold's share of
//     redis-server and PostgreSQL CPU is the difference.
// Prints one line per figure; run.sh turns them into docs/benchmarks.md rows.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>
#include <thread>
#include <csignal>

#include "hubstats/contract/keys.h"
#include "hubstats/contract/scripts.h"
#include "db/migrator.h"
#include "store/storage.h"

using namespace hubstatsd;
using SteadyClock = std::chrono::steady_clock;

namespace {

// The module's dirty-set write after each record (SADD of the repo's tag to its shard).
constexpr std::string_view kDirtyAdd = R"lua(return redis.call('SADD', KEYS[1], ARGV[1]))lua";
std::string dirty_of(const hubstats::RepoRef& ref) {
  return hubstats::keys::dirty(hubstats::keys::dirty_shard(hubstats::keys::repo_tag(ref)));
}

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double ms_since(SteadyClock::time_point t) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - t).count();
}

// CPU seconds used so far by redis-server (INFO cpu) and by this process.
double redis_cpu(RedisClient& r) {
  auto reply = r.command({"INFO", "cpu"});
  std::string info(reply_str(reply.get()));
  double total = 0;
  for (const char* key : {"used_cpu_sys:", "used_cpu_user:"}) {
    auto p = info.find(key);
    if (p != std::string::npos) total += std::stod(info.substr(p + std::strlen(key)));
  }
  return total;
}

double self_cpu() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// CPU seconds used so far by a process and its children (PostgreSQL: the postmaster
// and its backends), from /proc/<pid>/stat; 0 when unknown.
double tree_cpu(int root) {
  if (root <= 0) return 0;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  double total = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream f(e.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    std::string state;
    long ppid = 0;
    rest >> state >> ppid;
    const int pid = std::stoi(name);
    if (pid != root && ppid != root) continue;
    std::string skip;
    for (int i = 0; i < 9; ++i) rest >> skip;  // pgrp .. cmajflt
    unsigned long long utime = 0, stime = 0;
    rest >> utime >> stime;
    total += static_cast<double>(utime + stime) / tick;
  }
  return total;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <class F>
double p50(int iterations, F&& f) {
  std::vector<double> t;
  for (int i = 0; i < iterations; ++i) {
    auto s = SteadyClock::now();
    f(i);
    t.push_back(ms_since(s));
  }
  return median(t);
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // figures appear as they are measured
  std::string redis = "127.0.0.1:6379", pg = "dbname=hubstats";
  int repos = 100000, days = 90, iterations = 200, pg_pid = 0;
  // History ends this many days before today: 1 includes yesterday (the fold then
  // updates existing rows, as with late events); more leaves the folded days new.
  int history_gap = 1;
  std::size_t batch = 1000, lanes = FoldOptions{}.lanes;
  // Extra alternating fold rounds comparing (batch, lanes) with (alt_batch, alt_lanes).
  int fold_rounds = 3, dirty = 10000, rate = 1000, steady_seconds = 20;
  // The fold's durability wait (fold.redis_fsync_lag, 2 s by default), excluded unless
  // asked for: it is a fixed sleep, not work.
  int fsync_lag_ms = 0;
  std::size_t alt_batch = 0, alt_lanes = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--redis")
      redis = v;
    else if (a == "--pg")
      pg = v;
    else if (a == "--pg-pid")
      pg_pid = std::stoi(v);
    else if (a == "--history-gap")
      history_gap = std::stoi(v);
    else if (a == "--repos")
      repos = std::stoi(v);
    else if (a == "--days")
      days = std::stoi(v);
    else if (a == "--iterations")
      iterations = std::stoi(v);
    else if (a == "--batch")
      batch = std::stoul(v);
    else if (a == "--lanes")
      lanes = std::stoul(v);
    else if (a == "--fold-rounds")
      fold_rounds = std::stoi(v);
    else if (a == "--alt-batch")
      alt_batch = std::stoul(v);
    else if (a == "--alt-lanes")
      alt_lanes = std::stoul(v);
    else if (a == "--fsync-lag")
      fsync_lag_ms = std::stoi(v);
    else if (a == "--dirty")
      dirty = std::stoi(v);
    else if (a == "--rate")
      rate = std::stoi(v);
    else if (a == "--steady-seconds")
      steady_seconds = std::stoi(v);
  }
  const std::int64_t now = 1736942400;  // 2025-01-15 12:00 UTC
  const hubstats::Day today = hubstats::day_of(now);
  StorageConfig cfg;
  cfg.redis.address = redis;
  cfg.pg.dsn = pg;
  cfg.pg.statement_timeout = std::chrono::minutes(10);  // the SQL baseline is slow
  cfg.fold.batch_size = batch;
  cfg.fold.lanes = lanes;
  cfg.fold.redis_fsync_lag = std::chrono::milliseconds(fsync_lag_ms);
  cfg.today_cache_ttl = std::chrono::milliseconds(1000);
  cfg.clock = [now] { return now; };
  Storage st(cfg);
  migrate(st.pg());

  // History: repos x days in PostgreSQL, generated server-side.
  auto t0 = SteadyClock::now();
  st.pg().exec("TRUNCATE hubstats.daily_downloads, hubstats.fold_ledger");
  st.pg().exec(
      "INSERT INTO hubstats.daily_downloads "
      "SELECT 'model', 'ns' || (r % 100), 'repo-' || r, $1::date - d, "
      "       (hashint4(r * 131 + d) & 1023), 0, 0, 0 "
      "FROM generate_series(1, $2::int) r, generate_series($4::int, $4::int + $3::int - 1) d",
      {hubstats::format_iso(today), std::to_string(repos), std::to_string(days),
       std::to_string(history_gap)});
  st.pg().exec("VACUUM ANALYZE hubstats.daily_downloads");
  std::printf("history_rows %lld load_s %.1f\n", static_cast<long long>(repos) * days,
              ms_since(t0) / 1000);

  // Today's live counters for 1000 repos, written with the module's record script.
  {
    RedisScript rec(hubstats::scripts::kRecordBatch), idx(kDirtyAdd);
    std::vector<EvalCall> calls;
    const std::int64_t now_ms = wall_ms();
    for (int r = 1; r <= 1000; ++r) {
      hubstats::RepoRef ref{hubstats::RepoType::kModel, "ns" + std::to_string(r % 100),
                            "repo-" + std::to_string(r)};
      auto a = hubstats::scripts::record_batch_args(ref, today, 1800000, 86400, now_ms, {{"id"}});
      calls.push_back({&rec, std::move(a.keys), std::move(a.argv)});
      calls.push_back({&idx, {dirty_of(ref)}, {hubstats::keys::repo_tag(ref)}});
    }
    st.redis().eval(calls);
  }

  auto& stats = st.reader();
  t0 = SteadyClock::now();
  stats.load_trending_index_now();
  std::printf("index_load_s %.2f\n", ms_since(t0) / 1000);

  const auto p7 = hubstats::period_ending(today, 7);
  const auto p30 = hubstats::period_ending(today, 30);
  std::size_t sink = 0;
  const double idx_same = p50(iterations, [&](int) {
    sink += stats.trending(hubstats::RepoType::kModel, p7, 20, nullptr).size();
  });
  const double idx_alt = p50(iterations, [&](int i) {
    sink += stats.trending(hubstats::RepoType::kModel, i % 2 ? p7 : p30, 20, nullptr).size();
  });
  const double idx_90 = p50(iterations, [&](int i) {
    auto p = hubstats::period_ending(today, 90 - i % 2);  // a new window every call
    sink += stats.trending(hubstats::RepoType::kModel, p, 20, nullptr).size();
  });
  const int sql_iter = std::max(3, iterations / 40);
  const double sql_plain = p50(sql_iter, [&](int) {
    auto r = st.pg().exec(
        "SELECT namespace, name, sum(downloads) AS recent FROM hubstats.daily_downloads "
        "WHERE repo_type = 'model' AND day BETWEEN $1::date AND $2::date "
        "GROUP BY 1, 2 ORDER BY recent DESC, namespace, name LIMIT 20",
        {hubstats::format_iso(p7.start), hubstats::format_iso(p7.end)});
    sink += static_cast<std::size_t>(r.rows());
  });
  const double sql_full = p50(sql_iter, [&](int) {
    sink += stats.trending_sql(hubstats::RepoType::kModel, p7, 20, nullptr).size();
  });
  std::printf("trending_index_p50_ms same_period %.3f alternating_7_30 %.3f new_window_90d %.3f\n",
              idx_same, idx_alt, idx_90);
  std::printf("trending_sql_p50_ms plain_group_by_7d %.1f full_fallback_7d %.1f\n", sql_plain,
              sql_full);
  std::printf("speedup_vs_plain_group_by same_period %.0fx new_window %.0fx\n",
              sql_plain / idx_same, sql_plain / idx_90);

  // `n` repos touched on day y, one session each, written as the module writes them.
  auto touch_day = [&](hubstats::Day y, int n) {
    RedisScript rec(hubstats::scripts::kRecordBatch), idx(kDirtyAdd);
    const auto d = hubstats::format_compact(y);
    const std::int64_t now_ms = wall_ms();
    std::vector<EvalCall> calls;
    for (int r = 1; r <= n; ++r) {
      hubstats::RepoRef ref{hubstats::RepoType::kModel, "ns" + std::to_string(r % 100),
                            "repo-" + std::to_string(r)};
      const std::string id = "fold" + d;
      auto a = hubstats::scripts::record_batch_args(ref, y, 1800000, 86400, now_ms, {{id, true}});
      calls.push_back({&rec, std::move(a.keys), std::move(a.argv)});
      calls.push_back({&idx, {dirty_of(ref)}, {hubstats::keys::repo_tag(ref)}});
      if (calls.size() >= 4000) {
        st.redis().eval(calls);
        calls.clear();
      }
    }
    st.redis().eval(calls);
  };

  // The continuous fold of `dirty` dirty repo-days (each round a fresh day, so the
  // commit inserts new rows as a day's first fold does), `fold_rounds` rounds.
  std::vector<double> a_s, b_s;
  for (int round = 0; round < fold_rounds * (alt_batch || alt_lanes ? 2 : 1); ++round) {
    const bool alt = (alt_batch || alt_lanes) && round % 2 == 1;
    FoldOptions o = cfg.fold;
    o.after_step = nullptr;
    if (alt && alt_batch) o.batch_size = alt_batch;
    if (alt && alt_lanes) o.lanes = alt_lanes;
    const hubstats::Day y = today - 2 - round;
    touch_day(y, dirty);
    Folder folder(st.redis(), st.pg(), o);
    std::atomic<bool> stop{false};
    st.redis().command({"CONFIG", "RESETSTAT"});
    const double redis0 = redis_cpu(st.redis()), self0 = self_cpu(), pg0 = tree_cpu(pg_pid);
    t0 = SteadyClock::now();
    auto s = folder.fold_dirty(stop);
    const double secs = ms_since(t0) / 1000;
    (alt ? b_s : a_s).push_back(secs);
    std::printf(
        "fold_dirty round %d config %s batch %zu lanes %zu repo_days %lld applied %lld seconds "
        "%.3f redis_cpu %.2f folder_cpu %.2f postgres_cpu %.2f\n",
        round + 1, alt ? "B" : "A", o.batch_size, o.lanes, static_cast<long long>(s.repos),
        static_cast<long long>(s.applied), secs, redis_cpu(st.redis()) - redis0, self_cpu() - self0,
        tree_cpu(pg_pid) - pg0);
  }
  if (!a_s.empty()) std::printf("fold_dirty median_s A %.3f\n", median(a_s));
  if (!b_s.empty()) std::printf("fold_dirty median_s B %.3f\n", median(b_s));

  // Steady load: a forked writer records `rate` downloads/s (new identities, over
  // 2000 repos, flushed every 10 ms like the module's batches) while this process
  // runs the continuous fold in every other phase.
  if (steady_seconds > 0) {
    const pid_t writer = fork();
    if (writer == 0) {
      RedisClient rc(cfg.redis);
      RedisScript rec(hubstats::scripts::kRecordBatch), idx(kDirtyAdd);
      const int per_tick = std::max(1, rate / 100);
      std::uint64_t n = 0;
      auto next = SteadyClock::now();
      for (;;) {
        std::vector<EvalCall> calls;
        const std::int64_t now_ms = wall_ms();
        for (int i = 0; i < per_tick; ++i, ++n) {
          hubstats::RepoRef ref{hubstats::RepoType::kModel, "ns" + std::to_string(n % 100),
                                "steady-" + std::to_string((n * 7919) % 2000)};
          const std::string id = "s" + std::to_string(n);
          auto a = hubstats::scripts::record_batch_args(ref, today, 1800000, 86400, now_ms,
                                                        {{id, false}});
          calls.push_back({&rec, std::move(a.keys), std::move(a.argv)});
          calls.push_back({&idx, {dirty_of(ref)}, {hubstats::keys::repo_tag(ref)}});
        }
        rc.eval(calls);
        next += std::chrono::milliseconds(10);
        std::this_thread::sleep_until(next);
      }
    }
    FoldOptions o = cfg.fold;
    o.after_step = nullptr;
    Folder folder(st.redis(), st.pg(), o);
    std::atomic<bool> stop{false};
    folder.fold_dirty(stop);  // start from a clean slate
    std::vector<double> fold_self, fold_redis, fold_pg, idle_redis, idle_pg;
    for (int phase = 0; phase < 4; ++phase) {
      const bool folding = phase % 2 == 1;
      const double redis0 = redis_cpu(st.redis()), self0 = self_cpu(), pg0 = tree_cpu(pg_pid);
      const auto start = SteadyClock::now();
      std::int64_t applied = 0;
      int passes = 0;
      while (ms_since(start) < steady_seconds * 1000.0) {
        const auto pass = SteadyClock::now();
        if (folding) {
          applied += folder.fold_dirty(stop).applied;
          ++passes;
        }
        std::this_thread::sleep_until(pass + std::chrono::seconds(5));
      }
      if (folding) folder.fold_dirty(stop);  // leave nothing for the next idle phase
      const double wall = ms_since(start) / 1000;
      const double r = (redis_cpu(st.redis()) - redis0) / wall, f = (self_cpu() - self0) / wall,
                   q = (tree_cpu(pg_pid) - pg0) / wall;
      std::printf(
          "steady phase %d %s rate %d wall_s %.1f passes %d rows %lld cpu_per_s folder %.4f "
          "redis-server %.4f postgres %.4f\n",
          phase + 1, folding ? "fold" : "nofold", rate, wall, passes,
          static_cast<long long>(applied), f, r, q);
      if (folding) {
        fold_self.push_back(f);
        fold_redis.push_back(r);
        fold_pg.push_back(q);
      } else {
        idle_redis.push_back(r);
        idle_pg.push_back(q);
      }
    }
    kill(writer, SIGKILL);
    waitpid(writer, nullptr, 0);
    std::printf(
        "steady_fold_cpu_per_s at %d downloads/s: folder %.4f redis-server +%.4f postgres "
        "+%.4f (cores; medians, fold phases minus writer-only phases)\n",
        rate, median(fold_self), median(fold_redis) - median(idle_redis),
        median(fold_pg) - median(idle_pg));
  }
  return sink == 0 ? 1 : 0;
}
