#include "record/key_cache.h"

#include "hubstats/contract/keys.h"
#include "record/decimal.h"

namespace hubstats::module {

RepoDayKeys RepoDayKeys::of(const RepoRef& repo, Day d) {
  RepoDayKeys k;
  k.tag = keys::repo_tag(repo);
  k.sessions_prefix = keys::sessions_prefix(repo);
  k.day = keys::day(repo, d);
  k.days = keys::days(repo);
  k.batches = keys::batches(repo);
  k.paths = keys::paths(repo, d);
  k.clients = keys::clients(repo, d);
  k.log = keys::breakdown_log(repo, d);
  k.dirty_shard = keys::dirty_shard(k.tag);
  k.compact_day = format_compact(d);
  return k;
}

std::shared_ptr<RepoDayKeys> KeyCache::get(const RepoRef& repo, Day d) {
  id_.clear();
  id_ += static_cast<char>('0' + static_cast<int>(repo.type));
  id_ += repo.ns;
  id_ += '/';
  id_ += repo.name;
  id_ += '/';
  append_uint(id_, static_cast<std::size_t>(d));
  auto it = map_.find(id_);
  if (it != map_.end()) return it->second;
  if (map_.size() >= max_) map_.clear();
  auto k = std::make_shared<RepoDayKeys>(RepoDayKeys::of(repo, d));
  map_.emplace(id_, k);
  return k;
}

}  // namespace hubstats::module
