#include "serve/http/pipeline.h"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>

#include "log/logger.h"
#include "base/unavailable.h"

namespace hubstatsd::http {

bool sane_request_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string make_request_id() {
  thread_local std::mt19937_64 rng{[] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(32, '0');
  for (int half = 0; half < 2; ++half) {
    std::uint64_t v = rng();
    for (int i = 15; i >= 0; --i, v >>= 4)
      id[static_cast<std::size_t>(half * 16 + i)] = kHex[v & 15];
  }
  return id;
}

void Pipeline::assign_request_id(Request& req) const {
  if (!req.request_id.empty()) return;  // handle_fast declined: keep its id
  const std::string_view incoming = req.header("x-request-id");
  req.request_id = sane_request_id(incoming) ? std::string(incoming) : make_request_id();
}

Response Pipeline::error_response(const Request& req, std::exception_ptr error) const {
  try {
    std::rethrow_exception(error);
  } catch (const Unavailable& e) {
    log::warn("backend unavailable", {{"request_id", req.request_id}, {"error", e.what()}});
    Response res = detail_response(503, "Service temporarily unavailable");
    res.headers.emplace_back("Retry-After", "1");
    return res;
  } catch (const std::exception& e) {
    log::error("handler failed", {{"request_id", req.request_id}, {"error", e.what()}});
  } catch (...) {
    log::error("handler failed", {{"request_id", req.request_id}, {"error", "unknown"}});
  }
  return detail_response(500, "Internal Server Error");
}

Response Pipeline::complete(const Request& req, int route, Response res,
                            std::chrono::steady_clock::time_point started) const {
  if (cors_ && router_.cors(route)) cors_->decorate(req, res);
  res.headers.emplace_back("X-Request-Id", req.request_id);
  const auto now = std::chrono::steady_clock::now();
  if (observer_) observer_->observe(req, route, res.status, now - started);

  if (log::Logger::global().enabled(log::Level::kInfo)) {
    // Milliseconds with three decimals, without printf (one line per request).
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - started).count();
    std::string dur = std::to_string(us / 1000);
    dur.push_back('.');
    dur.push_back(static_cast<char>('0' + us / 100 % 10));
    dur.push_back(static_cast<char>('0' + us / 10 % 10));
    dur.push_back(static_cast<char>('0' + us % 10));
    log::info("request", {{"method", req.method},
                          {"path", req.path},
                          {"status", std::to_string(res.status)},
                          {"duration_ms", dur},
                          {"request_id", req.request_id}});
  }
  return res;
}

Response Pipeline::handle(Request& req) const {
  const auto started = std::chrono::steady_clock::now();
  assign_request_id(req);
  Response res;
  int route = -1;
  try {
    std::optional<std::string> preflight_allow;
    if (cors_ && req.method == "OPTIONS") preflight_allow = router_.cors_allow(req);
    res = preflight_allow ? cors_->preflight(req, *preflight_allow) : router_.dispatch(req, &route);
  } catch (...) {
    res = error_response(req, std::current_exception());
  }
  return complete(req, route, std::move(res), started);
}

void Pipeline::handle_fast(Request& req,
                           std::function<void(std::optional<Response>)> finish) const {
  const auto started = std::chrono::steady_clock::now();
  PathParams params;
  const int route = router_.find_fast(req, &params);
  if (route < 0) return finish(std::nullopt);
  assign_request_id(req);
  router_.run_fast(route, req, params,
                   [this, &req, route, started, finish = std::move(finish)](FastResult r) {
                     if (!r.response && !r.error) return finish(std::nullopt);
                     Response res = r.error ? error_response(req, r.error) : std::move(*r.response);
                     finish(complete(req, route, std::move(res), started));
                   });
}

}  // namespace hubstatsd::http
