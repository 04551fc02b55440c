#include "record/group_batches.h"

#include <algorithm>
#include <string_view>
#include <unordered_map>

#include "hubstats/contract/keys.h"

namespace hubstats::module {

std::vector<RecordBatch> group_batches(std::deque<Event>& events, std::size_t count,
                                       KeyCache& cache, std::size_t max_batch,
                                       std::int64_t window_ms, BatchNumbering& ids,
                                       std::int64_t now_s) {
  std::vector<RecordBatch> out;
  // The open batch of each repo, by repo tag (the tag lives in the cached keys, which
  // the batches hold).
  std::unordered_map<std::string_view, std::size_t> open;
  count = std::min(count, events.size());
  std::size_t last = 0;  // batch of the previous event
  for (std::size_t i = 0; i < count; ++i) {
    Event& e = events[i];
    const std::int64_t bucket = keys::session_bucket(e.time_ms, window_ms);
    std::size_t at = out.size();
    std::shared_ptr<RepoDayKeys> k;
    if (!out.empty() && out[last].events.back().day == e.day && out[last].bucket == bucket &&
        out[last].events.back().repo == e.repo) {
      at = last;  // runs of one repo and day are the common case: no cache lookup
      k = out[at].keys;
    } else {
      k = cache.get(e.repo, e.day);
      auto it = open.find(k->tag);
      if (it != open.end() && out[it->second].keys == k && out[it->second].bucket == bucket) {
        at = it->second;
      }
    }
    if (at == out.size() || out[at].events.size() >= max_batch) {
      out.push_back(RecordBatch{std::move(k), {}, ids.next(now_s), bucket});
      out.back().events.reserve(std::min(count - i, max_batch));
      at = out.size() - 1;
      open[out[at].keys->tag] = at;
    }
    out[at].events.push_back(std::move(e));
    last = at;
  }
  events.erase(events.begin(), events.begin() + static_cast<std::ptrdiff_t>(count));
  return out;
}

RecordBatch regroup(BatchId id, std::vector<Event> events, KeyCache& cache,
                    std::int64_t window_ms) {
  RecordBatch b;
  b.keys = cache.get(events.front().repo, events.front().day);
  b.bucket = keys::session_bucket(events.front().time_ms, window_ms);
  b.id = std::move(id);
  b.events = std::move(events);
  return b;
}

}  // namespace hubstats::module
