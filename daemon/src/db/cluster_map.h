// Redis Cluster routing as pure functions (no I/O): the slot map parsed from CLUSTER
// SLOTS, the slot a command's keys live in, MOVED/ASK redirections, and a pipeline
// split into one sub-pipeline per node. RedisClient (db/redis_client.h) does the I/O.
#pragma once

#include <hiredis/hiredis.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "hubstats/contract/cluster_slot.h"

namespace hubstatsd {

// Who serves which slot, from one CLUSTER SLOTS answer.
struct SlotMap {
  struct Master {
    std::string address;  // "ip:port" ("[ip]:port" for IPv6)
    int replicas = 0;     // replicas CLUSTER SLOTS lists for it (failed ones are left out)
  };
  std::vector<Master> masters;
  // The index in masters of each slot's master; -1 where no master serves it.
  std::array<std::int16_t, hubstats::contract::kClusterSlots> owner{};
  std::vector<std::string> nodes;  // every node listed, masters first: refresh candidates

  const Master* master_of(int slot) const {
    const int i = (slot >= 0 && slot < hubstats::contract::kClusterSlots) ? owner[slot] : -1;
    return i < 0 ? nullptr : &masters[static_cast<std::size_t>(i)];
  }
};

// "ip:port", with brackets for an IPv6 literal.
std::string node_address(std::string_view ip, std::int64_t port);

// Parses a CLUSTER SLOTS reply. An empty node IP means "the node you asked": asked_ip.
// On a malformed reply returns nullopt and says why.
std::optional<SlotMap> parse_cluster_slots(const redisReply* r, std::string_view asked_ip,
                                           std::string* why = nullptr);

// "MOVED 3999 127.0.0.1:6381" / "ASK 3999 127.0.0.1:6381" error replies. An empty host
// (":6381") means the host of the node that answered: answered_ip.
struct Redirect {
  bool ask = false;  // ASK (one command, prefixed with ASKING), else MOVED
  int slot = 0;
  std::string address;
};
std::optional<Redirect> parse_redirect(std::string_view error, std::string_view answered_ip);

// TRYAGAIN (a multi-key command during resharding) and CLUSTERDOWN: worth a retry
// after a refresh of the slot map.
bool is_transient_cluster_error(std::string_view error);

// The keys of one command span more than one slot: a bug in the caller (every key of
// a repo carries its hash tag), never a condition to retry.
struct CrossSlot : std::logic_error {
  using std::logic_error::logic_error;
};

// The slot of a command's keys (EVAL/EVALSHA: its KEYS; DEL/EXISTS/UNLINK/MGET/TOUCH:
// every argument; RENAME/SMOVE: the first two; others: the first argument), or -1 for
// a command without keys (PING, SCRIPT, SCAN, ...). Throws CrossSlot.
int command_slot(const std::vector<std::string>& argv);

// The node a command goes to: the node a redirection named, else the master of its
// slot (the first master for a command without keys), or "" when no master serves it.
std::string node_for(int slot, const std::string& redirected_to, const SlotMap& map);

// The pending commands (indexes into the caller's list) grouped by node, in the order
// the nodes first appear, each group in the caller's order; node_of[i] is command i's
// node ("": none serves it, the caller refreshes the map and retries those).
struct NodeGroup {
  std::string node;
  std::vector<std::size_t> commands;
};
std::vector<NodeGroup> split_by_node(const std::vector<std::size_t>& pending,
                                     const std::vector<std::string>& node_of);

}  // namespace hubstatsd
