// Where the module's Redis lives: an IP literal with port, or a unix socket.
// Host names are rejected on purpose: hiredis resolves them with a blocking
// getaddrinfo() on the worker's event loop. Pure: no nginx types.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hubstats::module {

struct RedisAddress {
  bool is_unix = false;
  std::string host;  // IP literal (no brackets) or unix socket path
  int port = 0;      // 0 for unix sockets
};

// Accepts "127.0.0.1:6379", "[::1]:6379", "unix:/run/redis.sock".
std::optional<RedisAddress> parse_redis_address(std::string_view text);

}  // namespace hubstats::module
