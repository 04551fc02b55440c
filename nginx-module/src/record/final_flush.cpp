#include "record/final_flush.h"

#include <hiredis/hiredis.h>

#include <memory>
#include <vector>

namespace hubstats::module {

namespace {

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

void append(redisContext* c, const Command& cmd) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : cmd) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data());
}

}  // namespace

FlushResult flush_blocking(const RedisAddress& addr,
                           const std::vector<std::shared_ptr<RecordBatch>>& batches,
                           const RecordSettings& settings,
                           std::chrono::milliseconds connect_timeout,
                           std::chrono::milliseconds io_timeout) {
  FlushResult result;
  result.outcomes.assign(batches.size(), Delivery::kUnknown);
  if (batches.empty()) return result;
  const timeval ctv = to_timeval(connect_timeout);
  std::unique_ptr<redisContext, ContextDeleter> c(
      addr.is_unix ? redisConnectUnixWithTimeout(addr.host.c_str(), ctv)
                   : redisConnectWithTimeout(addr.host.c_str(), addr.port, ctv));
  if (!c || c->err) {
    result.error = c ? c->errstr : "out of memory";
    return result;
  }
  redisSetTimeout(c.get(), to_timeval(io_timeout));

  // The script cache may be empty (a restarted Redis): load before EVALSHA.
  const auto loads = script_load_commands();
  for (const auto& cmd : loads) append(c.get(), cmd);
  // Each batch's dirty mark right after its record (one SADD per batch: exit is rare).
  for (const auto& b : batches) {
    append(c.get(), record_batch_command(b->events, settings, b->id, ScriptCall::kEvalSha));
    append(c.get(), dirty_command(b->keys->dirty_shard, {b->keys->tag}));
  }

  auto next_reply = [&]() -> std::unique_ptr<redisReply, ReplyDeleter> {
    void* raw = nullptr;
    if (redisGetReply(c.get(), &raw) != REDIS_OK) return nullptr;
    return std::unique_ptr<redisReply, ReplyDeleter>(static_cast<redisReply*>(raw));
  };
  for (std::size_t i = 0; i < loads.size(); ++i) {
    if (!next_reply()) {
      result.error = c->errstr;
      return result;
    }
  }
  for (std::size_t i = 0; i < batches.size(); ++i) {
    const std::size_t n = batches[i]->events.size();
    auto rec = next_reply();
    auto mark = rec ? next_reply() : nullptr;
    if (!rec || !mark) {  // this batch and the rest: outcome unknown
      result.error = c->errstr;
      return result;
    }
    if (rec->type == REDIS_REPLY_INTEGER && rec->integer >= -1) {
      result.sent += n;
      if (rec->integer > 0) result.new_sessions += static_cast<std::uint64_t>(rec->integer);
      result.outcomes[i] = Delivery::kApplied;
    } else {
      result.failed += n;
      result.outcomes[i] = Delivery::kRejected;
      if (rec->type == REDIS_REPLY_ERROR && result.error.empty()) result.error = rec->str;
    }
  }
  return result;
}

}  // namespace hubstats::module
