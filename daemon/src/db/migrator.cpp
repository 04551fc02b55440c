#include "db/migrator.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include "db/pg_pool.h"

namespace hubstatsd {

namespace {

// pg_advisory_lock key shared by every hubstatsd: "hubstats" as an integer.
constexpr const char* kLockKey = "7526117451851429747";
constexpr std::chrono::minutes kMigrationTimeout{10};

constexpr std::string_view kBootstrap = R"sql(
CREATE SCHEMA IF NOT EXISTS hubstats;
CREATE TABLE IF NOT EXISTS hubstats.schema_migrations (
  version    integer     PRIMARY KEY,
  name       text        NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);
)sql";

}  // namespace

Migration Migration::from_file(std::string_view file, std::string_view sql) {
  int v = 0;
  std::size_t i = 0;
  while (i < file.size() && file[i] >= '0' && file[i] <= '9') v = v * 10 + (file[i++] - '0');
  if (i == 0 || i > 6 || i >= file.size() || file[i] != '_' || !file.ends_with(".sql") || v <= 0)
    throw std::invalid_argument("migration file name must be NNN_name.sql: " + std::string(file));
  return Migration{v, std::string(file), std::string(sql)};
}

std::vector<Migration> load_migrations_dir(const std::string& dir) {
  std::vector<Migration> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (!e.is_regular_file() || e.path().extension() != ".sql") continue;
    std::ifstream in(e.path());
    if (!in) throw std::runtime_error("cannot read migration " + e.path().string());
    std::stringstream ss;
    ss << in.rdbuf();
    out.push_back(Migration::from_file(e.path().filename().string(), ss.str()));
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.version < b.version; });
  for (std::size_t i = 1; i < out.size(); ++i)
    if (out[i].version == out[i - 1].version)
      throw std::runtime_error("duplicate migration version: " + out[i - 1].name + ", " +
                               out[i].name);
  return out;
}

std::vector<Migration> default_migrations() {
  if (const char* dir = std::getenv("HUBSTATS_MIGRATIONS_DIR"); dir && *dir)
    return load_migrations_dir(dir);
  return embedded_migrations();
}

std::vector<std::string> migrate(PgPool& pool) {
  return migrate(pool, default_migrations());
}

std::vector<std::string> migrate(PgPool& pool, const std::vector<Migration>& migrations) {
  auto conn = pool.acquire();
  conn.discard();  // session settings change below: never hand this connection out again
  conn.exec_script("SET statement_timeout = 0; SET lock_timeout = 0", kMigrationTimeout);
  // Session-level lock: held across the per-migration transactions, released when the
  // connection closes even if we crash.
  conn.exec_with_timeout("SELECT pg_advisory_lock($1::bigint)", {std::string(kLockKey)},
                         kMigrationTimeout);
  std::vector<std::string> applied;
  conn.exec_script(kBootstrap, kMigrationTimeout);
  std::set<int> done;
  auto rows = conn.exec("SELECT version FROM hubstats.schema_migrations");
  for (int i = 0; i < rows.rows(); ++i) done.insert(static_cast<int>(rows.i64(i, 0)));
  for (const auto& m : migrations) {
    if (done.count(m.version)) continue;
    try {
      conn.exec_script("BEGIN", kMigrationTimeout);
      conn.exec_script(m.sql, kMigrationTimeout);
      conn.exec_with_timeout(
          "INSERT INTO hubstats.schema_migrations (version, name) VALUES ($1::integer, $2)",
          {std::to_string(m.version), m.name}, kMigrationTimeout);
      conn.exec_script("COMMIT", kMigrationTimeout);
    } catch (const PgError& e) {
      throw PgError("migration " + m.name + " failed: " + e.what(), e.sqlstate);
    }
    applied.push_back(m.name);
  }
  conn.exec("SELECT pg_advisory_unlock($1::bigint)", {std::string(kLockKey)});
  return applied;
}

}  // namespace hubstatsd
