#include "db/async_redis.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/container/small_vector.hpp>

#include <new>
#include <span>
#include <vector>

#include "base/counters.h"
#include "hubstats/contract/resp.h"

namespace hubstatsd {

namespace net = boost::asio;

AsyncRedis::AsyncRedis(net::io_context& ioc, const RedisConfig& cfg)
    : ioc_(ioc), cfg_(cfg), socket_(ioc), timer_(ioc), connect_timer_(ioc) {
  const RedisEndpoint ep = RedisEndpoint::parse(cfg_.address);
  if (ep.unix_path.empty()) {
    endpoint_ = net::ip::tcp::endpoint(net::ip::make_address(ep.host),
                                       static_cast<unsigned short>(ep.port));
  } else {
    tcp_ = false;
    endpoint_ = net::local::stream_protocol::endpoint(ep.unix_path);
  }
  reader_ = redisReaderCreate();
}

AsyncRedis::~AsyncRedis() {
  boost::system::error_code ec;
  socket_.close(ec);
  if (reader_) redisReaderFree(reader_);
}

void AsyncRedis::pipeline(std::initializer_list<std::initializer_list<std::string_view>> cmds,
                          Done done) {
  const auto now = Clock::now();
  if (refuse_while_down(done, now)) return;
  for (const auto& argv : cmds) hubstats::contract::append_command(out_, argv);
  queue(cmds.size(), std::move(done), now);
}

void AsyncRedis::eval(const EvalCall& call, Done done) {
  const auto now = Clock::now();
  if (refuse_while_down(done, now)) return;
  const std::string numkeys = std::to_string(call.keys.size());
  boost::container::small_vector<std::string_view, 16> argv{"EVALSHA", call.script->sha, numkeys};
  argv.insert(argv.end(), call.keys.begin(), call.keys.end());
  argv.insert(argv.end(), call.args.begin(), call.args.end());
  hubstats::contract::append_command(out_,
                                     std::span<const std::string_view>(argv.data(), argv.size()));
  queue(1, std::move(done), now);
}

bool AsyncRedis::refuse_while_down(Done& done, Clock::time_point now) {
  if (state_ != State::kDown || now >= down_until_) return false;
  metrics::add(metrics::counters().redis_errors);
  const std::string why = "redis unavailable: " + last_error_;
  done({}, &why);
  return true;
}

void AsyncRedis::queue(std::size_t want, Done done, Clock::time_point now) {
  Pending p;
  p.want = want;
  p.got.reserve(p.want);
  p.done = std::move(done);
  p.deadline = now + cfg_.command_timeout;
  pending_.push_back(std::move(p));
  arm_timer();
  if (state_ == State::kDown)
    connect();
  else if (state_ == State::kUp)
    schedule_flush();
}

void AsyncRedis::connect() {
  state_ = State::kConnecting;
  const std::uint64_t epoch = epoch_;
  boost::system::error_code ec;
  socket_.close(ec);
  socket_ = net::generic::stream_protocol::socket(ioc_);
  connect_timer_.expires_after(cfg_.connect_timeout);
  connect_timer_.async_wait([this, epoch](boost::system::error_code ec) {
    if (ec || epoch != epoch_ || state_ != State::kConnecting) return;
    fail("connect to " + cfg_.address + " failed: timeout");
  });
  socket_.async_connect(endpoint_, [this, epoch](boost::system::error_code ec) {
    if (epoch != epoch_) return;
    connect_timer_.cancel();
    if (ec) return fail("connect to " + cfg_.address + " failed: " + ec.message());
    state_ = State::kUp;
    if (tcp_) {
      boost::system::error_code ignored;
      socket_.set_option(net::ip::tcp::no_delay(true), ignored);
    }
    read();
    flush();
  });
}

void AsyncRedis::schedule_flush() {
  if (write_posted_ || write_in_flight_) return;
  // Later: the loop first runs the other handlers that are ready, whose commands then
  // go out in the same write.
  write_posted_ = true;
  net::post(ioc_, [this, epoch = epoch_] {
    if (epoch != epoch_) return;
    write_posted_ = false;
    flush();
  });
}

void AsyncRedis::flush() {
  if (state_ != State::kUp || write_in_flight_ || out_.empty()) return;
  writing_.swap(out_);
  out_.clear();
  write_in_flight_ = true;
  net::async_write(socket_, net::buffer(writing_),
                   [this, epoch = epoch_](boost::system::error_code ec, std::size_t) {
                     if (epoch != epoch_) return;
                     write_in_flight_ = false;
                     writing_.clear();
                     if (ec) return fail("write failed: " + ec.message());
                     flush();  // what queued up meanwhile
                   });
}

void AsyncRedis::read() {
  socket_.async_read_some(net::buffer(in_),
                          [this, epoch = epoch_](boost::system::error_code ec, std::size_t n) {
                            if (epoch != epoch_) return;
                            if (ec) return fail("read failed: " + ec.message());
                            on_data(n);
                          });
}

void AsyncRedis::on_data(std::size_t n) {
  if (redisReaderFeed(reader_, in_.data(), n) != REDIS_OK) return fail("protocol error");
  const std::uint64_t epoch = epoch_;
  for (;;) {
    void* r = nullptr;
    if (redisReaderGetReply(reader_, &r) != REDIS_OK) return fail("protocol error");
    if (!r) break;
    RedisReply reply(static_cast<redisReply*>(r));
    if (pending_.empty()) return fail("reply without a command");
    Pending& p = pending_.front();
    p.got.push_back(std::move(reply));
    if (p.got.size() < p.want) continue;
    Pending done = std::move(pending_.front());
    pending_.pop_front();
    done.done(std::move(done.got), nullptr);
    if (epoch != epoch_) return;  // the callback's work dropped the connection
  }
  read();
}

void AsyncRedis::arm_timer() {
  if (timer_armed_ || pending_.empty()) return;
  timer_armed_ = true;
  timer_.expires_at(pending_.front().deadline);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec == net::error::operation_aborted) return;
    timer_armed_ = false;
    if (pending_.empty()) return;
    if (pending_.front().deadline <= Clock::now()) return fail("command timeout");
    arm_timer();
  });
}

void AsyncRedis::fail(const std::string& why) {
  ++epoch_;
  state_ = State::kDown;
  last_error_ = why;
  down_until_ = Clock::now() + cfg_.reconnect_backoff;
  boost::system::error_code ec;
  socket_.close(ec);
  connect_timer_.cancel();
  out_.clear();
  write_posted_ = write_in_flight_ = false;
  writing_.clear();
  redisReaderFree(reader_);
  reader_ = redisReaderCreate();
  const std::string msg = "redis: " + why;
  std::deque<Pending> failed;
  failed.swap(pending_);
  for (auto& p : failed) {
    metrics::add(metrics::counters().redis_errors);
    p.done({}, &msg);
  }
}

}  // namespace hubstatsd
