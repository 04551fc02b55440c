// Versioned SQL migrations (daemon/migrations/NNN_name.sql), embedded into the binary
// at build time. Applied at start and by `hubstatsd migrate`, under a PostgreSQL
// advisory lock so several daemons can start at once; tracked in
// hubstats.schema_migrations. Numbering: 001-009 stats, 010-019 catalog.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hubstatsd {

class PgPool;

struct Migration {
  int version = 0;
  std::string name;  // file name, e.g. "001_stats.sql"
  std::string sql;
  // Parses the version from "NNN_*.sql"; throws std::invalid_argument otherwise.
  static Migration from_file(std::string_view file_name, std::string_view sql);
};

// The migrations compiled into this binary, ascending by version.
const std::vector<Migration>& embedded_migrations();

// Reads NNN_*.sql from a directory, ascending; throws std::runtime_error on a
// duplicate version or unreadable file.
std::vector<Migration> load_migrations_dir(const std::string& dir);

// The migrations to apply: from the directory in env HUBSTATS_MIGRATIONS_DIR when
// set (development), else the embedded ones.
std::vector<Migration> default_migrations();

// Applies every migration not yet recorded, each in its own transaction. Returns the
// names applied (empty when up to date). Throws Unavailable / PgError / runtime_error
// (a migration file changed after it was applied is not detected; keep them immutable).
std::vector<std::string> migrate(PgPool& pool, const std::vector<Migration>& migrations);
std::vector<std::string> migrate(PgPool& pool);  // default_migrations()

}  // namespace hubstatsd
