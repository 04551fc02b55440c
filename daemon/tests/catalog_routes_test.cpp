// Handler logic of the likes and admin routes over an in-memory catalog: status codes,
// body shapes and the order of checks (login before existence, one 404 for private
// and missing). The SQL behind them is covered by tests/catalog.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "serve/api/stats_api.h"
#include "catalog/admin.h"
#include "serve/api/catalog_routes.h"
#include "catalog/likes.h"
#include "serve/http/router.h"

namespace hubstatsd {
namespace {

using nlohmann::json;

class MemCatalog : public Catalog, public Likes, public CatalogAdmin {
 public:
  std::map<std::string, RepoInfo> repos;
  std::map<std::string, std::set<std::string>> likes_by_repo;
  std::map<std::string, std::string> tokens{{"tok-alice", "alice"}, {"tok-eve", "eve"}};

  static std::string key(const hubstats::RepoRef& r) {
    return std::string(hubstats::to_string(r.type)) + "/" + r.id();
  }
  void add(const std::string& ns, const std::string& name, bool priv) {
    RepoInfo i{{hubstats::RepoType::kModel, ns, name}, priv, 0};
    repos[key(i.ref)] = i;
  }

  Caller authenticate(std::string_view bearer, std::string_view) override {
    Caller c;
    if (bearer == "admin-token") c.is_admin = true;
    if (auto it = tokens.find(std::string(bearer)); it != tokens.end()) c.username = it->second;
    return c;
  }
  std::optional<RepoInfo> find_repo(const hubstats::RepoRef& ref) override {
    auto it = repos.find(key(ref));
    if (it == repos.end()) return std::nullopt;
    return it->second;
  }
  bool can_read(const Caller& c, const RepoInfo& r) override {
    return may_read(c, r, [](const std::string&, const std::string&) { return false; });
  }
  Likes* likes() override { return this; }
  CatalogAdmin* admin() override { return this; }

  LikeResult like(const RepoInfo& r, const std::string& u) override {
    auto& s = likes_by_repo[key(r.ref)];
    if (!s.insert(u).second) return {LikeOutcome::kAlreadyLiked, 0};
    return {LikeOutcome::kDone, static_cast<std::int64_t>(s.size())};
  }
  LikeResult unlike(const RepoInfo& r, const std::string& u) override {
    auto& s = likes_by_repo[key(r.ref)];
    if (!s.erase(u)) return {LikeOutcome::kNotLiked, 0};
    return {LikeOutcome::kDone, static_cast<std::int64_t>(s.size())};
  }
  bool liked(const RepoInfo& r, const std::string& u) override {
    return likes_by_repo[key(r.ref)].count(u) > 0;
  }
  std::vector<Liker> likers(const RepoInfo& r, std::size_t) override {
    std::vector<Liker> out;
    for (const auto& u : likes_by_repo[key(r.ref)]) out.push_back({u, ""});
    return out;
  }
  std::optional<std::vector<UserLike>> user_likes(
      const std::string& u, std::size_t limit,
      const std::function<bool(const RepoInfo&)>& keep) override {
    if (u != "alice" && u != "eve") return std::nullopt;
    std::vector<UserLike> out;
    for (const auto& [k, users] : likes_by_repo)
      if (users.count(u) && keep(repos[k]) && out.size() < limit)
        out.push_back({"2025-01-16T10:00:00.000000+00:00", repos[k]});
    return out;
  }

  std::vector<RepoInfo> list_repos() override { return {}; }
  RepoInfo add_repo(const hubstats::RepoRef& ref, bool priv) override {
    if (repos.count(key(ref))) throw AdminError(409, "repository already exists");
    repos[key(ref)] = RepoInfo{ref, priv, 0};
    return repos[key(ref)];
  }
  void remove_repo(const hubstats::RepoRef&) override {
    throw AdminError(404, "repository not found");
  }
  RepoInfo set_private(const hubstats::RepoRef& ref, bool) override { return repos[key(ref)]; }
  std::vector<UserRecord> list_users() override { return {}; }
  UserRecord add_user(const std::string& u, const std::string& f) override { return {u, f}; }
  std::vector<std::string> org_members(const std::string&) override { return {}; }
  bool add_member(const std::string&, const std::string&) override { return true; }
  void remove_member(const std::string&, const std::string&) override {}
  std::vector<TokenRecord> list_tokens(const std::optional<std::string>&) override { return {}; }
  NewToken create_token(const std::string& u, const std::string& n) override {
    return {7, u, n, "hst_secret"};
  }
  void revoke_token(std::int64_t) override {}
};

class CatalogRoutesTest : public ::testing::Test {
 protected:
  MemCatalog cat;
  CatalogApi api{cat};
  http::Router router;

  void SetUp() override {
    cat.add("alice", "open", false);
    cat.add("alice", "secret", true);
    register_catalog_routes(router, api);
  }
  http::Response call(const std::string& method, const std::string& path,
                      const std::string& token = "", const std::string& body = "") {
    http::Request req;
    req.method = method;
    const auto q = path.find('?');
    req.path = path.substr(0, q);
    if (q != std::string::npos) req.query = http::parse_query(path.substr(q + 1));
    if (!token.empty()) req.headers["authorization"] = "Bearer " + token;
    req.body = body;
    return router.dispatch(req);
  }
};

TEST_F(CatalogRoutesTest, LikeRequiresLoginBeforeAnythingElse) {
  for (const char* path : {"/api/models/alice/open/like", "/api/models/alice/secret/like",
                           "/api/models/alice/missing/like", "/models/alice/open/like"}) {
    for (const char* m : {"POST", "DELETE"}) {
      const auto r = call(m, path, "not-a-token");
      EXPECT_EQ(r.status, 401) << m << " " << path;
      EXPECT_EQ(r.body, R"({"detail":"Not authenticated"})");
    }
  }
}

TEST_F(CatalogRoutesTest, PrivateRepoAnswersExactlyLikeMissing) {
  const auto missing = api::repo_not_found({hubstats::RepoType::kModel, "alice", "secret"});
  for (const auto& [m, suffix] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "like"}, {"POST", "like"}, {"DELETE", "like"}, {"GET", "likers"}}) {
    const auto r = call(m, "/api/models/alice/secret/" + suffix, "tok-eve");
    EXPECT_EQ(r.status, missing.status) << m << suffix;
    EXPECT_EQ(r.body, missing.body) << m << suffix;
    EXPECT_EQ(r.headers, missing.headers) << m << suffix;
  }
  EXPECT_EQ(call("GET", "/api/models/alice/secret/like", "tok-alice").status, 200);
}

TEST_F(CatalogRoutesTest, LikeUnlikeShapes) {
  auto r = call("POST", "/api/models/alice/open/like", "tok-alice");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body),
            json::parse(R"({"success":true,"message":"Repository liked successfully",
                            "likes_count":1})"));
  r = call("POST", "/api/models/alice/open/like", "tok-alice");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, R"({"detail":{"error":"Repository already liked"}})");
  EXPECT_EQ(call("GET", "/api/models/alice/open/like", "tok-alice").body, R"({"liked":true})");
  EXPECT_EQ(call("GET", "/api/models/alice/open/like").body, R"({"liked":false})");
  r = call("GET", "/api/models/alice/open/likers");
  EXPECT_EQ(r.body, R"([{"user":"alice","fullname":"alice","avatarUrl":null}])");
  r = call("DELETE", "/api/models/alice/open/like", "tok-alice");
  EXPECT_EQ(json::parse(r.body)["likes_count"], 0);
  EXPECT_EQ(json::parse(r.body)["message"], "Repository unliked successfully");
  r = call("DELETE", "/api/models/alice/open/like", "tok-alice");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, R"({"detail":{"error":"Repository not liked"}})");
}

TEST_F(CatalogRoutesTest, UserLikesFiltersAndValidates) {
  call("POST", "/api/models/alice/open/like", "tok-alice");
  call("POST", "/api/models/alice/secret/like", "tok-alice");
  EXPECT_EQ(json::parse(call("GET", "/api/users/alice/likes", "tok-alice").body).size(), 2u);
  const auto anon = json::parse(call("GET", "/api/users/alice/likes").body);
  ASSERT_EQ(anon.size(), 1u);
  EXPECT_EQ(anon[0]["repo"], json::parse(R"({"name":"alice/open","type":"model"})"));
  auto r = call("GET", "/api/users/nobody/likes");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, R"({"detail":{"error":"User not found"}})");
  r = call("GET", "/api/users/alice/likes?limit=abc");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(json::parse(r.body)["detail"][0]["loc"], json::parse(R"(["query","limit"])"));
}

TEST_F(CatalogRoutesTest, AdminNeedsAdminToken) {
  for (const char* tok : {"", "tok-alice", "admin-tokenx"}) {
    const auto r = call("POST", "/api/admin/repos", tok, R"({"type":"model"})");
    EXPECT_EQ(r.status, 401) << tok;
    EXPECT_EQ(r.body, R"({"detail":"Admin token required"})");
  }
}

TEST_F(CatalogRoutesTest, AdminValidatesBodiesNamingTheField) {
  auto r = call("POST", "/api/admin/repos", "admin-token", R"({"type":"modle"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, R"({"detail":"type: expected model, dataset or space"})");
  r = call("POST", "/api/admin/repos", "admin-token", "{");
  EXPECT_EQ(r.body, R"({"detail":"body: malformed JSON"})");
  r = call("POST", "/api/admin/users", "admin-token", R"({"username":"a b"})");
  EXPECT_EQ(r.body, R"({"detail":"username: expected 1..96 chars of [A-Za-z0-9._-]"})");
  r = call("POST", "/api/admin/repos", "admin-token",
           R"({"type":"model","namespace":"alice","name":"open"})");
  EXPECT_EQ(r.status, 409);
  r = call("POST", "/api/admin/repos", "admin-token",
           R"({"type":"dataset","namespace":"alice","name":"d","private":true})");
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.body,
            R"({"type":"dataset","namespace":"alice","name":"d","private":true,"likes":0})");
  r = call("DELETE", "/api/admin/repos/models/alice/zzz", "admin-token");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, R"({"detail":"repository not found"})");
  r = call("POST", "/api/admin/tokens", "admin-token", R"({"username":"alice","name":"ci"})");
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.body, R"({"id":7,"username":"alice","name":"ci","token":"hst_secret"})");
}

TEST(CatalogRoutesRegistration, BackendWithoutLikesOrAdminRegistersNothing) {
  struct Bare : Catalog {
    Caller authenticate(std::string_view, std::string_view) override { return {}; }
    std::optional<RepoInfo> find_repo(const hubstats::RepoRef&) override { return {}; }
    bool can_read(const Caller&, const RepoInfo&) override { return true; }
  } bare;
  CatalogApi api(bare);
  http::Router router;
  register_catalog_routes(router, api);
  EXPECT_TRUE(router.routes().empty());
}

}  // namespace
}  // namespace hubstatsd
