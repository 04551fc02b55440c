// hubstatsd's commands. Each returns the process exit code; errors are logged (or,
// for config problems, printed to stderr naming the key).
#pragma once

#include <string>

namespace hubstatsd::app {

int check_config(const std::string& path);  // --check-config FILE
int migrate(const std::string& path);       // migrate -c FILE
int fold_once(const std::string& path);     // fold --once -c FILE
int run(const std::string& path);           // -c FILE: serve until SIGTERM

}  // namespace hubstatsd::app
