#include "glue/cluster_router.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "glue/redis_sink.h"
#include "hubstats/contract/keys.h"
#include "record/redis_errors.h"
#include "record/resp.h"

namespace hubstats::module {

using hubstats::contract::key_slot;
using hubstats::contract::RedisAddress;

namespace {

constexpr std::size_t kFlushEvents = 256;  // as RedisSink: waiting events that flush at once

std::string name_of(const RedisAddress& a) {
  return a.host + ":" + std::to_string(a.port);
}

std::string_view error_text(const redisReply* r) {
  return r && r->type == REDIS_REPLY_ERROR && r->str ? std::string_view(r->str, r->len)
                                                     : std::string_view{};
}

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

int batch_slot(const RecordBatch& b) {
  return key_slot(b.keys->batches);
}

}  // namespace

ClusterRouter::ClusterRouter(RedisSink& sink, std::vector<RedisAddress> seeds)
    : sink_(sink),
      seeds_(std::move(seeds)),
      wait_ms_(std::max<ngx_msec_t>(sink.settings_.command_timeout / 2, 1)) {
  for (int s = 0; s < keys::kDirtyShards; ++s) dirty_slots_.push_back(key_slot(keys::dirty(s)));
  init_timer(flush_timer_, flush_handler, true, this);
  init_timer(flush_now_, flush_handler, true, this);
  init_timer(refresh_timer_, refresh_timer_handler, true, this);
  for (const RedisAddress& a : seeds_) node_named(name_of(a), true);
}

ClusterRouter::~ClusterRouter() {
  if (flush_timer_.timer_set) ngx_del_timer(&flush_timer_);
  if (refresh_timer_.timer_set) ngx_del_timer(&refresh_timer_);
  if (flush_now_.posted) {
    ngx_delete_posted_event(&flush_now_);
  }
  for (auto& n : nodes_) {
    if (n->io_timer.timer_set) ngx_del_timer(&n->io_timer);
    if (n->backoff_timer.timer_set) ngx_del_timer(&n->backoff_timer);
    if (n->link.context()) redisAsyncFree(n->link.context());
  }
}

void ClusterRouter::init_timer(ngx_event_t& ev, ngx_event_handler_pt handler, bool cancelable,
                               void* data) {
  ev.handler = handler;
  ev.data = data;
  ev.log = sink_.log_;
  ev.cancelable = cancelable ? 1 : 0;
}

bool ClusterRouter::log_due() {
  return sink_.error_log_due();
}

ClusterRouter::Node* ClusterRouter::node_named(const std::string& name, bool create) {
  for (auto& n : nodes_) {
    if (n->name == name) return n.get();
  }
  if (!create) return nullptr;
  auto addr = hubstats::contract::parse_redis_address(name);
  if (!addr) {
    // An IPv6 host as CLUSTER SLOTS writes it (no brackets).
    addr = hubstats::contract::parse_redis_address("[" + name.substr(0, name.rfind(':')) + "]" +
                                                   name.substr(name.rfind(':')));
    if (!addr) return nullptr;
  }
  auto n = std::make_unique<Node>();
  n->router = this;
  n->name = name;
  n->addr = std::move(*addr);
  n->backoff = sink_.settings_.backoff_min;
  init_timer(n->io_timer, io_timer_handler, false, n.get());
  init_timer(n->backoff_timer, backoff_timer_handler, true, n.get());
  nodes_.push_back(std::move(n));
  return nodes_.back().get();
}

ClusterRouter::Node* ClusterRouter::owner(int slot) const {
  if (!map_) return nullptr;
  const ClusterMaster* m = map_->master_of(slot);
  if (!m) return nullptr;
  for (auto& n : nodes_) {
    if (n->name == m->name() && n->in_map) return n.get();
  }
  return nullptr;
}

std::optional<RedisAddress> ClusterRouter::owner_address(const RecordBatch& b) const {
  Node* n = owner(batch_slot(b));
  if (!n) return std::nullopt;
  return n->addr;
}

bool ClusterRouter::ready() const {
  if (!map_) return false;
  for (auto& n : nodes_) {
    if (n->in_map && n->connected) return true;
  }
  return false;
}

void ClusterRouter::update_ready() {
  sink_.connected_ = ready();
}

ClusterStatus ClusterRouter::status() const {
  ClusterStatus s = stats_;
  for (auto& n : nodes_) {
    if (!n->in_map && !n->link.context()) continue;  // a seed or former master, idle
    s.nodes.push_back({n->name, n->connected, n->in_map, n->inflight.size()});
  }
  return s;
}

void ClusterRouter::start() {
  request_refresh();
}

// ---------------------------------------------------------------------------
// Connections (as RedisSink's single connection, one per node)

void ClusterRouter::connect(Node& n) {
  if (n.link.context() || sink_.shutting_down_) return;
  redisAsyncContext* ac = redisAsyncConnect(n.addr.host.c_str(), n.addr.port);
  if (!ac || ac->err) {
    if (log_due()) {
      ngx_log_error(NGX_LOG_ERR, sink_.log_, 0, "hubstats: cannot connect to redis at %s: %s",
                    n.name.c_str(), ac ? ac->errstr : "out of memory");
    }
    if (ac) redisAsyncFree(ac);
    schedule_reconnect(n);
    return;
  }
  ac->data = &n;
  redisAsyncSetConnectCallback(ac, connect_callback);
  const HiredisLink::Open opened = n.link.open(ac, sink_.log_);
  if (opened == HiredisLink::Open::kNoConnection) schedule_reconnect(n);
  if (opened != HiredisLink::Open::kOpen) return;  // kGone: link_gone() reconnects
  ngx_add_timer(&n.io_timer, sink_.settings_.connect_timeout);
  for (const Command& cmd : script_load_commands()) {
    if (!send(n, Pending{Kind::kScriptLoad, nullptr, {}, nullptr, {}, false}, to_resp(cmd))) {
      break;
    }
  }
}

void ClusterRouter::on_connect(Node& n, bool ok) {
  if (!ok) {
    if (log_due()) {
      ngx_log_error(NGX_LOG_ERR, sink_.log_, 0, "hubstats: cannot connect to redis at %s: %s",
                    n.name.c_str(), n.link.context() ? n.link.context()->errstr : "error");
    }
    return;  // hook_cleanup schedules the reconnect
  }
  n.connected = true;
  ngx_log_error(NGX_LOG_INFO, sink_.log_, 0, "hubstats: connected to redis cluster node %s",
                n.name.c_str());
  n.role_replicas = -1;
  refresh_io_timer(n);
  send_role(n);
  if (refresh_wanted_ && !refresh_inflight_) send_refresh();
  update_ready();
  if (n.in_map) flush();
}

void ClusterRouter::on_context_gone(Node& n) {
  const bool was_connected = n.connected;
  n.connected = false;
  // Replies that never came: their batches are sent again once a master is known.
  while (!n.inflight.empty()) {
    Pending p = std::move(n.inflight.front());
    n.inflight.pop_front();
    revert(p);
  }
  n.round.reset();
  if (n.io_timer.timer_set) ngx_del_timer(&n.io_timer);
  if (was_connected && n.in_map && !sink_.shutting_down_) {
    ngx_log_error(NGX_LOG_ERR, sink_.log_, 0, "hubstats: lost the redis connection to %s",
                  n.name.c_str());
  }
  update_ready();
  if (sink_.shutting_down_) return;
  // A master gone may be failing over: learn the new owner of its slots.
  // (A seed that failed: refresh_timer_ tries the next one.)
  if (n.in_map) {
    schedule_reconnect(n);
    request_refresh();
  }
}

void ClusterRouter::schedule_reconnect(Node& n) {
  if (sink_.shutting_down_ || ngx_exiting || ngx_quit || ngx_terminate) return;
  if (!n.in_map || n.backoff_timer.timer_set) return;
  ngx_add_timer(&n.backoff_timer, n.backoff);
  n.backoff = std::min(n.backoff * 2, sink_.settings_.backoff_max);
}

void ClusterRouter::on_io_timeout(Node& n) {
  if (!n.link.context()) return;
  if (log_due()) {
    if (n.connected) {
      ngx_log_error(NGX_LOG_ERR, sink_.log_, 0,
                    "hubstats: redis at %s did not answer within %M ms (%uz commands pending)",
                    n.name.c_str(), sink_.settings_.command_timeout, n.inflight.size());
    } else {
      ngx_log_error(NGX_LOG_ERR, sink_.log_, 0, "hubstats: connecting to redis at %s timed out",
                    n.name.c_str());
    }
  }
  redisAsyncFree(n.link.context());
}

void ClusterRouter::refresh_io_timer(Node& n) {
  if (!n.link.context() || !n.connected) return;
  if (n.inflight.empty()) {
    if (n.io_timer.timer_set) ngx_del_timer(&n.io_timer);
  } else {
    ngx_add_timer(&n.io_timer, sink_.settings_.command_timeout);
  }
}

bool ClusterRouter::send(Node& n, Pending p, const std::string& resp) {
  if (!n.link.context()) return false;
  n.inflight.push_back(std::move(p));
  if (redisAsyncFormattedCommand(n.link.context(), reply_callback, nullptr, resp.data(),
                                 resp.size()) != REDIS_OK) {
    n.inflight.pop_back();
    return false;
  }
  if (n.connected && !n.io_timer.timer_set) {
    ngx_add_timer(&n.io_timer, sink_.settings_.command_timeout);
  }
  return true;
}

void ClusterRouter::close(Node& n) {
  if (n.backoff_timer.timer_set) ngx_del_timer(&n.backoff_timer);
  // hook_cleanup reverts what was in flight.
  if (n.link.context()) redisAsyncFree(n.link.context());
}

void ClusterRouter::close_all() {
  if (flush_timer_.timer_set) ngx_del_timer(&flush_timer_);
  if (refresh_timer_.timer_set) ngx_del_timer(&refresh_timer_);
  for (auto& n : nodes_) close(*n);
}

// ---------------------------------------------------------------------------
// Sending

void ClusterRouter::schedule_flush() {
  if (!ready() || sink_.waiting_.empty()) return;
  if (sink_.waiting_.size() >= kFlushEvents) {
    if (flush_timer_.timer_set) ngx_del_timer(&flush_timer_);
    // ngx_post_event is a multi-statement macro: keep the braces.
    if (!flush_now_.posted) {
      ngx_post_event(&flush_now_, &ngx_posted_events);
    }
  } else {
    flush_soon(sink_.settings_.flush_interval);
  }
}

// A quitting worker's cancelable timers would not run: post the flush instead.
void ClusterRouter::flush_soon(ngx_msec_t delay) {
  if (ngx_exiting) {
    if (flush_timer_.timer_set) ngx_del_timer(&flush_timer_);
    if (!flush_now_.posted) {
      ngx_post_event(&flush_now_, &ngx_posted_events);
    }
  } else if (!flush_timer_.timer_set) {
    ngx_add_timer(&flush_timer_, delay);
  }
}

void ClusterRouter::send_record(Node& n, const std::shared_ptr<Outgoing>& o) {
  if (!n.round && n.needs_wait()) n.round = std::make_shared<Round>();
  Pending p{Kind::kRecord, o, {}, n.round, {}, false};
  p.resp = record_batch_resp(*o->batch, sink_.args_, ScriptCall::kEvalSha);
  const std::string resp = p.resp;
  if (send(n, std::move(p), resp)) {
    o->state = Outgoing::State::kSent;
    o->sent_once = true;
  }
}

// The pipeline's WAIT: its records and marks count once a replica has them.
void ClusterRouter::end_round(Node& n) {
  if (!n.round) return;
  std::shared_ptr<Round> r = std::move(n.round);
  const std::string wait = format_command({"WAIT", "1", std::to_string(wait_ms_)});
  send(n, Pending{Kind::kWait, nullptr, {}, r, {}, false}, wait);
}

void ClusterRouter::flush() {
  if (flush_timer_.timer_set) ngx_del_timer(&flush_timer_);
  if (!map_) {
    request_refresh();
    return;
  }
  if (sink_.spool_on()) sink_.spool_replay();
  sink_.batch_waiting();  // into the outbox, queued

  // Records, in outbox order. A repo's batches must be applied in id order (the script
  // keeps the highest id per stream), and a record answered "not now" (TRYAGAIN, ASK,
  // MOVED, LOADING...) was not applied while one sent after it may be (a slot migration
  // ending between the two): so a repo has one record unconfirmed at a time, and none
  // is sent past an earlier one that cannot be sent now.
  std::unordered_set<std::string_view> busy;  // repos with a record unconfirmed
  for (const auto& o : sink_.outbox_.batches()) {
    if (o->state == Outgoing::State::kSent ||
        (o->state == Outgoing::State::kRecorded && !o->replicated)) {
      busy.insert(o->batch->keys->tag);
    }
  }
  std::map<int, std::vector<std::shared_ptr<Outgoing>>> marks;  // shard -> batches
  bool unroutable = false;
  for (const auto& o : sink_.outbox_.batches()) {
    if (o->state == Outgoing::State::kQueued) {
      if (!busy.insert(o->batch->keys->tag).second) continue;
      Node* n = owner(batch_slot(*o->batch));
      if (!n || !n->connected) {
        unroutable = true;
        continue;
      }
      o->replicated = false;
      // The repo's later batches that were never sent go in this one: a busy repo
      // gets one batch per round trip, so make it a full one.
      sink_.outbox_.absorb(o, kMaxRecordBatch);
      send_record(*n, o);
    } else if (o->state == Outgoing::State::kRecorded && o->replicated && !o->marking) {
      marks[o->batch->keys->dirty_shard].push_back(o);
    }
  }
  for (auto& [shard, list] : marks) {
    Node* n = owner(dirty_slots_[static_cast<std::size_t>(shard)]);
    if (!n || !n->connected) {
      unroutable = true;
      continue;
    }
    std::vector<std::string> tags;
    std::unordered_set<std::string_view> seen;
    for (const auto& o : list) {
      if (seen.insert(o->batch->keys->tag).second) tags.push_back(o->batch->keys->tag);
    }
    if (!n->round && n->needs_wait()) n->round = std::make_shared<Round>();
    Pending p{Kind::kDirty, nullptr, list, n->round, {}, false};
    p.resp = to_resp(dirty_command(shard, tags));
    const std::string resp = p.resp;
    if (send(*n, std::move(p), resp)) {
      for (const auto& o : list) o->marking = true;
    }
  }
  for (auto& n : nodes_) end_round(*n);
  if (unroutable) request_refresh();
}

// ---------------------------------------------------------------------------
// Replies

void ClusterRouter::revert(Pending& p) {
  switch (p.kind) {
    case Kind::kRecord:
      if (p.out->state == Outgoing::State::kSent) p.out->state = Outgoing::State::kQueued;
      break;
    case Kind::kDirty:
      for (const auto& o : p.marks) o->marking = false;
      break;
    case Kind::kWait:
      if (p.round) revert_round(*p.round);
      break;
    case Kind::kSlots:
      refresh_inflight_ = false;
      refresh_wanted_ = true;
      break;
    case Kind::kScriptLoad:
    case Kind::kAsking:
    case Kind::kRole:
      break;
  }
}

// Applied but not known to be on a replica: sent again (the script answers -1).
void ClusterRouter::revert_round(Round& r) {
  for (const auto& o : r.recorded) {
    if (o->state == Outgoing::State::kRecorded && !o->replicated) {
      o->state = Outgoing::State::kQueued;
    }
  }
  for (const auto& o : r.marked) o->marking = false;
  r.recorded.clear();
  r.marked.clear();
}

void ClusterRouter::finish_marks(const std::vector<std::shared_ptr<Outgoing>>& marks) {
  for (const auto& o : marks) o->marking = false;
  sink_.outbox_.marked(marks);
}

void ClusterRouter::on_redirect(Node& n, const Redirect& to, Pending p) {
  if (to.kind == Redirect::Kind::kAsk && !p.asked) {
    ++stats_.asked;
    follow_ask(n, to, std::move(p));
    return;
  }
  revert(p);
  if (to.kind == Redirect::Kind::kMoved) {
    ++stats_.moved;
    // Route the slot at once; the full map follows.
    if (map_) {
      int idx = map_->index_of(to.name());
      if (idx < 0) {
        ClusterMaster m;
        m.host = to.host;
        m.port = to.port;
        m.has_replica = true;  // unknown until the map says: WAIT
        map_->masters.push_back(m);
        idx = static_cast<int>(map_->masters.size() - 1);
      }
      map_->owner[static_cast<std::size_t>(to.slot)] = static_cast<std::int16_t>(idx);
      if (Node* t = node_named(to.name(), true)) {
        if (!t->in_map) {
          t->in_map = true;
          t->map_replica = map_->masters[static_cast<std::size_t>(idx)].has_replica;
        }
        if (!t->link.context()) connect(*t);
      }
    }
    request_refresh();
  }
  // An ASK followed once and redirected again: later, from the map.
  flush_soon(kRetryLater);
}

// ASK: the slot is migrating; this command goes once to the importing node.
void ClusterRouter::follow_ask(Node& from, const Redirect& to, Pending p) {
  (void)from;
  Node* t = node_named(to.name(), true);
  if (!t || !t->connected) {
    revert(p);
    if (t && !t->link.context()) connect(*t);
    flush_soon(kRetryLater);
    return;
  }
  const std::string resp = p.resp;
  p.asked = true;
  std::shared_ptr<Round> round = t->needs_wait() ? std::make_shared<Round>() : nullptr;
  p.round = round;
  send(*t, Pending{Kind::kAsking, nullptr, {}, nullptr, {}, false}, format_command({"ASKING"}));
  Pending copy = p;
  if (!send(*t, std::move(p), resp)) {
    revert(copy);
    return;
  }
  if (round) {
    send(*t, Pending{Kind::kWait, nullptr, {}, round, {}, false},
         format_command({"WAIT", "1", std::to_string(wait_ms_)}));
  }
}

void ClusterRouter::on_reply(Node& n, redisReply* r) {
  if (n.inflight.empty()) return;
  Pending p = std::move(n.inflight.front());
  n.inflight.pop_front();
  if (!r) {  // the context is going away
    revert(p);
    return;
  }
  const std::string_view err = error_text(r);
  if (!err.empty() && (p.kind == Kind::kRecord || p.kind == Kind::kDirty)) {
    if (auto to = parse_redirect(err)) {
      on_redirect(n, *to, std::move(p));
      refresh_io_timer(n);
      return;
    }
    if (retry_later_error(err)) {
      revert(p);
      if (log_due()) {
        ngx_log_error(NGX_LOG_WARN, sink_.log_, 0, "hubstats: redis at %s answered %*s",
                      n.name.c_str(), std::min<std::size_t>(err.size(), 80), err.data());
      }
      if (starts_with(err, "TRYAGAIN") || starts_with(err, "CLUSTERDOWN")) {
        // A slot being migrated, or the cluster settling: again shortly, from the map.
        if (starts_with(err, "CLUSTERDOWN")) request_refresh();
        flush_soon(kRetryLater);
      } else {
        // As with one Redis: reconnect (SCRIPT LOAD first), then resend in order.
        redisAsyncFree(n.link.context());
        return;
      }
      refresh_io_timer(n);
      return;
    }
  }
  if (err.empty()) n.backoff = sink_.settings_.backoff_min;

  bool progress = false;
  switch (p.kind) {
    case Kind::kRecord: {
      Outgoing& o = *p.out;
      if (o.state == Outgoing::State::kDone) break;
      const std::size_t events = o.batch->events.size();
      const bool applied = sink_.outbox_.record_reply(
          o, r->type == REDIS_REPLY_INTEGER ? std::optional<long long>(r->integer) : std::nullopt,
          sink_.counters_);
      if (applied) {
        if (p.round) {
          p.round->recorded.push_back(p.out);
        } else {
          o.replicated = true;  // its master has no replica
          progress = true;
        }
      } else if (!err.empty() && log_due()) {
        ngx_log_error(NGX_LOG_ERR, sink_.log_, 0,
                      "hubstats: redis at %s rejected a batch of %uz events: %*s", n.name.c_str(),
                      events, err.size(), err.data());
      }
      break;
    }
    case Kind::kDirty:
      if (!err.empty() && log_due()) {
        ngx_log_error(NGX_LOG_ERR, sink_.log_, 0, "hubstats: redis rejected a dirty mark: %*s",
                      err.size(), err.data());
      }
      if (p.round) {
        p.round->marked.insert(p.round->marked.end(), p.marks.begin(), p.marks.end());
      } else {
        finish_marks(p.marks);
        progress = true;
      }
      break;
    case Kind::kWait:
      if (r->type == REDIS_REPLY_INTEGER && r->integer >= 1) {
        for (const auto& o : p.round->recorded) {
          if (o->state == Outgoing::State::kRecorded) o->replicated = true;
        }
        finish_marks(p.round->marked);
      } else {
        // Not on a replica within wait_ms: kept, sent again; the map may show the
        // master has lost its replica.
        ++stats_.unreplicated;
        if (log_due()) {
          ngx_log_error(NGX_LOG_WARN, sink_.log_, 0,
                        "hubstats: redis at %s did not replicate within %M ms: batches kept",
                        n.name.c_str(), wait_ms_);
        }
        revert_round(*p.round);
        request_refresh();
        flush_soon(kRetryLater);
      }
      progress = true;
      break;
    case Kind::kSlots: {
      refresh_inflight_ = false;
      std::string why;
      auto map = parse_cluster_slots(r, n.addr.host, &why);
      if (!map || map->masters.empty()) {
        if (log_due()) {
          ngx_log_error(NGX_LOG_ERR, sink_.log_, 0,
                        "hubstats: no slot map from redis at %s (%s): is it a cluster node?",
                        n.name.c_str(), map ? "no masters" : why.c_str());
        }
        refresh_wanted_ = true;
        if (!refresh_timer_.timer_set) ngx_add_timer(&refresh_timer_, sink_.settings_.backoff_max);
        break;
      }
      ++stats_.map_refreshes;
      apply_map(std::move(*map));
      break;
    }
    case Kind::kScriptLoad:
      if (!err.empty() && log_due()) {
        ngx_log_error(NGX_LOG_ERR, sink_.log_, 0, "hubstats: redis at %s: %*s", n.name.c_str(),
                      err.size(), err.data());
      }
      break;
    case Kind::kAsking:
      break;
    case Kind::kRole:
      if (auto replicas = parse_role_replicas(r)) {
        n.role_replicas = *replicas;
      } else {
        n.role_replicas = -1;
        request_refresh();  // no longer a master (failed over): the map has changed
      }
      break;
  }
  refresh_io_timer(n);
  // A record or mark confirmed opens the way for the repo's next batch, the batch's
  // mark, or more of a spool file being replayed: flush again soon.
  // Within the flush interval, like new events: a busy repo's events meanwhile join
  // its next batch (Outbox::absorb), so it is sent full rather than often.
  if (progress && !sink_.outbox_.batches().empty()) flush_soon(sink_.settings_.flush_interval);
}

// ---------------------------------------------------------------------------
// The slot map

void ClusterRouter::request_refresh() {
  refresh_wanted_ = true;
  if (refresh_inflight_ || sink_.shutting_down_) return;
  const ngx_msec_t since = ngx_current_msec - last_refresh_;
  if (last_refresh_ != 0 && since < kRefreshMin) {
    if (!refresh_timer_.timer_set) ngx_add_timer(&refresh_timer_, kRefreshMin - since);
    return;
  }
  send_refresh();
}

void ClusterRouter::send_refresh() {
  // A connected master first, then any connected node, else connect to one more.
  Node* via = nullptr;
  for (auto& n : nodes_) {
    if (n->connected && n->in_map) {
      via = n.get();
      break;
    }
  }
  if (!via) {
    for (auto& n : nodes_) {
      if (n->connected) {
        via = n.get();
        break;
      }
    }
  }
  if (!via) {
    // Seeds in turn, then the nodes the last map named; on_connect sends the query.
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      Node& n = *nodes_[(next_seed_ + i) % nodes_.size()];
      if (!n.link.context() && !n.backoff_timer.timer_set) {
        next_seed_ = (next_seed_ + i + 1) % nodes_.size();
        connect(n);
        break;
      }
    }
    if (!refresh_timer_.timer_set) ngx_add_timer(&refresh_timer_, sink_.settings_.backoff_min);
    return;
  }
  if (send(*via, Pending{Kind::kSlots, nullptr, {}, nullptr, {}, false},
           format_command({"CLUSTER", "SLOTS"}))) {
    refresh_inflight_ = true;
    refresh_wanted_ = false;
    last_refresh_ = ngx_current_msec;
  }
  for (auto& n : nodes_) {
    if (n->in_map && n->connected) send_role(*n);
  }
}

// Whether the master has a replica now, in its own words (see needs_wait).
void ClusterRouter::send_role(Node& n) {
  send(n, Pending{Kind::kRole, nullptr, {}, nullptr, {}, false}, format_command({"ROLE"}));
}

bool ClusterRouter::map_incomplete() const {
  if (!map_ || map_->uncovered() > 0) return true;
  for (auto& n : nodes_) {
    if (n->in_map && !n->connected) return true;
  }
  return false;
}

void ClusterRouter::apply_map(SlotMap map) {
  for (auto& n : nodes_) n->in_map = false;
  for (const ClusterMaster& m : map.masters) {
    Node* n = node_named(m.name(), true);
    if (!n) continue;
    n->in_map = true;
    n->map_replica = m.has_replica;
  }
  map_ = std::move(map);
  for (auto& n : nodes_) {
    if (n->in_map) {
      if (!n->link.context() && !n->backoff_timer.timer_set) connect(*n);
    } else if (n->link.context() && n->inflight.empty()) {
      close(*n);  // a seed done with, or a master demoted
    } else if (n->link.context()) {
      redisAsyncFree(n->link.context());  // demoted with commands pending: they are resent
    }
  }
  update_ready();
  // A master still unreachable (failing over): ask again until the map changes.
  if (!refresh_timer_.timer_set) {
    ngx_add_timer(&refresh_timer_, refresh_wanted_    ? kRefreshMin
                                   : map_incomplete() ? kRefreshPoll
                                                      : kMapPeriod);
  }
  flush();
}

// ---------------------------------------------------------------------------
// Per node: the connection on nginx's loop (glue/hiredis_link), timers, hiredis callbacks

void ClusterRouter::io_timer_handler(ngx_event_t* ev) noexcept {
  auto* n = static_cast<Node*>(ev->data);
  try {
    n->router->on_io_timeout(*n);
  } catch (...) {
  }
}

void ClusterRouter::backoff_timer_handler(ngx_event_t* ev) noexcept {
  auto* n = static_cast<Node*>(ev->data);
  if (n->router->sink_.shutting_down_ || ngx_exiting) return;
  try {
    n->router->connect(*n);
  } catch (...) {
    n->router->schedule_reconnect(*n);
  }
}

void ClusterRouter::flush_handler(ngx_event_t* ev) noexcept {
  auto* self = static_cast<ClusterRouter*>(ev->data);
  try {
    self->flush();
  } catch (...) {
  }
}

void ClusterRouter::refresh_timer_handler(ngx_event_t* ev) noexcept {
  auto* self = static_cast<ClusterRouter*>(ev->data);
  try {
    // Asked for, a master unreachable, or the periodic look (a replica added or
    // failed changes whether WAIT is needed; a slot moved without a MOVED seen yet).
    if (self->refresh_wanted_ || self->map_incomplete() ||
        ngx_current_msec - self->last_refresh_ >= kMapPeriod) {
      self->request_refresh();
    }
    if (!self->refresh_timer_.timer_set && !self->sink_.shutting_down_ && !ngx_exiting) {
      ngx_add_timer(&self->refresh_timer_, self->map_incomplete() ? kRefreshPoll : kMapPeriod);
    }
  } catch (...) {
  }
}

void ClusterRouter::Node::link_output() noexcept {
  // Every command of this event cycle goes out in one write, after it.
  link.post_write();
}

void ClusterRouter::Node::link_gone() noexcept {
  try {
    router->on_context_gone(*this);
  } catch (...) {
  }
}

void ClusterRouter::connect_callback(const redisAsyncContext* ac, int status) noexcept {
  auto* n = static_cast<Node*>(ac->data);
  try {
    n->router->on_connect(*n, status == REDIS_OK);
  } catch (...) {
  }
}

void ClusterRouter::reply_callback(redisAsyncContext* ac, void* reply, void*) noexcept {
  auto* n = static_cast<Node*>(ac->data);
  try {
    n->router->on_reply(*n, static_cast<redisReply*>(reply));
  } catch (...) {
  }
}

}  // namespace hubstats::module
