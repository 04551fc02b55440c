#include "db/redis_client.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <numeric>
#include <stdexcept>
#include <thread>

#include "hubstats/contract/redis_address.h"
#include "hubstats/contract/scripts.h"
#include "db/cluster_map.h"
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

// The pool of blocking connections to one Redis: the whole client in single-node mode,
// one per master in cluster mode.
class RedisClient::NodePool {
 public:
  NodePool(const RedisConfig& cfg, std::string address)
      : cfg_(cfg), address_(std::move(address)), ep_(RedisEndpoint::parse(address_)) {}
  ~NodePool() {
    std::lock_guard lk(mu_);
    for (auto* c : idle_) redisFree(c);
  }
  // Sends all commands in one round trip; replies in order. Throws Unavailable.
  std::vector<RedisReply> pipeline(const std::vector<std::vector<std::string>>& cmds);
  const RedisEndpoint& endpoint() const { return ep_; }

 private:
  redisContext* connect();
  redisContext* acquire();
  void release(redisContext* c, bool broken);

  const RedisConfig& cfg_;
  std::string address_;
  RedisEndpoint ep_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<redisContext*> idle_;
  int open_ = 0;
  std::chrono::steady_clock::time_point down_until_{};
  std::string last_error_;
};

redisContext* RedisClient::NodePool::connect() {
  const timeval ct = to_timeval(cfg_.connect_timeout);
  redisContext* c = ep_.unix_path.empty() ? redisConnectWithTimeout(ep_.host.c_str(), ep_.port, ct)
                                          : redisConnectUnixWithTimeout(ep_.unix_path.c_str(), ct);
  if (!c || c->err) {
    std::string err = c ? c->errstr : "out of memory";
    if (c) redisFree(c);
    throw Unavailable("redis: connect to " + address_ + " failed: " + err);
  }
  if (redisSetTimeout(c, to_timeval(cfg_.command_timeout)) != REDIS_OK) {
    redisFree(c);
    throw Unavailable("redis: cannot set command timeout");
  }
  return c;
}

redisContext* RedisClient::NodePool::acquire() {
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

void RedisClient::NodePool::release(redisContext* c, bool broken) {
  std::lock_guard lk(mu_);
  if (broken || c->err) {
    redisFree(c);
    --open_;
  } else {
    idle_.push_back(c);
  }
  cv_.notify_one();
}

std::vector<RedisReply> RedisClient::NodePool::pipeline(
    const std::vector<std::vector<std::string>>& cmds) {
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

// Cluster mode: the slot map (replaced whole on refresh) and a pool per node.
struct RedisClient::Cluster {
  std::vector<std::string> seeds;
  std::mutex mu;  // map, version, pools
  std::shared_ptr<const SlotMap> map;
  std::uint64_t version = 0;
  std::atomic<bool> stale{true};
  std::map<std::string, std::unique_ptr<NodePool>> pools;
  std::mutex refresh_mu;      // one refresh at a time
  std::size_t refreshes = 0;  // under refresh_mu

  NodePool& pool(const std::string& address, const RedisConfig& cfg) {
    std::lock_guard lk(mu);
    auto& p = pools[address];
    if (!p) {
      try {
        p = std::make_unique<NodePool>(cfg, address);
      } catch (const std::invalid_argument& e) {
        pools.erase(address);
        throw Unavailable("redis cluster: unusable node address: " + std::string(e.what()));
      }
    }
    return *p;
  }

  // The slot map, refreshed first if a redirection or failure made it stale (an old
  // map is still used when no node answers).
  std::shared_ptr<const SlotMap> current(const RedisConfig& cfg) {
    std::shared_ptr<const SlotMap> m;
    std::uint64_t seen = 0;
    {
      std::lock_guard lk(mu);
      m = map;
      seen = version;
    }
    if (m && !stale.load(std::memory_order_relaxed)) return m;
    try {
      refresh(cfg, seen);
    } catch (const Unavailable&) {
      if (!m) throw;
      return m;
    }
    std::lock_guard lk(mu);
    return map;
  }

  // CLUSTER SLOTS from the first node that answers: the known nodes, then the seeds.
  // Skipped when another thread refreshed since `seen`.
  void refresh(const RedisConfig& cfg, std::uint64_t seen) {
    std::lock_guard rl(refresh_mu);
    std::vector<std::string> candidates;
    {
      std::lock_guard lk(mu);
      if (version != seen) return;
      if (map) candidates = map->nodes;
    }
    for (const auto& s : seeds)
      if (std::find(candidates.begin(), candidates.end(), s) == candidates.end())
        candidates.push_back(s);
    // Each refresh starts at another node, so a hung node (which answers nothing until
    // the command timeout) does not slow every refresh.
    std::rotate(candidates.begin(),
                candidates.begin() + static_cast<std::ptrdiff_t>(refreshes++ % candidates.size()),
                candidates.end());
    std::string last = "no node";
    for (const auto& addr : candidates) {
      try {
        NodePool& p = pool(addr, cfg);
        auto r = p.pipeline({{"CLUSTER", "SLOTS"}});
        if (r[0].is_error()) {
          last = addr + ": " + std::string(r[0].error());
          continue;
        }
        std::string why;
        auto m = parse_cluster_slots(r[0].get(), p.endpoint().host, &why);
        if (!m) {
          last = addr + ": " + why;
          continue;
        }
        std::lock_guard lk(mu);
        map = std::make_shared<const SlotMap>(std::move(*m));
        ++version;
        stale.store(false);
        return;
      } catch (const Unavailable& e) {
        last = e.what();
      }
    }
    metrics::add(metrics::counters().redis_errors);
    throw Unavailable("redis cluster: no node answered CLUSTER SLOTS (last: " + last + ")");
  }
};

RedisClient::RedisClient(RedisConfig cfg) : cfg_(std::move(cfg)) {
  if (cfg_.pool_size < 1) cfg_.pool_size = 1;
  if (cfg_.cluster.empty()) {
    single_ = std::make_unique<NodePool>(cfg_, cfg_.address);
    return;
  }
  cluster_ = std::make_unique<Cluster>();
  for (const auto& s : cfg_.cluster) {
    const auto ep = RedisEndpoint::parse(s);  // throws std::invalid_argument
    if (!ep.unix_path.empty())
      throw std::invalid_argument("bad address \"" + s + "\" (a cluster node needs ip:port)");
    cluster_->seeds.push_back(node_address(ep.host, ep.port));
  }
}

RedisClient::~RedisClient() = default;

std::vector<RedisReply> RedisClient::pipeline(const std::vector<std::vector<std::string>>& cmds) {
  if (!cluster_) return single_->pipeline(cmds);
  std::vector<int> slots;
  slots.reserve(cmds.size());
  for (const auto& argv : cmds) slots.push_back(command_slot(argv));
  return cluster_run(cmds, slots, false);
}

RedisReply RedisClient::command(const std::vector<std::string>& argv) {
  auto r = pipeline({argv});
  return std::move(r.front());
}

std::vector<RedisReply> RedisClient::cluster_run(const std::vector<std::vector<std::string>>& cmds,
                                                 const std::vector<int>& slots, bool replicated,
                                                 std::vector<std::string>* answered_by) {
  Cluster& cl = *cluster_;
  std::vector<RedisReply> out(cmds.size());
  if (answered_by) answered_by->assign(cmds.size(), std::string());
  if (cmds.empty()) return out;
  const auto deadline = Clock::now() + cfg_.command_timeout;
  const std::string wait_ms =
      std::to_string(std::max<std::int64_t>(1, cfg_.command_timeout.count() / 2));
  std::vector<std::size_t> pending(cmds.size());
  std::iota(pending.begin(), pending.end(), std::size_t{0});
  std::vector<std::string> target(cmds.size());  // a redirection's node; else the slot's master
  std::vector<char> asking(cmds.size(), 0), asked(cmds.size(), 0);
  std::string last_error;
  constexpr int kMaxRounds = 32;
  for (int round = 0;; ++round) {
    const auto map = cl.current(cfg_);
    bool backoff = false;
    std::vector<std::size_t> again;
    std::vector<std::string> node_of(cmds.size());
    for (const std::size_t i : pending) node_of[i] = node_for(slots[i], target[i], *map);
    for (auto& [addr, idx] : split_by_node(pending, node_of)) {
      if (addr.empty()) {  // a slot no master serves (yet)
        last_error = "slot " + std::to_string(slots[idx.front()]) + " is served by no master";
        cl.stale.store(true);
        backoff = true;
        again.insert(again.end(), idx.begin(), idx.end());
        continue;
      }
      std::vector<std::vector<std::string>> wire;
      std::vector<std::size_t> at;  // where each command's reply is in wire
      wire.reserve(idx.size() + 1);
      for (const std::size_t i : idx) {
        if (asking[i]) wire.push_back({"ASKING"});
        at.push_back(wire.size());
        wire.push_back(cmds[i]);
      }
      int want = 0;
      if (replicated)
        for (const auto& m : map->masters)
          if (m.address == addr) want = m.replicas;
      if (want > 0) wire.push_back({"WAIT", std::to_string(want), wait_ms});
      std::vector<RedisReply> got;
      NodePool* pool = nullptr;
      try {
        pool = &cl.pool(addr, cfg_);
        got = pool->pipeline(wire);
      } catch (const Unavailable& e) {
        // The node is gone or failing: ask the cluster who serves these slots now.
        last_error = e.what();
        cl.stale.store(true);
        backoff = true;
        for (const std::size_t i : idx) {
          target[i].clear();
          asking[i] = 0;
          again.push_back(i);
        }
        continue;
      }
      if (want > 0) {
        const RedisReply& w = got.back();
        if (w.is_error() || reply_int(w.get()) < want) {
          metrics::add(metrics::counters().redis_errors);
          throw Unavailable("redis cluster: writes on " + addr + " reached " +
                            std::to_string(w.is_error() ? 0 : reply_int(w.get())) + " of " +
                            std::to_string(want) + " replicas within " + wait_ms + "ms");
        }
      }
      for (std::size_t k = 0; k < idx.size(); ++k) {
        const std::size_t i = idx[k];
        RedisReply& r = got[at[k]];
        asking[i] = 0;
        if (r.is_error()) {
          const auto err = r.error();
          if (auto red = parse_redirect(err, pool->endpoint().host)) {
            if (!red->ask) {
              target[i] = red->address;  // the new owner; the whole map is refreshed too
              cl.stale.store(true);
              last_error = std::string(err);
              again.push_back(i);
              continue;
            }
            if (!asked[i]) {  // a slot being migrated: this key once, on the importing node
              asked[i] = asking[i] = 1;
              target[i] = red->address;
              again.push_back(i);
              continue;
            }
          } else if (is_transient_cluster_error(err)) {
            // TRYAGAIN: a multi-key call on a slot being migrated whose keys are split
            // between the two nodes; from the owner again (which may say ASK again).
            last_error = std::string(err);
            target[i].clear();
            asked[i] = 0;
            cl.stale.store(true);
            backoff = true;
            again.push_back(i);
            continue;
          }
        }
        out[i] = std::move(r);
        if (answered_by) (*answered_by)[i] = addr;
      }
    }
    if (again.empty()) return out;
    const auto now = Clock::now();
    if (now >= deadline || round + 1 >= kMaxRounds) {
      metrics::add(metrics::counters().redis_errors);
      throw Unavailable("redis cluster: " + last_error);
    }
    std::sort(again.begin(), again.end());
    pending = std::move(again);
    if (backoff)
      std::this_thread::sleep_for(
          std::min<Clock::duration>(std::chrono::milliseconds(50), deadline - now));
  }
}

std::vector<RedisReply> RedisClient::eval(const std::vector<EvalCall>& calls, bool replicated) {
  return cluster_ ? eval_cluster(calls, replicated) : eval_single(calls);
}

std::vector<RedisReply> RedisClient::eval_single(const std::vector<EvalCall>& calls) {
  std::vector<std::vector<std::string>> cmds;
  cmds.reserve(calls.size());
  for (const auto& call : calls) cmds.push_back(evalsha_argv(call));
  auto replies = single_->pipeline(cmds);

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
  auto second = single_->pipeline(again);
  for (std::size_t k = 0; k < loads; ++k)
    if (second[k].is_error()) {
      metrics::add(metrics::counters().redis_errors);
      throw Unavailable("redis: SCRIPT LOAD failed: " + std::string(second[k].error()));
    }
  for (std::size_t k = 0; k < retry.size(); ++k) replies[retry[k]] = std::move(second[loads + k]);
  return replies;
}

std::vector<RedisReply> RedisClient::eval_cluster(const std::vector<EvalCall>& calls,
                                                  bool replicated) {
  std::vector<std::vector<std::string>> cmds;
  std::vector<int> slots;
  cmds.reserve(calls.size());
  slots.reserve(calls.size());
  for (const auto& call : calls) {
    cmds.push_back(evalsha_argv(call));
    slots.push_back(command_slot(cmds.back()));  // throws CrossSlot
  }
  std::vector<std::string> answered_by;
  auto replies = cluster_run(cmds, slots, replicated, &answered_by);
  // NOSCRIPT is per node: load the script on each node that said so (once per script
  // and node), then resend. A resend that a redirection took to yet another node may
  // say NOSCRIPT again: a few rounds.
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::vector<std::size_t> retry;
    std::vector<std::pair<const RedisScript*, std::string>> loaded;
    for (std::size_t i = 0; i < replies.size(); ++i) {
      if (!replies[i].is_error() || !replies[i].error().starts_with("NOSCRIPT")) continue;
      retry.push_back(i);
      std::pair<const RedisScript*, std::string> key{calls[i].script, answered_by[i]};
      if (std::find(loaded.begin(), loaded.end(), key) != loaded.end()) continue;
      auto r = cluster_->pool(key.second, cfg_).pipeline({{"SCRIPT", "LOAD", key.first->body}});
      if (r[0].is_error()) {
        metrics::add(metrics::counters().redis_errors);
        throw Unavailable("redis: SCRIPT LOAD on " + key.second +
                          " failed: " + std::string(r[0].error()));
      }
      loaded.push_back(std::move(key));
    }
    if (retry.empty()) break;
    std::vector<std::vector<std::string>> again;
    std::vector<int> again_slots;
    for (auto i : retry) {
      again.push_back(cmds[i]);
      again_slots.push_back(slots[i]);
    }
    std::vector<std::string> again_by;
    auto second = cluster_run(again, again_slots, replicated, &again_by);
    for (std::size_t k = 0; k < retry.size(); ++k) {
      replies[retry[k]] = std::move(second[k]);
      answered_by[retry[k]] = std::move(again_by[k]);
    }
  }
  return replies;
}

std::string RedisClient::cached_master_of(int slot) const {
  if (!cluster_ || cluster_->stale.load(std::memory_order_relaxed)) return {};
  std::lock_guard lk(cluster_->mu);
  const SlotMap::Master* m = cluster_->map ? cluster_->map->master_of(slot) : nullptr;
  return m ? m->address : std::string();
}

void RedisClient::mark_stale() noexcept {
  if (cluster_) cluster_->stale.store(true);
}

std::vector<std::string> RedisClient::scan_nodes() {
  if (!cluster_) return {""};
  std::vector<std::string> out;
  for (const auto& m : cluster_->current(cfg_)->masters) out.push_back(m.address);
  return out;
}

RedisReply RedisClient::command_at(const std::string& node, const std::vector<std::string>& argv) {
  if (!cluster_) return command(argv);
  try {
    auto r = cluster_->pool(node, cfg_).pipeline({argv});
    return std::move(r.front());
  } catch (const Unavailable&) {
    cluster_->stale.store(true);
    throw;
  }
}

}  // namespace hubstatsd
