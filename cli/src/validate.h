// Client-side checks of command arguments, so mistakes fail fast with exit code 2.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "hubstats/repo.h"

namespace hubstats::cli {

// "model" | "dataset" | "space"; throws CliError(kBadArgument) otherwise.
RepoType parse_type_arg(std::string_view type);

// type + "namespace/name"; throws CliError(kBadArgument) naming the bad part.
RepoRef parse_repo_arg(std::string_view type, std::string_view id);

// A user or organization name: same alphabet as a repo segment.
std::string parse_name_arg(std::string_view what, std::string_view name);

// lo <= value <= hi; throws CliError(kBadArgument) "--days must be between 1 and 365 (got 0)".
std::int64_t check_range(std::string_view option, std::int64_t value, std::int64_t lo,
                         std::int64_t hi);

// Bounds from the spec.
inline constexpr std::int64_t kRecentDaysMax = 365;
inline constexpr std::int64_t kTrendingDaysMax = 90;
inline constexpr std::int64_t kTrendingLimitMax = 100;
inline constexpr std::int64_t kFilesLimitMax = 1000;

}  // namespace hubstats::cli
