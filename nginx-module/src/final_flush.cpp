#include "final_flush.h"

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

FlushResult flush_blocking(const RedisAddress& addr, std::deque<Event>& events,
                           const RecordSettings& settings, std::int64_t now_ms,
                           std::chrono::milliseconds connect_timeout,
                           std::chrono::milliseconds io_timeout) {
  FlushResult result;
  if (events.empty()) return result;
  const timeval ctv = to_timeval(connect_timeout);
  std::unique_ptr<redisContext, ContextDeleter> c(
      addr.is_unix ? redisConnectUnixWithTimeout(addr.host.c_str(), ctv)
                   : redisConnectWithTimeout(addr.host.c_str(), addr.port, ctv));
  if (!c || c->err) {
    result.dropped = events.size();
    result.error = c ? c->errstr : "out of memory";
    events.clear();
    return result;
  }
  redisSetTimeout(c.get(), to_timeval(io_timeout));

  KeyCache cache;
  const std::vector<RecordBatch> batches =
      group_batches(events, events.size(), cache, kMaxRecordBatch, now_ms);
  // The script cache may be empty (a restarted Redis): load before EVALSHA.
  const auto loads = script_load_commands();
  for (const auto& cmd : loads) append(c.get(), cmd);
  // Each batch's dirty mark right after its record (one SADD per batch: exit is rare).
  for (const RecordBatch& b : batches) {
    append(c.get(), record_batch_command(b.events, settings, b.now_ms, ScriptCall::kEvalSha));
    append(c.get(), dirty_command(b.keys->dirty_shard, {b.keys->tag}));
  }

  auto next_reply = [&]() -> std::unique_ptr<redisReply, ReplyDeleter> {
    void* raw = nullptr;
    if (redisGetReply(c.get(), &raw) != REDIS_OK) return nullptr;
    return std::unique_ptr<redisReply, ReplyDeleter>(static_cast<redisReply*>(raw));
  };
  // Events of batches whose reply never came: sent, but whether Redis ran them is unknown.
  auto fail_from = [&](std::size_t first) {
    for (std::size_t j = first; j < batches.size(); ++j) result.failed += batches[j].events.size();
    result.error = c->errstr;
  };
  for (std::size_t i = 0; i < loads.size(); ++i) {
    if (!next_reply()) {
      fail_from(0);
      return result;
    }
  }
  for (std::size_t i = 0; i < batches.size(); ++i) {
    const std::size_t n = batches[i].events.size();
    auto rec = next_reply();
    if (!rec) {
      fail_from(i);
      return result;
    }
    if (rec->type == REDIS_REPLY_INTEGER) {
      result.sent += n;
      result.new_sessions += static_cast<std::uint64_t>(rec->integer);
    } else {
      result.failed += n;
      if (rec->type == REDIS_REPLY_ERROR && result.error.empty()) result.error = rec->str;
    }
    if (!next_reply()) {  // the dirty mark's reply
      fail_from(i + 1);
      return result;
    }
  }
  return result;
}

}  // namespace hubstats::module
