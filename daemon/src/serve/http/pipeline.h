// What happens around routing for every request: the request id, mapping backend
// failures to 503 (and bugs to 500), CORS on the routes that take part (preflights
// included), and one access-log line.
#pragma once

#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "serve/http/cors.h"
#include "serve/http/message.h"
#include "serve/http/router.h"

namespace hubstatsd::http {

// True for an incoming X-Request-Id worth echoing: 1..128 chars of [A-Za-z0-9._:-].
bool sane_request_id(std::string_view id) noexcept;
// 32 random hex characters.
std::string make_request_id();

// Told about every answered request (per-route metrics). Called on handler threads, so
// it must be cheap and thread-safe.
class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  // route: index in Router::routes() of the route that answered, -1 when none did.
  virtual void observe(const Request& req, int route, int status,
                       std::chrono::nanoseconds elapsed) noexcept = 0;
};

class Pipeline {
 public:
  // cors: nullptr or a disabled policy: no CORS headers, OPTIONS is a 405 like any
  // unrouted method.
  explicit Pipeline(const Router& router, RequestObserver* observer = nullptr,
                    const CorsPolicy* cors = nullptr)
      : router_(router), observer_(observer), cors_(cors && cors->enabled() ? cors : nullptr) {}

  // Sets req.request_id (unless handle_fast did), dispatches, and returns the response
  // with X-Request-Id set. Never throws.
  Response handle(Request& req) const;

  // The io threads' fast path (a Server FastHandler): when the matching route has a
  // non-blocking variant, runs it and finishes with the complete response (as handle()
  // would build it); finishes with nullopt when there is none or it declines, and
  // handle() must run on the handler pool. Never throws.
  void handle_fast(Request& req, std::function<void(std::optional<Response>)> finish) const;

 private:
  void assign_request_id(Request& req) const;
  Response error_response(const Request& req, std::exception_ptr error) const;
  // X-Request-Id, the observer and the access-log line.
  Response complete(const Request& req, int route, Response res,
                    std::chrono::steady_clock::time_point started) const;

  const Router& router_;
  RequestObserver* observer_;
  const CorsPolicy* cors_;
};

}  // namespace hubstatsd::http
