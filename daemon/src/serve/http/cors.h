// CORS for the public read endpoints (stats, recent, trending, chart, badge), so that a
// page on another origin (a project's homepage, the hub's UI on another host) can call
// them with fetch(), with or without an Authorization header. Admin routes never get
// these headers: the Router marks which routes take part (Router::allow_cors).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "serve/http/message.h"

namespace hubstatsd::http {

class CorsPolicy {
 public:
  // {"*"}: any origin; otherwise exact "scheme://host[:port]" origins; empty: off.
  explicit CorsPolicy(std::vector<std::string> allow_origins);

  bool enabled() const { return any_ || !origins_.empty(); }

  // Adds Access-Control-Allow-Origin (and Expose-Headers) to the response of a
  // CORS-enabled route when the request's origin is allowed; with a list of origins the
  // answer depends on Origin, so it also carries Vary: Origin.
  void decorate(const Request& req, Response& res) const;

  // The answer to OPTIONS on a CORS-enabled path (a preflight): 204 with Allow, and the
  // Access-Control-Allow-* headers when the origin is allowed. `allow` is the path's
  // methods, e.g. "GET, HEAD, OPTIONS".
  Response preflight(const Request& req, const std::string& allow) const;

 private:
  // The Access-Control-Allow-Origin value for this Origin header, if allowed.
  std::optional<std::string> allowed_origin(std::string_view origin) const;
  void add_vary(Response& res) const;

  bool any_ = false;
  std::vector<std::string> origins_;
};

}  // namespace hubstatsd::http
