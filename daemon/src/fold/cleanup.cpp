// Upkeep around the fold: the legacy day indexes drained into dirty sets, old ledger
// rows pruned, rows of the DEFAULT partitions settled into their months.
#include "db/pg_pool.h"
#include "fold/folder.h"
#include "hubstats/contract/keys.h"

namespace hubstatsd {

namespace keys = hubstats::keys;
using hubstats::Day;

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

std::int64_t Folder::settle_partitions() {
  auto r = pg_.exec("SELECT hubstats.settle_default_partitions()");
  {
    // A partition may have been dropped since (retention): ask again next time.
    std::lock_guard lk(months_mu_);
    months_ready_.clear();
  }
  return r.i64(0, 0);
}

}  // namespace hubstatsd
