// A synchronous hiredis client for the daemon: a small pool of blocking contexts with
// connect and command timeouts. Any connection problem or timeout throws Unavailable
// and drops the context; the next call reconnects, so service comes back by itself.
//
// With RedisConfig::cluster set it speaks to a Redis Cluster instead: a pool per
// master, each command sent to the master of its keys' slot (db/cluster_map.h), a
// pipeline split per node with the replies back in the caller's order. MOVED refreshes
// the slot map and resends to the new owner, ASK resends once after ASKING; TRYAGAIN,
// CLUSTERDOWN and a lost connection refresh the map and resend until the command
// timeout, then throw Unavailable. (Every command the daemon sends is safe to resend:
// the fold scripts are keyed by generation, the rest are reads, SADD or SET NX.)
#pragma once

#include <hiredis/hiredis.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hubstatsd {

struct RedisConfig {
  std::string address = "127.0.0.1:6379";  // "ip:port" or "unix:/path/to.sock"
  std::vector<std::string> cluster;        // seed nodes "ip:port": Redis Cluster mode
  int pool_size = 8;
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds command_timeout{1000};
  std::chrono::milliseconds acquire_timeout{2000};
  std::chrono::milliseconds reconnect_backoff{250};
};

// Parses "ip:port", "[ipv6]:port" or "unix:/path"; throws std::invalid_argument naming
// the problem. Only IP literals: a name lookup would block.
struct RedisEndpoint {
  std::string host;  // the IP without brackets; empty for unix sockets
  int port = 0;
  std::string unix_path;
  static RedisEndpoint parse(std::string_view address);
};

// Owns one reply tree.
class RedisReply {
 public:
  RedisReply() = default;
  explicit RedisReply(redisReply* r) : r_(r) {}
  const redisReply* get() const { return r_.get(); }
  bool is_error() const { return r_ && r_->type == REDIS_REPLY_ERROR; }
  std::string_view error() const;

 private:
  struct Free {
    void operator()(redisReply* r) const { freeReplyObject(r); }
  };
  std::unique_ptr<redisReply, Free> r_;
};

// Helpers over a (possibly nested) reply element.
std::string_view reply_str(const redisReply* r);  // "" unless string/status
// Integer of an integer reply or a decimal string reply; 0 for nil/other.
std::int64_t reply_int(const redisReply* r);
std::size_t reply_len(const redisReply* r);  // array length, 0 otherwise
const redisReply* reply_at(const redisReply* r, std::size_t i);
// A flat field/value array (HGETALL) as (field, integer value) pairs.
std::vector<std::pair<std::string, std::int64_t>> reply_int_pairs(const redisReply* r);

// A Lua script known by its SHA1, loaded on demand (NOSCRIPT fallback).
struct RedisScript {
  explicit RedisScript(std::string_view body);
  std::string body;
  std::string sha;
};

struct EvalCall {
  const RedisScript* script;
  std::vector<std::string> keys;
  std::vector<std::string> args;
};

class RedisClient {
 public:
  // Throws std::invalid_argument on a bad address (or seed). Connects on first use.
  explicit RedisClient(RedisConfig cfg);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // One command. Server error replies are returned (is_error()), not thrown.
  RedisReply command(const std::vector<std::string>& argv);
  // Sends all commands in one round trip; replies in order.
  std::vector<RedisReply> pipeline(const std::vector<std::vector<std::string>>& cmds);
  // EVALSHA of each call, pipelined; calls answered NOSCRIPT are loaded and re-sent
  // (a NOSCRIPT call did not run, so re-sending is safe).
  // replicated: on a cluster, each master also answers WAIT for all the replicas the
  // slot map lists for it before the call returns, and Unavailable is thrown if they
  // did not all acknowledge the writes within the command timeout (the fold's take:
  // a failover must not bring back a day hash PostgreSQL is about to count). No effect
  // on a single Redis.
  std::vector<RedisReply> eval(const std::vector<EvalCall>& calls, bool replicated = false);

  bool is_cluster() const { return cluster_ != nullptr; }
  // Cluster mode, for callers that must not block (the io threads' fast path): the
  // master of a slot by the current map, or "" when there is no fresh map (the caller
  // then uses the blocking calls, which refresh it). Never does I/O.
  std::string cached_master_of(int slot) const;
  // Cluster mode: a redirection or failure seen elsewhere; the next call refreshes.
  void mark_stale() noexcept;
  // Where a keyspace walk (SCAN) must look: every master of the cluster, or the one
  // Redis (""). Throws Unavailable.
  std::vector<std::string> scan_nodes();
  // One command on one of scan_nodes() (no redirection: SCAN has no key).
  RedisReply command_at(const std::string& node, const std::vector<std::string>& argv);

  const RedisConfig& config() const { return cfg_; }

  class NodePool;  // the pool of one Redis (redis_client.cpp)

 private:
  struct Cluster;
  // Routes and sends; answered_by (if given) gets the node that gave each reply.
  std::vector<RedisReply> cluster_run(const std::vector<std::vector<std::string>>& cmds,
                                      const std::vector<int>& slots, bool replicated,
                                      std::vector<std::string>* answered_by = nullptr);
  std::vector<RedisReply> eval_single(const std::vector<EvalCall>& calls);
  std::vector<RedisReply> eval_cluster(const std::vector<EvalCall>& calls, bool replicated);

  RedisConfig cfg_;
  std::unique_ptr<NodePool> single_;
  std::unique_ptr<Cluster> cluster_;
};

}  // namespace hubstatsd
