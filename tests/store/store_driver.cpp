// Test driver for the store integration suite: runs the real store code (hubstatsd_lib)
// against real Redis and PostgreSQL, one command per stdin line (or one from argv),
// one JSON line per answer. A long-lived driver exercises reconnects; a killed one
// exercises crash safety.
//
//   hubstats_store_driver --redis ADDR | --redis-cluster SEED,SEED,... --pg DSN [--now UNIX]
//   [--batch N]
//                         [--crash-after shard|take|commit|finish] [--crash-at N]
//                         [--legacy-index] [--max-paths N] [--fold-in-read N] [--fold-interval MS]
//                         [--fsync-lag MS (default 0)] [--trending-cache MS (default 0)]
//                         [--compact-bytes N (breakdown log size that makes the record
//                          script compact it into the hashes; 1: after every record)]
//                         [CMD ARGS...]
// record writes like the module: kRecordBatch, then SADD of the repo's tag to its dirty
// shard (or, with --legacy-index, the day index of the layout before dirty sets).
// --crash-at N: crash at the Nth step of any kind (random crash points).
// --fold-in-read N: the next N reads run a whole fold pass between their Redis
// snapshot and their PostgreSQL query (the read race, made deterministic).
// Commands:
//   migrate
//   record            stdin lines "tag YYYYMMDD identity auth(0|1|b) [path [family]]" until
//                     a line "."; b: a bot. With a path or family (or b), also writes the
//                     issue 12 keys as the module's record script does (contract
//                     I12-CONTRACT.md): the paths hash (not for bots), the clients hash
//                     (d:<family> sessions opened, f:<family> files; bots as bot) and,
//                     for bots, the day hash's bots field instead of its counters.
//   fold-once | fold-loop N | fold-shard N
//   total TAG | recent TAG DAYS | files TAG DAYS LIMIT | clients TAG DAYS | trending TYPE DAYS
//   LIMIT | trending-sql TYPE DAYS LIMIT load-index | start-index | index-ready | start-fold | now
//   UNIX | earliest-unfolded (the oldest day any repo's days set holds; "" when none)
// Errors print {"error":"unavailable"|"error","message":...}; exit code 3 for
// unavailable in one-shot mode.
#include <cstdio>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "hubstats/clients.h"
#include "hubstats/contract/keys.h"
#include "hubstats/contract/scripts.h"
#include "db/migrator.h"
#include "store/kohakuhub_import.h"
#include "store/storage.h"

using namespace hubstatsd;
using json = nlohmann::json;

namespace {

std::int64_t g_now = 0;  // 0: system clock

hubstats::RepoRef repo_arg(const std::string& tag) {
  auto r = hubstats::keys::parse_repo_tag(tag);
  if (!r) throw std::invalid_argument("bad repo tag " + tag);
  return *r;
}

// The module's default hubstats_retention (14d), for the day hashes and the day index.
constexpr std::int64_t kRetentionS = 14 * 86400;

bool g_legacy_index = false;
std::int64_t g_compact_bytes = hubstats::scripts::kCompactLogBytes;  // --compact-bytes

// The issue 12 part of a module batch of one event (until kRecordBatch writes it):
// KEYS: day, days, paths, clients, bot sessions (driver only)
// ARGV: path ('' for none), family, bot '0'|'1', sessions opened, retention_s, YYYYMMDD,
//       identity
constexpr std::string_view kRecordBreakdown = R"lua(
local opened = tonumber(ARGV[4])
local fam = ARGV[2]
if ARGV[3] == '1' then
  fam = 'bot'
  opened = redis.call('SADD', KEYS[5], ARGV[7])
  redis.call('EXPIRE', KEYS[5], ARGV[5])
  redis.call('HINCRBY', KEYS[1], 'bots', 1)
  if redis.call('HINCRBY', KEYS[1], 'files', 0) == 0 then
    redis.call('EXPIRE', KEYS[1], ARGV[5])
    redis.call('SADD', KEYS[2], ARGV[6])
    redis.call('EXPIRE', KEYS[2], ARGV[5])
  end
elseif ARGV[1] ~= '' then
  if redis.call('HINCRBY', KEYS[3], ARGV[1], 1) == 1 then
    redis.call('EXPIRE', KEYS[3], ARGV[5])
  end
end
if redis.call('HINCRBY', KEYS[4], 'f:' .. fam, 1) == 1 then
  redis.call('EXPIRE', KEYS[4], ARGV[5])
end
if opened > 0 then redis.call('HINCRBY', KEYS[4], 'd:' .. fam, opened) end
return opened
)lua";

// Whether kRecordBatch writes the issue 12 keys itself (the module side's
// RecordedFile has path, family and bot): then the driver passes them through and
// does not write them again.
template <class F>
constexpr bool kHasBreakdown = requires(F f) {
  f.path;
  f.family;
  f.bot;
};
constexpr bool kModuleWritesBreakdowns = kHasBreakdown<hubstats::scripts::RecordedFile>;

// The family letter of the module's record script: 'a' + the family's index.
char family_letter(std::string_view family) {
  for (int i = 0; i < hubstats::kClientFamilies; ++i)
    if (hubstats::family_name(static_cast<hubstats::ClientFamily>(i)) == family)
      return static_cast<char>('a' + i);
  return static_cast<char>('a' + static_cast<int>(hubstats::ClientFamily::kOther));
}

template <class F>
void set_breakdown(F& f, std::string_view path, std::string_view family, bool bot) {
  if constexpr (kHasBreakdown<F>) {
    if (!path.empty()) f.path = path;
    // The module files every bot under family bot (whatever library it names).
    f.family = family_letter(bot ? "bot" : family.empty() ? "other" : family);
    f.bot = bot;
  }
}

json record(Storage& st, std::istream& in) {
  static const RedisScript rec(hubstats::scripts::kRecordBatch);
  static const RedisScript idx(hubstats::scripts::kIndex);
  static const RedisScript sadd(R"lua(return redis.call('SADD', KEYS[1], ARGV[1]))lua");
  static const RedisScript breakdown(kRecordBreakdown);
  std::vector<EvalCall> calls;
  // Per call: the breakdown call to send once the record call answered (its reply is
  // the number of sessions it opened), or none.
  std::vector<std::optional<EvalCall>> extra;
  std::string line;
  std::int64_t events = 0;
  auto flush = [&] {
    auto replies = st.redis().eval(calls);
    std::vector<EvalCall> more;
    for (std::size_t i = 0; i < replies.size(); ++i) {
      if (replies[i].is_error()) throw std::runtime_error(std::string(replies[i].error()));
      if (!extra[i]) continue;
      EvalCall c = std::move(*extra[i]);
      if (c.args[3] == "?") c.args[3] = std::to_string(reply_int(replies[i].get()));
      more.push_back(std::move(c));
      // the repo is dirty again after its breakdown was written
      more.push_back(calls[i + 1]);
    }
    for (const auto& r : st.redis().eval(more))
      if (r.is_error()) throw std::runtime_error(std::string(r.error()));
    calls.clear();
    extra.clear();
  };
  static const RedisScript noop(R"lua(return 0)lua");
  while (std::getline(in, line) && line != ".") {
    std::istringstream ls(line);
    std::string tag, day, id, auth, path, family;
    if (!(ls >> tag >> day >> id >> auth)) continue;
    ls >> path >> family;
    auto repo = repo_arg(tag);
    auto d = hubstats::parse_compact(day);
    if (!d) throw std::invalid_argument("bad day " + day);
    const bool bot = auth == "b";
    const std::int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
    if (path == "-") path.clear();
    hubstats::scripts::RecordedFile rf{id, auth == "1"};
    set_breakdown(rf, path, family, bot);
    auto a =
        hubstats::scripts::record_batch_args(repo, *d, 86400000, kRetentionS, now_ms, {rf}, {}, 0,
                                             hubstats::scripts::kDefaultMaxPaths, g_compact_bytes);
    if (bot && !kModuleWritesBreakdowns)  // a bot adds nothing to the day's counters
      calls.push_back({&noop, {a.keys[0]}, {}});
    else
      calls.push_back({&rec, std::move(a.keys), std::move(a.argv)});
    if (!kModuleWritesBreakdowns && (bot || !path.empty() || !family.empty()))
      extra.push_back(EvalCall{&breakdown,
                               {hubstats::keys::day(repo, *d), hubstats::keys::days(repo),
                                hubstats::keys::paths(repo, *d), hubstats::keys::clients(repo, *d),
                                hubstats::keys::days(repo) + ":bot:" + day},
                               {path, family.empty() ? "other" : family, bot ? "1" : "0", "?",
                                std::to_string(kRetentionS), day, id}});
    else
      extra.emplace_back();
    if (g_legacy_index)
      calls.push_back({&idx, {hubstats::keys::index(*d)}, {tag, std::to_string(kRetentionS)}});
    else  // after the record, in the same pipeline, as the module does
      calls.push_back({&sadd, {hubstats::keys::dirty(hubstats::keys::dirty_shard(tag))}, {tag}});
    extra.emplace_back();
    ++events;
    if (calls.size() >= 2000) flush();
  }
  flush();
  return {{"recorded", events}};
}

json fold_json(const FoldStats& s) {
  return {{"taken", s.taken}, {"applied", s.applied}, {"repos", s.repos}};
}

json candidates(const std::vector<TrendingCandidate>& v) {
  json a = json::array();
  for (const auto& c : v)
    a.push_back({{"id", c.repo.id()},
                 {"type", std::string(hubstats::to_string(c.repo.type))},
                 {"recent_downloads", c.recent_downloads},
                 {"downloads", c.downloads}});
  return a;
}

json run(Storage& st, const std::vector<std::string>& a, std::istream& in) {
  const std::string& cmd = a.at(0);
  if (cmd == "migrate") return {{"applied", migrate(st.pg())}};
  if (cmd == "record") return record(st, in);
  if (cmd == "fold-once") return fold_json(st.fold_once());
  if (cmd == "fold-loop") {
    FoldStats total;
    for (int i = 0, n = std::stoi(a.at(1)); i < n; ++i) total += st.fold_once();
    return fold_json(total);
  }
  if (cmd == "fold-shard") return fold_json(st.folder().fold_shard(std::stoi(a.at(1))));
  if (cmd == "total") return {{"total", st.reader().total_downloads(repo_arg(a.at(1)))}};
  if (cmd == "recent") {
    auto p = hubstats::period_ending(st.today(), std::stoi(a.at(2)));
    json rows = json::array();
    for (const auto& d : st.reader().recent(repo_arg(a.at(1)), p))
      rows.push_back({{"date", hubstats::format_iso(d.day)},
                      {"downloads", d.downloads},
                      {"authenticated", d.authenticated},
                      {"anonymous", d.anonymous},
                      {"files", d.files}});
    return {{"stats", rows}};
  }
  if (cmd == "files") {
    auto p = hubstats::period_ending(st.today(), std::stoi(a.at(2)));
    json rows = json::array();
    for (const auto& f : st.reader().files(repo_arg(a.at(1)), p, std::stoul(a.at(3))))
      rows.push_back({{"path", f.path}, {"files", f.files}});
    return {{"files", rows}};
  }
  if (cmd == "clients") {
    auto p = hubstats::period_ending(st.today(), std::stoi(a.at(2)));
    json rows = json::array();
    for (const auto& c : st.reader().clients(repo_arg(a.at(1)), p))
      rows.push_back({{"client", c.client}, {"downloads", c.downloads}, {"files", c.files}});
    return {{"clients", rows}};
  }
  if (cmd == "trending" || cmd == "trending-sql") {
    auto type = hubstats::parse_repo_type(a.at(1));
    if (!type) throw std::invalid_argument("bad type");
    auto p = hubstats::period_ending(st.today(), std::stoi(a.at(2)));
    const auto limit = static_cast<std::size_t>(std::stoul(a.at(3)));
    auto v = cmd == "trending" ? st.reader().trending(*type, p, limit, nullptr)
                               : st.reader().trending_sql(*type, p, limit, nullptr);
    return {{"trending", candidates(v)}, {"index", st.reader().trending_ready()}};
  }
  if (cmd == "load-index") {
    st.reader().load_trending_index_now();
    return {{"loaded", true}};
  }
  if (cmd == "start-index") {
    st.reader().start();
    return {{"started", true}};
  }
  if (cmd == "index-ready") return {{"ready", st.reader().trending_ready()}};
  if (cmd == "start-fold") {  // the daemon's continuous fold (and trending refresher)
    st.start_background_fold();
    return {{"started", true}};
  }
  if (cmd == "earliest-unfolded") {  // the import's SCAN of every repo's days set
    const auto d = earliest_unfolded_day(st.redis());
    return {{"day", d ? hubstats::format_compact(*d) : ""}};
  }
  if (cmd == "now") {
    g_now = std::stoll(a.at(1));
    return {{"now", g_now}};
  }
  throw std::invalid_argument("unknown command " + cmd);
}

// Runs one command; returns the JSON answer and whether it was Unavailable.
std::pair<json, bool> answer(Storage& st, const std::vector<std::string>& a, std::istream& in) {
  try {
    return {run(st, a, in), false};
  } catch (const Unavailable& e) {
    return {{{"error", "unavailable"}, {"message", e.what()}}, true};
  } catch (const std::exception& e) {
    return {{{"error", "error"}, {"message", e.what()}}, false};
  }
}

}  // namespace

int main(int argc, char** argv) {
  StorageConfig cfg;
  cfg.today_cache_ttl = std::chrono::milliseconds(0);
  cfg.trending_refresh = std::chrono::milliseconds(200);
  cfg.redis.connect_timeout = cfg.redis.command_timeout = std::chrono::milliseconds(1000);
  cfg.pg.statement_timeout = std::chrono::milliseconds(2000);
  cfg.fold.redis_fsync_lag = std::chrono::milliseconds(0);  // Redis here has no persistence
  std::vector<std::string> cmd;
  std::string crash_after;
  bool step_log = false;
  int crash_at = 0;
  int fold_in_read = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "--redis")
      cfg.redis.address = next();
    else if (a == "--redis-cluster") {  // seed nodes, comma-separated
      std::stringstream seeds(next());
      for (std::string s; std::getline(seeds, s, ',');) cfg.redis.cluster.push_back(s);
    } else if (a == "--pg")
      cfg.pg.dsn = next();
    else if (a == "--now")
      g_now = std::stoll(next());
    else if (a == "--batch")
      cfg.fold.batch_size = std::stoul(next());
    else if (a == "--crash-after")
      crash_after = next();
    else if (a == "--crash-at")
      crash_at = std::stoi(next());
    else if (a == "--trending-cache")
      cfg.today_cache_ttl = std::chrono::milliseconds(std::stoll(next()));
    else if (a == "--fsync-lag")
      cfg.fold.redis_fsync_lag = std::chrono::milliseconds(std::stoll(next()));
    else if (a == "--fold-interval")
      cfg.fold_interval = std::chrono::milliseconds(std::stoll(next()));
    else if (a == "--fold-in-read")
      fold_in_read = std::stoi(next());
    else if (a == "--max-paths")
      cfg.fold.max_paths = std::stoll(next());
    else if (a == "--legacy-index")
      g_legacy_index = true;
    else if (a == "--step-log")
      step_log = true;
    else if (a == "--compact-bytes")
      g_compact_bytes = std::stoll(next());
    else
      cmd.push_back(a);
  }
  cfg.clock = [] {
    return g_now ? g_now
                 : std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  };
  if (!crash_after.empty() || crash_at > 0 || step_log)
    cfg.fold.after_step = [crash_after, crash_at, step_log,
                           n = std::make_shared<std::atomic<int>>(0)](std::string_view step) {
      if (step_log) {  // "<steady ms> <step>" on stderr, one line per step
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
        const std::string line = std::to_string(ms) + ' ' + std::string(step) + '\n';
        std::fwrite(line.data(), 1, line.size(), stderr);  // one write: lanes log at once
      }
      // like a SIGKILL: no cleanup at all. --crash-at counts the fold's own steps (shard,
      // take, commit, finish), not the lanes' per-shard marks ("taken:N", "durable:N").
      const bool counted = step.find(':') == std::string_view::npos;
      if (step == crash_after || (counted && ++*n == crash_at)) ::_exit(42);
    };
  Storage st(cfg);
  if (fold_in_read > 0)  // a fold commits between each of the next reads' two halves
    st.reader().after_snapshot = [&st, n = fold_in_read]() mutable {
      if (n-- > 0) st.fold_once();
    };
  if (!cmd.empty()) {
    auto [j, unavailable] = answer(st, cmd, std::cin);
    std::cout << j.dump() << std::endl;
    if (unavailable) return 3;
    return j.contains("error") ? 1 : 0;
  }
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream ls(line);
    std::vector<std::string> a;
    for (std::string w; ls >> w;) a.push_back(w);
    if (a.empty()) continue;
    if (a[0] == "quit") break;
    std::cout << answer(st, a, std::cin).first.dump() << std::endl;
  }
  return 0;
}
