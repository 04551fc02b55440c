// The HTTP/1.1 server: Boost.Beast on N io threads, each running its own event loop
// (one io_context per thread: a connection stays on one thread, so no locks or
// cross-thread wake-ups per request). Handlers that may block run on a separate pool,
// so a slow backend never stalls accepting, reading or writing; a non-blocking fast
// path may answer on the io thread itself. Keep-alive, header/body limits, header and
// idle timeouts, a cap on open connections, graceful stop.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "serve/http/message.h"

namespace hubstatsd::http {

struct ServerOptions {
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;  // 0: pick a free port (see Server::port())
  int io_threads = 2;
  int handler_threads = 16;
  std::size_t header_limit = 16 * 1024;
  std::size_t body_limit = 1024 * 1024;
  std::chrono::milliseconds idle_timeout{60'000};
  // A request's header must be complete this long after it started (the first
  // request's: after the accept), as nginx's client_header_timeout.
  std::chrono::milliseconds header_timeout{10'000};
  bool keepalive = true;
  // Open connections of this process; a connection accepted beyond it is closed at once.
  int max_connections = 4096;
};

// Handles one request completely (never throws); runs on a handler thread.
using RequestHandler = std::function<Response(Request&)>;

// Completes a fast-path attempt, exactly once and on the io thread that started it:
// with the response, or with nullopt to hand the request to the RequestHandler on the
// handler pool.
using FastFinish = std::function<void(std::optional<Response>)>;
// Tries to answer on the io thread without ever blocking it (no blocking I/O, no
// waiting on locks held across I/O); finishes now or later. `req` stays valid until
// finish is called. Never throws.
using FastHandler = std::function<void(Request& req, FastFinish finish)>;

class Listener;
class Session;

class Server {
 public:
  // fast: optional; without it every request goes to the handler pool.
  Server(ServerOptions options, RequestHandler handler, FastHandler fast = nullptr);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens (throws std::system_error naming the address on failure), then
  // starts the io threads.
  void start();
  std::uint16_t port() const { return bound_port_; }

  // Graceful stop: stop accepting, close idle connections, let in-flight requests
  // finish and be written (connections then close), waiting at most `grace`.
  void stop(std::chrono::milliseconds grace);

  // Used by sessions and the listener.
  const ServerOptions& options() const { return options_; }
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  boost::asio::thread_pool& handler_pool() { return handler_pool_; }
  const RequestHandler& handler() const { return handler_; }
  const FastHandler& fast_handler() const { return fast_; }
  // The event loop for the next accepted connection (round robin).
  boost::asio::io_context& next_loop();
  void session_started(const std::shared_ptr<Session>& s);
  void session_ended();
  // Whether the connection cap is reached (the listener then refuses new connections).
  bool at_connection_cap();

 private:
  using WorkGuard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;

  // Declared first so they outlive the io_contexts, whose destruction may destroy
  // sessions (which report to them).
  std::mutex mu_;
  std::condition_variable idle_cv_;
  std::list<std::weak_ptr<Session>> sessions_;
  int live_sessions_ = 0;

  ServerOptions options_;
  RequestHandler handler_;
  FastHandler fast_;
  std::vector<std::unique_ptr<boost::asio::io_context>> loops_;  // one per io thread
  std::vector<WorkGuard> work_;
  std::atomic<unsigned> next_loop_{0};
  boost::asio::thread_pool handler_pool_;
  std::shared_ptr<Listener> listener_;
  std::vector<std::thread> io_threads_;
  std::uint16_t bound_port_ = 0;
  std::atomic<bool> stopping_{false};
  bool stopped_ = false;
};

}  // namespace hubstatsd::http
