#include "db/pg_pool.h"

#include <poll.h>

#include <charconv>
#include <stdexcept>

#include "base/counters.h"
#include "base/unavailable.h"

namespace hubstatsd {

std::string_view PgResult::text(int row, int col) const {
  const char* v = PQgetvalue(r_.get(), row, col);
  return std::string_view(v, static_cast<std::size_t>(PQgetlength(r_.get(), row, col)));
}

std::int64_t PgResult::i64(int row, int col) const {
  if (is_null(row, col)) return 0;
  auto t = text(row, col);
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || p != t.data() + t.size())
    throw std::runtime_error("not an integer: " + std::string(t));
  return v;
}

std::int64_t PgResult::affected() const {
  const char* n = PQcmdTuples(r_.get());
  return (n && *n) ? std::stoll(n) : 0;
}

namespace {

using Clock = std::chrono::steady_clock;

// Waits until the socket is ready for `events` or the deadline passes.
bool wait_socket(PGconn* c, short events, Clock::time_point deadline) {
  const int fd = PQsocket(c);
  if (fd < 0) return false;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, static_cast<int>(left.count()));
    if (rc > 0) return true;
    if (rc < 0 && errno != EINTR) return false;
  }
}

std::string trimmed(const char* s) {
  std::string m = s ? s : "";
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

// Errors that mean "the database is not there right now" rather than "bad statement".
bool unavailable_state(std::string_view st) {
  return st.starts_with("08") ||   // connection exception
         st == "57014" ||          // query_canceled (statement_timeout)
         st.starts_with("57P") ||  // admin/crash shutdown, cannot connect now
         st == "53300";            // too_many_connections
}

}  // namespace

PgConn::PgConn(PgConn&& o) noexcept
    : pool_(o.pool_), conn_(o.conn_), broken_(o.broken_), discard_(o.discard_) {
  o.conn_ = nullptr;
}

PgConn::~PgConn() {
  if (conn_) pool_->release(conn_, broken_, discard_);
}

PgResult PgConn::exec(std::string_view sql, const std::vector<std::optional<std::string>>& params) {
  return exec_with_timeout(sql, params, pool_->config().statement_timeout);
}

PgResult PgConn::exec_with_timeout(std::string_view sql,
                                   const std::vector<std::optional<std::string>>& params,
                                   std::chrono::milliseconds timeout) {
  // A little slack over the server's statement_timeout so the server's own error wins.
  const auto deadline = Clock::now() + timeout + std::chrono::milliseconds(500);
  auto fail = [&](const std::string& why) -> Unavailable {
    broken_ = true;
    metrics::add(metrics::counters().postgres_errors);
    return Unavailable("postgresql: " + why);
  };
  if (PQstatus(conn_) != CONNECTION_OK) throw fail("connection lost");

  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  const std::string text(sql);
  if (!PQsendQueryParams(conn_, text.c_str(), static_cast<int>(values.size()), nullptr,
                         values.data(), nullptr, nullptr, 0))
    throw fail(trimmed(PQerrorMessage(conn_)));
  return finish(deadline);
}

void PgConn::exec_script(std::string_view sql, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  if (PQstatus(conn_) != CONNECTION_OK) {
    broken_ = true;
    metrics::add(metrics::counters().postgres_errors);
    throw Unavailable("postgresql: connection lost");
  }
  const std::string text(sql);
  if (!PQsendQuery(conn_, text.c_str())) {
    broken_ = true;
    metrics::add(metrics::counters().postgres_errors);
    throw Unavailable("postgresql: " + trimmed(PQerrorMessage(conn_)));
  }
  finish(deadline);
}

PgResult PgConn::finish(Clock::time_point deadline) {
  auto fail = [&](const std::string& why) -> Unavailable {
    broken_ = true;
    metrics::add(metrics::counters().postgres_errors);
    return Unavailable("postgresql: " + why);
  };
  for (;;) {
    int rc = PQflush(conn_);
    if (rc == 0) break;
    if (rc < 0 || !wait_socket(conn_, POLLOUT | POLLIN, deadline)) throw fail("send timed out");
    if (!PQconsumeInput(conn_)) throw fail(trimmed(PQerrorMessage(conn_)));
  }

  PgResult last;
  std::optional<PgResult> error;
  for (;;) {
    while (PQisBusy(conn_)) {
      if (!wait_socket(conn_, POLLIN, deadline)) throw fail("statement timed out");
      if (!PQconsumeInput(conn_)) throw fail(trimmed(PQerrorMessage(conn_)));
    }
    PGresult* r = PQgetResult(conn_);
    if (!r) break;
    PgResult res(r);
    auto st = PQresultStatus(r);
    if (st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE || st == PGRES_NONFATAL_ERROR) {
      if (!error) error = std::move(res);
    } else {
      last = std::move(res);
    }
  }
  if (error) {
    const char* s = PQresultErrorField(error->get(), PG_DIAG_SQLSTATE);
    std::string state = s ? s : "";
    std::string msg = trimmed(PQresultErrorMessage(error->get()));
    if (PQstatus(conn_) != CONNECTION_OK || state.empty() || unavailable_state(state))
      throw fail(msg);
    metrics::add(metrics::counters().postgres_errors);
    throw PgError("postgresql: " + msg, state);
  }
  return last;
}

PgPool::PgPool(PgPoolConfig cfg) : cfg_(std::move(cfg)) {
  if (cfg_.size < 1) cfg_.size = 1;
}

PgPool::~PgPool() {
  std::lock_guard lk(mu_);
  for (PGconn* c : idle_) PQfinish(c);
  idle_.clear();
}

PGconn* PgPool::connect() {
  const auto ct = std::to_string(
      std::max<long>(2, static_cast<long>((cfg_.connect_timeout.count() + 999) / 1000)));
  const auto opts = "-c statement_timeout=" + std::to_string(cfg_.statement_timeout.count()) +
                    " -c lock_timeout=" + std::to_string(cfg_.statement_timeout.count());
  const char* keys[] = {"dbname", "connect_timeout", "options", "application_name", nullptr};
  const char* vals[] = {cfg_.dsn.c_str(), ct.c_str(), opts.c_str(), "hubstatsd", nullptr};
  PGconn* c = PQconnectdbParams(keys, vals, 1);
  if (!c || PQstatus(c) != CONNECTION_OK) {
    std::string err = c ? trimmed(PQerrorMessage(c)) : "out of memory";
    if (c) PQfinish(c);
    throw Unavailable("postgresql: connect failed: " + err);
  }
  PQsetnonblocking(c, 1);
  PQsetNoticeProcessor(
      c, [](void*, const char*) {}, nullptr);  // no NOTICE spam on stderr
  return c;
}

PgConn PgPool::acquire() {
  const auto deadline = Clock::now() + cfg_.acquire_timeout;
  std::unique_lock lk(mu_);
  for (;;) {
    if (!idle_.empty()) {
      PGconn* c = idle_.back();
      idle_.pop_back();
      if (PQstatus(c) == CONNECTION_OK) return PgConn(this, c);
      PQfinish(c);  // broken while idle: reopen below
      --open_;
    }
    if (open_ < cfg_.size) {
      if (Clock::now() < down_until_) {
        metrics::add(metrics::counters().postgres_errors);
        throw Unavailable("postgresql unavailable: " + last_error_);
      }
      ++open_;
      lk.unlock();
      try {
        PGconn* c = connect();
        return PgConn(this, c);
      } catch (const Unavailable& e) {
        metrics::add(metrics::counters().postgres_errors);
        lk.lock();
        --open_;
        last_error_ = e.what();
        down_until_ = Clock::now() + cfg_.reconnect_backoff;
        note_failure();
        cv_.notify_one();
        throw;
      }
    }
    if (cv_.wait_until(lk, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_ >= cfg_.size) {
      metrics::add(metrics::counters().postgres_errors);
      throw Unavailable("postgresql: no free connection within acquire timeout");
    }
  }
}

void PgPool::note_failure() {
  last_failure_ns_.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
}

bool PgPool::failed_within(std::chrono::milliseconds window) const {
  const auto t = last_failure_ns_.load(std::memory_order_relaxed);
  if (t == 0) return false;
  return Clock::now() - Clock::time_point(Clock::duration(t)) < window;
}

void PgPool::release(PGconn* conn, bool broken, bool discard) {
  if (broken) note_failure();
  broken = broken || discard;
  // A caller left a transaction open (exception mid-transaction): closing the
  // connection rolls it back without a blocking round trip.
  if (PQtransactionStatus(conn) != PQTRANS_IDLE) broken = true;
  std::lock_guard lk(mu_);
  if (broken || PQstatus(conn) != CONNECTION_OK) {
    PQfinish(conn);
    --open_;
  } else {
    idle_.push_back(conn);
  }
  cv_.notify_one();
}

PgResult PgPool::exec(std::string_view sql, const std::vector<std::optional<std::string>>& params) {
  auto c = acquire();
  return c.exec(sql, params);
}

}  // namespace hubstatsd

namespace hubstatsd {

std::vector<std::string> split_commas(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    auto comma = s.find(',');
    out.emplace_back(s.substr(0, comma));
    s = comma == std::string_view::npos ? std::string_view() : s.substr(comma + 1);
  }
  return out;
}

std::string pg_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

}  // namespace hubstatsd
