// The command-line grammar (CLI11) and the commands behind it.
#pragma once

#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace hubstats::cli {

// Parses args (args[0] is the program name), runs the command, and returns the process
// exit code. Normal output goes to `out`; an error is one line "hubstats: ..." on `err`.
// `env` stands in for the environment (HUBSTATS_URL, HUBSTATS_TOKEN, HUBSTATS_ADMIN_TOKEN).
int run(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
        std::ostream& out, std::ostream& err);

}  // namespace hubstats::cli
