// A small synchronous HTTP/1.1 client (Boost.Beast) with one deadline per request.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "url.h"

namespace hubstats::cli {

struct HttpResponse {
  int status = 0;
  std::string reason;
  std::string content_type;
  std::string error_message;  // X-Error-Message header, if any
  std::string body;
};

struct HttpOptions {
  std::chrono::milliseconds timeout{10'000};  // whole request: resolve, connect, send, receive
  std::string ca_file;                        // https: extra CA bundle ("" = system store)
};

class HttpClient {
 public:
  HttpClient(BaseUrl base, HttpOptions options);

  // Sends `method` to base.prefix + target (target starts with '/', query included).
  // bearer, when set, goes in "Authorization: Bearer ..."; a non-empty body is sent as JSON.
  // Throws CliError(kUnreachable) for network failures and timeouts, and
  // CliError(kHttpError) for an unreadable response. Any HTTP status is returned.
  HttpResponse send(const std::string& method, const std::string& target,
                    const std::optional<std::string>& bearer, const std::string& body = "") const;

  const BaseUrl& base() const { return base_; }

 private:
  BaseUrl base_;
  HttpOptions options_;
};

}  // namespace hubstats::cli
