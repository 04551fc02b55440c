#include "exit_codes.h"

namespace hubstats::cli {

ExitCode exit_code_for_status(int http_status) noexcept {
  if (http_status >= 200 && http_status < 300) return ExitCode::kOk;
  switch (http_status) {
    case 400:
    case 422:
      return ExitCode::kBadArgument;
    case 401:
    case 403:
      return ExitCode::kAuth;
    case 404:
      return ExitCode::kNotFound;
    default:
      return ExitCode::kHttpError;
  }
}

const char* exit_codes_help() noexcept {
  return "Exit codes: 0 ok, 2 bad argument, 3 not found, 4 server unreachable or timeout,\n"
         "            5 other HTTP error, 6 not authorized (401/403).";
}

}  // namespace hubstats::cli
