#include "glue/redis_sink.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "glue/cluster_router.h"
#include "record/final_flush.h"
#include "record/redis_errors.h"
#include "hubstats/day.h"

namespace hubstats::module {

namespace {

constexpr std::size_t kFlushEvents = 256;  // waiting events that trigger an immediate write

bool retry_later(const redisReply* r) {
  return r && r->type == REDIS_REPLY_ERROR && r->str &&
         retry_later_error(std::string_view(r->str, r->len));
}

std::string describe(const RedisAddress& a) {
  return a.is_unix ? "unix:" + a.host : a.host + ":" + std::to_string(a.port);
}

bool log_due(time_t& last, time_t interval) {
  const time_t now = ngx_time();
  if (now - last < interval) return false;
  last = now;
  return true;
}

}  // namespace

std::uint64_t RedisSink::random64() {
  static std::random_device rd;
  return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}

RedisSink::RedisSink(SinkSettings settings, ngx_log_t* log)
    : settings_(std::move(settings)),
      log_(log),
      backoff_(settings_.backoff_min),
      ids_(random64, std::max<std::int64_t>(settings_.record.retention_s / 2, 1)),
      args_(settings_.record) {
  init_timer(io_timer_, io_timer_handler, false);
  init_timer(backoff_timer_, backoff_timer_handler, true);
  init_timer(flush_timer_, flush_timer_handler, true);
  init_timer(spool_timer_, spool_timer_handler, true);
  if (!settings_.cluster_seeds.empty()) {
    cluster_ = std::make_unique<ClusterRouter>(*this, settings_.cluster_seeds);
  }
}

// A cancelable timer does not keep an exiting worker alive (see the members' comments).
void RedisSink::init_timer(ngx_event_t& ev, ngx_event_handler_pt handler, bool cancelable) {
  ev.handler = handler;
  ev.data = this;
  ev.log = log_;
  ev.cancelable = cancelable ? 1 : 0;
}

RedisSink::~RedisSink() {
  cluster_.reset();
  if (spool_timer_.timer_set) ngx_del_timer(&spool_timer_);
  if (flush_timer_.timer_set) ngx_del_timer(&flush_timer_);
  if (io_timer_.timer_set) ngx_del_timer(&io_timer_);
  if (backoff_timer_.timer_set) ngx_del_timer(&backoff_timer_);
  if (link_.context()) redisAsyncFree(link_.context());
}

StatusSnapshot RedisSink::snapshot() const {
  StatusSnapshot s;
  s.pid = static_cast<long>(ngx_pid);
  s.counters = counters_;
  s.queued = waiting_.size() + outbox_.events() + spiller_.events();
  s.redis_connected = connected_;
  if (cluster_) s.cluster = cluster_->status();
  return s;
}

void RedisSink::start() noexcept {
  try {
    if (spool_on()) ngx_add_timer(&spool_timer_, kSpoolTick);
    if (cluster_) {
      cluster_->start();
      return;
    }
    connect();
  } catch (...) {
    ngx_log_error(NGX_LOG_ERR, log_, 0, "hubstats: cannot start the redis connection");
  }
}

// ---------------------------------------------------------------------------
// Connection lifecycle

void RedisSink::connect() {
  const RedisAddress& a = settings_.address;
  redisAsyncContext* ac =
      a.is_unix ? redisAsyncConnectUnix(a.host.c_str()) : redisAsyncConnect(a.host.c_str(), a.port);
  if (!ac || ac->err) {
    if (error_log_due()) {
      ngx_log_error(NGX_LOG_ERR, log_, 0, "hubstats: cannot connect to redis at %s: %s",
                    describe(a).c_str(), ac ? ac->errstr : "out of memory");
    }
    if (ac) redisAsyncFree(ac);
    schedule_reconnect();
    return;
  }
  ac->data = this;
  redisAsyncSetConnectCallback(ac, connect_callback);
  const HiredisLink::Open opened = link_.open(ac, log_);
  if (opened == HiredisLink::Open::kNoConnection) schedule_reconnect();
  if (opened != HiredisLink::Open::kOpen) return;  // kGone: link_gone() reconnects
  ngx_add_timer(&io_timer_, settings_.connect_timeout);
  // Pipelined ahead of every event on this connection: EVALSHA then finds them.
  for (const Command& cmd : script_load_commands()) {
    if (!send(Pending{Kind::kScriptLoad, nullptr, {}}, to_resp(cmd))) break;
  }
}

void RedisSink::on_connect(bool ok) {
  if (!ok) {
    if (error_log_due()) {
      ngx_log_error(NGX_LOG_ERR, log_, 0, "hubstats: cannot connect to redis at %s: %s",
                    describe(settings_.address).c_str(),
                    link_.context() ? link_.context()->errstr : "error");
    }
    return;  // hiredis frees the context next; hook_cleanup schedules the reconnect
  }
  connected_ = true;
  ngx_log_error(NGX_LOG_INFO, log_, 0, "hubstats: connected to redis at %s",
                describe(settings_.address).c_str());
  refresh_io_timer();
  send_waiting();
}

void RedisSink::on_context_gone() {
  const bool was_connected = connected_;
  connected_ = false;
  // Replies that never came: their batches go out again on the next connection, in
  // order (the record script skips ids it already applied).
  inflight_.clear();
  outbox_.requeue();
  if (io_timer_.timer_set) ngx_del_timer(&io_timer_);
  if (flush_timer_.timer_set) ngx_del_timer(&flush_timer_);
  if (was_connected && !shutting_down_) {
    ngx_log_error(NGX_LOG_ERR, log_, 0, "hubstats: lost the redis connection to %s",
                  describe(settings_.address).c_str());
  }
  schedule_reconnect();
}

void RedisSink::schedule_reconnect() {
  if (shutting_down_ || ngx_exiting || ngx_quit || ngx_terminate) return;
  if (backoff_timer_.timer_set) return;
  ngx_add_timer(&backoff_timer_, backoff_);
  backoff_ = std::min(backoff_ * 2, settings_.backoff_max);
}

void RedisSink::on_io_timeout() {
  if (!link_.context()) return;
  if (error_log_due()) {
    if (connected_) {
      ngx_log_error(NGX_LOG_ERR, log_, 0,
                    "hubstats: redis at %s did not answer within %M ms (%uz commands pending)",
                    describe(settings_.address).c_str(), settings_.command_timeout,
                    inflight_.size());
    } else {
      ngx_log_error(NGX_LOG_ERR, log_, 0, "hubstats: connecting to redis at %s timed out",
                    describe(settings_.address).c_str());
    }
  }
  redisAsyncFree(link_.context());  // pending callbacks get NULL (failed); hook_cleanup reconnects
}

void RedisSink::refresh_io_timer() {
  if (!link_.context()) return;
  if (!connected_) return;  // the connect timer stays as it is
  if (inflight_.empty()) {
    if (io_timer_.timer_set) ngx_del_timer(&io_timer_);
  } else {
    ngx_add_timer(&io_timer_, settings_.command_timeout);
  }
}

// ---------------------------------------------------------------------------
// Events

void RedisSink::submit(Event&& e) noexcept {
  try {
    if (shutting_down_ || (queue_full() && !spool_on())) {
      note_drop(1, "event queue full");
      return;
    }
    if (queue_full()) {
      spool_spill(e);
      return;
    }
    waiting_.push_back(std::move(e));
    schedule_flush();
  } catch (...) {
    note_drop(1, "out of memory");
  }
}

void RedisSink::schedule_flush() {
  if (cluster_) {
    cluster_->schedule_flush();
    return;
  }
  if (!connected_ || !link_.attached() || waiting_.empty()) return;
  // Enough for a full batch, or a quitting worker (its cancelable timers are gone):
  // write after this event cycle. A socket that is not writable reports when it is.
  if (waiting_.size() >= kFlushEvents || ngx_exiting) {
    if (flush_timer_.timer_set) ngx_del_timer(&flush_timer_);
    link_.post_write();
  } else if (!flush_timer_.timer_set) {
    ngx_add_timer(&flush_timer_, settings_.flush_interval);
  }
}

std::vector<std::shared_ptr<Outgoing>> RedisSink::batch_waiting() {
  std::vector<std::shared_ptr<Outgoing>> out;
  if (waiting_.empty()) return out;
  std::vector<RecordBatch> batches =
      group_batches(waiting_, waiting_.size(), key_cache_, kMaxRecordBatch,
                    settings_.record.window_ms, ids_, static_cast<std::int64_t>(ngx_time()));
  out.reserve(batches.size());
  for (auto& b : batches) {
    out.push_back(outbox_.add(std::make_shared<RecordBatch>(std::move(b)), false));
  }
  return out;
}

// Hands the outbox's unsent batches, then every waiting event, to hiredis: one
// record_batch per batch, then one SADD per dirty shard naming the batches' repos.
void RedisSink::send_waiting() {
  if (cluster_) {
    cluster_->flush();
    return;
  }
  if (!connected_) return;
  if (spool_on()) spool_replay();
  std::vector<std::shared_ptr<Outgoing>> sent;
  auto send_record = [&](const std::shared_ptr<Outgoing>& o) {
    if (!send(Pending{Kind::kRecord, o, {}},
              record_batch_resp(*o->batch, args_, ScriptCall::kEvalSha))) {
      return false;
    }
    o->state = Outgoing::State::kSent;
    sent.push_back(o);
    return true;
  };
  bool ok = true;
  for (const auto& o : outbox_.batches()) {
    if (o->state == Outgoing::State::kQueued && !(ok = send_record(o))) break;
  }
  if (ok) {
    // A context going away leaves the rest queued for the next connection.
    for (const auto& o : batch_waiting()) {
      if (ok) ok = send_record(o);
    }
  }
  if (sent.empty()) return;
  std::vector<const RepoDayKeys*> keys;
  keys.reserve(sent.size());
  for (const auto& o : sent) keys.push_back(o->batch->keys.get());
  const std::vector<std::string> marks = dirty_resps(keys);
  // Every SADD covers all batches of this flush: a batch is confirmed once every
  // mark of the flush is (simpler than tracking which shard holds which batch).
  for (std::size_t i = 0; i < marks.size(); ++i) {
    Pending p{Kind::kDirty, nullptr, {}};
    if (i + 1 == marks.size()) p.marks = std::move(sent);
    if (!send(std::move(p), marks[i])) break;
  }
}

bool RedisSink::send(Pending p, const std::string& resp) {
  if (!link_.context()) return false;
  // Make room first so a throwing push_back cannot leave hiredis with an
  // unmatched callback.
  inflight_.push_back(std::move(p));
  if (redisAsyncFormattedCommand(link_.context(), reply_callback, this, resp.data(), resp.size()) !=
      REDIS_OK) {
    inflight_.pop_back();
    return false;
  }
  if (connected_ && !io_timer_.timer_set) ngx_add_timer(&io_timer_, settings_.command_timeout);
  return true;
}

// Closes the connection from inside a reply: hiredis frees the context after the
// callback returns, answers the remaining callbacks with NULL, and hook_cleanup
// requeues the outbox and schedules the reconnect.
void RedisSink::drop_connection() {
  if (link_.context()) redisAsyncFree(link_.context());
}

void RedisSink::on_reply(redisReply* r) {
  if (inflight_.empty()) return;
  Pending p = std::move(inflight_.front());
  inflight_.pop_front();
  if (!r) return;  // the context is going away: on_context_gone requeues
  if (retry_later(r)) {
    // Reconnecting (SCRIPT LOAD first) and resending the outbox in order keeps each
    // repo's batches in id order, which the record script's exactly-once check relies
    // on; an EVAL retry of one batch (NOSCRIPT) could overtake the next.
    if (error_log_due()) {
      ngx_log_error(NGX_LOG_WARN, log_, 0, "hubstats: redis answered %*s: reconnecting",
                    static_cast<size_t>(std::min<std::size_t>(r->len, 80)), r->str);
    }
    drop_connection();
    return;
  }
  // Redis answers: the backoff starts over (not at connect: a Redis that accepts
  // connections but answers LOADING must not be hammered).
  if (r->type != REDIS_REPLY_ERROR) backoff_ = settings_.backoff_min;

  switch (p.kind) {
    case Kind::kRecord: {
      Outgoing& o = *p.out;
      if (o.state == Outgoing::State::kDone) break;
      const std::size_t events = o.batch->events.size();
      const bool applied = outbox_.record_reply(
          o, r->type == REDIS_REPLY_INTEGER ? std::optional<long long>(r->integer) : std::nullopt,
          counters_);
      if (!applied && r->type == REDIS_REPLY_ERROR && error_log_due()) {
        ngx_log_error(NGX_LOG_ERR, log_, 0, "hubstats: redis rejected a batch of %uz events: %*s",
                      events, static_cast<size_t>(r->len), r->str);
      }
      break;
    }
    case Kind::kDirty:
      if (r->type == REDIS_REPLY_ERROR) {
        if (error_log_due()) {
          ngx_log_error(NGX_LOG_ERR, log_, 0, "hubstats: redis rejected a dirty mark: %*s",
                        static_cast<size_t>(r->len), r->str);
        }
      }
      outbox_.marked(p.marks);
      // Replayed batches confirmed: read more of the file.
      if (replay_ && outbox_.replay_events() < kReplayWindow / 2) send_waiting();
      break;
    case Kind::kScriptLoad:
      if (r->type == REDIS_REPLY_ERROR && error_log_due()) {
        ngx_log_error(NGX_LOG_ERR, log_, 0, "hubstats: redis error: %*s",
                      static_cast<size_t>(r->len), r->str);
      }
      break;
  }
  refresh_io_timer();
}

void RedisSink::note_drop(std::uint64_t n, const char* why) {
  counters_.dropped += n;
  drops_since_log_ += n;
  const time_t now = ngx_time();
  if (now - last_drop_log_ >= kLogInterval) {
    ngx_log_error(NGX_LOG_WARN, log_, 0,
                  "hubstats: %s (queue %uz events), dropped %uL events since last report", why,
                  settings_.queue_cap, drops_since_log_);
    last_drop_log_ = now;
    drops_since_log_ = 0;
  }
}

bool RedisSink::error_log_due() {
  return log_due(last_error_log_, kLogInterval);
}
bool RedisSink::disk_error_log_due() {
  return log_due(last_disk_error_log_, kLogInterval);
}

// ---------------------------------------------------------------------------
// Exit

void RedisSink::shutdown() noexcept {
  shutting_down_ = true;
  try {
    if (cluster_) {
      shutdown_cluster();
    } else {
      shutdown_single();
    }
  } catch (...) {
    counters_.dropped += waiting_.size() + spiller_.discard();
    waiting_.clear();
  }
  const Counters& c = counters_;
  ngx_log_error(NGX_LOG_NOTICE, log_, 0,
                "hubstats: worker exit: requests=%uL counted=%uL new_sessions=%uL sent=%uL "
                "failed=%uL dropped=%uL spooled=%uL replayed=%uL",
                c.requests, c.counted, c.new_sessions, c.sent, c.failed, c.dropped, c.spooled,
                c.replayed);
}

// One Redis at exit: the outbox and the waiting events over a short blocking connection.
void RedisSink::shutdown_single() {
  if (backoff_timer_.timer_set) ngx_del_timer(&backoff_timer_);
  if (io_timer_.timer_set) ngx_del_timer(&io_timer_);
  if (flush_timer_.timer_set) ngx_del_timer(&flush_timer_);
  if (spool_timer_.timer_set) ngx_del_timer(&spool_timer_);
  // Unconfirmed batches are requeued in the outbox.
  if (link_.context()) redisAsyncFree(link_.context());
  // The outbox in order, then the waiting events as new batches of the same stream.
  // Replayed batches are left out: their file stays and is replayed again later.
  std::vector<std::shared_ptr<Outgoing>> left = outbox_.unfinished_own();
  for (auto& o : batch_waiting()) left.push_back(std::move(o));
  if (!left.empty()) {
    std::vector<std::shared_ptr<RecordBatch>> batches;
    for (const auto& o : left) batches.push_back(o->batch);
    const FlushResult fr = flush_blocking(settings_.address, batches, settings_.record,
                                          std::chrono::milliseconds(settings_.connect_timeout),
                                          std::chrono::milliseconds(settings_.command_timeout));
    for (const auto& o : outbox_.final_flushed(left, fr, counters_)) {
      // Keeps its id in the spool: a replay is skipped if Redis applied it.
      if (spool_on()) {
        spool_append(*o->batch, !o->counted);
      } else if (!o->counted) {
        counters_.dropped += o->batch->events.size();
      }
    }
    if (!fr.error.empty()) {
      ngx_log_error(NGX_LOG_ERR, log_, 0, "hubstats: final flush to redis at %s: %s (%s)",
                    describe(settings_.address).c_str(), fr.error.c_str(),
                    spool_on() ? "the rest is spooled" : "the rest is dropped");
    }
  }
  if (spool_on()) spool_close();
}

// Cluster mode at exit: what the async connections did not confirm goes to the spool
// (replayed later through the same routing, exactly once by its id) or, without one,
// to each batch's master over a short blocking connection (its dirty mark may then be
// refused by a master that does not own the shard: the repo is marked again by its
// next batch, and WAIT is not awaited).
void RedisSink::shutdown_cluster() {
  if (spool_timer_.timer_set) ngx_del_timer(&spool_timer_);
  if (flush_timer_.timer_set) ngx_del_timer(&flush_timer_);
  cluster_->close_all();  // unconfirmed batches are queued again in the outbox
  std::vector<std::shared_ptr<Outgoing>> left = outbox_.unfinished_own();
  for (auto& o : batch_waiting()) left.push_back(std::move(o));
  std::string error;
  if (!spool_on()) {
    std::map<std::string, std::pair<RedisAddress, std::vector<std::shared_ptr<Outgoing>>>> by_node;
    for (const auto& o : left) {
      if (auto a = cluster_->owner_address(*o->batch)) {
        auto& slot = by_node[describe(*a)];
        slot.first = *a;
        slot.second.push_back(o);
      }
    }
    for (auto& [name, group] : by_node) {
      std::vector<std::shared_ptr<RecordBatch>> batches;
      for (const auto& o : group.second) batches.push_back(o->batch);
      const FlushResult fr = flush_blocking(group.first, batches, settings_.record,
                                            std::chrono::milliseconds(settings_.connect_timeout),
                                            std::chrono::milliseconds(settings_.command_timeout));
      outbox_.final_flushed(group.second, fr, counters_);
      if (!fr.error.empty()) error = name + ": " + fr.error;
    }
  }
  for (const auto& o : left) {
    if (o->state == Outgoing::State::kDone) continue;
    if (spool_on()) {
      spool_append(*o->batch, !o->counted);
    } else if (!o->counted) {
      counters_.dropped += o->batch->events.size();
    }
  }
  if (!error.empty()) {
    ngx_log_error(NGX_LOG_ERR, log_, 0, "hubstats: final flush to redis cluster: %s (%s)",
                  error.c_str(), "the rest is dropped");
  }
  if (spool_on()) spool_close();
}

// ---------------------------------------------------------------------------
// The connection on nginx's loop (glue/hiredis_link), timers, hiredis callbacks

void RedisSink::link_writing() noexcept {
  // Edge-triggered epoll reports the socket writable again with every reply that
  // arrives: waiting events go only when their flush is due (the timer fired, or a full
  // batch waits), so a batch gathers a flush interval's events, not one round trip's.
  if (flush_timer_.timer_set && waiting_.size() < kFlushEvents) return;
  if (flush_timer_.timer_set) ngx_del_timer(&flush_timer_);
  send_waiting();
}

void RedisSink::link_output() noexcept {
  // Commands added outside a flush (NOSCRIPT retries): write them with the next one.
  if (!flush_timer_.timer_set) ngx_add_timer(&flush_timer_, settings_.flush_interval);
}

void RedisSink::io_timer_handler(ngx_event_t* ev) noexcept {
  static_cast<RedisSink*>(ev->data)->on_io_timeout();
}

void RedisSink::backoff_timer_handler(ngx_event_t* ev) noexcept {
  auto* self = static_cast<RedisSink*>(ev->data);
  if (self->shutting_down_ || ngx_exiting) return;
  try {
    self->connect();
  } catch (...) {
    self->schedule_reconnect();
  }
}

void RedisSink::flush_timer_handler(ngx_event_t* ev) noexcept {
  auto* self = static_cast<RedisSink*>(ev->data);
  if (self->cluster_) return;  // the router has its own
  if (self->link_.write_ready()) self->link_.write();
}

void RedisSink::link_gone() noexcept {
  try {
    on_context_gone();
  } catch (...) {
  }
}

void RedisSink::connect_callback(const redisAsyncContext* ac, int status) noexcept {
  try {
    static_cast<RedisSink*>(ac->data)->on_connect(status == REDIS_OK);
  } catch (...) {
  }
}

void RedisSink::reply_callback(redisAsyncContext* ac, void* reply, void*) noexcept {
  try {
    static_cast<RedisSink*>(ac->data)->on_reply(static_cast<redisReply*>(reply));
  } catch (...) {
  }
}

}  // namespace hubstats::module
