#include "fold/folder.h"

#include <sys/random.h>

#include <algorithm>
#include <mutex>
#include <thread>
#include <future>
#include <map>
#include <set>
#include <stdexcept>

#include "hubstats/contract/keys.h"
#include "hubstats/contract/scripts.h"
#include "db/pg_pool.h"
#include "base/counters.h"
#include "base/unavailable.h"

namespace hubstatsd {

namespace keys = hubstats::keys;
using hubstats::Day;

std::string format_uuid_v4(std::array<unsigned char, 16> b) {
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    s += kHex[b[i] >> 4];
    s += kHex[b[i] & 15];
  }
  return s;
}

namespace {

void fill_random(unsigned char* p, std::size_t n) {
  std::size_t got = 0;
  while (got < n) {
    ssize_t r = ::getrandom(p + got, n - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("getrandom failed");
    }
    got += static_cast<std::size_t>(r);
  }
}

// n fresh generation ids from one getrandom call (a syscall per id showed in folds of
// 100k repos).
std::vector<std::string> new_generation_ids(std::size_t n) {
  std::vector<unsigned char> bytes(16 * n);
  if (n) fill_random(bytes.data(), bytes.size());
  std::vector<std::string> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::array<unsigned char, 16> b{};
    std::copy_n(bytes.begin() + static_cast<std::ptrdiff_t>(16 * i), 16, b.begin());
    out.push_back(format_uuid_v4(b));
  }
  return out;
}

// Where a repo's fold epoch starts when Redis has none: random, so an emptied Redis
// does not hand out epochs a reader cached a total under before.
std::int64_t random_epoch_start() {
  unsigned char b[5];
  fill_random(b, sizeof b);
  std::int64_t v = 0;
  for (unsigned char c : b) v = (v << 8) | c;
  return v << 16;  // leaves room for 65536 folds before two starts could meet
}

}  // namespace

std::string new_generation_id() {
  return new_generation_ids(1).front();
}

namespace {

// Applies a batch of generations in one statement: a generation's counts are added
// only when its ledger row is inserted by this statement, so replays add nothing.
// Concurrent commits of the same generation serialize on the ledger's primary key.
// A batch holds each (repo, day) once, in one global order (fold_items sorts), so
// two daemons lock rows in the same order. Returns the changed rows (absolute) and,
// on each, the generations this statement applied.
constexpr const char* kCommitSql = R"sql(
WITH applied AS (
  INSERT INTO hubstats.fold_ledger
    (repo_type, namespace, name, day, gen, downloads, authenticated, anonymous, files, bots)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::date[], $5::text[],
                       $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[])
  ON CONFLICT DO NOTHING
  RETURNING repo_type, namespace, name, day, gen, downloads, authenticated, anonymous, files,
            bots
), changed AS (
  INSERT INTO hubstats.daily_downloads AS d
    (repo_type, namespace, name, day, downloads, authenticated, anonymous, files, bots)
  SELECT repo_type, namespace, name, day, downloads, authenticated, anonymous, files, bots
  FROM applied
  ON CONFLICT (repo_type, namespace, name, day) DO UPDATE SET
    downloads = d.downloads + EXCLUDED.downloads,
    authenticated = d.authenticated + EXCLUDED.authenticated,
    anonymous = d.anonymous + EXCLUDED.anonymous,
    files = d.files + EXCLUDED.files,
    bots = d.bots + EXCLUDED.bots
  RETURNING repo_type, namespace, name, day, downloads
)
SELECT c.repo_type, c.namespace, c.name, c.day::text, c.downloads, g.gens
FROM changed c CROSS JOIN (SELECT array_to_string(array_agg(gen), ',') AS gens FROM applied) g
)sql";

// Per-file counts of the generations the counters statement just applied (same
// transaction: its row locks on daily_downloads serialize commits of a repo-day, and
// this statement's snapshot, taken after them, sees every path committed before).
// A path the repo-day already has, or a special one, adds to its row; new paths are
// admitted, most files first (then by path), while the repo-day has fewer than $7
// ordinary paths; the rest add to (other).
constexpr const char* kPathsSql = R"sql(
WITH input AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::date[], $5::text[],
                       $6::bigint[]) AS i(repo_type, namespace, name, day, path, files)
), special AS (
  SELECT i.*, i.path IN ('(git)', '(lfs)', '(other)') OR EXISTS (
      SELECT 1 FROM hubstats.daily_paths p
      WHERE (p.repo_type, p.namespace, p.name, p.day, p.path) =
            (i.repo_type, i.namespace, i.name, i.day, i.path)) AS known
  FROM input i
), held AS (
  SELECT p.repo_type, p.namespace, p.name, p.day, count(*) AS n
  FROM hubstats.daily_paths p
  JOIN (SELECT DISTINCT repo_type, namespace, name, day FROM input) k
    USING (repo_type, namespace, name, day)
  WHERE p.path NOT IN ('(git)', '(lfs)', '(other)')
  GROUP BY 1, 2, 3, 4
), ranked AS (
  SELECT s.*, CASE WHEN s.known THEN 0 ELSE row_number() OVER (
      PARTITION BY s.repo_type, s.namespace, s.name, s.day, s.known
      ORDER BY s.files DESC, s.path) END AS rank
  FROM special s
)
INSERT INTO hubstats.daily_paths AS d (repo_type, namespace, name, day, path, files)
SELECT r.repo_type, r.namespace, r.name, r.day,
       CASE WHEN r.known OR coalesce(h.n, 0) + r.rank <= $7 THEN r.path ELSE '(other)' END,
       sum(r.files)
FROM ranked r LEFT JOIN held h USING (repo_type, namespace, name, day)
GROUP BY 1, 2, 3, 4, 5
ON CONFLICT (repo_type, namespace, name, day, path) DO UPDATE SET files = d.files + EXCLUDED.files
)sql";

// Per-client counts of the generations the counters statement just applied.
constexpr const char* kClientsSql = R"sql(
INSERT INTO hubstats.daily_clients AS d (repo_type, namespace, name, day, client, downloads, files)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::date[], $5::text[],
                     $6::bigint[], $7::bigint[])
ON CONFLICT (repo_type, namespace, name, day, client) DO UPDATE SET
  downloads = d.downloads + EXCLUDED.downloads, files = d.files + EXCLUDED.files
)sql";

std::vector<std::string> split_list(std::string_view g) {
  std::vector<std::string> out;
  while (!g.empty()) {
    auto comma = g.find(',');
    out.emplace_back(g.substr(0, comma));
    g = comma == std::string_view::npos ? std::string_view() : g.substr(comma + 1);
  }
  return out;
}

bool same_item(const FoldItem& a, const FoldItem& b) {
  return a.day == b.day && a.repo == b.repo;
}

bool item_less(const FoldItem& a, const FoldItem& b) {
  if (a.repo.type != b.repo.type) return a.repo.type < b.repo.type;
  if (a.repo.ns != b.repo.ns) return a.repo.ns < b.repo.ns;
  if (a.repo.name != b.repo.name) return a.repo.name < b.repo.name;
  return a.day < b.day;
}

}  // namespace

namespace {
struct ClientRow {
  std::string name;
  std::int64_t downloads = 0, files = 0;
};
}  // namespace

struct Folder::Taken {
  FoldItem item;
  std::string gen;       // empty: nothing to fold
  bool resumed = false;  // gen was already in flight (not ours): the day hash was not taken
  std::int64_t downloads = 0, authenticated = 0, anonymous = 0, files = 0, bots = 0;
  std::vector<std::pair<std::string, std::int64_t>> paths;  // path -> files
  std::vector<ClientRow> clients;
};

namespace {

// "d:<family>" / "f:<family>" fields of a clients hash into per-family rows.
void add_client_field(std::vector<ClientRow>& out, std::string_view field, std::int64_t n) {
  if (field.size() < 3 || field[1] != ':' || (field[0] != 'd' && field[0] != 'f')) return;
  const std::string_view name = field.substr(2);
  auto it = std::find_if(out.begin(), out.end(), [&](const auto& c) { return c.name == name; });
  if (it == out.end()) it = out.insert(out.end(), {std::string(name), 0, 0});
  (field[0] == 'd' ? it->downloads : it->files) += n;
}

}  // namespace

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
          keys::folding_paths(it.repo, it.day), keys::folding_clients(it.repo, it.day)},
         {gens[i], ttl, start, step}});
  }
  auto replies = redis_.eval(calls);
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
    const redisReply* p = reply_at(replies[i].get(), 1);
    for (std::size_t k = 0; k + 1 < reply_len(p); k += 2)
      if (const std::int64_t n = reply_int(reply_at(p, k + 1)); n > 0)
        t.paths.emplace_back(reply_str(reply_at(p, k)), n);
    const redisReply* c = reply_at(replies[i].get(), 2);
    for (std::size_t k = 0; k + 1 < reply_len(c); k += 2)
      add_client_field(t.clients, reply_str(reply_at(c, k)), reply_int(reply_at(c, k + 1)));
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
      if (res.rows() > 0)
        for (const auto& g : split_list(res.text(0, 5))) applied.insert(g);
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
  for (int i = 0; i < res.rows(); ++i) {
    auto t = hubstats::parse_repo_type(res.text(i, 0));
    auto d = hubstats::parse_iso(res.text(i, 3));
    if (!t || !d) continue;
    done.rows.push_back({{*t, res.str(i, 1), res.str(i, 2)}, *d, res.i64(i, 4)});
  }
  if (res.rows() > 0) done.gens = split_list(res.text(0, 5));
  if (listener_ && !done.rows.empty()) listener_(done);
  return static_cast<std::int64_t>(done.rows.size());
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
          keys::folding_clients(r, d), keys::paths(r, d), keys::clients(r, d)},
         {t.gen, hubstats::format_compact(t.item.day)}});
  }
  auto replies = redis_.eval(calls);
  for (const auto& r : replies)
    if (r.is_error()) throw Unavailable("redis: fold_finish failed: " + std::string(r.error()));
}

// One shard's work in a pass: the taken set folded (its token) and the generations
// taken from its repos' day hashes, in sorted batches.
struct Folder::ShardWork {
  int shard = 0;
  std::string token;     // of the taken set ("" when it had none)
  bool resumed = false;  // the taken set was left by an earlier fold
  std::int64_t items = 0;
  std::vector<std::vector<Taken>> batches;
};

std::vector<std::vector<Folder::Taken>> Folder::take_items(std::vector<FoldItem> items) {
  std::sort(items.begin(), items.end(), item_less);
  items.erase(std::unique(items.begin(), items.end(), same_item), items.end());
  std::vector<std::vector<Taken>> out;
  for (std::size_t off = 0; off < items.size(); off += opt_.batch_size) {
    std::vector<FoldItem> batch(
        items.begin() + static_cast<std::ptrdiff_t>(off),
        items.begin() + static_cast<std::ptrdiff_t>(std::min(items.size(), off + opt_.batch_size)));
    auto taken = take(batch);
    std::erase_if(taken, [](const Taken& t) { return t.gen.empty(); });
    if (taken.empty()) continue;
    if (opt_.after_step) opt_.after_step("take");
    out.push_back(std::move(taken));
  }
  return out;
}

FoldStats Folder::apply_taken(const std::vector<std::vector<Taken>>& batches) {
  FoldStats st;
  std::vector<FoldItem> busy;
  for (const auto& taken : batches) {
    st.taken += static_cast<std::int64_t>(taken.size());
    st.applied += commit(taken);
    if (opt_.after_step) opt_.after_step("commit");
    finish(taken);
    if (opt_.after_step) opt_.after_step("finish");
    // A take that resumed a generation in flight (a crashed fold's, or another
    // daemon's) left the day hash, which may hold newer events: the next take folds it.
    for (const auto& t : taken)
      if (t.resumed) busy.push_back(t.item);
  }
  mark_dirty(busy);
  return st;
}

FoldStats Folder::fold_items(std::vector<FoldItem> items) {
  FoldStats st;
  st.repos = static_cast<std::int64_t>(items.size());
  const auto batches = take_items(std::move(items));
  wait_durable(std::chrono::steady_clock::now());
  st += apply_taken(batches);
  return st;
}

void Folder::wait_durable(std::chrono::steady_clock::time_point taken_at) const {
  // Commit a take only once Redis has made it durable: a Redis crash that lost the
  // take would bring the day hash back, and it would be folded a second time.
  if (opt_.redis_fsync_lag.count() > 0)
    std::this_thread::sleep_until(taken_at + opt_.redis_fsync_lag);
}

void Folder::mark_dirty(const std::vector<FoldItem>& items) {
  if (items.empty()) return;
  std::vector<std::vector<std::string>> cmds;
  for (const auto& it : items) {
    auto tag = keys::repo_tag(it.repo);
    cmds.push_back({"SADD", keys::dirty(keys::dirty_shard(tag)), tag});
  }
  for (const auto& r : redis_.pipeline(cmds))
    if (r.is_error()) throw Unavailable("redis: SADD dirty failed: " + std::string(r.error()));
}

Folder::ShardWork Folder::take_shard(int shard) {
  ShardWork w;
  w.shard = shard;
  const std::string fresh = "#" + new_generation_id();
  auto r = redis_.eval({{&dirty_take_script_,
                         {keys::dirty(shard), keys::dirty_taken(shard)},
                         {fresh, std::to_string(opt_.folding_ttl_s)}}});
  if (r[0].is_error()) throw Unavailable("redis: dirty_take failed: " + std::string(r[0].error()));
  const redisReply* members = r[0].get();
  if (reply_len(members) == 0) return w;
  if (opt_.after_step) opt_.after_step("shard");
  std::vector<hubstats::RepoRef> repos;
  for (std::size_t i = 0; i < reply_len(members); ++i) {
    auto m = reply_str(reply_at(members, i));
    if (m.starts_with('#'))
      w.token = std::string(m);
    else if (auto ref = keys::parse_repo_tag(m))
      repos.push_back(std::move(*ref));
  }
  w.resumed = w.token != fresh;
  // Every pending day of each repo, today included.
  std::vector<FoldItem> items;
  constexpr std::size_t kChunk = 2000;
  for (std::size_t off = 0; off < repos.size(); off += kChunk) {
    const std::size_t end = std::min(repos.size(), off + kChunk);
    std::vector<std::vector<std::string>> cmds;
    cmds.reserve(end - off);
    for (std::size_t i = off; i < end; ++i) cmds.push_back({"SMEMBERS", keys::days(repos[i])});
    auto days = redis_.pipeline(cmds);
    for (std::size_t i = off; i < end; ++i) {
      const auto& d = days[i - off];
      if (d.is_error()) throw Unavailable("redis: SMEMBERS failed: " + std::string(d.error()));
      for (std::size_t k = 0; k < reply_len(d.get()); ++k)
        if (auto day = hubstats::parse_compact(reply_str(reply_at(d.get(), k))))
          items.push_back({repos[i], *day});
    }
  }
  w.items = static_cast<std::int64_t>(items.size());
  w.batches = take_items(std::move(items));
  return w;
}

FoldStats Folder::apply_shard(const ShardWork& w) {
  FoldStats st = apply_taken(w.batches);
  st.repos = w.items;
  const std::string taken_key = keys::dirty_taken(w.shard);
  std::vector<RedisReply> f;
  if (w.token.empty())
    f = redis_.pipeline({{"DEL", taken_key}});
  else
    f = redis_.eval({{&dirty_finish_script_, {taken_key}, {w.token}}});
  if (f[0].is_error())
    throw Unavailable("redis: dirty_finish failed: " + std::string(f[0].error()));
  return st;
}

FoldStats Folder::fold_shard(int shard) {
  std::atomic<bool> never{false};
  return fold_shards({shard}, never);
}

FoldStats Folder::fold_shards(std::vector<int> shards, const std::atomic<bool>& stop) {
  // Round 1 folds every shard; a shard whose taken set was left by an earlier fold is
  // folded again at once (round 2), taking the dirty set gathered meanwhile.
  FoldStats st;
  for (int round = 0; round < 2 && !shards.empty() && !stop.load(); ++round) {
    std::vector<ShardWork> work(shards.size());
    // Take everything first (shards in lanes), wait once until Redis made the takes
    // durable, then commit and finish (lanes again).
    for_each_lane(shards.size(), stop, [&](std::size_t i) { work[i] = take_shard(shards[i]); });
    wait_durable(std::chrono::steady_clock::now());
    std::mutex mu;
    for_each_lane(work.size(), stop, [&](std::size_t i) {
      if (work[i].token.empty() && work[i].batches.empty()) return;  // nothing was dirty
      FoldStats s = apply_shard(work[i]);
      std::lock_guard lk(mu);
      st += s;
    });
    std::vector<int> again;
    for (const auto& w : work)
      if (w.resumed) again.push_back(w.shard);
    shards = std::move(again);
  }
  return st;
}

void Folder::for_each_lane(std::size_t n, const std::atomic<bool>& stop,
                           const std::function<void(std::size_t)>& fn) {
  // Shards are independent (own hash tags, disjoint repos): lanes work on them at once,
  // so one lane's PostgreSQL commit overlaps another's Redis round trips.
  const std::size_t lanes = std::clamp<std::size_t>(opt_.lanes, 1, std::max<std::size_t>(n, 1));
  std::atomic<std::size_t> next{0};
  auto lane = [&] {
    for (std::size_t i; !stop.load() && (i = next.fetch_add(1)) < n;) fn(i);
  };
  std::vector<std::future<void>> running;
  for (std::size_t i = 1; i < lanes; ++i) running.push_back(std::async(std::launch::async, lane));
  std::exception_ptr error;
  try {
    lane();
  } catch (...) {
    error = std::current_exception();
    next.store(n);
  }
  for (auto& f : running) {
    try {
      f.get();
    } catch (...) {
      if (!error) error = std::current_exception();
      next.store(n);
    }
  }
  if (error) std::rethrow_exception(error);
}

FoldStats Folder::fold_dirty(const std::atomic<bool>& stop) {
  FoldStats st;
  metrics::FoldRun run(st.applied);  // counts this pass for /metrics
  std::vector<int> shards(keys::kDirtyShards);
  for (int i = 0; i < keys::kDirtyShards; ++i) shards[i] = i;
  st += fold_shards(std::move(shards), stop);
  return st;
}

std::int64_t Folder::drain_legacy_indexes(Day today) {
  std::vector<std::vector<std::string>> exists;
  std::vector<Day> days;
  for (Day d = today - opt_.retention_days; d <= today; ++d) {
    days.push_back(d);
    exists.push_back({"EXISTS", keys::index(d)});
  }
  auto ex = redis_.pipeline(exists);
  std::int64_t moved = 0;
  for (std::size_t i = 0; i < days.size(); ++i) {
    if (ex[i].is_error()) throw Unavailable("redis: EXISTS failed: " + std::string(ex[i].error()));
    if (reply_int(ex[i].get()) == 0) continue;
    const std::string idx = keys::index(days[i]);
    std::string cursor = "0";
    do {
      auto r = redis_.command({"SSCAN", idx, cursor, "COUNT", "10000"});
      if (r.is_error()) throw Unavailable("redis: SSCAN failed: " + std::string(r.error()));
      cursor = std::string(reply_str(reply_at(r.get(), 0)));
      const redisReply* members = reply_at(r.get(), 1);
      std::vector<std::vector<std::string>> cmds;
      for (std::size_t k = 0; k < reply_len(members); ++k) {
        std::string tag(reply_str(reply_at(members, k)));
        if (!keys::parse_repo_tag(tag)) continue;
        cmds.push_back({"SADD", keys::dirty(keys::dirty_shard(tag)), tag});
      }
      moved += static_cast<std::int64_t>(cmds.size());
      for (const auto& x : redis_.pipeline(cmds))
        if (x.is_error()) throw Unavailable("redis: SADD dirty failed: " + std::string(x.error()));
    } while (cursor != "0" && !cursor.empty());
    // Every member is in a dirty set now (an old module re-adding one recreates the
    // index, and the next pass moves it again).
    redis_.command({"DEL", idx});
  }
  return moved;
}

std::int64_t Folder::prune_ledger() {
  std::int64_t total = 0;
  const std::string keep = std::to_string(opt_.ledger_keep.count()) + " hours";
  for (;;) {
    auto r = pg_.exec(
        "DELETE FROM hubstats.fold_ledger WHERE ctid IN (SELECT ctid FROM hubstats.fold_ledger "
        "WHERE applied_at < now() - $1::interval LIMIT 10000)",
        {keep});
    total += r.affected();
    if (r.affected() < 10000) return total;
  }
}

}  // namespace hubstatsd
