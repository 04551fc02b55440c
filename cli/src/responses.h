// The API's response shapes, parsed and checked once so formatters work on plain structs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hubstats::cli {

struct RepoStats {
  std::int64_t downloads = 0;
  std::int64_t likes = 0;
};

struct DayRow {
  std::string date;  // YYYY-MM-DD
  std::int64_t downloads = 0;
  std::int64_t authenticated = 0;
  std::int64_t anonymous = 0;
  std::int64_t files = 0;
};

struct Period {
  std::string start;
  std::string end;
  std::int64_t days = 0;
};

struct RecentStats {
  std::vector<DayRow> days;
  Period period;
};

struct TrendingEntry {
  std::string id;
  std::string type;
  std::int64_t downloads = 0;
  std::int64_t likes = 0;
  std::int64_t recent_downloads = 0;
  bool is_private = false;
};

struct Trending {
  std::vector<TrendingEntry> entries;
  Period period;
};

struct FileRow {
  std::string path;
  std::int64_t files = 0;
};
struct FileStats {
  std::vector<FileRow> files;
  Period period;
};

struct ClientRow {
  std::string client;
  std::int64_t downloads = 0;
  std::int64_t files = 0;
};
struct ClientStats {
  std::vector<ClientRow> clients;
  Period period;
};

// Each throws CliError(kHttpError) "unexpected response from server: ..." on a wrong shape.
RepoStats parse_repo_stats(const nlohmann::json& j);
RecentStats parse_recent_stats(const nlohmann::json& j);
Trending parse_trending(const nlohmann::json& j);
FileStats parse_file_stats(const nlohmann::json& j);
ClientStats parse_client_stats(const nlohmann::json& j);

}  // namespace hubstats::cli
