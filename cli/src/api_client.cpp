#include "api_client.h"

#include "exit_codes.h"
#include "url.h"

namespace hubstats::cli {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxDetail = 300;

// Control characters would break the one-line error contract.
std::string one_line(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (out.size() > kMaxDetail) out = out.substr(0, kMaxDetail) + "...";
  return out;
}

std::string describe_detail(const json& d) {
  if (d.is_string()) return d.get<std::string>();
  if (d.is_object()) {
    for (const char* key : {"error", "message", "msg"}) {
      if (d.contains(key) && d[key].is_string()) return d[key].get<std::string>();
    }
    return d.dump();
  }
  if (d.is_array() && !d.empty() && d[0].is_object()) {  // FastAPI validation errors
    const auto& e = d[0];
    std::string where;
    if (e.contains("loc") && e["loc"].is_array()) {
      for (const auto& part : e["loc"]) {
        if (!where.empty()) where += ".";
        where += part.is_string() ? part.get<std::string>() : part.dump();
      }
    }
    std::string msg =
        e.contains("msg") && e["msg"].is_string() ? e["msg"].get<std::string>() : e.dump();
    return where.empty() ? msg : where + ": " + msg;
  }
  return d.dump();
}

std::string json_body(const json& j) {
  return j.dump();
}

}  // namespace

std::string error_detail(const HttpResponse& res) {
  auto parsed = json::parse(res.body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object()) {
    for (const char* key : {"detail", "error", "message"}) {
      if (parsed.contains(key)) return one_line(describe_detail(parsed[key]));
    }
  }
  if (!res.error_message.empty()) return one_line(res.error_message);
  auto first = res.body.substr(0, res.body.find('\n'));
  bool looks_html = first.find('<') != std::string::npos;
  if (!first.empty() && !looks_html) return one_line(first);
  return one_line(std::to_string(res.status) + " " + res.reason);
}

std::string repo_path(const RepoRef& ref) {
  return "/" + std::string(to_string(ref.type)) + "s/" + percent_encode(ref.ns) + "/" +
         percent_encode(ref.name);
}

ApiResult ApiClient::call(const std::string& method, const std::string& target,
                          const std::string& body, const std::string& not_found) const {
  HttpResponse res = http_.send(method, target, token_, body);
  if (res.status < 200 || res.status >= 300) {
    ExitCode code = exit_code_for_status(res.status);
    std::string status = "HTTP " + std::to_string(res.status);
    if (code == ExitCode::kNotFound && !not_found.empty()) throw CliError(code, not_found);
    std::string detail = error_detail(res);
    switch (code) {
      case ExitCode::kAuth:
        throw CliError(code, "not authorized: " + detail + " (" + status + ")");
      case ExitCode::kNotFound:
        throw CliError(code, "not found: " + detail + " (" + status + ")");
      case ExitCode::kBadArgument:
        throw CliError(code, "rejected by server: " + detail + " (" + status + ")");
      default:
        throw CliError(code, "server error: " + detail + " (" + status + ")");
    }
  }
  ApiResult out;
  out.raw = std::move(res.body);
  out.json = json::parse(out.raw, nullptr, /*allow_exceptions=*/false);
  if (out.json.is_discarded()) {
    throw CliError(ExitCode::kHttpError,
                   "server sent a response that is not JSON (HTTP " + std::to_string(res.status) +
                       ", " + (res.content_type.empty() ? "no content type" : res.content_type) +
                       ")");
  }
  return out;
}

namespace {
std::string repo_not_found(const RepoRef& ref) {
  return "repository '" + ref.id() + "' (" + std::string(to_string(ref.type)) + ") not found";
}
}  // namespace

ApiResult ApiClient::repo_stats(const RepoRef& ref) const {
  return call("GET", repo_path(ref) + "/stats", "", repo_not_found(ref));
}

ApiResult ApiClient::recent_stats(const RepoRef& ref, std::int64_t days) const {
  return call("GET",
              repo_path(ref) + "/stats/recent" + query_string({{"days", std::to_string(days)}}), "",
              repo_not_found(ref));
}

ApiResult ApiClient::file_stats(const RepoRef& ref, std::int64_t days, std::int64_t limit) const {
  return call("GET",
              repo_path(ref) + "/stats/files" +
                  query_string({{"days", std::to_string(days)}, {"limit", std::to_string(limit)}}),
              "", repo_not_found(ref));
}

ApiResult ApiClient::client_stats(const RepoRef& ref, std::int64_t days) const {
  return call("GET",
              repo_path(ref) + "/stats/clients" + query_string({{"days", std::to_string(days)}}),
              "", repo_not_found(ref));
}

ApiResult ApiClient::trending(RepoType type, std::int64_t days, std::int64_t limit) const {
  return call("GET",
              "/api/trending" + query_string({{"repo_type", std::string(to_string(type))},
                                              {"days", std::to_string(days)},
                                              {"limit", std::to_string(limit)}}),
              "", "");
}

ApiResult ApiClient::list_repos() const {
  return call("GET", "/api/admin/repos", "", "");
}

ApiResult ApiClient::add_repo(const RepoRef& ref, bool is_private) const {
  json body = {{"type", to_string(ref.type)},
               {"namespace", ref.ns},
               {"name", ref.name},
               {"private", is_private}};
  return call("POST", "/api/admin/repos", json_body(body), "");
}

ApiResult ApiClient::remove_repo(const RepoRef& ref) const {
  return call("DELETE", "/api/admin/repos" + repo_path(ref), "", repo_not_found(ref));
}

ApiResult ApiClient::set_private(const RepoRef& ref, bool is_private) const {
  return call("PUT", "/api/admin/repos" + repo_path(ref) + "/private",
              json_body({{"private", is_private}}), repo_not_found(ref));
}

ApiResult ApiClient::list_users() const {
  return call("GET", "/api/admin/users", "", "");
}

ApiResult ApiClient::add_user(const std::string& username, const std::string& fullname) const {
  return call("POST", "/api/admin/users",
              json_body({{"username", username}, {"fullname", fullname}}), "");
}

ApiResult ApiClient::list_members(const std::string& org) const {
  return call("GET", "/api/admin/orgs/" + percent_encode(org) + "/members", "",
              "organization '" + org + "' not found");
}

ApiResult ApiClient::add_member(const std::string& org, const std::string& username) const {
  return call("POST", "/api/admin/orgs/" + percent_encode(org) + "/members",
              json_body({{"username", username}}), "user '" + username + "' not found");
}

ApiResult ApiClient::remove_member(const std::string& org, const std::string& username) const {
  return call("DELETE",
              "/api/admin/orgs/" + percent_encode(org) + "/members/" + percent_encode(username), "",
              "user '" + username + "' is not a member of '" + org + "'");
}

ApiResult ApiClient::list_tokens(const std::optional<std::string>& username) const {
  std::vector<std::pair<std::string, std::string>> q;
  if (username) q.emplace_back("username", *username);
  return call("GET", "/api/admin/tokens" + query_string(q), "", "");
}

ApiResult ApiClient::create_token(const std::string& username, const std::string& name) const {
  return call("POST", "/api/admin/tokens", json_body({{"username", username}, {"name", name}}),
              "user '" + username + "' not found");
}

ApiResult ApiClient::revoke_token(std::int64_t id) const {
  return call("DELETE", "/api/admin/tokens/" + std::to_string(id), "",
              "token " + std::to_string(id) + " not found or already revoked");
}

}  // namespace hubstats::cli
