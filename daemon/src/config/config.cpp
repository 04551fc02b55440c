#include "config/config.h"

#include <boost/asio/ip/address.hpp>
#include <cctype>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "hubstats/duration.h"
#include "hubstats/contract/redis_address.h"

extern char** environ;

namespace hubstatsd::config {

namespace {

using Setter = std::function<void(Config&, const std::string& path, const std::string& value)>;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw ConfigError(path + ": " + what);
}

std::string quoted(const std::string& v) {
  return "\"" + v + "\"";
}

std::int64_t to_int(const std::string& path, const std::string& v, std::int64_t lo,
                    std::int64_t hi) {
  std::int64_t n = 0;
  bool digits = !v.empty();
  for (char c : v) {
    if (c < '0' || c > '9') {
      digits = false;
      break;
    }
    if (n > hi) break;
    n = n * 10 + (c - '0');
  }
  if (!digits) fail(path, "bad integer " + quoted(v));
  if (n < lo || n > hi) {
    fail(path,
         "out of range " + quoted(v) + " (" + std::to_string(lo) + ".." + std::to_string(hi) + ")");
  }
  return n;
}

milliseconds to_duration(const std::string& path, const std::string& v, milliseconds min) {
  const auto d = hubstats::parse_duration(v);
  if (!d) fail(path, "bad duration " + quoted(v));
  if (*d < min)
    fail(path, "too short " + quoted(v) + " (minimum " + std::to_string(min.count()) + "ms)");
  return *d;
}

std::size_t to_size(const std::string& path, const std::string& v) {
  // Bytes, optionally with k/m suffix (binary): "16k", "1m", "8192".
  std::string digits = v;
  std::size_t mult = 1;
  if (!digits.empty() && (digits.back() == 'k' || digits.back() == 'K')) {
    mult = 1024;
    digits.pop_back();
  } else if (!digits.empty() && (digits.back() == 'm' || digits.back() == 'M')) {
    mult = 1024 * 1024;
    digits.pop_back();
  }
  for (char c : digits) {
    if (c < '0' || c > '9') fail(path, "bad size " + quoted(v));
  }
  if (digits.empty() || digits.size() > 10) fail(path, "bad size " + quoted(v));
  const std::size_t n = std::stoull(digits) * mult;
  if (n < 1024 || n > (1ull << 32)) fail(path, "out of range " + quoted(v) + " (1k..4096m)");
  return n;
}

bool to_bool(const std::string& path, const std::string& v) {
  if (v == "true" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "no" || v == "off") return false;
  fail(path, "bad boolean " + quoted(v));
}

// "*" alone, or origins "scheme://host[:port]" (no path), separated by commas or spaces.
std::vector<std::string> to_origins(const std::string& path, const std::string& v) {
  std::vector<std::string> out;
  std::string cur;
  for (std::size_t i = 0; i <= v.size(); ++i) {
    const char c = i < v.size() ? v[i] : ',';
    if (c == ',' || c == ' ' || c == '\t') {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  for (const std::string& o : out) {
    if (o == "*") {
      if (out.size() != 1) fail(path, "\"*\" cannot be combined with other origins");
      continue;
    }
    const std::size_t sep = o.find("://");
    const bool scheme_ok = sep != std::string::npos && sep > 0 &&
                           o.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789+.-") >= sep;
    const std::string host = sep == std::string::npos ? "" : o.substr(sep + 3);
    if (!scheme_ok || host.empty() || host.find_first_of("/?#@ ") != std::string::npos)
      fail(path, "bad origin " + quoted(o) + " (expected \"*\" or scheme://host[:port])");
  }
  return out;
}

std::string non_empty(const std::string& path, const std::string& v) {
  if (v.empty()) fail(path, "must not be empty");
  return v;
}

// The schema: every scalar key and how to apply it.
const std::map<std::string, Setter>& schema() {
  static const std::map<std::string, Setter> keys = {
      {"listen.address",
       [](Config& c, const std::string& p, const std::string& v) {
         boost::system::error_code ec;
         boost::asio::ip::make_address(v, ec);
         if (ec) fail(p, "bad IP address " + quoted(v));
         c.listen.address = v;
       }},
      {"listen.port",
       [](Config& c, const std::string& p, const std::string& v) {
         c.listen.port = static_cast<std::uint16_t>(to_int(p, v, 0, 65535));
       }},
      {"http.threads",
       [](Config& c, const std::string& p, const std::string& v) {
         c.http.threads = static_cast<int>(to_int(p, v, 1, 256));
       }},
      {"http.handler_threads",
       [](Config& c, const std::string& p, const std::string& v) {
         c.http.handler_threads = static_cast<int>(to_int(p, v, 1, 1024));
       }},
      {"http.header_limit", [](Config& c, const std::string& p,
                               const std::string& v) { c.http.header_limit = to_size(p, v); }},
      {"http.body_limit", [](Config& c, const std::string& p,
                             const std::string& v) { c.http.body_limit = to_size(p, v); }},
      {"http.idle_timeout",
       [](Config& c, const std::string& p, const std::string& v) {
         c.http.idle_timeout = to_duration(p, v, milliseconds(100));
       }},
      {"http.header_timeout",
       [](Config& c, const std::string& p, const std::string& v) {
         c.http.header_timeout = to_duration(p, v, milliseconds(100));
       }},
      {"http.max_connections",
       [](Config& c, const std::string& p, const std::string& v) {
         c.http.max_connections = static_cast<int>(to_int(p, v, 1, 1'000'000));
       }},
      {"http.cors.allow_origins", [](Config& c, const std::string& p,
                                     const std::string& v) { c.http.cors.allow_origins = to_origins(p, v); }},
      {"http.keepalive", [](Config& c, const std::string& p,
                            const std::string& v) { c.http.keepalive = to_bool(p, v); }},
      {"http.shutdown_grace",
       [](Config& c, const std::string& p, const std::string& v) {
         c.http.shutdown_grace = to_duration(p, v, milliseconds(0));
       }},
      {"redis.address",
       [](Config& c, const std::string& p, const std::string& v) {
         std::string why;
         if (!hubstats::contract::parse_redis_address(v, &why))
           fail(p, "bad address \"" + v + "\" (" + why + ")");
         c.redis.address = v;
         c.redis.address_set = true;
       }},
      {"redis.cluster",
       [](Config& c, const std::string& p, const std::string& v) {
         // Seed nodes of a Redis Cluster: any of them tells the daemon the rest.
         std::vector<std::string> seeds;
         std::string cur;
         for (std::size_t i = 0; i <= v.size(); ++i) {
           const char ch = i < v.size() ? v[i] : ',';
           if (ch == ',' || ch == ' ' || ch == '\t') {
             if (!cur.empty()) seeds.push_back(std::move(cur));
             cur.clear();
           } else {
             cur.push_back(ch);
           }
         }
         if (seeds.empty()) fail(p, "must list at least one node (ip:port)");
         for (const auto& s : seeds) {
           std::string why;
           const auto a = hubstats::contract::parse_redis_address(s, &why);
           if (!a) fail(p, "bad address \"" + s + "\" (" + why + ")");
           if (a->is_unix) fail(p, "bad address \"" + s + "\" (a cluster node needs ip:port)");
         }
         c.redis.cluster = std::move(seeds);
       }},
      {"redis.connect_timeout",
       [](Config& c, const std::string& p, const std::string& v) {
         c.redis.connect_timeout = to_duration(p, v, milliseconds(1));
       }},
      {"redis.command_timeout",
       [](Config& c, const std::string& p, const std::string& v) {
         c.redis.command_timeout = to_duration(p, v, milliseconds(1));
       }},
      {"postgres.dsn", [](Config& c, const std::string& p,
                          const std::string& v) { c.postgres.dsn = non_empty(p, v); }},
      {"postgres.pool_size",
       [](Config& c, const std::string& p, const std::string& v) {
         c.postgres.pool_size = static_cast<int>(to_int(p, v, 1, 1024));
       }},
      {"postgres.connect_timeout",
       [](Config& c, const std::string& p, const std::string& v) {
         c.postgres.connect_timeout =
             to_duration(p, v, milliseconds(1000));  // libpq: whole seconds
       }},
      {"postgres.statement_timeout",
       [](Config& c, const std::string& p, const std::string& v) {
         c.postgres.statement_timeout = to_duration(p, v, milliseconds(1));
       }},
      {"fold.background", [](Config& c, const std::string& p,
                             const std::string& v) { c.fold.background = to_bool(p, v); }},
      {"fold.interval",
       [](Config& c, const std::string& p, const std::string& v) {
         // An empty Redis loses at most one interval of counts: keep it short.
         c.fold.interval = to_duration(p, v, milliseconds(100));
         if (c.fold.interval > milliseconds(60'000))
           fail(p, "too long " + quoted(v) + " (maximum 60s: an empty Redis loses one interval)");
       }},
      {"fold.redis_fsync_lag",
       [](Config& c, const std::string& p, const std::string& v) {
         c.fold.redis_fsync_lag = to_duration(p, v, milliseconds(0));
         if (c.fold.redis_fsync_lag > milliseconds(10'000))
           fail(p, "too long " + quoted(v) + " (maximum 10s)");
       }},
      {"fold.retention",
       [](Config& c, const std::string& p, const std::string& v) {
         c.fold.retention = to_duration(p, v, milliseconds(86'400'000));
       }},
      {"fold.max_paths",
       [](Config& c, const std::string& p, const std::string& v) {
         c.fold.max_paths = to_int(p, v, 1, 100'000);
       }},
      {"fold.today_cache_ttl",
       [](Config& c, const std::string& p, const std::string& v) {
         c.fold.today_cache_ttl = to_duration(p, v, milliseconds(0));
       }},
      {"log.level",
       [](Config& c, const std::string& p, const std::string& v) {
         const auto l = log::parse_level(v);
         if (!l) fail(p, "bad level " + quoted(v) + " (debug|info|warn|error)");
         c.log.level = *l;
       }},
      {"log.format",
       [](Config& c, const std::string& p, const std::string& v) {
         const auto f = log::parse_format(v);
         if (!f) fail(p, "bad format " + quoted(v) + " (logfmt|json)");
         c.log.format = *f;
       }},
      {"log.file", [](Config& c, const std::string&, const std::string& v) { c.log.file = v; }},
  };
  return keys;
}

const char* kSections[] = {"listen", "http", "redis", "postgres", "fold", "log"};

bool is_section(const std::string& k) {
  for (const char* s : kSections) {
    if (k == s) return true;
  }
  return false;
}

// List keys take a sequence of scalars, joined with commas for their setter.
bool is_list_key(const std::string& path) {
  return path == "http.cors.allow_origins" || path == "redis.cluster";
}

std::string scalar_of(const YAML::Node& n, const std::string& path) {
  if (n.IsSequence() && is_list_key(path)) {
    std::string joined;
    for (const auto& item : n) {
      if (!item.IsScalar()) fail(path, "expected a list of scalar values");
      if (item.Scalar().find(',') != std::string::npos)
        fail(path, "bad value " + quoted(item.Scalar()));
      if (!joined.empty()) joined += ',';
      joined += item.Scalar();
    }
    return joined;
  }
  if (n.IsNull() && is_list_key(path)) return "";
  if (!n.IsScalar()) fail(path, "expected a scalar value");
  return n.Scalar();
}

// Applies the keys of one mapping under `prefix` ("http", "http.cors"); a nested
// mapping is allowed where the schema has keys below it.
void apply_section(Config& c, const std::string& prefix, const YAML::Node& section);

std::string env_name(const std::string& path) {
  std::string n = "HUBSTATSD_";
  for (char c : path) n.push_back(c == '.' ? '_' : static_cast<char>(std::toupper(c)));
  return n;
}

void apply(Config& c, const std::string& path, const std::string& value) {
  schema().at(path)(c, path, value);
}

bool has_keys_below(const std::string& prefix) {
  const auto it = schema().lower_bound(prefix + ".");
  return it != schema().end() && it->first.compare(0, prefix.size() + 1, prefix + ".") == 0;
}

void apply_section(Config& c, const std::string& prefix, const YAML::Node& section) {
  for (const auto& inner : section) {
    const std::string path = prefix + "." + inner.first.as<std::string>();
    if (inner.second.IsMap() && has_keys_below(path)) {
      apply_section(c, path, inner.second);
      continue;
    }
    if (!schema().count(path)) fail(path, "unknown key");
    apply(c, path, scalar_of(inner.second, path));
  }
}

}  // namespace

Config parse_config(std::string_view yaml_text, const char* const* env) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    throw ConfigError("YAML syntax error: " + std::string(e.what()));
  }
  Config c;
  if (!root.IsNull()) {
    if (!root.IsMap()) throw ConfigError("(top level): expected a mapping of sections");
    for (const auto& kv : root) {
      const std::string key = kv.first.as<std::string>();
      if (key == "catalog") {
        c.catalog = kv.second;
      } else if (is_section(key)) {
        if (kv.second.IsNull()) continue;
        if (!kv.second.IsMap()) fail(key, "expected a mapping");
        apply_section(c, key, kv.second);
      } else if (schema().count(key)) {
        apply(c, key, scalar_of(kv.second, key));
      } else if (key == "session_window") {
        // Older versions parsed it and never used it; configs written for them keep
        // working (a value that is not a duration still fails), with a warning.
        to_duration(key, scalar_of(kv.second, key), milliseconds(1000));
        c.warnings.push_back(
            "session_window: ignored, no longer used (the nginx module's "
            "hubstats_session_window alone sets the window); remove it");
      } else {
        fail(key, "unknown key");
      }
    }
  }
  if (env) {
    for (const auto& [path, setter] : schema()) {
      const std::string prefix = env_name(path) + "=";
      for (const char* const* e = env; *e; ++e) {
        if (std::strncmp(*e, prefix.c_str(), prefix.size()) == 0) {
          try {
            setter(c, path, std::string(*e + prefix.size()));
          } catch (const ConfigError& err) {
            throw ConfigError(std::string(err.what()) + " (from " + env_name(path) + ")");
          }
        }
      }
    }
  }
  if (c.redis.address_set && !c.redis.cluster.empty())
    fail("redis.cluster", "cannot be combined with redis.address (set one of them)");
  return c;
}

Config load_config_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(std::string("cannot read file: ") + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), environ);
}

std::vector<std::string> known_keys() {
  std::vector<std::string> out;
  for (const auto& [k, _] : schema()) out.push_back(k);
  return out;
}

}  // namespace hubstatsd::config
