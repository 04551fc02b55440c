// Where Redis lives, as the module's hubstats_redis directive and the daemon's
// redis.address both write it: an IP literal with port, or a unix socket. Host names
// are rejected on purpose: hiredis resolves them with a blocking getaddrinfo(), which
// would stall nginx's event loop or a daemon thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hubstats::contract {

struct RedisAddress {
  bool is_unix = false;
  std::string host;  // IP literal (no brackets) or unix socket path
  int port = 0;      // 0 for unix sockets
};

// Accepts "127.0.0.1:6379", "[::1]:6379", "unix:/run/redis.sock". On failure returns
// nullopt and, if why is given, stores the reason ("write IPv6 as [addr]:port", ...).
std::optional<RedisAddress> parse_redis_address(std::string_view text, std::string* why = nullptr);

}  // namespace hubstats::contract
