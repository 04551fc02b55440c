#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <unistd.h>

#include "catalog/catalog_config.h"

namespace hubstatsd {
namespace {

CatalogConfig parse(const std::string& yaml) {
  return parse_catalog_config(YAML::Load(yaml)["catalog"]);
}

std::string error_of(const std::string& yaml) {
  try {
    parse(yaml);
  } catch (const CatalogConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(CatalogConfig, DefaultsToBuiltinWithFiveSecondTtl) {
  const CatalogConfig c = parse("other: 1");
  EXPECT_EQ(c.backend, CatalogConfig::Backend::kBuiltin);
  EXPECT_EQ(c.cache_ttl, std::chrono::milliseconds(5000));
  EXPECT_TRUE(c.admin_token.empty());
}

TEST(CatalogConfig, ParsesKohakuhubSection) {
  const CatalogConfig c = parse(
      "catalog:\n  backend: kohakuhub\n  cache_ttl: 250ms\n  kohakuhub:\n"
      "    dsn: host=/tmp dbname=hub\n    schema: hub_schema\n    pool_size: 3\n");
  EXPECT_EQ(c.backend, CatalogConfig::Backend::kKohakuhub);
  EXPECT_EQ(c.cache_ttl, std::chrono::milliseconds(250));
  EXPECT_EQ(c.kohakuhub.dsn, "host=/tmp dbname=hub");
  EXPECT_EQ(c.kohakuhub.schema, "hub_schema");
  EXPECT_EQ(c.kohakuhub.pool_size, 3);
}

TEST(CatalogConfig, ErrorsNameTheKey) {
  EXPECT_EQ(error_of("catalog:\n  backend: sqlite\n"),
            "catalog.backend: expected builtin or kohakuhub, got \"sqlite\"");
  EXPECT_EQ(error_of("catalog:\n  bakend: builtin\n"), "catalog.bakend: unknown key");
  EXPECT_EQ(error_of("catalog:\n  cache_ttl: 5x\n"), "catalog.cache_ttl: invalid duration \"5x\"");
  EXPECT_EQ(error_of("catalog:\n  cache_max_entries: -1\n"),
            "catalog.cache_max_entries: expected an integer in 1..100000000, got \"-1\"");
  EXPECT_EQ(error_of("catalog:\n  backend: kohakuhub\n  kohakuhub:\n    dns: x\n"),
            "catalog.kohakuhub.dns: unknown key");
  EXPECT_EQ(error_of("catalog:\n  backend: kohakuhub\n  kohakuhub:\n    schema: a;b\n"),
            "catalog.kohakuhub.schema: expected an identifier ([A-Za-z_][A-Za-z0-9_]*), got "
            "\"a;b\"");
  EXPECT_EQ(error_of("catalog:\n  kohakuhub:\n    dsn: x\n"),
            "catalog.kohakuhub: only valid with backend kohakuhub");
  EXPECT_EQ(error_of("catalog:\n  backend: kohakuhub\n  admin_token_file: /x\n"),
            "catalog.admin_token_file: only valid with backend builtin");
  EXPECT_EQ(error_of("catalog: [1]\n"), "catalog: expected a mapping");
}

TEST(CatalogConfig, ReadsAndTrimsAdminTokenFile) {
  char path[] = "/tmp/hubstats-admin-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  { std::ofstream(path) << "  0123456789abcdef-admin\n"; }
  const CatalogConfig c = parse(std::string("catalog:\n  admin_token_file: ") + path + "\n");
  EXPECT_EQ(c.admin_token, "0123456789abcdef-admin");
  { std::ofstream(path) << "short\n"; }
  EXPECT_EQ(error_of(std::string("catalog:\n  admin_token_file: ") + path + "\n"),
            "catalog.admin_token_file: token shorter than 16 characters");
  std::remove(path);
  EXPECT_EQ(
      error_of(std::string("catalog:\n  admin_token_file: ") + path + "\n"),
      std::string("catalog.admin_token_file: cannot read ") + path + ": No such file or directory");
}

}  // namespace
}  // namespace hubstatsd
