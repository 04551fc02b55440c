#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "catalog/caching_catalog.h"
#include "catalog/token.h"
#include "catalog/ttl_cache.h"
#include "hubstats/contract/keys.h"

namespace hubstatsd {
namespace {

using namespace std::chrono_literals;

struct FakeClock {
  std::chrono::steady_clock::time_point now{};
  CacheClock fn() {
    return [this] { return now; };
  }
};

TEST(TtlCache, HitsUntilTtlThenReloads) {
  FakeClock clock;
  TtlCache<int> cache(5000ms, 100, clock.fn());
  int loads = 0;
  auto load = [&] { return ++loads; };
  EXPECT_EQ(cache.get_or_load("k", load), 1);
  clock.now += 4999ms;
  EXPECT_EQ(cache.get_or_load("k", load), 1);
  clock.now += 1ms;
  EXPECT_EQ(cache.get_or_load("k", load), 2);
  EXPECT_EQ(loads, 2);
}

TEST(TtlCache, ZeroTtlNeverCaches) {
  FakeClock clock;
  TtlCache<int> cache(0ms, 100, clock.fn());
  int loads = 0;
  cache.get_or_load("k", [&] { return ++loads; });
  cache.get_or_load("k", [&] { return ++loads; });
  EXPECT_EQ(loads, 2);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(TtlCache, EraseWhileLoadingDoesNotStoreTheStaleValue) {
  FakeClock clock;
  TtlCache<int> cache(5000ms, 100, clock.fn());
  const int v = cache.get_or_load("k", [&] {
    cache.erase("k");  // an invalidation racing with this load
    return 7;
  });
  EXPECT_EQ(v, 7);
  EXPECT_FALSE(cache.get("k").has_value());
}

TEST(TtlCache, StaysBoundedUnderManyKeys) {
  FakeClock clock;
  TtlCache<int> cache(5000ms, 10, clock.fn());
  for (int i = 0; i < 1000; ++i) cache.put("k" + std::to_string(i), i);
  EXPECT_LE(cache.size(), 10u);
  EXPECT_EQ(cache.get("k999"), 999);
}

TEST(TtlCache, FullCachePurgesExpiredEntriesFirst) {
  FakeClock clock;
  TtlCache<int> cache(1000ms, 3, clock.fn());
  cache.put("old1", 1);
  cache.put("old2", 2);
  clock.now += 600ms;
  cache.put("fresh", 3);
  clock.now += 500ms;  // old1/old2 expired, fresh still valid
  cache.put("new", 4);
  EXPECT_EQ(cache.get("fresh"), 3);
  EXPECT_EQ(cache.get("new"), 4);
  EXPECT_FALSE(cache.get("old1").has_value());
}

TEST(TtlCache, ConcurrentUseIsSafe) {
  TtlCache<int> cache(5000ms, 50);
  std::atomic<int> loads{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        const std::string key = "k" + std::to_string((i * 7 + t) % 100);
        const int v = cache.get_or_load(key, [&] {
          ++loads;
          return static_cast<int>(key.size());
        });
        EXPECT_EQ(v, static_cast<int>(key.size()));
        if (i % 97 == 0) cache.erase(key);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_GT(loads.load(), 0);
  EXPECT_LE(cache.size(), 50u);
}

// A CatalogSource whose answers the test changes, counting queries.
struct FakeSource : CatalogSource {
  std::map<std::string, std::string> tokens;    // hash -> user
  std::map<std::string, std::string> sessions;  // id -> user
  std::map<std::string, RepoInfo> repos;        // cache key -> repo
  std::map<std::string, std::set<std::string>> orgs;
  int token_queries = 0, session_queries = 0, repo_queries = 0, member_queries = 0;

  std::optional<std::string> user_by_token_hash(const std::string& h) override {
    ++token_queries;
    auto it = tokens.find(h);
    if (it == tokens.end()) return std::nullopt;
    return it->second;
  }
  std::optional<std::string> user_by_session(const std::string& id) override {
    ++session_queries;
    auto it = sessions.find(id);
    if (it == sessions.end()) return std::nullopt;
    return it->second;
  }
  std::optional<RepoInfo> repo(const hubstats::RepoRef& ref) override {
    ++repo_queries;
    auto it = repos.find(hubstats::keys::repo_tag(ref));
    if (it == repos.end()) return std::nullopt;
    return it->second;
  }
  bool is_member(const std::string& org, const std::string& user) override {
    ++member_queries;
    auto it = orgs.find(org);
    return it != orgs.end() && it->second.count(user) > 0;
  }
  void add_repo(const std::string& ns, const std::string& name, bool priv) {
    RepoInfo r;
    r.ref = {hubstats::RepoType::kModel, ns, name};
    r.is_private = priv;
    repos[hubstats::keys::repo_tag(r.ref)] = r;
  }
};

class CachingCatalogTest : public ::testing::Test {
 protected:
  FakeClock clock;
  FakeSource src;
  std::unique_ptr<CachingCatalog> cat;
  const std::string admin = "admin-token-0123456789abcdef";

  void SetUp() override {
    src.tokens[sha3_512_hex("tok-alice")] = "alice";
    src.sessions["sess-bob"] = "bob";
    src.add_repo("alice", "secret", true);
    src.add_repo("alice", "open", false);
    src.add_repo("acme", "internal", true);
    src.orgs["acme"] = {"bob"};
    cat = std::make_unique<CachingCatalog>(src, CacheOptions{5000ms, 1000}, admin, "session_id",
                                           clock.fn());
  }
  hubstats::RepoRef ref(const std::string& ns, const std::string& name) {
    return {hubstats::RepoType::kModel, ns, name};
  }
};

TEST_F(CachingCatalogTest, ValidTokenAuthenticatesGarbageIsAnonymous) {
  EXPECT_EQ(cat->authenticate("tok-alice", "").username, "alice");
  EXPECT_FALSE(cat->authenticate("garbage", "").authenticated());
  EXPECT_FALSE(cat->authenticate("", "").authenticated());
  EXPECT_FALSE(cat->authenticate(std::string(5000, 'x'), "").authenticated());
}

TEST_F(CachingCatalogTest, TokenLookupsAreCachedIncludingMisses) {
  cat->authenticate("tok-alice", "");
  cat->authenticate("tok-alice", "");
  cat->authenticate("garbage", "");
  cat->authenticate("garbage", "");
  EXPECT_EQ(src.token_queries, 2);
}

TEST_F(CachingCatalogTest, RevokedTokenStopsWorkingWithinTtl) {
  ASSERT_EQ(cat->authenticate("tok-alice", "").username, "alice");
  src.tokens.clear();  // revoked by another daemon
  clock.now += 4000ms;
  EXPECT_EQ(cat->authenticate("tok-alice", "").username, "alice");  // still cached
  clock.now += 1000ms;
  EXPECT_FALSE(cat->authenticate("tok-alice", "").authenticated());
}

TEST_F(CachingCatalogTest, InvalidateCredentialsTakesEffectAtOnce) {
  ASSERT_EQ(cat->authenticate("tok-alice", "").username, "alice");
  src.tokens.clear();
  cat->invalidate_credentials();
  EXPECT_FALSE(cat->authenticate("tok-alice", "").authenticated());
}

TEST_F(CachingCatalogTest, SessionCookieAuthenticatesAndBearerWins) {
  EXPECT_EQ(cat->authenticate("", "sess-bob").username, "bob");
  EXPECT_EQ(cat->authenticate("tok-alice", "sess-bob").username, "alice");
  EXPECT_EQ(cat->authenticate("garbage", "sess-bob").username, "bob");
  EXPECT_FALSE(cat->authenticate("", "nope").authenticated());
}

TEST_F(CachingCatalogTest, KohakuHubRulesSessionFirstThenTokenBeforePipe) {
  CachingCatalog hub(src, CacheOptions{5000ms, 1000}, "", "session_id", clock.fn(),
                     CredentialRules::kKohakuHub);
  // KohakuHub checks the session cookie before the token.
  EXPECT_EQ(hub.authenticate("tok-alice", "sess-bob").username, "bob");
  EXPECT_EQ(hub.authenticate("tok-alice", "expired-or-garbage").username, "alice");
  // Only the part before the first '|' is the hub's token.
  EXPECT_EQ(hub.authenticate("tok-alice|https://huggingface.co,hf_ext", "").username, "alice");
  EXPECT_EQ(hub.authenticate("tok-alice|https://a,x|https://b,y", "").username, "alice");
  EXPECT_FALSE(hub.authenticate("|https://huggingface.co,hf_ext", "").authenticated());
  EXPECT_EQ(hub.authenticate("|https://huggingface.co,hf_ext", "sess-bob").username, "bob");
  EXPECT_FALSE(hub.authenticate("tok-alicex|u,t", "").authenticated());
}

TEST_F(CachingCatalogTest, NoSessionCookieNameIgnoresCookies) {
  CachingCatalog nosess(src, CacheOptions{5000ms, 1000}, "", "", clock.fn());
  EXPECT_FALSE(nosess.authenticate("", "sess-bob").authenticated());
  EXPECT_EQ(src.session_queries, 0);
}

TEST_F(CachingCatalogTest, AdminTokenMakesAdminWithoutUser) {
  const Caller c = cat->authenticate(admin, "");
  EXPECT_TRUE(c.is_admin);
  EXPECT_FALSE(c.authenticated());
  EXPECT_FALSE(cat->authenticate(admin + "x", "").is_admin);
  CachingCatalog no_admin(src, CacheOptions{5000ms, 1000}, "", "", clock.fn());
  EXPECT_FALSE(no_admin.authenticate("", "").is_admin);
}

TEST_F(CachingCatalogTest, VisibleRepoHidesPrivateLikeMissing) {
  const Caller anon;
  const Caller alice = cat->authenticate("tok-alice", "");
  const Caller bob = cat->authenticate("", "sess-bob");
  EXPECT_TRUE(cat->visible_repo(anon, ref("alice", "open")));
  EXPECT_FALSE(cat->visible_repo(anon, ref("alice", "secret")));
  EXPECT_FALSE(cat->visible_repo(anon, ref("alice", "missing")));
  EXPECT_TRUE(cat->visible_repo(alice, ref("alice", "secret")));
  EXPECT_FALSE(cat->visible_repo(bob, ref("alice", "secret")));
  EXPECT_TRUE(cat->visible_repo(bob, ref("acme", "internal")));
  EXPECT_FALSE(cat->visible_repo(alice, ref("acme", "internal")));
}

TEST_F(CachingCatalogTest, MakingRepoPrivateTakesEffectWithinTtl) {
  const Caller anon;
  ASSERT_TRUE(cat->visible_repo(anon, ref("alice", "open")));
  src.add_repo("alice", "open", true);
  clock.now += 4999ms;
  EXPECT_TRUE(cat->visible_repo(anon, ref("alice", "open")));
  clock.now += 1ms;
  EXPECT_FALSE(cat->visible_repo(anon, ref("alice", "open")));
}

TEST_F(CachingCatalogTest, InvalidateRepoTakesEffectAtOnce) {
  const Caller anon;
  ASSERT_TRUE(cat->visible_repo(anon, ref("alice", "open")));
  src.add_repo("alice", "open", true);
  cat->invalidate_repo(ref("alice", "open"));
  EXPECT_FALSE(cat->visible_repo(anon, ref("alice", "open")));
}

TEST_F(CachingCatalogTest, RepoAndMembershipLookupsAreCached) {
  const Caller bob = cat->authenticate("", "sess-bob");
  for (int i = 0; i < 5; ++i) {
    cat->visible_repo(bob, ref("acme", "internal"));
    cat->visible_repo(bob, ref("nobody", "missing"));
  }
  EXPECT_EQ(src.repo_queries, 2);
  // acme/bob, and nobody/bob: a missing repo is checked as if private (timing).
  EXPECT_EQ(src.member_queries, 2);
}

TEST_F(CachingCatalogTest, MissingRepoCostsTheSameLookupsAsAPrivateOne) {
  // Cold caches: every visible_repo call goes to the source. An outsider's request for
  // a private repo and for a missing one must make the same queries, so that timing
  // does not tell them apart.
  CachingCatalog cold(src, CacheOptions{0ms, 1000}, "", "session_id", clock.fn());
  const Caller alice = cold.authenticate("tok-alice", "");
  const Caller anon;
  for (const Caller& who : {alice, anon}) {
    src.repo_queries = src.member_queries = 0;
    EXPECT_FALSE(cold.visible_repo(who, ref("acme", "internal")));
    const int private_repo = src.repo_queries, private_member = src.member_queries;
    src.repo_queries = src.member_queries = 0;
    EXPECT_FALSE(cold.visible_repo(who, ref("acme", "missing")));
    EXPECT_EQ(src.repo_queries, private_repo);
    EXPECT_EQ(src.member_queries, private_member);
  }
  EXPECT_EQ(src.member_queries, 0);  // anonymous: no membership lookup either way
}

TEST_F(CachingCatalogTest, RemovedMemberLosesAccessWithinTtl) {
  const Caller bob = cat->authenticate("", "sess-bob");
  ASSERT_TRUE(cat->visible_repo(bob, ref("acme", "internal")));
  src.orgs["acme"].clear();
  clock.now += 5000ms;
  EXPECT_FALSE(cat->visible_repo(bob, ref("acme", "internal")));
}

}  // namespace
}  // namespace hubstatsd
