#include "serve/http/session.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include <boost/range/iterator_range.hpp>

#include "serve/http/pipeline.h"
#include "serve/http/request_checks.h"
#include "serve/http/server.h"
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
    if (!self->busy_) self->do_close(false);  // else: closes after writing its response
  });
}

void Session::do_read() {
  if (server_.stopping()) return do_close(false);
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(server_.options().header_limit));
  parser_->body_limit(server_.options().body_limit);
  // The first request's header must arrive within the header timeout of the accept
  // (as nginx's client_header_timeout); a pipelined request has already started.
  if (requests_ == 0 || buffer_.size() > 0) {
    stream_.expires_after(server_.options().header_timeout);
    return read_header();
  }
  // Between keep-alive requests: wait up to the idle timeout for the next one to start.
  stream_.expires_after(server_.options().idle_timeout);
  stream_.async_read_some(buffer_.prepare(kReadChunk),
                          beast::bind_front_handler(&Session::on_first_bytes, shared_from_this()));
}

void Session::on_first_bytes(beast::error_code ec, std::size_t n) {
  buffer_.commit(n);
  if (ec) return do_close(false);  // peer closed, idle timeout, or shutdown
  stream_.expires_after(server_.options().header_timeout);
  read_header();
}

void Session::read_header() {
  bhttp::async_read_header(stream_, buffer_, *parser_,
                           beast::bind_front_handler(&Session::on_header, shared_from_this()));
}

void Session::on_header(beast::error_code ec, std::size_t) {
  if (ec) return read_failed(ec);
  ++requests_;
  auto& head = parser_->get();
  std::vector<std::string_view> te;
  for (const auto& f :
       boost::make_iterator_range(head.equal_range(bhttp::field::transfer_encoding)))
    te.emplace_back(f.value().data(), f.value().size());
  const bool has_length = head.count(bhttp::field::content_length) > 0;
  if (auto bad = check_framing(te, has_length, head.version()))
    return reject(static_cast<unsigned>(bad->status), bad->detail);
  if (auto bad = check_host(head.count(bhttp::field::host), head.version()))
    return reject(static_cast<unsigned>(bad->status), bad->detail);
  const std::string_view target(head.target().data(), head.target().size());
  auto origin = origin_form_target(target);
  if (!origin) return reject(400, "Bad Request");
  if (*origin != target) head.target(*origin);
  if (parser_->is_done()) return handle(parser_->release());
  stream_.expires_after(server_.options().idle_timeout);  // the body
  bhttp::async_read(stream_, buffer_, *parser_,
                    beast::bind_front_handler(&Session::on_read, shared_from_this()));
}

void Session::on_read(beast::error_code ec, std::size_t) {
  if (ec) return read_failed(ec);
  handle(parser_->release());
}

void Session::read_failed(beast::error_code ec) {
  if (ec == bhttp::error::header_limit) return reject(431, "Request Header Fields Too Large");
  if (ec == bhttp::error::body_limit) return reject(413, "Request Entity Too Large");
  if (ec.category() == bhttp::make_error_code(bhttp::error::end_of_stream).category() &&
      ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
    return reject(400, "Bad Request");
  }
  do_close(false);  // peer closed, header or idle timeout, or shutdown
}

void Session::handle(BeastRequest&& req) {
  busy_ = true;
  stream_.expires_never();  // the handler's own backends bound its time
  version_ = req.version();
  keep_alive_ = req.keep_alive() && server_.options().keepalive;
  head_ = req.method() == bhttp::verb::head;
  try {
    request_ = from_beast(std::move(req));
  } catch (const std::exception& e) {
    log::error("request conversion failed", {{"error", e.what()}});
    Response err = detail_response(500, "Internal Server Error");
    err.headers.emplace_back("X-Request-Id", make_request_id());
    keep_alive_ = false;
    return respond(std::move(err));
  }
  if (const FastHandler& fast = server_.fast_handler()) {
    // The io thread answers what it can without blocking; the rest goes to the pool.
    fast(request_, [self = shared_from_this()](std::optional<Response> res) {
      if (res)
        self->respond(std::move(*res));
      else
        self->to_pool();
    });
    return;
  }
  to_pool();
}

void Session::to_pool() {
  net::post(server_.handler_pool(), [self = shared_from_this()] {
    Response res;
    try {
      res = self->server_.handler()(self->request_);
    } catch (const std::exception& e) {  // handlers never throw; be safe anyway
      log::error("handler failed", {{"error", e.what()}});
      res = detail_response(500, "Internal Server Error");
      res.headers.emplace_back("X-Request-Id", make_request_id());
    }
    net::post(self->stream_.get_executor(),
              [self, res = std::move(res)]() mutable { self->respond(std::move(res)); });
  });
}

void Session::respond(Response&& res) {
  write(to_beast(std::move(res), version_, keep_alive_, head_));
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
  if (ec) return do_close(false);
  if (close) return do_close(true);
  do_read();
}

void Session::reject(unsigned status, std::string_view detail) {
  Response res = detail_response(static_cast<int>(status), detail);
  const std::string id = make_request_id();
  res.headers.emplace_back("X-Request-Id", id);
  log::info("request rejected", {{"status", std::to_string(status)}, {"request_id", id}});
  write(to_beast(std::move(res), 11, false, false));
}

void Session::do_close(bool linger) {
  if (closed_) return;
  closed_ = true;
  beast::error_code ec;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
  if (!linger || ec) return stream_.close();
  // Lingering close (as nginx's): read and drop what the client still sends, so that
  // closing with unread data does not reset the connection before the client has read
  // our answer (e.g. the 400 to a request whose body was never read).
  stream_.expires_after(kLingerTimeout);
  drain();
}

void Session::drain() {
  stream_.async_read_some(net::buffer(drain_buf_),
                          [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                            self->drained_ += n;
                            if (ec || self->drained_ > kLingerBytes) return self->stream_.close();
                            self->drain();
                          });
}

}  // namespace hubstatsd::http
