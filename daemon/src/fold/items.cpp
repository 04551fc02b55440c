// Folding a list of (repo, day) items: batches of take, one wait for Redis durability,
// then commit and finish per batch.
#include <algorithm>
#include <thread>

#include "fold/taken.h"
#include "hubstats/contract/keys.h"

namespace hubstatsd {

namespace keys = hubstats::keys;
using hubstats::Day;

using namespace fold_detail;

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

}  // namespace hubstatsd
