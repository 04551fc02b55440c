#include "catalog/catalog_config.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "catalog/kohakuhub_catalog.h"
#include "hubstats/duration.h"

namespace hubstatsd {

namespace {

[[noreturn]] void fail(const std::string& key, const std::string& msg) {
  throw CatalogConfigError("catalog." + key + ": " + msg);
}

std::string scalar(const YAML::Node& n, const std::string& key) {
  if (!n.IsScalar()) fail(key, "expected a scalar value");
  return n.Scalar();
}

long long integer(const YAML::Node& n, const std::string& key, long long lo, long long hi) {
  const std::string s = scalar(n, key);
  std::size_t pos = 0;
  long long v = 0;
  try {
    v = std::stoll(s, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (pos == 0 || pos != s.size() || v < lo || v > hi)
    fail(key, "expected an integer in " + std::to_string(lo) + ".." + std::to_string(hi) +
                  ", got \"" + s + "\"");
  return v;
}

void check_keys(const YAML::Node& map, const std::string& prefix,
                const std::set<std::string>& allowed) {
  for (const auto& kv : map) {
    const std::string k = kv.first.as<std::string>();
    if (!allowed.count(k)) fail(prefix + k, "unknown key");
  }
}

std::string trim(std::string s) {
  const char* ws = " \t\r\n";
  const auto b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

std::string read_token_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail("admin_token_file", "cannot read " + path + ": " + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string token = trim(ss.str());
  if (token.size() < 16) fail("admin_token_file", "token shorter than 16 characters");
  if (token.find_first_of(" \t\r\n") != std::string::npos)
    fail("admin_token_file", "token contains whitespace");
  return token;
}

}  // namespace

CatalogConfig parse_catalog_config(const YAML::Node& section) {
  CatalogConfig cfg;
  if (!section || section.IsNull()) return cfg;
  if (!section.IsMap()) throw CatalogConfigError("catalog: expected a mapping");
  check_keys(section, "",
             {"backend", "cache_ttl", "cache_max_entries", "admin_token_file", "kohakuhub"});

  if (const auto n = section["backend"]) {
    const std::string b = scalar(n, "backend");
    if (b == "builtin") {
      cfg.backend = CatalogConfig::Backend::kBuiltin;
    } else if (b == "kohakuhub") {
      cfg.backend = CatalogConfig::Backend::kKohakuhub;
    } else {
      fail("backend", "expected builtin or kohakuhub, got \"" + b + "\"");
    }
  }
  if (const auto n = section["cache_ttl"]) {
    const std::string s = scalar(n, "cache_ttl");
    const auto d = hubstats::parse_duration(s);
    if (!d) fail("cache_ttl", "invalid duration \"" + s + "\"");
    if (*d > std::chrono::minutes(10)) fail("cache_ttl", "must be at most 10m");
    cfg.cache_ttl = *d;
  }
  if (const auto n = section["cache_max_entries"])
    cfg.cache_max_entries = static_cast<std::size_t>(integer(n, "cache_max_entries", 1, 100000000));

  const bool builtin = cfg.backend == CatalogConfig::Backend::kBuiltin;
  if (const auto n = section["admin_token_file"]) {
    if (!builtin) fail("admin_token_file", "only valid with backend builtin");
    cfg.admin_token_file = scalar(n, "admin_token_file");
    if (cfg.admin_token_file.empty()) fail("admin_token_file", "empty path");
    cfg.admin_token = read_token_file(cfg.admin_token_file);
  }
  if (const auto k = section["kohakuhub"]) {
    if (builtin) fail("kohakuhub", "only valid with backend kohakuhub");
    if (!k.IsMap()) fail("kohakuhub", "expected a mapping");
    check_keys(k, "kohakuhub.", {"dsn", "schema", "pool_size"});
    if (const auto n = k["dsn"]) cfg.kohakuhub.dsn = scalar(n, "kohakuhub.dsn");
    if (const auto n = k["schema"]) {
      cfg.kohakuhub.schema = scalar(n, "kohakuhub.schema");
      if (!valid_schema_name(cfg.kohakuhub.schema))
        fail("kohakuhub.schema", "expected an identifier ([A-Za-z_][A-Za-z0-9_]*), got \"" +
                                     cfg.kohakuhub.schema + "\"");
    }
    if (const auto n = k["pool_size"])
      cfg.kohakuhub.pool_size = static_cast<int>(integer(n, "kohakuhub.pool_size", 1, 256));
  }
  return cfg;
}

}  // namespace hubstatsd
