// Human-readable output: tables, sparklines, CSV. Pure functions of their inputs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hubstats/repo.h"
#include "responses.h"

namespace hubstats::cli {

enum class Align { kLeft, kRight };

// Columns separated by two spaces, a dashed rule under the header, no trailing spaces.
// Widths count UTF-8 code points. Missing cells are empty; `align` defaults to left.
std::string render_table(const std::vector<std::string>& headers,
                         const std::vector<std::vector<std::string>>& rows,
                         const std::vector<Align>& align);

// 1234567 -> "1,234,567"
std::string group_thousands(std::int64_t n);

// One block character per value, ▁ for 0 up to █ for the maximum (any non-zero value is at
// least ▂ so activity is never hidden). All zeros (or empty) gives a flat ▁ line.
std::string sparkline(const std::vector<std::int64_t>& values);

// RFC 4180 field: quoted when it holds a comma, quote, CR or LF.
std::string csv_field(std::string_view s);

// "date,downloads,authenticated,anonymous,files\n" then one line per day.
std::string recent_csv(const RecentStats& stats);

// "path,files\n" / "client,downloads,files\n" then one line per entry.
std::string files_csv(const FileStats& stats);
std::string clients_csv(const ClientStats& stats);

std::string format_repo_stats(const RepoRef& ref, const RepoStats& stats);
std::string format_recent(const RepoRef& ref, const RecentStats& stats);
std::string format_trending(RepoType type, const Trending& trending);
std::string format_files(const RepoRef& ref, const FileStats& stats);
// With each family's share of the downloads in percent.
std::string format_clients(const RepoRef& ref, const ClientStats& stats);

}  // namespace hubstats::cli
