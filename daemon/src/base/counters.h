// Process-wide counters of backend events (Redis and PostgreSQL errors, fold passes).
// They live in base/ so db/ and fold/ bump them without including serve/ (which reads
// them for /metrics). Plain relaxed atomics: any thread may bump them.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>

namespace hubstatsd::metrics {

struct Counters {
  // Redis calls that failed: connect failures, broken connections, timeouts, calls
  // refused during the reconnect backoff or for want of a free pooled connection.
  std::atomic<std::uint64_t> redis_errors{0};
  // The same for PostgreSQL, plus statements the server rejected.
  std::atomic<std::uint64_t> postgres_errors{0};
  // Background fold passes (Folder::fold_dirty) started and ended, and failed ones.
  std::atomic<std::uint64_t> fold_runs{0};
  std::atomic<std::uint64_t> fold_errors{0};
  // (repo, day) rows those passes applied to PostgreSQL.
  std::atomic<std::uint64_t> fold_rows{0};
  // Wall-clock end of the last pass that did not fail (unix ms); 0 before the first.
  std::atomic<std::int64_t> fold_last_success_ms{0};
};

Counters& counters() noexcept;
// Wall-clock time this process started counting (unix ms).
std::int64_t process_start_ms() noexcept;
std::int64_t unix_now_ms() noexcept;

inline void add(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) noexcept {
  c.fetch_add(n, std::memory_order_relaxed);
}

// Scope of one fold pass: counts it when it ends, as failed when left by an exception,
// and adds the rows `applied` holds at that moment.
class FoldRun {
 public:
  explicit FoldRun(const std::int64_t& applied) noexcept
      : applied_(applied), exceptions_(std::uncaught_exceptions()) {}
  ~FoldRun() {
    Counters& c = counters();
    add(c.fold_runs);
    if (applied_ > 0) add(c.fold_rows, static_cast<std::uint64_t>(applied_));
    if (std::uncaught_exceptions() > exceptions_) {
      add(c.fold_errors);
    } else {
      c.fold_last_success_ms.store(unix_now_ms(), std::memory_order_relaxed);
    }
  }
  FoldRun(const FoldRun&) = delete;
  FoldRun& operator=(const FoldRun&) = delete;

 private:
  const std::int64_t& applied_;
  const int exceptions_;
};

}  // namespace hubstatsd::metrics
