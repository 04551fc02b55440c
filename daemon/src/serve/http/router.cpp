#include "serve/http/router.h"

#include <stdexcept>

namespace hubstatsd::http {

namespace {

// HEAD is served by the GET route.
bool method_matches(const std::string& route_method, const std::string& req_method) {
  return route_method == req_method || (req_method == "HEAD" && route_method == "GET");
}

void allow_add(std::string& allow, std::string_view method) {
  // Whole-token comparison ("GET" must not be found inside "GETX").
  std::string_view rest = allow;
  while (!rest.empty()) {
    const std::size_t comma = rest.find(", ");
    if (rest.substr(0, comma) == method) return;
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 2);
  }
  if (!allow.empty()) allow += ", ";
  allow += method;
}

}  // namespace

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    parts.push_back(path.substr(i, j - i));
    i = j;
  }
  return parts;
}

void Router::add(std::string_view method, std::string_view pattern, Handler handler) {
  Route r;
  r.method = std::string(method);
  r.pattern = std::string(pattern);
  for (std::string_view part : split_path(pattern)) {
    Segment s;
    const std::size_t open = part.find('{');
    if (open == std::string_view::npos) {
      s.prefix = std::string(part);
    } else {
      const std::size_t close = part.find('}', open);
      if (close == std::string_view::npos || close == open + 1) {
        throw std::invalid_argument("bad route pattern: " + std::string(pattern));
      }
      s.prefix = std::string(part.substr(0, open));
      s.var = std::string(part.substr(open + 1, close - open - 1));
      s.suffix = std::string(part.substr(close + 1));
    }
    r.segments.push_back(std::move(s));
  }
  r.handler = std::move(handler);
  routes_.push_back(std::move(r));
}

void Router::add_with_api_prefix(std::string_view method, std::string_view pattern,
                                 Handler handler) {
  add(method, pattern, handler);
  add(method, "/api" + std::string(pattern), std::move(handler));
}

void Router::add_fast(std::string_view method, std::string_view pattern, FastRouteHandler fast) {
  for (Route& r : routes_) {
    if (r.method == method && r.pattern == pattern) {
      r.fast = std::move(fast);
      return;
    }
  }
  throw std::invalid_argument("add_fast: no route " + std::string(method) + " " +
                              std::string(pattern));
}

void Router::add_fast_with_api_prefix(std::string_view method, std::string_view pattern,
                                      FastRouteHandler fast) {
  add_fast(method, pattern, fast);
  add_fast(method, "/api" + std::string(pattern), std::move(fast));
}

void Router::constrain(std::string name, ParamCheck check) {
  checks_.emplace_back(std::move(name), std::move(check));
}

void Router::allow_cors(std::string_view pattern) {
  bool found = false;
  for (Route& r : routes_) {
    if (r.pattern == pattern || r.pattern == "/api" + std::string(pattern)) {
      r.cors = true;
      found = true;
    }
  }
  if (!found) throw std::invalid_argument("allow_cors: no route " + std::string(pattern));
}

bool Router::match(const Route& r, const std::vector<std::string_view>& parts,
                   PathParams& out) const {
  if (r.segments.size() != parts.size()) return false;
  out.clear();
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const Segment& s = r.segments[i];
    std::string_view p = parts[i];
    if (s.var.empty()) {
      if (p != s.prefix) return false;
      continue;
    }
    if (p.size() <= s.prefix.size() + s.suffix.size()) return false;  // capture non-empty
    if (p.substr(0, s.prefix.size()) != s.prefix) return false;
    if (p.substr(p.size() - s.suffix.size()) != s.suffix) return false;
    std::string_view value =
        p.substr(s.prefix.size(), p.size() - s.prefix.size() - s.suffix.size());
    for (const auto& [name, check] : checks_) {
      if (name == s.var && !check(value)) return false;
    }
    out.emplace(s.var, std::string(value));
  }
  return true;
}

Response Router::dispatch(const Request& req) const {
  return dispatch(req, nullptr);
}

std::string Router::allow_of(const std::vector<std::string_view>& parts, bool* cors) const {
  std::string allow;
  PathParams params;
  for (const Route& r : routes_) {
    if (!match(r, parts, params)) continue;
    allow_add(allow, r.method);
    if (r.method == "GET") allow_add(allow, "HEAD");
    if (r.cors) *cors = true;
  }
  if (*cors) allow_add(allow, "OPTIONS");
  return allow;
}

Response Router::dispatch(const Request& req, int* route) const {
  if (route) *route = -1;
  const auto parts = split_path(req.path);
  PathParams params;
  for (const Route& r : routes_) {
    if (!method_matches(r.method, req.method) || !match(r, parts, params)) continue;
    if (route) *route = static_cast<int>(&r - routes_.data());
    return r.handler(req, params);
  }
  bool cors = false;
  const std::string allow = allow_of(parts, &cors);
  if (allow.empty()) return detail_response(404, "Not Found");
  Response res = detail_response(405, "Method Not Allowed");
  res.headers.emplace_back("Allow", allow);
  return res;
}

std::optional<std::string> Router::cors_allow(const Request& req) const {
  bool cors = false;
  std::string allow = allow_of(split_path(req.path), &cors);
  if (!cors) return std::nullopt;
  return allow;
}

int Router::find_fast(const Request& req, PathParams* params) const {
  const auto parts = split_path(req.path);
  for (const Route& r : routes_) {
    if (!method_matches(r.method, req.method) || !match(r, parts, *params)) continue;
    // The first match answers in dispatch(); only its own variant may stand in.
    return r.fast ? static_cast<int>(&r - routes_.data()) : -1;
  }
  return -1;
}

std::vector<std::pair<std::string, std::string>> Router::routes() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Route& r : routes_) out.emplace_back(r.method, r.pattern);
  return out;
}

}  // namespace hubstatsd::http
