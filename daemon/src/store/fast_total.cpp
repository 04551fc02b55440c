// The /stats fast path on the HTTP io threads: the repo's Redis snapshot over the io
// thread's own non-blocking connection, then the folded total from a cache keyed by the
// repo's fold epoch.
#include "base/loop_local.h"
#include "db/async_redis.h"
#include "log/logger.h"
#include "store/reader_snapshot.h"

namespace hubstatsd {

namespace keys = hubstats::keys;
using hubstats::Day;
using hubstats::RepoRef;

using namespace reader_detail;

std::optional<std::int64_t> PgRedisStatsReader::cached_total(
    const std::string& tag, std::string_view epoch, std::chrono::steady_clock::time_point now) {
  std::lock_guard lk(totals_mu_);
  auto it = totals_.find(tag);
  if (it != totals_.end() && it->second.epoch == epoch &&
      now - it->second.at < opt_.total_cache_ttl)
    return it->second.folded;
  return std::nullopt;
}

void PgRedisStatsReader::total_downloads_fast(const RepoRef& repo, TotalDone done) {
  if (opt_.total_cache_ttl.count() <= 0 || pg_.failed_within(std::chrono::seconds(10)))
    return done(std::nullopt, nullptr);
  if (fast_redis_failed_.load(std::memory_order_relaxed)) return done(std::nullopt, nullptr);
  // On a Redis Cluster the one connection per io thread would need routing: the
  // request declines to the handler threads' pooled client, which routes per slot.
  if (redis_.is_cluster()) return done(std::nullopt, nullptr);
  AsyncRedis* redis = nullptr;
  try {
    redis = loop_local<AsyncRedis>(this, [this](boost::asio::io_context& ioc) {
      return std::make_unique<AsyncRedis>(ioc, redis_.config());
    });
  } catch (const std::exception& e) {  // e.g. an address asio cannot parse: stay on the pool
    if (!fast_redis_failed_.exchange(true)) log::warn("redis fast path off", {{"error", e.what()}});
  }
  if (!redis) return done(std::nullopt, nullptr);  // not on an io thread
  std::string tag = keys::repo_tag(repo);
  // The same atomic snapshot as total_downloads, in one round trip; the pool loads
  // the script if Redis does not know it (NOSCRIPT declines).
  redis->pipeline(
      {{"EVALSHA", residual_script().sha, "2", keys::days(repo), keys::epoch(repo),
        key_prefix(repo)}},
      [this, tag = std::move(tag), done = std::move(done)](std::vector<RedisReply>&& r,
                                                           const std::string* error) {
        if (error) return done(std::nullopt, std::make_exception_ptr(Unavailable(*error)));
        if (r[0].is_error()) {
          if (r[0].error().starts_with("NOSCRIPT")) return done(std::nullopt, nullptr);
          return done(std::nullopt,
                      std::make_exception_ptr(Unavailable("redis: " + std::string(r[0].error()))));
        }
        const Residual res = Residual::parse(r[0].get());
        const auto folded = cached_total(tag, res.epoch, std::chrono::steady_clock::now());
        if (!folded) return done(std::nullopt, nullptr);
        done(*folded + res.live_downloads(), nullptr);
      });
}

}  // namespace hubstatsd
