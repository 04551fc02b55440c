#include "serve/http/server.h"

#include <algorithm>
#include <system_error>

#include <boost/asio/ip/address.hpp>

#include "serve/http/listener.h"
#include "base/loop_local.h"
#include "serve/http/session.h"

namespace hubstatsd::http {

namespace net = boost::asio;

Server::Server(ServerOptions options, RequestHandler handler, FastHandler fast)
    : options_(std::move(options)),
      handler_(std::move(handler)),
      fast_(std::move(fast)),
      handler_pool_(static_cast<std::size_t>(std::max(1, options_.handler_threads))) {
  const int n = std::max(1, options_.io_threads);
  for (int i = 0; i < n; ++i) loops_.push_back(std::make_unique<net::io_context>(1));
}

Server::~Server() {
  stop(std::chrono::milliseconds(0));
}

net::io_context& Server::next_loop() {
  return *loops_[next_loop_.fetch_add(1, std::memory_order_relaxed) % loops_.size()];
}

void Server::start() {
  boost::system::error_code ec;
  const auto addr = net::ip::make_address(options_.address, ec);
  if (ec) throw std::system_error(ec, "listen address " + options_.address);
  const net::ip::tcp::endpoint ep(addr, options_.port);
  try {
    listener_ = std::make_shared<Listener>(*loops_[0], ep, *this);
  } catch (const boost::system::system_error& e) {
    throw std::system_error(e.code(),
                            "listen on " + options_.address + ":" + std::to_string(options_.port));
  }
  bound_port_ = listener_->port();
  for (auto& l : loops_) work_.push_back(net::make_work_guard(*l));
  listener_->run();
  for (auto& l : loops_)
    io_threads_.emplace_back([ioc = l.get()] {
      detail::enter_loop(*ioc);
      ioc->run();
      detail::leave_loop();  // loop-local objects die here, while ioc still exists
    });
}

void Server::session_started(const std::shared_ptr<Session>& s) {
  std::lock_guard lock(mu_);
  sessions_.remove_if([](const std::weak_ptr<Session>& w) { return w.expired(); });
  sessions_.push_back(s);
  ++live_sessions_;
}

bool Server::at_connection_cap() {
  std::lock_guard lock(mu_);
  return live_sessions_ >= options_.max_connections;
}

void Server::session_ended() {
  std::lock_guard lock(mu_);
  --live_sessions_;
  idle_cv_.notify_all();
}

void Server::stop(std::chrono::milliseconds grace) {
  if (stopped_) return;
  stopped_ = true;
  stopping_.store(true, std::memory_order_release);
  if (listener_) listener_->close();
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(mu_);
    for (const auto& w : sessions_) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
  }
  for (const auto& s : live) s->shutdown();
  live.clear();  // outside the lock: the last reference may end a session
  {
    std::unique_lock lock(mu_);
    idle_cv_.wait_for(lock, grace, [this] { return live_sessions_ == 0; });
  }
  work_.clear();
  for (auto& l : loops_) l->stop();
  for (auto& t : io_threads_) t.join();
  io_threads_.clear();
  handler_pool_.join();
}

}  // namespace hubstatsd::http
