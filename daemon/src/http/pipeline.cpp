#include "http/pipeline.h"

#include <chrono>
#include <cstdio>
#include <random>

#include "log/logger.h"
#include "store/stats_store.h"

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
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng()));
  return buf;
}

Response Pipeline::handle(Request& req) const {
  const auto started = std::chrono::steady_clock::now();
  const std::string_view incoming = req.header("x-request-id");
  req.request_id = sane_request_id(incoming) ? std::string(incoming) : make_request_id();

  Response res;
  int route = -1;
  try {
    res = router_.dispatch(req, &route);
  } catch (const Unavailable& e) {
    log::warn("backend unavailable", {{"request_id", req.request_id}, {"error", e.what()}});
    res = detail_response(503, "Service temporarily unavailable");
    res.headers.emplace_back("Retry-After", "1");
  } catch (const std::exception& e) {
    log::error("handler failed", {{"request_id", req.request_id}, {"error", e.what()}});
    res = detail_response(500, "Internal Server Error");
  } catch (...) {
    log::error("handler failed", {{"request_id", req.request_id}, {"error", "unknown"}});
    res = detail_response(500, "Internal Server Error");
  }
  res.headers.emplace_back("X-Request-Id", req.request_id);
  if (observer_)
    observer_->observe(req, route, res.status, std::chrono::steady_clock::now() - started);

  if (log::Logger::global().enabled(log::Level::kInfo)) {
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    char dur[32];
    std::snprintf(dur, sizeof dur, "%.3f", ms);
    log::info("request", {{"method", req.method},
                          {"path", req.path},
                          {"status", std::to_string(res.status)},
                          {"duration_ms", dur},
                          {"request_id", req.request_id}});
  }
  return res;
}

}  // namespace hubstatsd::http
