#include "http_client.h"

#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/version.hpp>

#include "exit_codes.h"

namespace hubstats::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kBodyLimit = 64ull << 20;

// Carries one request through its steps; each step runs the io_context until its
// handler fires, so the tcp_stream deadline bounds every step.
class Exchange {
 public:
  Exchange(const BaseUrl& base, const HttpOptions& options)
      : base_(base), options_(options), deadline_(Clock::now() + options.timeout) {}

  HttpResponse run(const http::request<http::string_body>& req) {
    auto endpoints = resolve();
    if (base_.scheme == "https") return run_tls(endpoints, req);
    beast::tcp_stream stream(ioc_);
    connect(stream, endpoints);
    return exchange(stream, req);
  }

 private:
  [[noreturn]] void unreachable(const beast::error_code& ec, std::string_view step) {
    if (ec == beast::error::timeout || ec == asio::error::operation_aborted) {
      auto secs = std::chrono::duration<double>(options_.timeout).count();
      std::string s = std::to_string(secs);
      s.erase(s.find_last_not_of('0') + 1);
      if (!s.empty() && s.back() == '.') s.pop_back();
      throw CliError(ExitCode::kUnreachable,
                     "timed out after " + s + "s " + std::string(step) + " " + base_.display());
    }
    throw CliError(ExitCode::kUnreachable, "cannot reach " + base_.display() + " (" +
                                               std::string(step) + ": " + ec.message() + ")");
  }

  // Runs the loop for one pending operation; `done` is set by its handler.
  void wait(const bool& done) {
    ioc_.restart();
    while (!done && ioc_.run_one() > 0) {
    }
    // Out of work without the handler having run: never expected, but never proceed as if
    // the step had succeeded.
    if (!done) throw CliError(ExitCode::kUnreachable, "request to " + base_.display() + " stalled");
  }

  tcp::resolver::results_type resolve() {
    tcp::resolver resolver(ioc_);
    asio::steady_timer timer(ioc_, deadline_);
    bool done = false;
    beast::error_code err;
    tcp::resolver::results_type results;
    timer.async_wait([&](const beast::error_code& e) {
      if (!e) resolver.cancel();
    });
    resolver.async_resolve(base_.host, base_.port,
                           [&](const beast::error_code& e, tcp::resolver::results_type r) {
                             err = e;
                             results = std::move(r);
                             done = true;
                             timer.cancel();
                           });
    wait(done);
    ioc_.restart();
    ioc_.run();  // let the cancelled timer's handler finish
    if (err) unreachable(err, err == asio::error::operation_aborted ? "resolving" : "resolve");
    return results;
  }

  void connect(beast::tcp_stream& stream, const tcp::resolver::results_type& endpoints) {
    bool done = false;
    beast::error_code err;
    stream.expires_at(deadline_);
    stream.async_connect(endpoints, [&](const beast::error_code& e, const tcp::endpoint&) {
      err = e;
      done = true;
    });
    wait(done);
    if (err) unreachable(err, "connecting to");
  }

  template <class Stream>
  HttpResponse exchange(Stream& stream, const http::request<http::string_body>& req) {
    auto& lowest = beast::get_lowest_layer(stream);
    bool done = false;
    beast::error_code err;
    lowest.expires_at(deadline_);
    http::async_write(stream, req, [&](const beast::error_code& e, std::size_t) {
      err = e;
      done = true;
    });
    wait(done);
    if (err) unreachable(err, "sending to");

    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(kBodyLimit);
    done = false;
    http::async_read(stream, buffer, parser, [&](const beast::error_code& e, std::size_t) {
      err = e;
      done = true;
    });
    wait(done);
    if (err) {
      bool network = err == beast::error::timeout || err == http::error::end_of_stream ||
                     err == asio::error::eof || err == asio::error::connection_reset ||
                     err == asio::error::broken_pipe || err == asio::error::operation_aborted;
      if (network) unreachable(err, "waiting for");
      throw CliError(ExitCode::kHttpError, "unreadable HTTP response from " + base_.display() +
                                               " (" + err.message() + ")");
    }
    const auto& res = parser.get();
    HttpResponse out;
    out.status = static_cast<int>(res.result_int());
    out.reason = std::string(res.reason());
    out.content_type = std::string(res[http::field::content_type]);
    out.error_message = std::string(res["X-Error-Message"]);
    out.body = res.body();
    beast::error_code ignored;
    lowest.socket().shutdown(tcp::socket::shutdown_both, ignored);
    return out;
  }

  HttpResponse run_tls(const tcp::resolver::results_type& endpoints,
                       const http::request<http::string_body>& req) {
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.set_default_verify_paths();
    if (!options_.ca_file.empty()) {
      beast::error_code e;
      ctx.load_verify_file(options_.ca_file, e);
      if (e) {
        throw CliError(ExitCode::kBadArgument,
                       "cannot load CA file '" + options_.ca_file + "' (" + e.message() + ")");
      }
    }
    ctx.set_verify_mode(asio::ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> stream(ioc_, ctx);
    stream.set_verify_callback(asio::ssl::host_name_verification(base_.host));
    // SNI
    if (!SSL_set_tlsext_host_name(stream.native_handle(), base_.host.c_str())) {
      throw CliError(ExitCode::kBadArgument, "cannot use host name '" + base_.host + "' for TLS");
    }
    connect(beast::get_lowest_layer(stream), endpoints);
    bool done = false;
    beast::error_code err;
    beast::get_lowest_layer(stream).expires_at(deadline_);
    stream.async_handshake(asio::ssl::stream_base::client, [&](const beast::error_code& e) {
      err = e;
      done = true;
    });
    wait(done);
    if (err) {
      if (err == beast::error::timeout) unreachable(err, "in TLS handshake with");
      throw CliError(ExitCode::kUnreachable,
                     "TLS handshake with " + base_.display() + " failed (" + err.message() + ")");
    }
    return exchange(stream, req);
  }

  const BaseUrl& base_;
  const HttpOptions& options_;
  Clock::time_point deadline_;
  asio::io_context ioc_;
};

}  // namespace

HttpClient::HttpClient(BaseUrl base, HttpOptions options)
    : base_(std::move(base)), options_(std::move(options)) {}

HttpResponse HttpClient::send(const std::string& method, const std::string& target,
                              const std::optional<std::string>& bearer,
                              const std::string& body) const {
  http::request<http::string_body> req;
  req.method_string(method);
  req.target(base_.prefix + target);
  req.version(11);
  req.set(http::field::host, base_.host_header());
  req.set(http::field::user_agent, "hubstats-cli");
  req.set(http::field::accept, "application/json");
  req.set(http::field::connection, "close");
  if (bearer && !bearer->empty()) req.set(http::field::authorization, "Bearer " + *bearer);
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();
  Exchange exchange(base_, options_);
  return exchange.run(req);
}

}  // namespace hubstats::cli
