// What the parts of PgRedisStatsReader share (private to store/): the Redis snapshot of
// a repo (its residual and breakdown hashes, parsed), the SQL that reads the same
// repo's rows in one PostgreSQL snapshot, and the retry pause of a read a fold overtook.
#pragma once

#include <chrono>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "fold/random_ids.h"
#include "hubstats/contract/keys.h"
#include "hubstats/contract/scripts.h"
#include "store/pg_redis_stats_reader.h"

namespace hubstatsd {

namespace keys = hubstats::keys;
using hubstats::Day;
using hubstats::RepoRef;

namespace reader_detail {

// A read whose snapshot a fold overtook tries again: at once the first time, then after a
// short random pause that grows (1 ms to 32 ms), so folds running back to back on a hot
// repo cannot starve it (kReadAttempts bounds the whole wait to about a quarter second).
inline void race_backoff(int attempt) {
  thread_local std::minstd_rand rng{std::random_device{}()};
  if (attempt < 2) return;
  const int cap = 1 << std::min(attempt - 1, 5);
  std::this_thread::sleep_for(std::chrono::microseconds(500 + rng() % (cap * 1000)));
}

inline void check(const RedisReply& r, const char* what) {
  if (r.is_error())
    throw Unavailable(std::string("redis: ") + what + ": " + std::string(r.error()));
}

inline std::vector<std::optional<std::string>> repo_params(const RepoRef& r) {
  return {std::string(hubstats::to_string(r.type)), r.ns, r.name};
}

inline const RedisScript& residual_script() {
  static const RedisScript s(hubstats::scripts::kReadResidual);
  return s;
}

// "hs:{type/ns/name}:", to which kReadResidual appends "d:D" and "f:D".
inline std::string key_prefix(const RepoRef& r) {
  std::string p = keys::days(r);
  p.resize(p.size() - 4);
  return p;
}

// kReadResidual's ARGV after the key prefix: where a missing epoch starts, its TTL.
inline std::vector<std::string> epoch_start_args() {
  return {std::to_string(random_epoch_start()), std::to_string(keys::kReaderEpochTtlS)};
}

inline EvalCall residual_call(const RepoRef& r) {
  std::vector<std::string> argv{key_prefix(r)};
  for (auto& a : epoch_start_args()) argv.push_back(std::move(a));
  return {&residual_script(), {keys::days(r), keys::epoch(r)}, std::move(argv)};
}

// The folded total of a repo and which of the given (day, gen) generations are applied,
// in ONE statement, so both come from the same database snapshot. Anything else that
// belongs to a repo's all-time total in PostgreSQL (e.g. an imported baseline) must be
// added inside this statement too, to stay in that snapshot.
inline constexpr const char* kFoldedTotalSql = R"sql(
SELECT (SELECT coalesce(sum(downloads), 0) FROM hubstats.all_time_downloads
        WHERE repo_type = $1 AND namespace = $2 AND name = $3)::bigint,
       (SELECT coalesce(string_agg(gen, ','), '') FROM hubstats.fold_ledger
        WHERE repo_type = $1 AND namespace = $2 AND name = $3
          AND (day, gen) IN (SELECT * FROM unnest($4::date[], $5::text[])))
)sql";

// A repo's daily rows in a period, then (rows with a gen) which of the given (day, gen)
// generations are applied: one statement, one snapshot.
inline constexpr const char* kRecentSql = R"sql(
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
inline constexpr const char* kPathsPeriodSql = R"sql(
SELECT path, sum(files)::bigint, NULL::text FROM hubstats.daily_paths
WHERE repo_type = $1 AND namespace = $2 AND name = $3 AND day BETWEEN $4::date AND $5::date
GROUP BY path
UNION ALL
SELECT NULL, 0, gen FROM hubstats.fold_ledger
WHERE repo_type = $1 AND namespace = $2 AND name = $3
  AND (day, gen) IN (SELECT * FROM unnest($6::date[], $7::text[]))
)sql";

inline constexpr const char* kClientsPeriodSql = R"sql(
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

inline const RedisScript& breakdown_script() {
  static const RedisScript s(hubstats::scripts::kReadBreakdown);
  return s;
}

}  // namespace reader_detail

// A reader's snapshot of a repo's unfolded paths (or clients) hashes and breakdown
// logs (kReadBreakdown).
struct PgRedisStatsReader::Breakdown {
  struct Part {
    Day day = 0;
    std::string gen;  // of :f:D; empty when there is none
    std::vector<std::pair<std::string, std::int64_t>> live, folding;
  };
  std::string epoch;
  std::vector<Part> days;

  // clients: read the client fields of the logs, else their paths.
  static Breakdown parse(const redisReply* r, bool clients) {
    Breakdown out;
    out.epoch = std::string(reply_str(reply_at(r, 0)));
    auto fields = [&](const redisReply* hash, const redisReply* log) {
      auto v = reply_int_pairs(hash);
      auto parsed = hubstats::scripts::parse_breakdown_log(reply_str(log));
      auto& more = clients ? parsed.clients : parsed.paths;
      v.insert(v.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
      return v;
    };
    for (std::size_t i = 1; i + 5 < reply_len(r); i += 6) {
      auto d = hubstats::parse_compact(reply_str(reply_at(r, i)));
      if (!d) continue;
      Part p;
      p.day = *d;
      p.gen = std::string(reply_str(reply_at(r, i + 1)));
      p.live = fields(reply_at(r, i + 2), reply_at(r, i + 4));
      p.folding = fields(reply_at(r, i + 3), reply_at(r, i + 5));
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

}  // namespace hubstatsd
