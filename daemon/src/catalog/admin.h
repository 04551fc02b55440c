// Administration of the builtin catalog: repos, users, org membership, tokens.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "catalog/catalog.h"

namespace hubstatsd {

// A rejected admin operation; status is the HTTP status to answer (404, 409).
struct AdminError : std::runtime_error {
  AdminError(int status, const std::string& msg) : std::runtime_error(msg), status(status) {}
  int status;
};

struct UserRecord {
  std::string username;
  std::string fullname;
};

struct TokenRecord {
  std::int64_t id = 0;
  std::string username;
  std::string name;
  std::string created_at;  // ISO 8601
  bool revoked = false;
};

struct NewToken {
  std::int64_t id = 0;
  std::string username;
  std::string name;
  std::string token;  // shown once; only its hash is stored
};

class CatalogAdmin {
 public:
  virtual ~CatalogAdmin() = default;

  virtual std::vector<RepoInfo> list_repos() = 0;
  virtual RepoInfo add_repo(const hubstats::RepoRef& ref, bool is_private) = 0;     // 409
  virtual void remove_repo(const hubstats::RepoRef& ref) = 0;                       // 404
  virtual RepoInfo set_private(const hubstats::RepoRef& ref, bool is_private) = 0;  // 404

  virtual std::vector<UserRecord> list_users() = 0;
  virtual UserRecord add_user(const std::string& username, const std::string& fullname) = 0;  // 409

  virtual std::vector<std::string> org_members(const std::string& org) = 0;  // 404 no org
  // Creates the org if needed; false when already a member. 404 no user, 409 name is a user.
  virtual bool add_member(const std::string& org, const std::string& username) = 0;
  virtual void remove_member(const std::string& org, const std::string& username) = 0;  // 404

  virtual std::vector<TokenRecord> list_tokens(const std::optional<std::string>& username) = 0;
  virtual NewToken create_token(const std::string& username, const std::string& name) = 0;  // 404
  virtual void revoke_token(std::int64_t id) = 0;  // 404 (missing or already revoked)
};

}  // namespace hubstatsd
