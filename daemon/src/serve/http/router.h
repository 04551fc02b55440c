// Maps (method, path) to a handler. Patterns are "/"-separated segments, each a literal,
// a capture "{var}", or a capture with literal affixes such as "{type}s". Captures can be
// constrained by name (e.g. "type" must be model|dataset|space); a path whose captures
// fail their constraint matches no route.
//
// Components register their routes through functions such as
//   void register_stats_routes(Router&, ...);
#pragma once

#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "serve/http/message.h"

namespace hubstatsd::http {

using Handler = std::function<Response(const Request&, const PathParams&)>;
using ParamCheck = std::function<bool(std::string_view)>;

// How a non-blocking route variant ends: with a response, with an error (mapped like a
// blocking handler's exception: Unavailable answers 503), or with neither to decline,
// so the route's blocking handler runs on the handler pool instead.
struct FastResult {
  std::optional<Response> response;
  std::exception_ptr error;
};
using FastDone = std::function<void(FastResult)>;
// A route's non-blocking variant, run on an io thread: it must never block (no blocking
// I/O) and never throw; it calls done exactly once, now or later on the same thread.
// The params are only valid during the call.
using FastRouteHandler = std::function<void(const Request&, const PathParams&, FastDone done)>;

class Router {
 public:
  // Adds a route. Routes are tried in registration order.
  void add(std::string_view method, std::string_view pattern, Handler handler);
  // Adds the route both as written and under the "/api" prefix (KohakuHub serves them there).
  void add_with_api_prefix(std::string_view method, std::string_view pattern, Handler handler);
  // Gives the route (method, pattern), added before, a non-blocking variant for the io
  // threads (throws std::invalid_argument when there is no such route).
  void add_fast(std::string_view method, std::string_view pattern, FastRouteHandler fast);
  void add_fast_with_api_prefix(std::string_view method, std::string_view pattern,
                                FastRouteHandler fast);
  // Every capture named `name` must satisfy `check`.
  void constrain(std::string name, ParamCheck check);
  // Marks every route added with this pattern (and "/api" + pattern, when added) as a
  // public read endpoint that answers CORS (http/cors.h); throws std::invalid_argument
  // when there is none.
  void allow_cors(std::string_view pattern);

  // Calls the matching handler; 404 {"detail":"Not Found"} for an unknown path, 405
  // {"detail":"Method Not Allowed"} with an Allow header for a known path and wrong method.
  // HEAD is answered by the GET route (the server then drops the body, RFC 9110 §9.3.2).
  Response dispatch(const Request& req) const;
  // Same, and sets *route to the index in routes() of the route that answered, or to
  // -1 when none did (the 404/405 above). For per-route metrics.
  Response dispatch(const Request& req, int* route) const;

  // The index of the route that dispatch() would call when it has a non-blocking
  // variant, with its captures in *params; -1 otherwise.
  int find_fast(const Request& req, PathParams* params) const;
  // Runs the non-blocking variant of route `index` (from find_fast).
  void run_fast(int index, const Request& req, const PathParams& params, FastDone done) const {
    routes_[static_cast<std::size_t>(index)].fast(req, params, std::move(done));
  }

  // Whether route `index` (from dispatch) answers CORS.
  bool cors(int index) const { return index >= 0 && routes_[static_cast<std::size_t>(index)].cors; }
  // For a path with a CORS route: its Allow value ("GET, HEAD, OPTIONS"), for the
  // preflight; nullopt when no CORS route matches the path.
  std::optional<std::string> cors_allow(const Request& req) const;

  // The registered (method, pattern) pairs, for introspection (e.g. an OpenAPI check).
  std::vector<std::pair<std::string, std::string>> routes() const;

 private:
  struct Segment {
    std::string prefix;  // literal text before the capture, or the whole literal
    std::string var;     // empty for a literal segment
    std::string suffix;  // literal text after the capture
  };
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<Segment> segments;
    Handler handler;
    FastRouteHandler fast;  // optional
    bool cors = false;
  };

  bool match(const Route& r, const std::vector<std::string_view>& parts, PathParams& out) const;
  // The Allow value of the routes matching the path; empty when none does.
  std::string allow_of(const std::vector<std::string_view>& parts, bool* cors) const;

  std::vector<Route> routes_;
  std::vector<std::pair<std::string, ParamCheck>> checks_;
};

// Splits "/a/b/c" into {"a","b","c"}; an empty path or "/" gives no segments.
std::vector<std::string_view> split_path(std::string_view path);

}  // namespace hubstatsd::http
