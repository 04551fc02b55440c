// The `catalog:` section of hubstatsd's YAML config (see docs/catalog.md). Parsing is
// strict: an unknown key or a bad value throws CatalogConfigError naming the key.
#pragma once

#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>

#include <yaml-cpp/yaml.h>

namespace hubstatsd {

struct CatalogConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct CatalogConfig {
  enum class Backend { kBuiltin, kKohakuhub };
  Backend backend = Backend::kBuiltin;
  std::chrono::milliseconds cache_ttl{5000};
  std::size_t cache_max_entries = 100000;
  std::string admin_token_file;  // builtin; empty: admin endpoints disabled
  std::string admin_token;       // contents of admin_token_file, trimmed
  struct Kohakuhub {
    std::string dsn;  // empty: the hubstats database
    std::string schema = "public";
    int pool_size = 4;
  } kohakuhub;
};

// Parses the section (a null/undefined node gives the defaults: builtin). Reads the
// admin token file.
CatalogConfig parse_catalog_config(const YAML::Node& section);

}  // namespace hubstatsd
