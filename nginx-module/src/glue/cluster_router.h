// hubstats_redis_cluster: the worker's writer on a Redis Cluster, on nginx's event
// loop. It owns one hiredis async connection per master (plus seeds while no slot
// map is known) and routes the sink's outbox: each record batch to the master of its
// repo tag's slot, each dirty mark to the master of its shard key's slot. The slot map
// comes from CLUSTER SLOTS (any node); MOVED updates it and asks for a fresh one; ASK
// is followed once (ASKING + the command). Exactly once: a batch stays in the sink's
// outbox until its record is on a replica (WAIT 1 after each pipeline, unless the map
// shows its master has none) and its dirty mark is too; anything less (no reply, a
// timeout, a redirect, WAIT 0) resends it later, and the record script skips ids it
// applied. A repo has one record unconfirmed at a time, so a resend never comes after
// a later batch of the same repo was applied (the script keeps the highest id per
// stream); its next batch goes out one round trip after the confirmation.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "glue/hiredis_link.h"
#include "glue/ngx_includes.h"
#include "hubstats/contract/redis_address.h"
#include "record/cluster_map.h"
#include "record/counters.h"
#include "record/outbox.h"

struct redisAsyncContext;
struct redisReply;

namespace hubstats::module {

class RedisSink;

class ClusterRouter {
 public:
  ClusterRouter(RedisSink& sink, std::vector<hubstats::contract::RedisAddress> seeds);
  ClusterRouter(const ClusterRouter&) = delete;
  ClusterRouter& operator=(const ClusterRouter&) = delete;
  ~ClusterRouter();

  void start();
  // New events are waiting: write them within the flush interval (at once when many
  // are waiting or the worker is quitting).
  void schedule_flush();
  // Sends what can be sent: the outbox's queued records and due marks, new batches.
  void flush();
  // Exit: closes every connection; unconfirmed batches are back in the outbox queue.
  void close_all();
  // Where a batch goes at exit (nullopt: no master known for its slot).
  std::optional<hubstats::contract::RedisAddress> owner_address(const RecordBatch& b) const;
  // A slot map is known and some master is connected.
  bool ready() const;
  ClusterStatus status() const;

 private:
  enum class Kind { kScriptLoad, kRecord, kAsking, kDirty, kWait, kSlots, kRole };
  // What one pipeline to a master confirmed, pending its WAIT.
  struct Round {
    std::vector<std::shared_ptr<Outgoing>> recorded;
    std::vector<std::shared_ptr<Outgoing>> marked;
  };
  struct Pending {
    Kind kind;
    std::shared_ptr<Outgoing> out;                 // kRecord
    std::vector<std::shared_ptr<Outgoing>> marks;  // kDirty
    std::shared_ptr<Round> round;                  // kRecord, kDirty, kWait (null: no WAIT)
    std::string resp;                              // kRecord, kDirty: to follow an ASK
    bool asked = false;                            // sent after ASKING
  };
  struct Node final : HiredisLink::Owner {
    ClusterRouter* router = nullptr;
    std::string name;
    hubstats::contract::RedisAddress addr;
    HiredisLink link{*this};  // ac: link.context()
    bool connected = false;
    bool in_map = false;      // a master in the current slot map
    bool map_replica = true;  // the slot map lists a replica (unknown: assume one)
    int role_replicas = -1;   // connected replicas as its ROLE says (-1: not asked yet)
    // WAIT unless both the map and the master itself say it has no replica.
    bool needs_wait() const { return map_replica || role_replicas != 0; }
    ngx_msec_t backoff = 0;
    ngx_event_t io_timer{};       // not cancelable: replies due keep a quitting worker
    ngx_event_t backoff_timer{};  // cancelable
    std::deque<Pending> inflight;
    std::shared_ptr<Round> round;  // of the pipeline being built (flush)

    // The connection on nginx's loop (HiredisLink::Owner).
    void link_output() noexcept override;
    void link_gone() noexcept override;
  };

  Node* node_named(const std::string& name, bool create);
  Node* owner(int slot) const;
  void connect(Node& n);
  void on_connect(Node& n, bool ok);
  void on_context_gone(Node& n);
  void on_reply(Node& n, redisReply* r);
  void on_io_timeout(Node& n);
  void schedule_reconnect(Node& n);
  bool send(Node& n, Pending p, const std::string& resp);
  void refresh_io_timer(Node& n);
  void close(Node& n);

  void flush_soon(ngx_msec_t delay);
  void send_record(Node& n, const std::shared_ptr<Outgoing>& o);
  void end_round(Node& n);
  void follow_ask(Node& from, const Redirect& to, Pending p);
  void revert(Pending& p);
  void revert_round(Round& r);
  void finish_marks(const std::vector<std::shared_ptr<Outgoing>>& marks);
  void on_redirect(Node& n, const Redirect& to, Pending p);

  void request_refresh();
  void send_refresh();
  void send_role(Node& n);
  void apply_map(SlotMap map);
  bool map_incomplete() const;
  void update_ready();

  bool log_due();
  void init_timer(ngx_event_t& ev, ngx_event_handler_pt handler, bool cancelable, void* data);

  static void io_timer_handler(ngx_event_t* ev) noexcept;
  static void backoff_timer_handler(ngx_event_t* ev) noexcept;
  static void flush_handler(ngx_event_t* ev) noexcept;
  static void refresh_timer_handler(ngx_event_t* ev) noexcept;
  static void connect_callback(const redisAsyncContext* ac, int status) noexcept;
  static void reply_callback(redisAsyncContext* ac, void* reply, void* privdata) noexcept;

  static constexpr ngx_msec_t kRefreshMin = 100;   // between two CLUSTER SLOTS
  static constexpr ngx_msec_t kRefreshPoll = 250;  // while a master is unreachable
  static constexpr ngx_msec_t kRetryLater = 50;    // TRYAGAIN, a slot moving
  static constexpr ngx_msec_t kMapPeriod = 1000;   // the map is fetched again this often

  RedisSink& sink_;
  std::vector<hubstats::contract::RedisAddress> seeds_;
  std::vector<std::unique_ptr<Node>> nodes_;  // never shrinks: hiredis hooks point at them
  std::optional<SlotMap> map_;
  std::vector<int> dirty_slots_;  // keys::dirty(shard) -> slot
  ngx_msec_t wait_ms_;
  bool refresh_inflight_ = false;
  bool refresh_wanted_ = false;
  ngx_msec_t last_refresh_ = 0;
  std::size_t next_seed_ = 0;
  ClusterStatus stats_;
  ngx_event_t flush_timer_{};  // cancelable
  ngx_event_t flush_now_{};    // posted
  ngx_event_t refresh_timer_{};
};

}  // namespace hubstats::module
