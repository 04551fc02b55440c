#include "validate.h"

#include "exit_codes.h"

namespace hubstats::cli {

RepoType parse_type_arg(std::string_view type) {
  if (auto t = parse_repo_type(type)) return *t;
  throw CliError(ExitCode::kBadArgument, "invalid repository type '" + std::string(type) +
                                             "' (expected model, dataset or space)");
}

RepoRef parse_repo_arg(std::string_view type, std::string_view id) {
  RepoRef ref;
  ref.type = parse_type_arg(type);
  auto slash = id.find('/');
  if (slash == std::string_view::npos || !valid_segment(id.substr(0, slash)) ||
      !valid_segment(id.substr(slash + 1))) {
    throw CliError(ExitCode::kBadArgument,
                   "invalid repository id '" + std::string(id) + "' (expected namespace/name)");
  }
  ref.ns = std::string(id.substr(0, slash));
  ref.name = std::string(id.substr(slash + 1));
  return ref;
}

std::string parse_name_arg(std::string_view what, std::string_view name) {
  if (!valid_segment(name)) {
    throw CliError(ExitCode::kBadArgument, "invalid " + std::string(what) + " '" +
                                               std::string(name) +
                                               "' (letters, digits, '.', '_' and '-' only)");
  }
  return std::string(name);
}

std::int64_t check_range(std::string_view option, std::int64_t value, std::int64_t lo,
                         std::int64_t hi) {
  if (value < lo || value > hi) {
    throw CliError(ExitCode::kBadArgument, std::string(option) + " must be between " +
                                               std::to_string(lo) + " and " + std::to_string(hi) +
                                               " (got " + std::to_string(value) + ")");
  }
  return value;
}

}  // namespace hubstats::cli
