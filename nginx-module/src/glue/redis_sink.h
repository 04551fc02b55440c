// The worker's Redis writer: a hiredis async connection driven by nginx's event
// loop, a bounded queue of events, written every flush interval as one pipelined
// EVALSHA record_batch per repo, day and session bucket plus one SADD per dirty
// shard, connect/command timeouts as nginx timers, reconnect with exponential
// backoff, and a last blocking flush at exit. One instance per worker process.
// Exactly once: every batch has an id (BatchNumbering) and stays in the outbox until
// Redis confirmed both its record and its dirty mark; a connection lost before that
// (timeout, reset, NOSCRIPT) resends the outbox in order on the next connection, and
// the record script skips an id it already applied.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "record/counters.h"
#include "record/outbox.h"
#include "record/resp.h"
#include "hubstats/contract/redis_address.h"
#include "glue/hiredis_link.h"
#include "glue/ngx_includes.h"
#include "record/spool_files.h"
#include "record/spool_spiller.h"
#include "record/spool_sync.h"

struct redisAsyncContext;
struct redisReply;

namespace hubstats::module {

using hubstats::contract::RedisAddress;
class ClusterRouter;

struct SinkSettings {
  RedisAddress address;
  std::vector<RedisAddress> cluster_seeds;  // non-empty: Redis Cluster (glue/cluster_router)
  RecordSettings record;
  ngx_msec_t connect_timeout = 1000;
  ngx_msec_t command_timeout = 1000;
  ngx_msec_t backoff_min = 100;
  ngx_msec_t backoff_max = 5000;
  ngx_msec_t flush_interval = 5;  // longest an event waits before it is written
  std::size_t queue_cap = 10000;  // waiting + in flight
  std::string spool_dir;          // empty: no spool (events over the cap are dropped)
  std::uint64_t spool_max = 1ULL << 30;
};

class RedisSink final : private HiredisLink::Owner {
 public:
  RedisSink(SinkSettings settings, ngx_log_t* log);
  RedisSink(const RedisSink&) = delete;
  RedisSink& operator=(const RedisSink&) = delete;
  ~RedisSink();

  // init_process: first connection attempt (never blocks).
  void start() noexcept;
  // Log phase: queue one event for the next flush; over the cap it goes to the
  // spool (or, without one, is dropped).
  void submit(Event&& e) noexcept;
  // True when submit() would drop: lets the log phase skip building the event.
  bool full() const noexcept { return shutting_down_ || (queue_full() && !spool_on()); }
  // Counts (and, rate-limited, logs) an event refused because the queue is full.
  void drop() noexcept { note_drop(1, "event queue full"); }
  // exit_process: close the async connection and deliver what is still waiting
  // with a short blocking connection. Logs a summary.
  void shutdown() noexcept;

  Counters& counters() { return counters_; }
  StatusSnapshot snapshot() const;

 private:
  friend class ClusterRouter;  // cluster mode: routes this sink's outbox over many masters
  enum class Kind { kScriptLoad, kRecord, kDirty };
  struct Pending {
    Kind kind;
    std::shared_ptr<Outgoing> out;                 // kRecord
    std::vector<std::shared_ptr<Outgoing>> marks;  // kDirty: the batches it marks
  };

  void connect();
  void on_connect(bool ok);
  void on_context_gone();  // hiredis cleanup hook: the context is being freed
  // The connection on nginx's loop (HiredisLink::Owner).
  void link_output() noexcept override;
  void link_writing() noexcept override;
  void link_gone() noexcept override;
  void on_reply(redisReply* reply);
  void on_io_timeout();
  void schedule_reconnect();
  void send_waiting();
  // Groups the waiting events into batches of the current stream, appends them to the
  // outbox (unsent) and returns them.
  std::vector<std::shared_ptr<Outgoing>> batch_waiting();
  void schedule_flush();
  bool send(Pending p, const std::string& resp);
  void drop_connection();
  void refresh_io_timer();
  void note_drop(std::uint64_t n, const char* why);
  bool queue_full() const noexcept {
    return waiting_.size() + outbox_.events() >= settings_.queue_cap;
  }
  bool spool_on() const noexcept { return !settings_.spool_dir.empty(); }

  // Log lines, and the spool's pace and sizes (sink_spool.cpp).
  static constexpr time_t kLogInterval = 5;               // s between repeated warnings
  static constexpr ngx_msec_t kSpoolTick = 200;           // buffer flush (like access_log flush=)
  static constexpr ngx_msec_t kSpoolSync = 1000;          // fdatasync, at most this often
  static constexpr ngx_msec_t kSpoolScan = 1000;          // usage / claimable files, this often
  static constexpr std::size_t kOpenRecords = 1024;       // repos spilling at once, framed apart
  static constexpr std::size_t kSpoolBuffer = 256 << 10;  // buffered bytes written at once
  static constexpr std::size_t kReplayWindow = 2048;      // replayed events in flight at most
  static constexpr std::size_t kReplayChunk = 256 << 10;  // bytes read from a file at once
  static std::uint64_t random64();
  static std::string new_spool_name();  // "<pid>-<stream>.spool"

  // Spool: events the queue cannot hold, and batches a worker cannot deliver at exit.
  void spool_tick();
  void spool_spill(const Event& e);  // frames e into its repo's open spool record
  void spool_close_records();        // the open records into the writer's buffer
  void spool_append(const RecordBatch& b, bool count);
  void spool_write();   // writes the buffer (no fsync)
  void spool_replay();  // starts replaying a file, tops up the outbox from it
  void spool_close();   // exit: everything written and synced
  // Whether an error may be logged now: Redis's errors and the spool disk's are
  // limited apart, so an outage's connect errors never hide the disk that fails
  // during it.
  bool error_log_due();
  bool disk_error_log_due();

  void init_timer(ngx_event_t& ev, ngx_event_handler_pt handler, bool cancelable);
  // nginx event handlers and hiredis callbacks.
  static void io_timer_handler(ngx_event_t* ev) noexcept;
  static void backoff_timer_handler(ngx_event_t* ev) noexcept;
  static void flush_timer_handler(ngx_event_t* ev) noexcept;
  static void spool_timer_handler(ngx_event_t* ev) noexcept;
  static void connect_callback(const redisAsyncContext* ac, int status) noexcept;
  static void reply_callback(redisAsyncContext* ac, void* reply, void* privdata) noexcept;

  SinkSettings settings_;
  ngx_log_t* log_;
  HiredisLink link_{*this};  // ac: link_.context()
  bool connected_ = false;
  bool shutting_down_ = false;
  ngx_msec_t backoff_;

  std::deque<Event> waiting_;     // not yet in a batch
  Outbox outbox_;                 // batches until Redis confirmed them, in send order
  std::deque<Pending> inflight_;  // handed to hiredis, in reply order
  BatchNumbering ids_;
  Counters counters_;

  // Keys per (repo, day), reused across events.
  RecordArgs args_;
  KeyCache key_cache_;

  // Not cancelable: while Redis work is pending (connecting, replies due) it keeps
  // an exiting worker alive so queued events are delivered; it always expires.
  ngx_event_t io_timer_{};
  // Cancelable: a quitting worker does not wait for a reconnect.
  ngx_event_t backoff_timer_{};
  // Batches writes: events wait for up to flush_interval (or until kFlushEvents are
  // waiting), then go out as one script call per repo and day in one write(), saving
  // syscalls and Redis work per event under load. Cancelable: nginx runs it when a
  // worker starts quitting, and while replies are due io_timer_ keeps the worker alive.
  ngx_event_t flush_timer_{};

  // The spool (settings_.spool_dir): the current file, and the file being replayed.
  std::unique_ptr<spool::Writer> spool_writer_;
  std::unique_ptr<BatchNumbering> spool_ids_;  // the current file's own stream
  std::unique_ptr<spool::Syncer> syncer_;
  std::unique_ptr<spool::Reader> replay_;
  spool::Spiller spiller_{kMaxRecordBatch, kOpenRecords};  // spilled, records still open
  std::uint64_t buffer_events_ = 0;                        // events in the writer's buffer
  std::uint64_t spool_usage_ = 0;  // bytes in the directory (scan + own writes since)
  ngx_msec_t spool_scanned_ = 0;   // when usage was last scanned
  ngx_msec_t spool_synced_ = 0;    // when the file was last handed to the syncer
  ngx_msec_t spool_claimed_ = 0;   // when the directory was last searched for files
  bool spool_unsynced_ = false;
  // Cancelable, every kSpoolTick: writes the buffer, syncs, finds files to replay.
  ngx_event_t spool_timer_{};

  // hubstats_redis_cluster: the connections to the masters (link_ stays unused).
  std::unique_ptr<ClusterRouter> cluster_;
  void shutdown_single();
  void shutdown_cluster();

  time_t last_drop_log_ = 0;
  std::uint64_t drops_since_log_ = 0;
  time_t last_error_log_ = 0;
  time_t last_disk_error_log_ = 0;
};

}  // namespace hubstats::module
