// A non-blocking Redis connection driven by one event loop (an HTTP io thread's, for
// the fast path of GET /stats). Commands queued while the loop handles other ready
// connections go out in one write, and their replies come back in one read: a busy
// loop pipelines its requests' commands instead of blocking a thread per round trip.
//
// Failures behave like RedisClient's: a connect failure or a command that gets no reply
// within the command timeout fails every queued pipeline (the API answers 503), drops
// the connection, and the next use after the reconnect backoff connects again.
// Not thread-safe: use it only from its loop's thread.
#pragma once

#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "db/redis_client.h"

namespace hubstatsd {

class AsyncRedis {
 public:
  // error: nullptr on success (replies in command order; server error replies are
  // replies), else why the pipeline failed (replies then empty).
  using Done = std::function<void(std::vector<RedisReply>&& replies, const std::string* error)>;

  // Throws (std::invalid_argument, boost::system::system_error) on an address it
  // cannot use. Connects on first use.
  AsyncRedis(boost::asio::io_context& ioc, const RedisConfig& cfg);
  ~AsyncRedis();  // drops queued pipelines without calling them
  AsyncRedis(const AsyncRedis&) = delete;
  AsyncRedis& operator=(const AsyncRedis&) = delete;

  // Queues the commands as one pipeline; done runs once, on the loop's thread (at once,
  // from inside this call, while the connection is in its reconnect backoff).
  void pipeline(std::initializer_list<std::initializer_list<std::string_view>> cmds, Done done);
  // Queues one EVALSHA of call's script, keys and arguments (a pipeline of one).
  void eval(const EvalCall& call, Done done);

 private:
  using Clock = std::chrono::steady_clock;
  struct Pending {
    std::size_t want = 0;
    std::vector<RedisReply> got;
    Done done;
    Clock::time_point deadline;
  };
  enum class State { kDown, kConnecting, kUp };

  // While in the reconnect backoff: fails done at once and returns true.
  bool refuse_while_down(Done& done, Clock::time_point now);
  // Queues done for the last `want` commands appended to out_.
  void queue(std::size_t want, Done done, Clock::time_point now);
  void connect();
  void schedule_flush();
  void flush();
  void read();
  void on_data(std::size_t n);
  void arm_timer();
  void fail(const std::string& why);

  boost::asio::io_context& ioc_;
  RedisConfig cfg_;
  boost::asio::generic::stream_protocol::endpoint endpoint_;
  bool tcp_ = true;
  boost::asio::generic::stream_protocol::socket socket_;
  boost::asio::steady_timer timer_;          // the oldest pending pipeline's deadline
  boost::asio::steady_timer connect_timer_;  // the connect timeout
  bool timer_armed_ = false;
  State state_ = State::kDown;
  std::uint64_t epoch_ = 0;  // bumps when a connection is dropped; stale handlers return
  Clock::time_point down_until_{};
  std::string last_error_;
  std::deque<Pending> pending_;
  std::string out_;      // encoded commands not written yet
  std::string writing_;  // the buffer of the write in flight
  bool write_posted_ = false, write_in_flight_ = false;
  redisReader* reader_ = nullptr;
  std::array<char, 16384> in_{};
};

}  // namespace hubstatsd
