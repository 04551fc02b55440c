#include "serve/metrics/http_metrics.h"

#include <new>

namespace hubstatsd::metrics {

HttpMetrics::HttpMetrics(const http::Router& router) : router_(router) {}

HttpMetrics::~HttpMetrics() {
  for (auto& s : routes_) delete s.load();
}

std::size_t HttpMetrics::method_index(std::string_view method) noexcept {
  for (std::size_t i = 0; i + 1 < kMethods.size(); ++i)
    if (kMethods[i] == method) return i;
  return kMethods.size() - 1;
}

HttpMetrics::Slot* HttpMetrics::slot_for(int route, std::string_view method) noexcept {
  if (route < 0 || static_cast<std::size_t>(route) >= kMaxRoutes)
    return &unmatched_[method_index(method)];
  std::atomic<Slot*>& cell = routes_[static_cast<std::size_t>(route)];
  Slot* s = cell.load(std::memory_order_acquire);
  if (s) return s;
  // First request of this route: allocate; a racing thread may win, then use its slot.
  Slot* fresh = new (std::nothrow) Slot();
  if (!fresh) return &unmatched_[method_index(method)];
  if (cell.compare_exchange_strong(s, fresh, std::memory_order_acq_rel)) return fresh;
  delete fresh;
  return s;
}

void HttpMetrics::observe(const http::Request& req, int route, int status,
                          std::chrono::nanoseconds elapsed) noexcept {
  record(route, req.method, status, elapsed);
}

void HttpMetrics::record(int route, std::string_view method, int status,
                         std::chrono::nanoseconds elapsed) noexcept {
  Slot* s = slot_for(route, method);
  bool counted = false;
  for (StatusCount& sc : s->statuses) {
    int current = sc.status.load(std::memory_order_acquire);
    if (current == 0) {
      // Claim the free entry; if another thread claimed it first, it may still be ours.
      if (sc.status.compare_exchange_strong(current, status, std::memory_order_acq_rel))
        current = status;
    }
    if (current == status) {
      sc.count.fetch_add(1, std::memory_order_relaxed);
      counted = true;
      break;
    }
  }
  if (!counted) s->other_status.fetch_add(1, std::memory_order_relaxed);

  const double seconds = std::chrono::duration<double>(elapsed).count();
  std::size_t b = 0;
  while (b < kBuckets.size() && seconds > kBuckets[b]) ++b;
  s->buckets[b].fetch_add(1, std::memory_order_relaxed);
  s->sum_ns.fetch_add(static_cast<std::uint64_t>(elapsed.count() < 0 ? 0 : elapsed.count()),
                      std::memory_order_relaxed);
}

namespace {
constexpr std::string_view kRequests = "hubstatsd_http_requests_total";
constexpr std::string_view kDuration = "hubstatsd_http_request_duration_seconds";
}  // namespace

void HttpMetrics::render_slot(Exposition& out, const Slot& s, std::string_view route,
                              std::string_view method, bool counts) const {
  if (counts) {
    for (const StatusCount& sc : s.statuses) {
      const int status = sc.status.load(std::memory_order_acquire);
      if (status == 0) break;
      const std::uint64_t n = sc.count.load(std::memory_order_relaxed);
      if (n == 0) continue;
      const std::string st = std::to_string(status);
      out.sample(kRequests, {{"route", route}, {"method", method}, {"status", st}}, n);
    }
    if (const std::uint64_t n = s.other_status.load(std::memory_order_relaxed))
      out.sample(kRequests, {{"route", route}, {"method", method}, {"status", "other"}}, n);
    return;
  }
  // Cumulative buckets computed from one read of each counter, so +Inf == _count
  // and the buckets never decrease even while requests are being recorded.
  std::uint64_t cumulative = 0;
  std::array<std::uint64_t, kBuckets.size() + 1> snap;
  for (std::size_t i = 0; i < snap.size(); ++i)
    snap[i] = s.buckets[i].load(std::memory_order_relaxed);
  std::uint64_t total = 0;
  for (auto v : snap) total += v;
  if (total == 0) return;
  const std::string bucket = std::string(kDuration) + "_bucket";
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    cumulative += snap[i];
    out.sample(bucket, {{"route", route}, {"method", method}}, {"le", format_value(kBuckets[i])},
               cumulative);
  }
  out.sample(bucket, {{"route", route}, {"method", method}}, {"le", "+Inf"}, total);
  out.sample(std::string(kDuration) + "_sum", {{"route", route}, {"method", method}},
             static_cast<double>(s.sum_ns.load(std::memory_order_relaxed)) / 1e9);
  out.sample(std::string(kDuration) + "_count", {{"route", route}, {"method", method}}, total);
}

void HttpMetrics::render(Exposition& out) const {
  const auto table = router_.routes();
  for (int pass = 0; pass < 2; ++pass) {
    const bool counts = pass == 0;
    if (counts) {
      out.family(kRequests, "counter",
                 "HTTP requests answered, by route pattern (\"unmatched\" when no route "
                 "answered), method and status.");
    } else {
      out.family(kDuration, "histogram",
                 "Time from routing a request to having its response, by route pattern and "
                 "method.");
    }
    for (std::size_t i = 0; i < table.size() && i < kMaxRoutes; ++i) {
      const Slot* s = routes_[i].load(std::memory_order_acquire);
      if (s) render_slot(out, *s, table[i].second, table[i].first, counts);
    }
    for (std::size_t m = 0; m < kMethods.size(); ++m)
      render_slot(out, unmatched_[m], "unmatched", kMethods[m], counts);
  }
  out.family("hubstatsd_http_route_info", "gauge",
             "Every route the daemon serves (method and pattern), value 1.");
  for (const auto& [method, pattern] : table)
    out.sample("hubstatsd_http_route_info", {{"route", pattern}, {"method", method}},
               std::uint64_t{1});
}

}  // namespace hubstatsd::metrics
