// One HTTP connection, served by one io thread: read a request, answer it through the
// server's fast path or on the handler pool, write the response, repeat while
// keep-alive. A request's header must arrive within the header timeout, its body and
// the next request's first byte within the idle timeout; framing and the target are
// checked (http/request_checks.h) before any body is read.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "serve/http/beast_convert.h"

namespace hubstatsd::http {

class Server;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(boost::asio::ip::tcp::socket&& socket, Server& server);
  ~Session();

  void run();
  // Server is stopping: close now when idle, or after the response being prepared.
  void shutdown();

 private:
  void do_read();
  void on_first_bytes(boost::beast::error_code ec, std::size_t bytes);
  void read_header();
  void on_header(boost::beast::error_code ec, std::size_t bytes);
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void read_failed(boost::beast::error_code ec);
  void handle(BeastRequest&& req);
  void to_pool();                // runs the blocking handler on the handler pool
  void respond(Response&& res);  // on the io thread
  void write(BeastResponse&& res);
  void on_write(bool close, boost::beast::error_code ec, std::size_t bytes);
  void reject(unsigned status, std::string_view detail);
  // linger: after a response, drain what the client still sends before closing.
  void do_close(bool linger);
  void drain();

  static constexpr std::size_t kReadChunk = 4096;
  static constexpr std::chrono::seconds kLingerTimeout{2};
  static constexpr std::size_t kLingerBytes = 1024 * 1024;

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  Server& server_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::optional<BeastResponse> response_;
  // The request being handled; owned here until its response is written.
  Request request_;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool head_ = false;
  bool busy_ = false;  // a request is being handled or written
  bool closed_ = false;
  std::uint64_t requests_ = 0;  // request heads read on this connection
  std::array<char, 4096> drain_buf_;
  std::size_t drained_ = 0;
};

}  // namespace hubstatsd::http
