#include "hubstats/contract/redis_address.h"

#include <arpa/inet.h>

namespace hubstats::contract {

namespace {

bool is_ip_literal(const std::string& host) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::optional<int> parse_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  int port = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    port = port * 10 + (c - '0');
  }
  if (port < 1 || port > 65535) return std::nullopt;
  return port;
}

std::optional<RedisAddress> fail(std::string* why, const char* reason) {
  if (why) *why = reason;
  return std::nullopt;
}

}  // namespace

std::optional<RedisAddress> parse_redis_address(std::string_view text, std::string* why) {
  constexpr std::string_view kUnix = "unix:";
  if (text.substr(0, kUnix.size()) == kUnix) {
    const std::string_view path = text.substr(kUnix.size());
    if (path.empty() || path.front() != '/') return fail(why, "unix:/absolute/path");
    return RedisAddress{true, std::string(path), 0};
  }
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {  // [v6]:port
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return fail(why, "ip:port, [ipv6]:port or unix:/path");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return fail(why, "ip:port, [ipv6]:port or unix:/path");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    // "::1:6379" could be read two ways
    if (host.find(':') != std::string_view::npos) return fail(why, "write IPv6 as [addr]:port");
  }
  std::string h(host);
  if (h.empty() || !is_ip_literal(h)) {
    return fail(why, "an IP literal is required: name lookups would block");
  }
  auto p = parse_port(port);
  if (!p) return fail(why, "the port must be 1..65535");
  return RedisAddress{false, std::move(h), *p};
}

}  // namespace hubstats::contract
