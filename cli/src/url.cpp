#include "url.h"

#include <cctype>

#include "exit_codes.h"

namespace hubstats::cli {
namespace {

[[noreturn]] void bad_url(std::string_view url, std::string_view why) {
  throw CliError(ExitCode::kBadArgument,
                 "invalid --url '" + std::string(url) + "' (" + std::string(why) + ")");
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

std::string BaseUrl::host_header() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  bool default_port = (scheme == "http" && port == "80") || (scheme == "https" && port == "443");
  return default_port ? h : h + ":" + port;
}

std::string BaseUrl::display() const {
  return scheme + "://" + host_header() + prefix;
}

BaseUrl parse_base_url(std::string_view url) {
  BaseUrl out;
  auto sep = url.find("://");
  if (sep == std::string_view::npos) bad_url(url, "expected http://host[:port]");
  out.scheme = std::string(url.substr(0, sep));
  for (auto& c : out.scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (out.scheme != "http" && out.scheme != "https") bad_url(url, "scheme must be http or https");
  std::string_view rest = url.substr(sep + 3);
  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) bad_url(url, "credentials in URL");
  if (path.find_first_of("?#") != std::string_view::npos) bad_url(url, "query or fragment");
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) bad_url(url, "unterminated IPv6 literal");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') bad_url(url, "junk after IPv6 literal");
      port = after.substr(1);
      if (port.empty()) bad_url(url, "empty port");
    }
  } else {
    auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) bad_url(url, "empty port");
    }
  }
  if (out.host.empty()) bad_url(url, "missing host");
  if (!port.empty()) {
    if (!all_digits(port) || port.size() > 5 || std::stoi(std::string(port)) > 65535 ||
        std::stoi(std::string(port)) == 0) {
      bad_url(url, "bad port");
    }
    out.port = std::string(port);
  } else {
    out.port = out.scheme == "https" ? "443" : "80";
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  out.prefix = std::string(path);
  return out;
}

std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

std::string query_string(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    out += out.empty() ? '?' : '&';
    out += percent_encode(k) + "=" + percent_encode(v);
  }
  return out;
}

}  // namespace hubstats::cli
