// hubstatsd's YAML configuration. Every key is optional (defaults below) except that
// the file must be a mapping. An unknown key or a bad value throws ConfigError naming
// the key path, e.g. `fold.interval: bad duration "5x"`. The `catalog` section is
// kept as a YAML node and validated by the catalog factory.
//
// Environment overrides: HUBSTATSD_<SECTION>_<KEY> (upper case, e.g.
// HUBSTATSD_POSTGRES_DSN, HUBSTATSD_LISTEN_PORT, HUBSTATSD_HTTP_CORS_ALLOW_ORIGINS)
// replaces the value of that key. A key may sit one level deeper (http.cors.allow_origins);
// a list key takes a YAML sequence or a comma/space-separated string.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "log/logger.h"

namespace hubstatsd::config {

using std::chrono::milliseconds;

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Config {
  struct Listen {
    std::string address = "127.0.0.1";
    std::uint16_t port = 8090;
  } listen;

  struct Http {
    int threads = 2;           // io threads (accept, read, write)
    int handler_threads = 16;  // threads running the (blocking) handlers
    std::size_t header_limit = 16 * 1024;
    std::size_t body_limit = 1024 * 1024;
    milliseconds idle_timeout{60'000};
    milliseconds header_timeout{10'000};  // a request's header must arrive within this
    int max_connections = 4096;           // open connections; more are closed at accept
    bool keepalive = true;
    milliseconds shutdown_grace{10'000};  // SIGTERM: wait this long for in-flight requests
    struct Cors {
      // Origins allowed to read the public read endpoints from a browser: {"*"} (any),
      // a list of "scheme://host[:port]", or empty (no CORS headers at all).
      std::vector<std::string> allow_origins{"*"};
    } cors;
  } http;

  struct Redis {
    std::string address = "127.0.0.1:6379";
    bool address_set = false;          // redis.address given (it excludes redis.cluster)
    std::vector<std::string> cluster;  // seed nodes: Redis Cluster mode when not empty
    milliseconds connect_timeout{500};
    milliseconds command_timeout{1000};
  } redis;

  struct Postgres {
    std::string dsn = "postgresql:///hubstats";
    int pool_size = 8;
    milliseconds connect_timeout{1000};
    milliseconds statement_timeout{1500};
  } postgres;

  struct Fold {
    bool background = true;
    milliseconds interval{5'000};  // continuous fold: a pass every interval (max 60 s)
    // How long Redis may take to make a write durable: a pass commits its takes only
    // this long after them (appendfsync everysec: 2s; always or no persistence: 0).
    milliseconds redis_fsync_lag{2'000};
    milliseconds retention{14LL * 86'400'000};  // must match the module's hubstats_retention
    // How long trending reuses today's live counters of all repos (0: every call).
    // /stats and /stats/recent always read today's counters of their repo from Redis.
    milliseconds today_cache_ttl{1000};
    // Distinct file paths a repo-day keeps in PostgreSQL besides (git), (lfs), (other);
    // further paths add to (other).
    std::int64_t max_paths = 1000;
  } fold;

  YAML::Node catalog;  // the raw `catalog:` section (may be null)

  // Keys accepted but ignored (retired ones), each with what to do; logged at startup.
  std::vector<std::string> warnings;

  struct Log {
    log::Level level = log::Level::kInfo;
    log::Format format = log::Format::kLogfmt;
    std::string file;  // empty: stderr
  } log;
};

// Parses YAML text. `env` supplies overrides (nullptr: none), as "NAME=value" strings.
Config parse_config(std::string_view yaml_text, const char* const* env = nullptr);
// Reads and parses a file (with the process environment's overrides).
Config load_config_file(const std::string& path);

// Every scalar key path ("listen.port", ...), for documentation and tests.
std::vector<std::string> known_keys();

}  // namespace hubstatsd::config
