// The Beast server over real loopback sockets: keep-alive, limits, request ids,
// graceful stop with a request in flight.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <future>
#include <thread>

#include <boost/asio/post.hpp>

#include "base/loop_local.h"
#include "serve/http/pipeline.h"
#include "serve/http/router.h"
#include "serve/http/server.h"
#include "store/stats_reader.h"

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using namespace hubstatsd::http;
using hubstatsd::current_loop;

namespace {

struct Client {
  net::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buf;

  explicit Client(std::uint16_t port) {
    stream.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  }
  bhttp::response<bhttp::string_body> get(const std::string& target,
                                          std::vector<std::pair<std::string, std::string>> h = {}) {
    bhttp::request<bhttp::string_body> req{bhttp::verb::get, target, 11};
    req.set(bhttp::field::host, "127.0.0.1");
    for (auto& [k, v] : h) req.set(k, v);
    bhttp::write(stream, req);
    bhttp::response<bhttp::string_body> res;
    bhttp::read(stream, buf, res);
    return res;
  }
  // True when the server closed the connection (read hits EOF).
  bool closed_by_server() {
    beast::error_code ec;
    char c;
    stream.socket().read_some(net::buffer(&c, 1), ec);
    return ec == net::error::eof || ec == net::error::connection_reset;
  }
};

class ServerTest : public ::testing::Test {
 protected:
  void start(ServerOptions o = {}, bool with_fast_path = false) {
    router.add("GET", "/hello", [](const Request& r, const PathParams&) {
      return json_response(
          200, "{\"hello\":\"" + std::string(r.query_param("who").value_or("x")) + "\"}");
    });
    router.add("GET", "/slow", [this](const Request&, const PathParams&) {
      entered.set_value();
      release.get_future().wait();
      return json_response(200, R"({"slow":true})");
    });
    router.add("GET", "/both", [](const Request& r, const PathParams&) {
      return json_response(200, R"({"by":"pool","id":")" + r.request_id + "\"}");
    });
    // The non-blocking variant: answers now, later (from the loop), fails, or declines.
    router.add_fast("GET", "/both", [](const Request& r, const PathParams&, FastDone done) {
      const auto how = r.query_param("how").value_or("now");
      if (how == "now") return done({json_response(200, R"({"by":"io"})"), nullptr});
      if (how == "error")
        return done({std::nullopt, std::make_exception_ptr(hubstatsd::Unavailable("down"))});
      if (how == "later") {
        auto* loop = current_loop();
        if (!loop) return done({json_response(500, R"({"by":"not an io thread"})"), nullptr});
        return boost::asio::post(*loop, [done = std::move(done)] {
          done({json_response(200, R"({"by":"io later"})"), nullptr});
        });
      }
      done({});  // decline
    });
    pipeline = std::make_unique<Pipeline>(router);
    o.port = 0;
    FastHandler fast;
    if (with_fast_path)
      fast = [this](Request& r, FastFinish finish) { pipeline->handle_fast(r, std::move(finish)); };
    server = std::make_unique<Server>(
        o, [this](Request& r) { return pipeline->handle(r); }, fast);
    server->start();
  }
  Router router;
  std::unique_ptr<Pipeline> pipeline;
  std::unique_ptr<Server> server;
  std::promise<void> entered, release;
};

TEST_F(ServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  start();
  Client c(server->port());
  for (int i = 0; i < 3; ++i) {
    auto res = c.get("/hello?who=n" + std::to_string(i));
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_EQ(res.body(), "{\"hello\":\"n" + std::to_string(i) + "\"}");
    EXPECT_TRUE(res.keep_alive());
    EXPECT_EQ(res[bhttp::field::content_type], "application/json");
    EXPECT_EQ(res["X-Request-Id"].size(), 32u);
  }
}

TEST_F(ServerTest, EchoesSaneRequestIdAndAnswersUnknownRoutes) {
  start();
  Client c(server->port());
  auto res = c.get("/nope", {{"X-Request-Id", "trace-42"}});
  EXPECT_EQ(res.result_int(), 404);
  EXPECT_EQ(res["X-Request-Id"], "trace-42");
  EXPECT_EQ(res.body(), R"({"detail":"Not Found"})");
}

TEST_F(ServerTest, PercentEncodedPathIsDecoded) {
  start();
  Client c(server->port());
  EXPECT_EQ(c.get("/hell%6F?who=a%20b").body(), R"({"hello":"a b"})");
}

TEST_F(ServerTest, OversizedHeaderIs431AndCloses) {
  ServerOptions o;
  o.header_limit = 2048;
  start(o);
  Client c(server->port());
  auto res = c.get("/hello", {{"X-Big", std::string(4096, 'a')}});
  EXPECT_EQ(res.result_int(), 431);
  EXPECT_FALSE(res["X-Request-Id"].empty());
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(ServerTest, KeepaliveOffClosesAfterResponse) {
  ServerOptions o;
  o.keepalive = false;
  start(o);
  Client c(server->port());
  auto res = c.get("/hello");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_FALSE(res.keep_alive());
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(ServerTest, IdleConnectionIsClosed) {
  ServerOptions o;
  o.idle_timeout = std::chrono::milliseconds(200);
  start(o);
  Client c(server->port());
  EXPECT_EQ(c.get("/hello").result_int(), 200);
  EXPECT_TRUE(c.closed_by_server());  // blocks until the idle timeout closes it
}

TEST_F(ServerTest, FastPathAnswersOnTheIoThreadAndHandsTheRestToThePool) {
  start({}, true);
  Client c(server->port());
  auto now = c.get("/both", {{"X-Request-Id", "fast-1"}});
  EXPECT_EQ(now.result_int(), 200);
  EXPECT_EQ(now.body(), R"({"by":"io"})");
  EXPECT_EQ(now["X-Request-Id"], "fast-1");
  EXPECT_EQ(now[bhttp::field::cache_control], "no-store");
  EXPECT_EQ(c.get("/both?how=later").body(), R"({"by":"io later"})");
  // Declined: the blocking handler answers, with the request id the fast path assigned.
  auto declined = c.get("/both?how=decline");
  EXPECT_EQ(declined.result_int(), 200);
  EXPECT_EQ(declined.body(),
            R"({"by":"pool","id":")" + std::string(declined["X-Request-Id"]) + "\"}");
  EXPECT_EQ(declined["X-Request-Id"].size(), 32u);
  auto failed = c.get("/both?how=error");
  EXPECT_EQ(failed.result_int(), 503);
  EXPECT_EQ(failed["Retry-After"], "1");
  EXPECT_EQ(failed.body(), R"({"detail":"Service temporarily unavailable"})");
  // Routes without a fast variant go to the pool; the connection stayed usable.
  EXPECT_EQ(c.get("/hello?who=z").body(), R"({"hello":"z"})");
  EXPECT_EQ(c.get("/nope").result_int(), 404);
}

TEST_F(ServerTest, WithoutFastPathEveryRequestRunsOnThePool) {
  start();
  Client c(server->port());
  EXPECT_EQ(c.get("/both").body().substr(0, 13), R"({"by":"pool",)");
}

TEST_F(ServerTest, StopFinishesTheInFlightRequest) {
  start();
  Client busy(server->port());
  Client idle(server->port());
  EXPECT_EQ(idle.get("/hello").result_int(), 200);

  auto response = std::async(std::launch::async, [&] { return busy.get("/slow"); });
  entered.get_future().wait();  // the handler is running
  std::thread stopper([&] { server->stop(std::chrono::seconds(30)); });
  EXPECT_TRUE(idle.closed_by_server());  // idle keep-alive connections close at once
  release.set_value();
  auto res = response.get();
  stopper.join();
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), R"({"slow":true})");
  EXPECT_FALSE(res.keep_alive());
  // No longer accepting.
  Client* late = nullptr;
  EXPECT_ANY_THROW(late = new Client(server->port()); late->get("/hello"));
  delete late;
}

}  // namespace
