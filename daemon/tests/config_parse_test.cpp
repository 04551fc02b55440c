#include <gtest/gtest.h>

#include <fstream>

#include "config/config.h"

using hubstatsd::config::Config;
using hubstatsd::config::ConfigError;
using hubstatsd::config::parse_config;
using namespace std::chrono_literals;

namespace {

// The message of the ConfigError thrown for the text, or "" when it parses.
std::string error_of(const std::string& yaml, const char* const* env = nullptr) {
  try {
    parse_config(yaml, env);
    return "";
  } catch (const ConfigError& e) {
    return e.what();
  }
}

}  // namespace

TEST(Config, EmptyFileGivesDefaults) {
  const Config c = parse_config("");
  EXPECT_EQ(c.listen.address, "127.0.0.1");
  EXPECT_EQ(c.listen.port, 8090);
  EXPECT_EQ(c.fold.interval, 5s);
  EXPECT_TRUE(c.catalog.IsNull() || !c.catalog.IsDefined());
}

TEST(Config, FullExample) {
  const Config c = parse_config(R"(
listen: {address: "::1", port: 9000}
http: {threads: 3, handler_threads: 8, header_limit: 8k, body_limit: 2m, idle_timeout: 15s, keepalive: false}
redis: {address: "unix:/run/redis.sock", connect_timeout: 200ms, command_timeout: 1s}
postgres: {dsn: "host=127.0.0.1 dbname=hs", pool_size: 4, connect_timeout: 2s, statement_timeout: 1500ms}
fold: {interval: 30s, retention: 14d, today_cache_ttl: 0, background: off}
session_window: 15m
catalog: {backend: builtin, cache_ttl: 5s}
log: {level: debug, format: json, file: /tmp/x.log}
)");
  EXPECT_EQ(c.listen.address, "::1");
  EXPECT_EQ(c.listen.port, 9000);
  EXPECT_EQ(c.http.threads, 3);
  EXPECT_EQ(c.http.header_limit, 8192u);
  EXPECT_EQ(c.http.body_limit, 2u * 1024 * 1024);
  EXPECT_EQ(c.http.idle_timeout, 15s);
  EXPECT_FALSE(c.http.keepalive);
  EXPECT_EQ(c.redis.address, "unix:/run/redis.sock");
  EXPECT_EQ(c.redis.connect_timeout, 200ms);
  EXPECT_EQ(c.postgres.dsn, "host=127.0.0.1 dbname=hs");
  EXPECT_EQ(c.postgres.statement_timeout, 1500ms);
  EXPECT_FALSE(c.fold.background);
  EXPECT_EQ(c.fold.retention, std::chrono::hours(24 * 14));
  EXPECT_EQ(c.catalog["backend"].as<std::string>(), "builtin");
  EXPECT_EQ(c.log.level, hubstatsd::log::Level::kDebug);
  EXPECT_EQ(c.log.format, hubstatsd::log::Format::kJson);
  EXPECT_EQ(c.log.file, "/tmp/x.log");
}

TEST(Config, ErrorsNameTheKeyPath) {
  EXPECT_EQ(error_of("fold: {interval: 5x}"), R"(fold.interval: bad duration "5x")");
  EXPECT_EQ(error_of("fold: {interval: 2m}"),
            R"(fold.interval: too long "2m" (maximum 60s: an empty Redis loses one interval))");
  EXPECT_EQ(error_of("fold: {interval: 10ms}"),
            R"(fold.interval: too short "10ms" (minimum 100ms))");
  EXPECT_EQ(error_of("fold: {intervall: 5s}"), "fold.intervall: unknown key");
  EXPECT_EQ(error_of("folds: {interval: 5s}"), "folds: unknown key");
  EXPECT_EQ(error_of("listen: {port: 70000}"), R"(listen.port: out of range "70000" (0..65535))");
  EXPECT_EQ(error_of("listen: {port: http}"), R"(listen.port: bad integer "http")");
  EXPECT_EQ(error_of("listen: {address: localhost}"),
            R"(listen.address: bad IP address "localhost")");
  EXPECT_EQ(error_of("http: {keepalive: maybe}"), R"(http.keepalive: bad boolean "maybe")");
  EXPECT_EQ(error_of("log: {level: loud}"),
            R"(log.level: bad level "loud" (debug|info|warn|error))");
  EXPECT_EQ(error_of("postgres: {dsn: ''}"), "postgres.dsn: must not be empty");
  EXPECT_EQ(error_of("postgres: {pool_size: 0}"),
            R"(postgres.pool_size: out of range "0" (1..1024))");
  EXPECT_EQ(error_of("session_window: soon"), R"(session_window: bad duration "soon")");
  EXPECT_EQ(error_of("http: {threads: [1, 2]}"), "http.threads: expected a scalar value");
  EXPECT_EQ(error_of("http: 3"), "http: expected a mapping");
}

TEST(Config, RedisAddressNeedsAnIpLiteral) {
  EXPECT_NE(error_of("redis: {address: 'localhost:6379'}").find("redis.address: "),
            std::string::npos);
  EXPECT_NE(error_of("redis: {address: '127.0.0.1'}").find("redis.address: "), std::string::npos);
  EXPECT_NE(error_of("redis: {address: '127.0.0.1:0'}").find("redis.address: "), std::string::npos);
  EXPECT_NE(error_of("redis: {address: 'unix:relative'}").find("redis.address: "),
            std::string::npos);
  EXPECT_NE(error_of("redis: {address: '::1:6380'}").find("[addr]:port"), std::string::npos);
  EXPECT_EQ(parse_config("redis: {address: '[::1]:6380'}").redis.address, "[::1]:6380");
}

TEST(Config, SyntaxErrorIsAConfigError) {
  EXPECT_NE(error_of("listen: [").find("YAML syntax error"), std::string::npos);
  EXPECT_EQ(error_of("- a\n- b"), "(top level): expected a mapping of sections");
}

TEST(Config, EnvironmentOverrides) {
  const char* env[] = {"HUBSTATSD_LISTEN_PORT=7001", "HUBSTATSD_POSTGRES_DSN=dbname=other",
                       "UNRELATED=1", nullptr};
  const Config c = parse_config("listen: {port: 9000}", env);
  EXPECT_EQ(c.listen.port, 7001);
  EXPECT_EQ(c.postgres.dsn, "dbname=other");
  const char* bad[] = {"HUBSTATSD_FOLD_INTERVAL=5x", nullptr};
  EXPECT_EQ(error_of("", bad),
            R"(fold.interval: bad duration "5x" (from HUBSTATSD_FOLD_INTERVAL))");
}

TEST(Config, ExampleConfigInTheRepoIsValid) {
  const std::string path = std::string(HUBSTATS_MIGRATIONS_DIR) + "/../../conf/hubstatsd.yaml";
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << path;
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_NO_THROW(parse_config(ss.str()));
}

TEST(Config, HttpHardeningKeys) {
  const Config d = parse_config("");
  EXPECT_EQ(d.http.header_timeout, 10s);
  EXPECT_EQ(d.http.max_connections, 4096);
  EXPECT_EQ(d.http.cors.allow_origins, std::vector<std::string>{"*"});
  const Config c = parse_config(R"(
http:
  header_timeout: 2s
  max_connections: 64
  cors:
    allow_origins: [https://a.example, "http://b.example:8080"]
)");
  EXPECT_EQ(c.http.header_timeout, 2s);
  EXPECT_EQ(c.http.max_connections, 64);
  EXPECT_EQ(c.http.cors.allow_origins,
            (std::vector<std::string>{"https://a.example", "http://b.example:8080"}));
  EXPECT_TRUE(parse_config("http: {cors: {allow_origins: []}}").http.cors.allow_origins.empty());
  EXPECT_TRUE(parse_config("http: {cors: {allow_origins: ''}}").http.cors.allow_origins.empty());
  const char* env[] = {"HUBSTATSD_HTTP_CORS_ALLOW_ORIGINS=https://x.example https://y.example",
                       nullptr};
  EXPECT_EQ(parse_config("", env).http.cors.allow_origins,
            (std::vector<std::string>{"https://x.example", "https://y.example"}));
}

TEST(Config, HttpHardeningErrorsNameTheKey) {
  EXPECT_EQ(error_of("http: {header_timeout: 1ms}"),
            R"(http.header_timeout: too short "1ms" (minimum 100ms))");
  EXPECT_EQ(error_of("http: {max_connections: 0}"),
            R"(http.max_connections: out of range "0" (1..1000000))");
  EXPECT_EQ(
      error_of("http: {cors: {allow_origins: [a.example]}}"),
      R"(http.cors.allow_origins: bad origin "a.example" (expected "*" or scheme://host[:port]))");
  EXPECT_EQ(
      error_of("http: {cors: {allow_origins: ['https://a.example/path']}}"),
      R"(http.cors.allow_origins: bad origin "https://a.example/path" (expected "*" or scheme://host[:port]))");
  EXPECT_EQ(error_of("http: {cors: {allow_origins: ['*', 'https://a.example']}}"),
            R"(http.cors.allow_origins: "*" cannot be combined with other origins)");
  EXPECT_EQ(error_of("http: {cors: {allow_origin: '*'}}"), "http.cors.allow_origin: unknown key");
  EXPECT_EQ(error_of("http: {cors: '*'}"), "http.cors: unknown key");
}

TEST(Config, FoldMaxPaths) {
  EXPECT_EQ(parse_config("").fold.max_paths, 1000);
  EXPECT_EQ(parse_config("fold: {max_paths: 50}").fold.max_paths, 50);
  EXPECT_NE(error_of("fold: {max_paths: 0}").find("fold.max_paths"), std::string::npos);
  EXPECT_NE(error_of("fold: {max_paths: lots}").find("fold.max_paths"), std::string::npos);
}

TEST(Config, RetiredSessionWindowIsIgnoredWithAWarningNamingIt) {
  const Config c = parse_config("session_window: 30m\nlisten: {port: 9000}\n");
  EXPECT_EQ(c.listen.port, 9000);
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find("session_window"), std::string::npos) << c.warnings[0];
  EXPECT_TRUE(parse_config("").warnings.empty());
  // Other unknown keys still fail.
  EXPECT_NE(error_of("session_windows: 30m\n").find("unknown key"), std::string::npos);
}

TEST(Config, RedisClusterSeeds) {
  const Config c = parse_config("redis: {cluster: [\"127.0.0.1:7000\", \"[::1]:7001\"]}");
  EXPECT_EQ(c.redis.cluster, (std::vector<std::string>{"127.0.0.1:7000", "[::1]:7001"}));
  EXPECT_TRUE(parse_config("").redis.cluster.empty());  // single Redis stays the default
  const char* env[] = {"HUBSTATSD_REDIS_CLUSTER=127.0.0.1:7000,127.0.0.1:7001", nullptr};
  EXPECT_EQ(parse_config("", env).redis.cluster.size(), 2u);
}

TEST(Config, RedisClusterErrorsNameTheKey) {
  EXPECT_NE(error_of("redis: {cluster: []}").find("redis.cluster: must list at least one node"),
            std::string::npos);
  EXPECT_NE(error_of("redis: {cluster: }").find("redis.cluster: must list"), std::string::npos);
  EXPECT_NE(error_of("redis: {cluster: [\"localhost:7000\"]}").find("redis.cluster: bad address"),
            std::string::npos);
  EXPECT_NE(error_of("redis: {cluster: [\"127.0.0.1\"]}").find("redis.cluster: bad address"),
            std::string::npos);
  EXPECT_NE(error_of("redis: {cluster: [\"unix:/run/r.sock\"]}").find("needs ip:port"),
            std::string::npos);
  EXPECT_NE(error_of("redis: {address: \"127.0.0.1:6379\", cluster: [\"127.0.0.1:7000\"]}")
                .find("redis.cluster: cannot be combined with redis.address"),
            std::string::npos);
  const char* env[] = {"HUBSTATSD_REDIS_ADDRESS=127.0.0.1:6379", nullptr};
  EXPECT_NE(error_of("redis: {cluster: [\"127.0.0.1:7000\"]}", env).find("cannot be combined"),
            std::string::npos);
}
