// Accepts connections and hands each to a new Session on the next io thread's loop;
// beyond the server's connection cap, closes them at once (logged at a limited rate).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>

namespace hubstatsd::http {

class Server;

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  // Opens, binds and listens on `ioc` (an io thread's loop); throws std::system_error.
  Listener(boost::asio::io_context& ioc, const boost::asio::ip::tcp::endpoint& ep, Server& server);

  void run() { do_accept(); }
  void close();  // stop accepting
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  void do_accept();
  void on_accept(boost::beast::error_code ec, boost::asio::ip::tcp::socket socket);
  void refuse(boost::asio::ip::tcp::socket socket);

  static constexpr std::chrono::seconds kRefusedLogInterval{5};

  boost::asio::ip::tcp::acceptor acceptor_;
  Server& server_;
  // Only touched on the acceptor's loop.
  std::uint64_t refused_ = 0;  // since the last log line
  std::optional<std::chrono::steady_clock::time_point> refused_logged_at_;
};

}  // namespace hubstatsd::http
