// A fixed-size libpq connection pool with bounded waits. Every call either answers
// within about the configured timeouts or throws Unavailable; broken connections are
// dropped and reopened lazily on the next acquire, so service comes back by itself.
#pragma once

#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hubstatsd {

struct PgPoolConfig {
  std::string dsn;  // libpq connection string or URI
  int size = 8;
  std::chrono::milliseconds connect_timeout{2000};    // libpq rounds up to >= 2 s
  std::chrono::milliseconds statement_timeout{2000};  // server-side and client-side
  std::chrono::milliseconds acquire_timeout{2000};    // waiting for a free connection
  // After a failed connect, acquires fail fast for this long instead of each one
  // paying a connect attempt while the server is down.
  std::chrono::milliseconds reconnect_backoff{250};
};

// Owns one PGresult.
class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(PGresult* r) : r_(r) {}
  int rows() const { return r_ ? PQntuples(r_.get()) : 0; }
  int cols() const { return r_ ? PQnfields(r_.get()) : 0; }
  bool is_null(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  std::string_view text(int row, int col) const;
  std::string str(int row, int col) const { return std::string(text(row, col)); }
  // Integer value; 0 for NULL. Throws std::runtime_error when not an integer.
  std::int64_t i64(int row, int col) const;
  // Number of rows touched by INSERT/UPDATE/DELETE without RETURNING.
  std::int64_t affected() const;
  PGresult* get() const { return r_.get(); }

 private:
  struct Free {
    void operator()(PGresult* r) const { PQclear(r); }
  };
  std::unique_ptr<PGresult, Free> r_;
};

// A statement failed on the server (bad SQL, constraint, deadlock...). Connection
// problems and timeouts are Unavailable instead.
struct PgError : std::runtime_error {
  PgError(const std::string& msg, std::string sqlstate)
      : std::runtime_error(msg), sqlstate(std::move(sqlstate)) {}
  std::string sqlstate;  // e.g. "40P01" deadlock_detected
};

class PgPool;

// One borrowed connection; returned to the pool on destruction. Statements run with
// PQexecParams semantics (parameters are never spliced into SQL text).
class PgConn {
 public:
  PgConn(PgConn&&) noexcept;
  PgConn& operator=(PgConn&&) = delete;
  ~PgConn();

  // Runs one parameterized statement (NULL for std::nullopt). Throws PgError on a
  // statement error, Unavailable on connection loss or timeout.
  PgResult exec(std::string_view sql, const std::vector<std::optional<std::string>>& params = {});
  // Same, with a client-side deadline other than the pool's statement timeout
  // (the caller must also raise statement_timeout with SET LOCAL).
  PgResult exec_with_timeout(std::string_view sql,
                             const std::vector<std::optional<std::string>>& params,
                             std::chrono::milliseconds timeout);
  // Runs a trusted multi-statement SQL script (migrations; simple query protocol,
  // no parameters) with its own client-side deadline.
  void exec_script(std::string_view sql, std::chrono::milliseconds timeout);
  // Close this connection instead of returning it (after changing session settings).
  void discard() { discard_ = true; }
  PGconn* raw() const { return conn_; }

 private:
  friend class PgPool;
  PgConn(PgPool* pool, PGconn* conn) : pool_(pool), conn_(conn) {}
  PgResult finish(std::chrono::steady_clock::time_point deadline);
  PgPool* pool_;
  PGconn* conn_;
  bool broken_ = false;   // failed: close, and count as a failure
  bool discard_ = false;  // healthy but not reusable: close
};

class PgPool {
 public:
  explicit PgPool(PgPoolConfig cfg);
  ~PgPool();
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  // Waits up to acquire_timeout for a connection; opens one if a slot is empty.
  // Throws Unavailable when none can be had.
  PgConn acquire();

  // Convenience: acquire, run one statement, release.
  PgResult exec(std::string_view sql, const std::vector<std::optional<std::string>>& params = {});

  const PgPoolConfig& config() const { return cfg_; }

  // True when a connection failed or broke within `window`: callers that can answer
  // from a cache skip it then, so an outage shows as 503 instead of stale answers.
  bool failed_within(std::chrono::milliseconds window) const;

 private:
  friend class PgConn;
  void note_failure();
  PGconn* connect();  // throws Unavailable
  void release(PGconn* conn, bool broken, bool discard);

  PgPoolConfig cfg_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<PGconn*> idle_;
  int open_ = 0;  // connections idle + leased + being opened
  std::chrono::steady_clock::time_point down_until_{};
  std::string last_error_;
  std::atomic<std::int64_t> last_failure_ns_{0};  // steady_clock; 0: never
};

}  // namespace hubstatsd

namespace hubstatsd {

// A PostgreSQL array literal in text form ({"a","b"}) for passing a whole column as one
// parameter (unnest($1::text[])); elements are quoted and escaped.
std::string pg_array(const std::vector<std::string>& items);
// The items of a text column built with array_to_string(..., ','): "a,b" -> {a, b}.
std::vector<std::string> split_commas(std::string_view list);

}  // namespace hubstatsd
