// The continuous fold's pass over the dirty sets: shards taken whole, folded in lanes.
#include <algorithm>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>

#include "base/counters.h"
#include "fold/random_ids.h"
#include "fold/taken.h"
#include "hubstats/contract/keys.h"

namespace hubstatsd {

namespace keys = hubstats::keys;
using hubstats::Day;

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
    take_and_apply(shards, work, stop, st);
    std::vector<int> again;
    for (const auto& w : work)
      if (w.resumed) again.push_back(w.shard);
    shards = std::move(again);
  }
  return st;
}

void Folder::take_and_apply(const std::vector<int>& shards, std::vector<ShardWork>& work,
                            const std::atomic<bool>& stop, FoldStats& st) {
  // Every lane does what is ready: commit and finish a shard whose take is durable
  // (fold.redis_fsync_lag after that shard's take), else take the next shard, else
  // wait for the first take to become durable. With a short lag PostgreSQL's work on
  // the first shards overlaps Redis's on the later ones; with a long one every take
  // happens first, then the commits.
  using Clock = std::chrono::steady_clock;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::pair<std::size_t, Clock::time_point>> taken;  // shard index, durable at
  std::size_t next_take = 0;
  std::exception_ptr error;
  auto lane = [&] {
    std::unique_lock lk(mu);
    while (!error) {
      if (!taken.empty() && taken.front().second <= Clock::now()) {
        const std::size_t i = taken.front().first;
        taken.pop_front();
        cv.notify_all();  // the next in line may be durable already
        const ShardWork& w = work[i];
        if (stop.load() || (w.token.empty() && w.batches.empty())) continue;  // resumed later
        lk.unlock();
        if (opt_.after_step) opt_.after_step("durable:" + std::to_string(w.shard));
        FoldStats s = apply_shard(w);
        lk.lock();
        st += s;
      } else if (next_take < shards.size() && !stop.load()) {
        const std::size_t i = next_take++;
        lk.unlock();
        work[i] = take_shard(shards[i]);
        if (opt_.after_step) opt_.after_step("taken:" + std::to_string(shards[i]));
        lk.lock();
        taken.emplace_back(i, Clock::now() + opt_.redis_fsync_lag);
        cv.notify_all();
      } else if (!taken.empty()) {
        // A copy: wait_until reads the time again on waking, and another lane may have
        // popped that entry meanwhile.
        const Clock::time_point until = taken.front().second;
        cv.wait_until(lk, until);
      } else {
        return;  // every shard taken and applied (or the pass was told to stop)
      }
    }
  };
  auto guarded = [&] {
    try {
      lane();
    } catch (...) {
      std::lock_guard lk(mu);
      if (!error) error = std::current_exception();
      cv.notify_all();
    }
  };
  const std::size_t lanes =
      std::clamp<std::size_t>(opt_.lanes, 1, std::max<std::size_t>(shards.size(), 1));
  std::vector<std::future<void>> running;
  for (std::size_t i = 1; i < lanes; ++i)
    running.push_back(std::async(std::launch::async, guarded));
  guarded();
  for (auto& f : running) f.get();
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

}  // namespace hubstatsd
