#include <gtest/gtest.h>

#include "catalog/catalog.h"

namespace hubstatsd {
namespace {

RepoInfo repo(const std::string& ns, bool priv) {
  RepoInfo r;
  r.ref = {hubstats::RepoType::kModel, ns, "m"};
  r.is_private = priv;
  return r;
}

Caller user(const std::string& name) {
  Caller c;
  c.username = name;
  return c;
}

struct Members {
  std::vector<std::pair<std::string, std::string>> calls;
  bool answer = false;
  std::function<bool(const std::string&, const std::string&)> fn() {
    return [this](const std::string& org, const std::string& u) {
      calls.emplace_back(org, u);
      return answer;
    };
  }
};

TEST(CatalogPermission, PublicIsReadableByAnyoneWithoutMembershipLookup) {
  Members m;
  EXPECT_TRUE(may_read(Caller{}, repo("acme", false), m.fn()));
  EXPECT_TRUE(may_read(user("x"), repo("acme", false), m.fn()));
  EXPECT_TRUE(m.calls.empty());
}

TEST(CatalogPermission, PrivateIsHiddenFromAnonymous) {
  Members m;
  m.answer = true;
  EXPECT_FALSE(may_read(Caller{}, repo("acme", true), m.fn()));
  EXPECT_TRUE(m.calls.empty());
}

TEST(CatalogPermission, AdminTokenGrantsNoReadAccess) {
  Members m;
  Caller admin;
  admin.is_admin = true;
  EXPECT_FALSE(may_read(admin, repo("acme", true), m.fn()));
}

TEST(CatalogPermission, OwnerReadsOwnNamespace) {
  Members m;
  EXPECT_TRUE(may_read(user("alice"), repo("alice", true), m.fn()));
  EXPECT_TRUE(m.calls.empty());
}

TEST(CatalogPermission, NamespaceMatchIsExact) {
  Members m;
  EXPECT_FALSE(may_read(user("Alice"), repo("alice", true), m.fn()));
  EXPECT_FALSE(may_read(user("alic"), repo("alice", true), m.fn()));
}

TEST(CatalogPermission, OrgMemberReadsOrgNamespace) {
  Members m;
  m.answer = true;
  EXPECT_TRUE(may_read(user("bob"), repo("acme", true), m.fn()));
  ASSERT_EQ(m.calls.size(), 1u);
  EXPECT_EQ(m.calls[0], std::make_pair(std::string("acme"), std::string("bob")));
}

TEST(CatalogPermission, OutsiderIsDenied) {
  Members m;
  m.answer = false;
  EXPECT_FALSE(may_read(user("eve"), repo("acme", true), m.fn()));
}

}  // namespace
}  // namespace hubstatsd
