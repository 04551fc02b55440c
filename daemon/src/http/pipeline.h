// What happens around routing for every request: the request id, mapping backend
// failures to 503 (and bugs to 500), and one access-log line.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "http/message.h"
#include "http/router.h"

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
  explicit Pipeline(const Router& router, RequestObserver* observer = nullptr)
      : router_(router), observer_(observer) {}

  // Sets req.request_id, dispatches, and returns the response with X-Request-Id set.
  // Never throws.
  Response handle(Request& req) const;

 private:
  const Router& router_;
  RequestObserver* observer_;
};

}  // namespace hubstatsd::http
