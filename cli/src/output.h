// Writing command output to a file or stdout.
#pragma once

#include <ostream>
#include <string>

namespace hubstats::cli {

// "-" writes to `stdout_stream`. Otherwise writes atomically: a temp file in the same
// directory, fsync, then rename over `path`, so readers never see a partial file. The file
// gets 0666 & ~umask. Throws CliError(kBadArgument) naming the path on failure (no temp
// file is left behind).
void write_output(const std::string& path, const std::string& content, std::ostream& stdout_stream);

}  // namespace hubstats::cli
