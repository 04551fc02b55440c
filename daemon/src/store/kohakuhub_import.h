// `hubstatsd import kohakuhub`: copies a KohakuHub's download history into hubstats'
// tables, read-only on the hub (SELECT only). See docs/kohakuhub.md ("History").
//
// The cut-over C splits the days: days before C are the hub's, days from C on are
// hubstats'. C is recorded in hubstats.import_cutover by the first import and reused by
// every later one; unless given, it is the earliest of today, the first day hubstats
// has a row for, and the first day it has unfolded counters for in Redis. For each repo the hub's
// per-day counts (dailyrepostats, or for a day without such a row its downloadsession rows, as the
// hub aggregates lazily) for days before C become hubstats.daily_downloads rows, and
// repository.downloads minus every day the hub itemized becomes the repo's baseline
// (hubstats.import_baseline). So /stats downloads = the hub's all-time count before C + what
// hubstats counted from C on.
//
// Idempotent: a (repo, day) that hubstats already has a row for is never written, and a
// repo's baseline is written once; a second run writes nothing.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>

#include "hubstats/day.h"
#include "hubstats/repo.h"

namespace hubstatsd {

class PgPool;
class RedisClient;

struct ImportRow {
  hubstats::RepoRef repo;
  hubstats::Day day = 0;
  std::int64_t downloads = 0, authenticated = 0, anonymous = 0, files = 0;
};

struct ImportOptions {
  bool dry_run = false;                  // read and report; write nothing
  std::optional<hubstats::Day> cutover;  // first run only; must not be after the default
  hubstats::Day today = 0;               // UTC day of the run
  // The earliest day hubstats counted but has not folded yet (Redis), if any: the
  // default cut-over is never later, or the fold would add to an imported day.
  std::optional<hubstats::Day> first_unfolded;
  std::string schema = "public";  // the hub's (validated) schema
  // Called for each day row and baseline that would be (dry run) or was considered.
  std::function<void(const ImportRow&)> on_day;
  std::function<void(const hubstats::RepoRef&, std::int64_t)> on_baseline;
};

struct ImportReport {
  hubstats::Day cutover = 0;
  bool cutover_was_recorded = false;  // an earlier import had fixed it
  std::int64_t repos = 0;             // repos read from the hub
  std::int64_t skipped = 0;           // rows with an unknown type or invalid name
  std::int64_t days_read = 0;         // (repo, day) rows before the cut-over
  std::int64_t days_written = 0;      // of those, new to hubstats (0 on a dry run)
  std::int64_t baselines_written = 0;
  std::int64_t downloads_read = 0;  // sum of days_read's downloads
  std::int64_t baseline_read = 0;   // sum of the baselines
  std::int64_t read_ms = 0;         // reading the hub
  std::int64_t write_ms = 0;        // writing hubstats' tables (commit included)
};

// Throws std::runtime_error with a clear message (e.g. a cut-over after hubstats'
// first counted day), PgError/Unavailable from the databases.
ImportReport import_kohakuhub(PgPool& hub, PgPool& hubstats, const ImportOptions& opt);

// The earliest day any repo has counters for in Redis that are not folded yet (its
// days set, walked with SCAN): ImportOptions::first_unfolded. Throws Unavailable.
std::optional<hubstats::Day> earliest_unfolded_day(RedisClient& redis);

// After an import: moves the fold epoch of every repo it changed (repo tags), so no
// running daemon keeps serving a folded total cached before it. Throws Unavailable.
void publish_new_totals(RedisClient& redis, const std::set<std::string>& tags);

}  // namespace hubstatsd
