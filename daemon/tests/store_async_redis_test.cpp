// AsyncRedis against a small in-process RESP server (no Redis needed): pipelines are
// answered in order, a server that never answers fails queued pipelines after the
// command timeout, a dropped connection fails its pipeline and the next one after the
// reconnect backoff connects again, and a refused connect fails fast while backing off.
#include <gtest/gtest.h>

#include <hiredis/hiredis.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "db/async_redis.h"

namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace hubstatsd;

namespace {

// Answers each command with its first argument as a bulk string ("ECHO"-like), or with
// all of its words joined by spaces (kWords), or never (hang), or closes the connection
// at the first command of its first connection.
class FakeRedis {
 public:
  enum class Mode { kEcho, kWords, kHang, kDropFirst };

  explicit FakeRedis(Mode mode)
      : mode_(mode), acceptor_(ioc_, {net::ip::make_address("127.0.0.1"), 0}) {
    accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~FakeRedis() {
    ioc_.stop();
    thread_.join();
  }
  std::string address() const {
    return "127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }
  int connections() const { return connections_.load(); }

 private:
  struct Conn : std::enable_shared_from_this<Conn> {
    explicit Conn(tcp::socket s) : sock(std::move(s)), reader(redisReaderCreate()) {}
    ~Conn() { redisReaderFree(reader); }
    tcp::socket sock;
    redisReader* reader;
    char buf[4096];
  };

  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec) return;
      const int n = ++connections_;
      serve(std::make_shared<Conn>(std::move(s)), n);
      accept();
    });
  }

  void serve(std::shared_ptr<Conn> c, int n) {
    c->sock.async_read_some(
        net::buffer(c->buf), [this, c, n](boost::system::error_code ec, std::size_t len) {
          if (ec) return;
          redisReaderFeed(c->reader, c->buf, len);
          std::string out;
          void* r = nullptr;
          while (redisReaderGetReply(c->reader, &r) == REDIS_OK && r) {
            auto* cmd = static_cast<redisReply*>(r);
            if (mode_ == Mode::kDropFirst && n == 1) {
              freeReplyObject(cmd);
              c->sock.close();
              return;
            }
            std::string arg = cmd->elements > 1
                                  ? std::string(cmd->element[1]->str, cmd->element[1]->len)
                                  : std::string();
            if (mode_ == Mode::kWords) {
              arg.clear();
              for (std::size_t i = 0; i < cmd->elements; ++i)
                arg.append(i ? " " : "").append(cmd->element[i]->str, cmd->element[i]->len);
            }
            freeReplyObject(cmd);
            out += "$" + std::to_string(arg.size()) + "\r\n" + arg + "\r\n";
          }
          if (mode_ == Mode::kHang) out.clear();
          auto data = std::make_shared<std::string>(std::move(out));
          net::async_write(c->sock, net::buffer(*data),
                           [this, c, n, data](boost::system::error_code wec, std::size_t) {
                             if (!wec) serve(c, n);
                           });
        });
  }

  Mode mode_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::atomic<int> connections_{0};
};

RedisConfig config(const std::string& address) {
  RedisConfig c;
  c.address = address;
  c.connect_timeout = std::chrono::milliseconds(2000);
  c.command_timeout = std::chrono::milliseconds(200);
  c.reconnect_backoff = std::chrono::milliseconds(50);
  return c;
}

struct Outcome {
  std::vector<std::string> replies;
  std::optional<std::string> error;
};

// Runs one pipeline on the loop (from a handler, as the io threads do) and returns what
// done reported. The loop runs until done is called (bounded: the command timeout).
Outcome run_pipeline(net::io_context& ioc, AsyncRedis& r,
                     std::initializer_list<std::string_view> firsts) {
  Outcome out;
  bool finished = false;
  net::post(ioc, [&] {
    auto done = [&](std::vector<RedisReply>&& replies, const std::string* error) {
      if (error) out.error = *error;
      for (const auto& x : replies) out.replies.emplace_back(reply_str(x.get()));
      finished = true;
    };
    if (firsts.size() == 1)
      r.pipeline({{"ECHO", *firsts.begin()}}, done);
    else
      r.pipeline({{"ECHO", firsts.begin()[0]}, {"ECHO", firsts.begin()[1]}}, done);
  });
  ioc.restart();
  while (!finished && ioc.run_one_for(std::chrono::seconds(10)) > 0) {
  }
  EXPECT_TRUE(finished);
  return out;
}

}  // namespace

TEST(AsyncRedis, PipelinesQueuedInOneTurnAreAnsweredInOrder) {
  FakeRedis server(FakeRedis::Mode::kEcho);
  net::io_context ioc(1);
  AsyncRedis r(ioc, config(server.address()));
  std::vector<std::vector<std::string>> got(3);
  int finished = 0;
  net::post(ioc, [&] {
    // Three "requests" in the same loop turn: one connection, replies routed in order.
    for (int i = 0; i < 3; ++i) {
      const std::string a = "a" + std::to_string(i), b = "b" + std::to_string(i);
      r.pipeline({{"ECHO", a}, {"ECHO", b}},
                 [&, i](std::vector<RedisReply>&& replies, const std::string* error) {
                   EXPECT_EQ(error, nullptr);
                   for (const auto& x : replies) got[i].emplace_back(reply_str(x.get()));
                   ++finished;
                 });
    }
  });
  while (finished < 3 && ioc.run_one_for(std::chrono::seconds(10)) > 0) {
  }
  ASSERT_EQ(finished, 3);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(got[i], (std::vector<std::string>{"a" + std::to_string(i), "b" + std::to_string(i)}));
  EXPECT_EQ(server.connections(), 1);
  // The connection is reused.
  EXPECT_EQ(run_pipeline(ioc, r, {"again"}).replies, std::vector<std::string>{"again"});
  EXPECT_EQ(server.connections(), 1);
}

TEST(AsyncRedis, EvalSendsTheScriptsShaKeysAndArgumentsInTheLoopsPipeline) {
  FakeRedis server(FakeRedis::Mode::kWords);
  net::io_context ioc(1);
  AsyncRedis r(ioc, config(server.address()));
  const RedisScript script("return 1");
  const EvalCall call{&script, {"hs:{m/a/b}:days", "hs:{m/a/b}:e"}, {"hs:{m/a/b}:", "7", ""}};
  std::vector<std::string> got;
  int finished = 0;
  auto collect = [&](std::vector<RedisReply>&& replies, const std::string* error) {
    EXPECT_EQ(error, nullptr);
    for (const auto& x : replies) got.emplace_back(reply_str(x.get()));
    ++finished;
  };
  net::post(ioc, [&] {
    // Queued in one turn with a plain pipeline: one write, replies in order.
    r.pipeline({{"PING", "before"}}, collect);
    r.eval(call, collect);
    r.pipeline({{"PING", "after"}}, collect);
  });
  while (finished < 3 && ioc.run_one_for(std::chrono::seconds(10)) > 0) {
  }
  ASSERT_EQ(finished, 3);
  EXPECT_EQ(got, (std::vector<std::string>{
                     "PING before",
                     "EVALSHA " + script.sha + " 2 hs:{m/a/b}:days hs:{m/a/b}:e hs:{m/a/b}: 7 ",
                     "PING after"}));
  EXPECT_EQ(server.connections(), 1);
}

TEST(AsyncRedis, NoReplyWithinTheCommandTimeoutFailsThePipeline) {
  FakeRedis server(FakeRedis::Mode::kHang);
  net::io_context ioc(1);
  AsyncRedis r(ioc, config(server.address()));
  const Outcome o = run_pipeline(ioc, r, {"x", "y"});
  ASSERT_TRUE(o.error.has_value());
  EXPECT_NE(o.error->find("command timeout"), std::string::npos) << *o.error;
  EXPECT_TRUE(o.replies.empty());
}

TEST(AsyncRedis, DroppedConnectionFailsThenTheNextPipelineReconnects) {
  FakeRedis server(FakeRedis::Mode::kDropFirst);
  net::io_context ioc(1);
  RedisConfig cfg = config(server.address());
  cfg.reconnect_backoff = std::chrono::milliseconds(1000);  // the next call lands inside it
  AsyncRedis r(ioc, cfg);
  const Outcome first = run_pipeline(ioc, r, {"lost"});
  ASSERT_TRUE(first.error.has_value());
  // Within the backoff: fails at once, without connecting.
  const Outcome backing_off = run_pipeline(ioc, r, {"soon"});
  ASSERT_TRUE(backing_off.error.has_value());
  EXPECT_NE(backing_off.error->find("unavailable"), std::string::npos) << *backing_off.error;
  EXPECT_EQ(server.connections(), 1);
  // Once the backoff is over: a new connection, answered (polled, with a deadline).
  Outcome later;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  do {
    later = run_pipeline(ioc, r, {"back"});
    if (!later.error) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_FALSE(later.error.has_value()) << *later.error;
  EXPECT_EQ(later.replies, std::vector<std::string>{"back"});
  EXPECT_EQ(server.connections(), 2);
}

TEST(AsyncRedis, RefusedConnectFails) {
  // A port that was free a moment ago: nothing listens there.
  std::uint16_t port;
  {
    net::io_context tmp;
    tcp::acceptor a(tmp, {net::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  net::io_context ioc(1);
  AsyncRedis r(ioc, config("127.0.0.1:" + std::to_string(port)));
  const Outcome o = run_pipeline(ioc, r, {"x"});
  ASSERT_TRUE(o.error.has_value());
  EXPECT_NE(o.error->find("connect to"), std::string::npos) << *o.error;
}
