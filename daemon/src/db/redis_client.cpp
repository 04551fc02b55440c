#include "db/redis_client.h"

#include <charconv>
#include <stdexcept>

#include "hubstats/contract/redis_address.h"
#include "hubstats/contract/scripts.h"
#include "base/counters.h"
#include "base/unavailable.h"

namespace hubstatsd {

namespace {

using Clock = std::chrono::steady_clock;

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

void append(redisContext* c, const std::vector<std::string>& argv) {
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  ptrs.reserve(argv.size());
  lens.reserve(argv.size());
  for (const auto& a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  redisAppendCommandArgv(c, static_cast<int>(argv.size()), ptrs.data(), lens.data());
}

std::vector<std::string> evalsha_argv(const EvalCall& call) {
  std::vector<std::string> argv;
  argv.reserve(3 + call.keys.size() + call.args.size());
  argv.emplace_back("EVALSHA");
  argv.push_back(call.script->sha);
  argv.push_back(std::to_string(call.keys.size()));
  argv.insert(argv.end(), call.keys.begin(), call.keys.end());
  argv.insert(argv.end(), call.args.begin(), call.args.end());
  return argv;
}

}  // namespace

RedisEndpoint RedisEndpoint::parse(std::string_view a) {
  std::string why;
  const auto addr = hubstats::contract::parse_redis_address(a, &why);
  if (!addr) throw std::invalid_argument("bad address \"" + std::string(a) + "\" (" + why + ")");
  RedisEndpoint ep;
  if (addr->is_unix) {
    ep.unix_path = addr->host;
  } else {
    ep.host = addr->host;
    ep.port = addr->port;
  }
  return ep;
}

std::string_view RedisReply::error() const {
  return is_error() ? std::string_view(r_->str, r_->len) : std::string_view();
}

std::string_view reply_str(const redisReply* r) {
  if (r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS))
    return std::string_view(r->str, r->len);
  return {};
}

std::int64_t reply_int(const redisReply* r) {
  if (!r) return 0;
  if (r->type == REDIS_REPLY_INTEGER) return r->integer;
  if (r->type == REDIS_REPLY_STRING) {
    std::int64_t v = 0;
    std::from_chars(r->str, r->str + r->len, v);
    return v;
  }
  return 0;
}

std::size_t reply_len(const redisReply* r) {
  return (r && r->type == REDIS_REPLY_ARRAY) ? r->elements : 0;
}

const redisReply* reply_at(const redisReply* r, std::size_t i) {
  return i < reply_len(r) ? r->element[i] : nullptr;
}

std::vector<std::pair<std::string, std::int64_t>> reply_int_pairs(const redisReply* r) {
  std::vector<std::pair<std::string, std::int64_t>> out;
  out.reserve(reply_len(r) / 2);
  for (std::size_t k = 0; k + 1 < reply_len(r); k += 2)
    out.emplace_back(reply_str(reply_at(r, k)), reply_int(reply_at(r, k + 1)));
  return out;
}

RedisScript::RedisScript(std::string_view b) : body(b), sha(hubstats::scripts::sha1_hex(b)) {}

RedisClient::RedisClient(RedisConfig cfg)
    : cfg_(std::move(cfg)), ep_(RedisEndpoint::parse(cfg_.address)) {
  if (cfg_.pool_size < 1) cfg_.pool_size = 1;
}

RedisClient::~RedisClient() {
  std::lock_guard lk(mu_);
  for (auto* c : idle_) redisFree(c);
}

redisContext* RedisClient::connect() {
  const timeval ct = to_timeval(cfg_.connect_timeout);
  redisContext* c = ep_.unix_path.empty() ? redisConnectWithTimeout(ep_.host.c_str(), ep_.port, ct)
                                          : redisConnectUnixWithTimeout(ep_.unix_path.c_str(), ct);
  if (!c || c->err) {
    std::string err = c ? c->errstr : "out of memory";
    if (c) redisFree(c);
    throw Unavailable("redis: connect to " + cfg_.address + " failed: " + err);
  }
  if (redisSetTimeout(c, to_timeval(cfg_.command_timeout)) != REDIS_OK) {
    redisFree(c);
    throw Unavailable("redis: cannot set command timeout");
  }
  return c;
}

redisContext* RedisClient::acquire() {
  const auto deadline = Clock::now() + cfg_.acquire_timeout;
  std::unique_lock lk(mu_);
  for (;;) {
    if (!idle_.empty()) {
      auto* c = idle_.back();
      idle_.pop_back();
      return c;
    }
    if (open_ < cfg_.pool_size) {
      if (Clock::now() < down_until_) {
        metrics::add(metrics::counters().redis_errors);
        throw Unavailable("redis unavailable: " + last_error_);
      }
      ++open_;
      lk.unlock();
      try {
        return connect();
      } catch (const Unavailable& e) {
        metrics::add(metrics::counters().redis_errors);
        lk.lock();
        --open_;
        last_error_ = e.what();
        down_until_ = Clock::now() + cfg_.reconnect_backoff;
        cv_.notify_one();
        throw;
      }
    }
    if (cv_.wait_until(lk, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_ >= cfg_.pool_size) {
      metrics::add(metrics::counters().redis_errors);
      throw Unavailable("redis: no free connection within acquire timeout");
    }
  }
}

void RedisClient::release(redisContext* c, bool broken) {
  std::lock_guard lk(mu_);
  if (broken || c->err) {
    redisFree(c);
    --open_;
  } else {
    idle_.push_back(c);
  }
  cv_.notify_one();
}

std::vector<RedisReply> RedisClient::pipeline(const std::vector<std::vector<std::string>>& cmds) {
  std::vector<RedisReply> out;
  if (cmds.empty()) return out;
  redisContext* c = acquire();
  out.reserve(cmds.size());
  for (const auto& argv : cmds) append(c, argv);
  for (std::size_t i = 0; i < cmds.size(); ++i) {
    void* r = nullptr;
    if (redisGetReply(c, &r) != REDIS_OK || !r) {
      std::string err = c->errstr[0] ? c->errstr : "no reply";
      release(c, true);  // unread replies make the context unusable
      metrics::add(metrics::counters().redis_errors);
      throw Unavailable("redis: " + err);
    }
    out.emplace_back(static_cast<redisReply*>(r));
  }
  release(c, false);
  return out;
}

RedisReply RedisClient::command(const std::vector<std::string>& argv) {
  auto r = pipeline({argv});
  return std::move(r.front());
}

std::vector<RedisReply> RedisClient::eval(const std::vector<EvalCall>& calls) {
  std::vector<std::vector<std::string>> cmds;
  cmds.reserve(calls.size());
  for (const auto& call : calls) cmds.push_back(evalsha_argv(call));
  auto replies = pipeline(cmds);

  std::vector<std::size_t> retry;
  for (std::size_t i = 0; i < replies.size(); ++i)
    if (replies[i].is_error() && replies[i].error().starts_with("NOSCRIPT")) retry.push_back(i);
  if (retry.empty()) return replies;

  std::vector<std::vector<std::string>> again;
  std::vector<const RedisScript*> loaded;
  for (auto i : retry) {
    const RedisScript* s = calls[i].script;
    bool seen = false;
    for (auto* l : loaded) seen = seen || l == s;
    if (!seen) {
      loaded.push_back(s);
      again.push_back({"SCRIPT", "LOAD", s->body});
    }
  }
  const std::size_t loads = again.size();
  for (auto i : retry) again.push_back(cmds[i]);
  auto second = pipeline(again);
  for (std::size_t k = 0; k < loads; ++k)
    if (second[k].is_error()) {
      metrics::add(metrics::counters().redis_errors);
      throw Unavailable("redis: SCRIPT LOAD failed: " + std::string(second[k].error()));
    }
  for (std::size_t k = 0; k < retry.size(); ++k) replies[retry[k]] = std::move(second[loads + k]);
  return replies;
}

}  // namespace hubstatsd
