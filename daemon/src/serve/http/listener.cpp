#include "serve/http/listener.h"

#include <boost/asio/post.hpp>

#include "serve/http/server.h"
#include "serve/http/session.h"
#include "log/logger.h"

namespace hubstatsd::http {

namespace net = boost::asio;
using tcp = net::ip::tcp;

Listener::Listener(net::io_context& ioc, const tcp::endpoint& ep, Server& server)
    : acceptor_(ioc), server_(server) {
  acceptor_.open(ep.protocol());
  acceptor_.set_option(net::socket_base::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen(net::socket_base::max_listen_connections);
}

void Listener::close() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    boost::system::error_code ec;
    self->acceptor_.close(ec);
  });
}

void Listener::do_accept() {
  // The socket belongs to the loop that will serve the connection.
  acceptor_.async_accept(server_.next_loop(), boost::beast::bind_front_handler(&Listener::on_accept,
                                                                               shared_from_this()));
}

void Listener::on_accept(boost::beast::error_code ec, tcp::socket socket) {
  if (!acceptor_.is_open() || ec == net::error::operation_aborted) return;
  if (ec) {
    log::warn("accept failed", {{"error", ec.message()}});
  } else if (server_.at_connection_cap()) {
    refuse(std::move(socket));
  } else if (!server_.stopping()) {
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::make_shared<Session>(std::move(socket), server_)->run();
  }
  do_accept();
}

void Listener::refuse(tcp::socket socket) {
  boost::system::error_code ignored;
  socket.close(ignored);
  ++refused_;
  // Counted, and logged at most every few seconds with the count since the last line.
  const auto now = std::chrono::steady_clock::now();
  if (refused_logged_at_ && now - *refused_logged_at_ < kRefusedLogInterval) return;
  log::warn("connection limit reached, closing new connections",
            {{"max_connections", std::to_string(server_.options().max_connections)},
             {"refused", std::to_string(refused_)}});
  refused_ = 0;
  refused_logged_at_ = now;
}

}  // namespace hubstatsd::http
