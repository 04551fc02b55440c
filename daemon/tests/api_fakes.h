// In-memory stand-ins for the catalog and the stats store, for unit tests of handler
// logic only (integration tests use the real PostgreSQL/Redis-backed ones).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "store/stats_reader.h"

namespace hubstatsd::testing {

class FakeCatalog : public Catalog {
 public:
  std::map<std::string, RepoInfo> repos;                 // by "type/ns/name"
  std::map<std::string, std::string> tokens;             // token -> username
  std::map<std::string, std::vector<std::string>> orgs;  // org -> members
  int lookups = 0;

  static std::string key(const hubstats::RepoRef& r) {
    return std::string(hubstats::to_string(r.type)) + "/" + r.id();
  }
  void add(hubstats::RepoType t, std::string ns, std::string name, bool priv, std::int64_t likes) {
    RepoInfo i{{t, std::move(ns), std::move(name)}, priv, likes};
    repos[key(i.ref)] = i;
  }

  Caller authenticate(std::string_view bearer, std::string_view) override {
    auto it = tokens.find(std::string(bearer));
    if (it == tokens.end()) return {};
    return Caller{it->second, false};
  }
  std::optional<RepoInfo> find_repo(const hubstats::RepoRef& ref) override {
    ++lookups;
    auto it = repos.find(key(ref));
    if (it == repos.end()) return std::nullopt;
    return it->second;
  }
  bool can_read(const Caller& c, const RepoInfo& r) override {
    if (!r.is_private) return true;
    if (!c.username) return false;
    if (*c.username == r.ref.ns) return true;
    auto it = orgs.find(r.ref.ns);
    if (it == orgs.end()) return false;
    for (const auto& m : it->second)
      if (m == *c.username) return true;
    return false;
  }
};

class FakeStore : public StatsReader {
 public:
  std::map<std::string, std::int64_t> totals;          // by id
  std::map<std::string, std::vector<DayCounts>> days;  // rows as the store would return them
  // Candidates in rank order (what a real store would compute); trending() applies
  // type, keep() and limit to them.
  std::vector<TrendingCandidate> ranked;
  bool unavailable = false;
  std::vector<hubstats::Period> periods_seen;

  std::int64_t total_downloads(const hubstats::RepoRef& repo) override {
    if (unavailable) throw Unavailable("redis down");
    auto it = totals.find(repo.id());
    return it == totals.end() ? 0 : it->second;
  }
  std::vector<DayCounts> recent(const hubstats::RepoRef& repo,
                                const hubstats::Period& period) override {
    if (unavailable) throw Unavailable("postgres down");
    periods_seen.push_back(period);
    auto it = days.find(repo.id());
    return it == days.end() ? std::vector<DayCounts>{} : it->second;
  }
  std::vector<TrendingCandidate> trending(
      hubstats::RepoType type, const hubstats::Period& period, std::size_t limit,
      const std::function<bool(const hubstats::RepoRef&)>& keep) override {
    if (unavailable) throw Unavailable("postgres down");
    periods_seen.push_back(period);
    std::vector<TrendingCandidate> out;
    for (const auto& c : ranked) {
      if (out.size() >= limit) break;
      if (c.repo.type == type && keep(c.repo)) out.push_back(c);
    }
    return out;
  }
};

}  // namespace hubstatsd::testing
