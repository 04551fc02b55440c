// The CLI's exit codes and the error type that carries one to main().
#pragma once

#include <stdexcept>
#include <string>

namespace hubstats::cli {

// Distinct codes so scripts can tell failures apart. Documented in docs/cli.md and --help.
enum class ExitCode : int {
  kOk = 0,
  kBadArgument = 2,  // parse errors, invalid type/id/range, server 400/422
  kNotFound = 3,     // 404
  kUnreachable = 4,  // connection refused, DNS failure, timeout, connection dropped
  kHttpError = 5,    // any other non-2xx answer, or an unreadable response
  kAuth = 6,         // 401/403
};

// Maps an HTTP status of a failed call to the exit code it means.
ExitCode exit_code_for_status(int http_status) noexcept;

// Thrown anywhere in the CLI; main() prints "hubstats: <what()>" on one line and exits.
class CliError : public std::runtime_error {
 public:
  CliError(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const noexcept { return code_; }

 private:
  ExitCode code_;
};

// One-line help text listing the exit codes (appended to --help).
const char* exit_codes_help() noexcept;

}  // namespace hubstats::cli
