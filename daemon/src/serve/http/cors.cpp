#include "serve/http/cors.h"

#include <algorithm>

namespace hubstatsd::http {

namespace {

// Readable by the page's script besides the CORS-safelisted ones (Content-Type, ...).
constexpr std::string_view kExposeHeaders =
    "X-Request-Id, X-Error-Code, X-Error-Message, Retry-After";
// Authorization must be listed by name: a "*" here would not cover it.
constexpr std::string_view kAllowHeaders = "Authorization, Content-Type, X-Request-Id";
constexpr std::string_view kMaxAge = "600";

}  // namespace

CorsPolicy::CorsPolicy(std::vector<std::string> allow_origins) {
  for (std::string& o : allow_origins) {
    if (o == "*")
      any_ = true;
    else
      origins_.push_back(std::move(o));
  }
}

std::optional<std::string> CorsPolicy::allowed_origin(std::string_view origin) const {
  if (any_) return std::string("*");
  if (origin.empty()) return std::nullopt;
  if (std::find(origins_.begin(), origins_.end(), origin) == origins_.end()) return std::nullopt;
  return std::string(origin);
}

void CorsPolicy::add_vary(Response& res) const {
  if (any_) return;  // "*" whatever the Origin: the answer does not depend on it
  for (auto& [k, v] : res.headers) {
    if (k == "Vary") {
      v += ", Origin";
      return;
    }
  }
  res.headers.emplace_back("Vary", "Origin");
}

void CorsPolicy::decorate(const Request& req, Response& res) const {
  if (!enabled()) return;
  add_vary(res);
  const auto allowed = allowed_origin(req.header("origin"));
  if (!allowed) return;
  res.headers.emplace_back("Access-Control-Allow-Origin", *allowed);
  res.headers.emplace_back("Access-Control-Expose-Headers", std::string(kExposeHeaders));
}

Response CorsPolicy::preflight(const Request& req, const std::string& allow) const {
  Response res;
  res.status = 204;
  res.content_type.clear();
  res.headers.emplace_back("Allow", allow);
  add_vary(res);
  const auto allowed = allowed_origin(req.header("origin"));
  if (!allowed) return res;  // no Access-Control-Allow-Origin: the browser refuses
  res.headers.emplace_back("Access-Control-Allow-Origin", *allowed);
  res.headers.emplace_back("Access-Control-Allow-Methods", allow);
  res.headers.emplace_back("Access-Control-Allow-Headers", std::string(kAllowHeaders));
  res.headers.emplace_back("Access-Control-Max-Age", std::string(kMaxAge));
  return res;
}

}  // namespace hubstatsd::http
