// The server's base URL and the pieces of request targets built on it.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hubstats::cli {

struct BaseUrl {
  std::string scheme;  // "http" or "https"
  std::string host;    // without brackets for IPv6 literals
  std::string port;    // always set ("80"/"443" by default)
  std::string prefix;  // path prefix without a trailing '/', "" for the root

  // Host header value: host[:port] (port omitted when it is the scheme's default).
  std::string host_header() const;
  // scheme://host[:port]prefix, for messages.
  std::string display() const;
};

// Accepts http://host[:port][/prefix] and https://...; throws CliError(kBadArgument).
BaseUrl parse_base_url(std::string_view url);

// Percent-encodes everything outside RFC 3986 unreserved characters.
std::string percent_encode(std::string_view s);

// "?a=1&b=x" (encoded), or "" when empty.
std::string query_string(const std::vector<std::pair<std::string, std::string>>& params);

}  // namespace hubstats::cli
