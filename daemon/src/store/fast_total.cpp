// The /stats fast path on the HTTP io threads: the repo's Redis snapshot over the io
// thread's own non-blocking connection (on a cluster: its connection to the repo's
// master), then the folded total from a cache keyed by the repo's fold epoch.
#include <map>

#include "base/loop_local.h"
#include "hubstats/contract/cluster_slot.h"
#include "db/async_redis.h"
#include "log/logger.h"
#include "store/reader_snapshot.h"

namespace hubstatsd {

namespace {

// Cluster mode: this io thread's non-blocking connection to each master it has used.
class ClusterLoopRedis {
 public:
  ClusterLoopRedis(boost::asio::io_context& ioc, const RedisConfig& cfg) : ioc_(ioc), cfg_(cfg) {
    cfg_.cluster.clear();
  }
  AsyncRedis& of(const std::string& node) {
    auto& r = nodes_[node];
    if (!r) {
      cfg_.address = node;
      r = std::make_unique<AsyncRedis>(ioc_, cfg_);
    }
    return *r;
  }

 private:
  boost::asio::io_context& ioc_;
  RedisConfig cfg_;
  std::map<std::string, std::unique_ptr<AsyncRedis>> nodes_;
};

}  // namespace

namespace keys = hubstats::keys;
using hubstats::Day;
using hubstats::RepoRef;

using namespace reader_detail;

std::optional<std::int64_t> PgRedisStatsReader::cached_total(
    const std::string& tag, std::string_view epoch, std::chrono::steady_clock::time_point now) {
  // No epoch: the repo was never folded, or Redis was emptied since. Nothing ties a
  // folded total cached then to PostgreSQL now (an emptied Redis would bring back the
  // total of before the first fold): never cached (total_downloads keeps none).
  if (epoch.empty()) return std::nullopt;
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
  const bool cluster = redis_.is_cluster();
  AsyncRedis* redis = nullptr;
  try {
    if (!cluster) {
      redis = loop_local<AsyncRedis>(this, [this](boost::asio::io_context& ioc) {
        return std::make_unique<AsyncRedis>(ioc, redis_.config());
      });
    } else {
      // The repo's master by the pool's slot map; without a fresh map, decline (the
      // pool refreshes it).
      const std::string node =
          redis_.cached_master_of(hubstats::contract::key_slot(keys::days(repo)));
      if (node.empty()) return done(std::nullopt, nullptr);
      auto* nodes = loop_local<ClusterLoopRedis>(this, [this](boost::asio::io_context& ioc) {
        return std::make_unique<ClusterLoopRedis>(ioc, redis_.config());
      });
      if (nodes) redis = &nodes->of(node);
    }
  } catch (const std::exception& e) {  // e.g. an address asio cannot parse: stay on the pool
    if (!fast_redis_failed_.exchange(true)) log::warn("redis fast path off", {{"error", e.what()}});
  }
  if (!redis) return done(std::nullopt, nullptr);  // not on an io thread
  std::string tag = keys::repo_tag(repo);
  // The same atomic snapshot as total_downloads, in one round trip; the pool loads
  // the script if Redis does not know it (NOSCRIPT declines).
  redis->eval(residual_call(repo), [this, cluster, tag = std::move(tag), done = std::move(done)](
                                       std::vector<RedisReply>&& r, const std::string* error) {
    // On a cluster a failing node or a redirection declines: the pool retries it,
    // follows MOVED/ASK and finds a promoted replica.
    if (error && cluster) {
      redis_.mark_stale();
      return done(std::nullopt, nullptr);
    }
    if (error) return done(std::nullopt, std::make_exception_ptr(Unavailable(*error)));
    if (r[0].is_error()) {
      if (r[0].error().starts_with("NOSCRIPT")) return done(std::nullopt, nullptr);
      if (cluster) {
        if (!r[0].error().starts_with("ASK")) redis_.mark_stale();
        return done(std::nullopt, nullptr);
      }
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
