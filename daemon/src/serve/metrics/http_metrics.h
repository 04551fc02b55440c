// Per-route HTTP request counts and latency histograms. The route label is the
// router's pattern (e.g. "/{type}s/{ns}/{name}/stats"), never the raw path, so the
// number of series is bounded by the route table; requests no route answered
// (404/405 from the router) are labelled route="unmatched". Recording is lock-free:
// per-route slots are allocated once and then only touched with relaxed atomics.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "serve/http/pipeline.h"
#include "serve/http/router.h"
#include "serve/metrics/exposition.h"

namespace hubstatsd::metrics {

class HttpMetrics final : public http::RequestObserver {
 public:
  // Upper bounds (seconds) of the latency buckets; +Inf is implied.
  static constexpr std::array<double, 14> kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  static constexpr std::size_t kMaxRoutes = 256;   // more are labelled "unmatched"
  static constexpr std::size_t kMaxStatuses = 16;  // distinct statuses per route
  static constexpr std::array<std::string_view, 8> kMethods = {
      "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other"};

  // Labels are read from `router` when rendering; it must outlive this object.
  explicit HttpMetrics(const http::Router& router);
  ~HttpMetrics() override;
  HttpMetrics(const HttpMetrics&) = delete;
  HttpMetrics& operator=(const HttpMetrics&) = delete;

  void observe(const http::Request& req, int route, int status,
               std::chrono::nanoseconds elapsed) noexcept override;
  void record(int route, std::string_view method, int status,
              std::chrono::nanoseconds elapsed) noexcept;

  // Appends hubstatsd_http_requests_total, hubstatsd_http_request_duration_seconds and
  // hubstatsd_http_route_info (one sample per registered route).
  void render(Exposition& out) const;

 private:
  struct StatusCount {
    std::atomic<int> status{0};  // 0: free
    std::atomic<std::uint64_t> count{0};
  };
  struct Slot {
    std::array<StatusCount, kMaxStatuses> statuses;
    std::atomic<std::uint64_t> other_status{0};  // beyond kMaxStatuses distinct ones
    // Non-cumulative: buckets[i] counts durations in (kBuckets[i-1], kBuckets[i]];
    // the last one counts those above every bound.
    std::array<std::atomic<std::uint64_t>, kBuckets.size() + 1> buckets{};
    std::atomic<std::uint64_t> sum_ns{0};
  };

  static std::size_t method_index(std::string_view method) noexcept;
  Slot* slot_for(int route, std::string_view method) noexcept;
  void render_slot(Exposition& out, const Slot& s, std::string_view route, std::string_view method,
                   bool counts) const;

  const http::Router& router_;
  std::array<std::atomic<Slot*>, kMaxRoutes> routes_{};
  std::array<Slot, kMethods.size()> unmatched_;
};

}  // namespace hubstatsd::metrics
