#include "http/session.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include "http/pipeline.h"
#include "http/server.h"
#include "log/logger.h"

namespace hubstatsd::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

Session::Session(net::ip::tcp::socket&& socket, Server& server)
    : stream_(std::move(socket)), server_(server) {}

Session::~Session() {
  server_.session_ended();
}

void Session::run() {
  server_.session_started(shared_from_this());
  net::dispatch(stream_.get_executor(),
                beast::bind_front_handler(&Session::do_read, shared_from_this()));
}

void Session::shutdown() {
  net::post(stream_.get_executor(), [self = shared_from_this()] {
    if (!self->busy_) self->do_close();  // else: closes after writing its response
  });
}

void Session::do_read() {
  if (server_.stopping()) return do_close();
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(server_.options().header_limit));
  parser_->body_limit(server_.options().body_limit);
  stream_.expires_after(server_.options().idle_timeout);
  bhttp::async_read(stream_, buffer_, *parser_,
                    beast::bind_front_handler(&Session::on_read, shared_from_this()));
}

void Session::on_read(beast::error_code ec, std::size_t) {
  if (ec == bhttp::error::header_limit) return reject(431, "Request Header Fields Too Large");
  if (ec == bhttp::error::body_limit) return reject(413, "Request Entity Too Large");
  if (ec && ec.category() == bhttp::make_error_code(bhttp::error::end_of_stream).category() &&
      ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
    return reject(400, "Bad Request");
  }
  if (ec) return do_close();  // peer closed, idle timeout, or shutdown
  handle(parser_->release());
}

void Session::handle(BeastRequest&& req) {
  busy_ = true;
  stream_.expires_never();  // the handler's own backends bound its time
  net::post(server_.handler_pool(), [self = shared_from_this(), req = std::move(req)]() mutable {
    const unsigned version = req.version();
    const bool keep_alive = req.keep_alive() && self->server_.options().keepalive;
    const bool head = req.method() == bhttp::verb::head;
    BeastResponse out;
    try {
      Request r = from_beast(std::move(req));
      out = to_beast(self->server_.handler()(r), version, keep_alive, head);
    } catch (const std::exception& e) {
      log::error("request conversion failed", {{"error", e.what()}});
      Response err = detail_response(500, "Internal Server Error");
      err.headers.emplace_back("X-Request-Id", make_request_id());
      out = to_beast(std::move(err), version, false, false);
    }
    net::post(self->stream_.get_executor(),
              [self, out = std::move(out)]() mutable { self->write(std::move(out)); });
  });
}

void Session::write(BeastResponse&& res) {
  busy_ = true;
  response_.emplace(std::move(res));
  if (server_.stopping()) response_->keep_alive(false);
  const bool close = response_->need_eof();
  stream_.expires_after(server_.options().idle_timeout);
  bhttp::async_write(stream_, *response_,
                     beast::bind_front_handler(&Session::on_write, shared_from_this(), close));
}

void Session::on_write(bool close, beast::error_code ec, std::size_t) {
  busy_ = false;
  response_.reset();
  if (ec || close) return do_close();
  do_read();
}

void Session::reject(unsigned status, std::string_view detail) {
  Response res = detail_response(static_cast<int>(status), detail);
  const std::string id = make_request_id();
  res.headers.emplace_back("X-Request-Id", id);
  log::info("request rejected", {{"status", std::to_string(status)}, {"request_id", id}});
  write(to_beast(std::move(res), 11, false, false));
}

void Session::do_close() {
  if (closed_) return;
  closed_ = true;
  beast::error_code ec;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
  stream_.close();
}

}  // namespace hubstatsd::http
