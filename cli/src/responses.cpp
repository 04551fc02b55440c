#include "responses.h"

#include "exit_codes.h"

namespace hubstats::cli {
namespace {

using nlohmann::json;

[[noreturn]] void bad_shape(const std::string& what) {
  throw CliError(ExitCode::kHttpError, "unexpected response from server: " + what);
}

const json& field(const json& obj, const char* key, const std::string& where) {
  if (!obj.is_object() || !obj.contains(key)) bad_shape("missing '" + where + key + "'");
  return obj[key];
}

std::int64_t int_field(const json& obj, const char* key, const std::string& where = "") {
  const json& v = field(obj, key, where);
  if (!v.is_number_integer()) bad_shape("'" + where + key + "' is not an integer");
  return v.get<std::int64_t>();
}

std::string string_field(const json& obj, const char* key, const std::string& where = "") {
  const json& v = field(obj, key, where);
  if (!v.is_string()) bad_shape("'" + where + key + "' is not a string");
  return v.get<std::string>();
}

Period parse_period(const json& j) {
  const json& p = field(j, "period", "");
  return Period{string_field(p, "start", "period."), string_field(p, "end", "period."),
                int_field(p, "days", "period.")};
}

}  // namespace

RepoStats parse_repo_stats(const json& j) {
  return RepoStats{int_field(j, "downloads"), int_field(j, "likes")};
}

RecentStats parse_recent_stats(const json& j) {
  RecentStats out;
  const json& stats = field(j, "stats", "");
  if (!stats.is_array()) bad_shape("'stats' is not a list");
  for (const auto& s : stats) {
    out.days.push_back(
        DayRow{string_field(s, "date", "stats[]."), int_field(s, "downloads", "stats[]."),
               int_field(s, "authenticated", "stats[]."), int_field(s, "anonymous", "stats[]."),
               int_field(s, "files", "stats[].")});
  }
  out.period = parse_period(j);
  return out;
}

Trending parse_trending(const json& j) {
  Trending out;
  const json& list = field(j, "trending", "");
  if (!list.is_array()) bad_shape("'trending' is not a list");
  for (const auto& t : list) {
    TrendingEntry e;
    e.id = string_field(t, "id", "trending[].");
    e.type = string_field(t, "type", "trending[].");
    e.downloads = int_field(t, "downloads", "trending[].");
    e.likes = int_field(t, "likes", "trending[].");
    e.recent_downloads = int_field(t, "recent_downloads", "trending[].");
    if (t.contains("private") && t["private"].is_boolean()) e.is_private = t["private"].get<bool>();
    out.entries.push_back(std::move(e));
  }
  out.period = parse_period(j);
  return out;
}

FileStats parse_file_stats(const json& j) {
  FileStats out;
  const json& list = field(j, "files", "");
  if (!list.is_array()) bad_shape("'files' is not a list");
  for (const auto& f : list)
    out.files.push_back(
        FileRow{string_field(f, "path", "files[]."), int_field(f, "files", "files[].")});
  out.period = parse_period(j);
  return out;
}

ClientStats parse_client_stats(const json& j) {
  ClientStats out;
  const json& list = field(j, "clients", "");
  if (!list.is_array()) bad_shape("'clients' is not a list");
  for (const auto& c : list)
    out.clients.push_back(ClientRow{string_field(c, "client", "clients[]."),
                                    int_field(c, "downloads", "clients[]."),
                                    int_field(c, "files", "clients[].")});
  out.period = parse_period(j);
  return out;
}

}  // namespace hubstats::cli
