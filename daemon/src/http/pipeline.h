// What happens around routing for every request: the request id, mapping backend
// failures to 503 (and bugs to 500), and one access-log line.
#pragma once

#include <string>
#include <string_view>

#include "http/message.h"
#include "http/router.h"

namespace hubstatsd::http {

// True for an incoming X-Request-Id worth echoing: 1..128 chars of [A-Za-z0-9._:-].
bool sane_request_id(std::string_view id) noexcept;
// 32 random hex characters.
std::string make_request_id();

class Pipeline {
 public:
  explicit Pipeline(const Router& router) : router_(router) {}

  // Sets req.request_id, dispatches, and returns the response with X-Request-Id set.
  // Never throws.
  Response handle(Request& req) const;

 private:
  const Router& router_;
};

}  // namespace hubstatsd::http
