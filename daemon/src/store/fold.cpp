#include "store/fold.h"

#include <sys/random.h>

#include <algorithm>
#include <deque>
#include <future>
#include <map>
#include <set>
#include <stdexcept>

#include "hubstats/keys.h"
#include "hubstats/scripts.h"
#include "store/pg_pool.h"
#include "metrics/counters.h"
#include "store/stats_store.h"

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

}  // namespace

std::string new_generation_id() {
  return new_generation_ids(1).front();
}

namespace {

// Applies a batch of generations in one statement: a generation's counts are added
// only when its ledger row is inserted by this statement, so replays add nothing.
// Concurrent commits of the same generation serialize on the ledger's primary key.
// A batch holds each (repo, day) once, in one global order (fold_items sorts), so
// two daemons lock rows in the same order.
constexpr const char* kCommitSql = R"sql(
WITH applied AS (
  INSERT INTO hubstats.fold_ledger
    (repo_type, namespace, name, day, gen, downloads, authenticated, anonymous, files)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::date[], $5::text[],
                       $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[])
  ON CONFLICT DO NOTHING
  RETURNING repo_type, namespace, name, day, downloads, authenticated, anonymous, files
)
INSERT INTO hubstats.daily_downloads AS d
  (repo_type, namespace, name, day, downloads, authenticated, anonymous, files)
SELECT * FROM applied
ON CONFLICT (repo_type, namespace, name, day) DO UPDATE SET
  downloads = d.downloads + EXCLUDED.downloads,
  authenticated = d.authenticated + EXCLUDED.authenticated,
  anonymous = d.anonymous + EXCLUDED.anonymous,
  files = d.files + EXCLUDED.files
RETURNING repo_type, namespace, name, day, downloads
)sql";

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

struct Folder::Taken {
  FoldItem item;
  std::string gen;  // empty: nothing to fold
  std::int64_t downloads = 0, authenticated = 0, anonymous = 0, files = 0;
};

Folder::Folder(RedisClient& redis, PgPool& pg, FoldOptions opt)
    : redis_(redis),
      pg_(pg),
      opt_(opt),
      take_script_(hubstats::scripts::kFoldTake),
      finish_script_(hubstats::scripts::kFoldFinish) {
  if (opt_.batch_size == 0) opt_.batch_size = 1;
}

std::vector<Folder::Taken> Folder::take(const std::vector<FoldItem>& items) {
  std::vector<EvalCall> calls;
  calls.reserve(items.size());
  const std::string ttl = std::to_string(opt_.folding_ttl_s);
  auto gens = new_generation_ids(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto& it = items[i];
    calls.push_back({&take_script_,
                     {keys::day(it.repo, it.day), keys::folding(it.repo, it.day)},
                     {std::move(gens[i]), ttl}});
  }
  auto replies = redis_.eval(calls);
  std::vector<Taken> out;
  out.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (replies[i].is_error())
      throw Unavailable("redis: fold_take failed: " + std::string(replies[i].error()));
    Taken t{items[i], {}, 0, 0, 0, 0};
    const redisReply* r = replies[i].get();
    for (std::size_t k = 0; k + 1 < reply_len(r); k += 2) {
      auto field = reply_str(reply_at(r, k));
      const redisReply* v = reply_at(r, k + 1);
      if (field == keys::kGen)
        t.gen = std::string(reply_str(v));
      else if (field == keys::kDownloads)
        t.downloads = reply_int(v);
      else if (field == keys::kAuthenticated)
        t.authenticated = reply_int(v);
      else if (field == keys::kAnonymous)
        t.anonymous = reply_int(v);
      else if (field == keys::kFiles)
        t.files = reply_int(v);
    }
    out.push_back(std::move(t));
  }
  return out;
}

std::int64_t Folder::commit(const std::vector<Taken>& taken) {
  std::vector<std::string> type, ns, name, day, gen, dl, au, an, fi;
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
  }
  if (gen.empty()) return 0;
  const std::vector<std::optional<std::string>> params = {
      pg_array(type), pg_array(ns), pg_array(name), pg_array(day), pg_array(gen),
      pg_array(dl),   pg_array(au), pg_array(an),   pg_array(fi)};
  PgResult res;
  for (int attempt = 0;; ++attempt) {
    try {
      res = pg_.exec(kCommitSql, params);
      break;
    } catch (const PgError& e) {
      // Two daemons committing overlapping batches may deadlock; the loser retries.
      if (attempt < 3 && (e.sqlstate == "40P01" || e.sqlstate == "40001")) continue;
      throw;
    }
  }
  std::vector<FoldedRow> rows;
  rows.reserve(static_cast<std::size_t>(res.rows()));
  for (int i = 0; i < res.rows(); ++i) {
    auto t = hubstats::parse_repo_type(res.text(i, 0));
    auto d = hubstats::parse_iso(res.text(i, 3));
    if (!t || !d) continue;
    rows.push_back({{*t, res.str(i, 1), res.str(i, 2)}, *d, res.i64(i, 4)});
  }
  if (listener_ && !rows.empty()) listener_(rows);
  return static_cast<std::int64_t>(rows.size());
}

std::string fold_version_key(const hubstats::RepoRef& repo) {
  return keys::fold_version(repo);
}

void Folder::finish(const std::vector<Taken>& taken) {
  // First publish that the repos' folded totals changed (readers' total caches), then
  // drop the folding hashes. A crash in between leaves :f:D, and the resumed fold
  // sets the version again before its finish. (Plain SETs: a SET inside the finish
  // script costs Redis more CPU than a pipelined one.)
  std::vector<std::vector<std::string>> versions;
  const std::string ttl = std::to_string(opt_.folding_ttl_s + 86400);
  for (const auto& t : taken)
    if (!t.gen.empty())
      versions.push_back({"SET", fold_version_key(t.item.repo), t.gen, "EX", ttl});
  for (const auto& r : redis_.pipeline(versions))
    if (r.is_error())
      throw Unavailable("redis: SET fold version failed: " + std::string(r.error()));
  std::vector<EvalCall> calls;
  for (const auto& t : taken) {
    if (t.gen.empty()) continue;
    const auto& r = t.item.repo;
    calls.push_back({&finish_script_,
                     {keys::folding(r, t.item.day), keys::day(r, t.item.day), keys::days(r)},
                     {t.gen, hubstats::format_compact(t.item.day)}});
  }
  auto replies = redis_.eval(calls);
  for (const auto& r : replies)
    if (r.is_error()) throw Unavailable("redis: fold_finish failed: " + std::string(r.error()));
}

FoldStats Folder::fold_items(std::vector<FoldItem> items) {
  std::sort(items.begin(), items.end(), item_less);
  items.erase(std::unique(items.begin(), items.end(), same_item), items.end());
  FoldStats st;
  st.repos = static_cast<std::int64_t>(items.size());
  for (std::size_t off = 0; off < items.size(); off += opt_.batch_size) {
    std::vector<FoldItem> batch(
        items.begin() + static_cast<std::ptrdiff_t>(off),
        items.begin() + static_cast<std::ptrdiff_t>(std::min(items.size(), off + opt_.batch_size)));
    // Round 2 and 3 pick up events that arrived for the day after the first take.
    for (int round = 0; round < 3 && !batch.empty(); ++round) {
      auto taken = take(batch);
      std::vector<FoldItem> again;
      for (const auto& t : taken)
        if (!t.gen.empty()) {
          ++st.taken;
          again.push_back(t.item);
        }
      if (again.empty()) break;
      if (opt_.after_step) opt_.after_step("take");
      st.applied += commit(taken);
      if (opt_.after_step) opt_.after_step("commit");
      finish(taken);
      if (opt_.after_step) opt_.after_step("finish");
      batch = std::move(again);
    }
  }
  return st;
}

FoldStats Folder::fold_repo(const hubstats::RepoRef& repo, Day today) {
  auto members = redis_.command({"SMEMBERS", keys::days(repo)});
  if (members.is_error())
    throw Unavailable("redis: SMEMBERS failed: " + std::string(members.error()));
  std::vector<FoldItem> items;
  for (std::size_t i = 0; i < reply_len(members.get()); ++i) {
    auto d = hubstats::parse_compact(reply_str(reply_at(members.get(), i)));
    if (d && *d < today) items.push_back({repo, *d});
  }
  if (items.empty()) return {};
  return fold_items(std::move(items));
}

void Folder::drop_from_index(Day day, const std::vector<FoldItem>& items) {
  // The module pipelines record (day hash) before index (SADD): removing the tag and
  // then re-adding it when a day hash exists again never loses a repo with counts.
  if (items.empty()) return;
  const std::string idx = keys::index(day);
  // One pipeline, which Redis runs in order: one SREM of every tag, then an EXISTS per
  // repo, each after its tag's removal.
  std::vector<std::vector<std::string>> cmds;
  cmds.reserve(items.size() + 1);
  std::vector<std::string> srem;
  srem.reserve(items.size() + 2);
  srem.emplace_back("SREM");
  srem.push_back(idx);
  for (const auto& it : items) srem.push_back(keys::repo_tag(it.repo));
  cmds.push_back(std::move(srem));
  for (const auto& it : items)
    cmds.push_back({"EXISTS", keys::day(it.repo, day), keys::folding(it.repo, day)});
  auto ex = redis_.pipeline(cmds);
  for (const auto& r : ex)
    if (r.is_error()) throw Unavailable("redis: index cleanup failed: " + std::string(r.error()));
  cmds.clear();
  for (std::size_t i = 0; i < items.size(); ++i)
    if (reply_int(ex[i + 1].get()) > 0)
      cmds.push_back({"SADD", idx, keys::repo_tag(items[i].repo)});
  if (!cmds.empty()) {
    cmds.push_back({"EXPIRE", idx, std::to_string(opt_.retention_days * 86400LL)});
    redis_.pipeline(cmds);
  }
}

std::vector<FoldItem> Folder::scan_index(Day day) {
  const std::string idx = keys::index(day);
  std::vector<FoldItem> items;
  std::vector<std::string> garbage;
  std::string cursor = "0";
  do {
    auto r = redis_.command({"SSCAN", idx, cursor, "COUNT", "10000"});
    if (r.is_error()) throw Unavailable("redis: SSCAN failed: " + std::string(r.error()));
    cursor = std::string(reply_str(reply_at(r.get(), 0)));
    const redisReply* members = reply_at(r.get(), 1);
    for (std::size_t i = 0; i < reply_len(members); ++i) {
      auto tag = reply_str(reply_at(members, i));
      if (auto ref = keys::parse_repo_tag(tag))
        items.push_back({std::move(*ref), day});
      else
        garbage.emplace_back(tag);
    }
  } while (cursor != "0" && !cursor.empty());
  if (!garbage.empty()) {
    std::vector<std::string> cmd = {"SREM", idx};
    cmd.insert(cmd.end(), garbage.begin(), garbage.end());
    redis_.command(cmd);
  }
  // SSCAN may return a member twice; a batch must hold each (repo, day) once.
  std::sort(items.begin(), items.end(), item_less);
  items.erase(std::unique(items.begin(), items.end(), same_item), items.end());
  return items;
}

FoldStats Folder::fold_day(Day day, const std::vector<FoldItem>& items,
                           const std::atomic<bool>& stop) {
  // PostgreSQL commits batch k while Redis takes batch k+1 and then finishes batch
  // k-1; each batch still goes take -> commit -> finish in order, so crash safety is
  // unchanged, and both servers stay busy.
  FoldStats st;
  struct Batch {
    std::vector<FoldItem> items;
    std::vector<Taken> taken;
  };
  std::deque<Batch> batches;  // stable addresses for the commit thread
  // Declared after `batches`: if anything throws, its destructor waits for the running
  // commit before the batch it reads is destroyed.
  std::future<std::int64_t> committing;
  auto after = [this](std::string_view step) {
    if (opt_.after_step) opt_.after_step(step);
  };
  auto start_commit = [&](Batch& b) {
    committing = std::async(std::launch::async, [this, &b] { return commit(b.taken); });
  };
  auto complete = [&](Batch& b) {
    finish(b.taken);
    after("finish");
    drop_from_index(day, b.items);
  };
  for (std::size_t off = 0; off < items.size() && !stop.load(); off += opt_.batch_size) {
    Batch next;
    next.items.assign(
        items.begin() + static_cast<std::ptrdiff_t>(off),
        items.begin() + static_cast<std::ptrdiff_t>(std::min(items.size(), off + opt_.batch_size)));
    st.repos += static_cast<std::int64_t>(next.items.size());
    next.taken = take(next.items);
    for (const auto& t : next.taken) st.taken += t.gen.empty() ? 0 : 1;
    after("take");
    batches.push_back(std::move(next));
    if (committing.valid()) {
      st.applied += committing.get();
      after("commit");
      start_commit(batches.back());
      complete(batches.front());  // the previous batch, while the new one commits
      batches.pop_front();
    } else {
      start_commit(batches.back());
    }
  }
  if (committing.valid()) {
    st.applied += committing.get();
    after("commit");
    complete(batches.back());
  }
  return st;
}

FoldStats Folder::fold_lanes(Day day, const std::vector<FoldItem>& items,
                             const std::atomic<bool>& stop) {
  // Lanes fold disjoint, contiguous slices of the sorted items at once: while one
  // lane's client builds and parses commands, Redis serves the other.
  const std::size_t lanes = std::clamp<std::size_t>(opt_.lanes, 1, 8);
  if (lanes == 1 || items.size() < 2 * opt_.batch_size) return fold_day(day, items, stop);
  const std::size_t per = (items.size() + lanes - 1) / lanes;
  std::vector<std::vector<FoldItem>> slices;
  for (std::size_t off = 0; off < items.size(); off += per)
    slices.emplace_back(
        items.begin() + static_cast<std::ptrdiff_t>(off),
        items.begin() + static_cast<std::ptrdiff_t>(std::min(items.size(), off + per)));
  std::vector<std::future<FoldStats>> running;
  for (std::size_t i = 1; i < slices.size(); ++i)
    running.push_back(
        std::async(std::launch::async, [&, i] { return fold_day(day, slices[i], stop); }));
  FoldStats st;
  std::exception_ptr error;
  try {
    st += fold_day(day, slices[0], stop);
  } catch (...) {
    error = std::current_exception();
  }
  for (auto& f : running) {
    try {
      st += f.get();
    } catch (...) {
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
  return st;
}

FoldStats Folder::fold_all(Day today, const std::atomic<bool>& stop) {
  FoldStats st;
  metrics::FoldRun run(st.applied);  // counts this pass for /metrics
  for (Day day = today - opt_.retention_days; day < today && !stop.load(); ++day) {
    // Repos that got new counts while being folded stay in the index: a second and
    // third round fold those late events within the same pass.
    for (int round = 0; round < 3 && !stop.load(); ++round) {
      auto items = scan_index(day);
      if (items.empty()) break;
      st += fold_lanes(day, items, stop);
    }
  }
  return st;
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
