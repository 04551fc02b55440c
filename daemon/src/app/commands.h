// hubstatsd's commands. Each returns the process exit code; errors are logged (or,
// for config problems, printed to stderr naming the key).
#pragma once

#include <string>

namespace hubstatsd::app {

int check_config(const std::string& path);  // --check-config FILE
int migrate(const std::string& path);       // migrate -c FILE
int fold_once(const std::string& path);     // fold --once -c FILE
int run(const std::string& path);           // -c FILE: serve until SIGTERM

// import kohakuhub -c FILE [--dry-run] [--cutover DAY] [--dsn DSN] [--schema NAME]:
// copies the hub's download history (docs/kohakuhub.md). The hub database is the one
// catalog.kohakuhub names (its dsn, else the hubstats database), or --dsn.
struct ImportArgs {
  bool dry_run = false;
  std::string cutover;  // YYYY-MM-DD; empty: recorded or default
  std::string dsn;      // empty: from the catalog section
  std::string schema;   // empty: from the catalog section ("public")
};
int import_kohakuhub(const std::string& path, const ImportArgs& args);

}  // namespace hubstatsd::app
