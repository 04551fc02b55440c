// Typed calls to the hubstats HTTP API. Each returns the parsed JSON and the raw body
// (for --json); a failed call throws CliError with the exit code the status means.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "http_client.h"
#include "hubstats/repo.h"

namespace hubstats::cli {

struct ApiResult {
  nlohmann::json json;
  std::string raw;
};

// The server's explanation of a failed response, on one line: {"detail": "..."} (string,
// {"error": ...} object or FastAPI's validation list), else X-Error-Message, else the body's
// first line, else the status line.
std::string error_detail(const HttpResponse& res);

// "/models/ns/name" for a repo (each segment percent-encoded).
std::string repo_path(const RepoRef& ref);

class ApiClient {
 public:
  ApiClient(HttpClient http, std::optional<std::string> token)
      : http_(std::move(http)), token_(std::move(token)) {}

  // Statistics API
  ApiResult repo_stats(const RepoRef& ref) const;
  ApiResult recent_stats(const RepoRef& ref, std::int64_t days) const;
  ApiResult file_stats(const RepoRef& ref, std::int64_t days, std::int64_t limit) const;
  ApiResult client_stats(const RepoRef& ref, std::int64_t days) const;
  ApiResult trending(RepoType type, std::int64_t days, std::int64_t limit) const;

  // Admin API (builtin catalog)
  ApiResult list_repos() const;
  ApiResult add_repo(const RepoRef& ref, bool is_private) const;
  ApiResult remove_repo(const RepoRef& ref) const;
  ApiResult set_private(const RepoRef& ref, bool is_private) const;
  ApiResult list_users() const;
  ApiResult add_user(const std::string& username, const std::string& fullname) const;
  ApiResult list_members(const std::string& org) const;
  ApiResult add_member(const std::string& org, const std::string& username) const;
  ApiResult remove_member(const std::string& org, const std::string& username) const;
  ApiResult list_tokens(const std::optional<std::string>& username) const;
  ApiResult create_token(const std::string& username, const std::string& name) const;
  ApiResult revoke_token(std::int64_t id) const;

 private:
  // not_found: the message for a 404 ("" = use the server's detail).
  ApiResult call(const std::string& method, const std::string& target, const std::string& body,
                 const std::string& not_found) const;

  HttpClient http_;
  std::optional<std::string> token_;
};

}  // namespace hubstats::cli
