// Redis Cluster routing for the writer, pure (no nginx types): which master owns a
// slot (from a CLUSTER SLOTS reply), and what a MOVED or ASK error reply names.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hubstats/contract/cluster_slot.h"

struct redisReply;

namespace hubstats::module {

// A master as the slot map names it: "host:port" and whether it has a replica that
// is not marked failed (CLUSTER SLOTS leaves failed replicas out).
struct ClusterMaster {
  std::string host;
  int port = 0;
  bool has_replica = false;
  std::string name() const { return host + ":" + std::to_string(port); }
};

// Slot -> master. Masters are listed once each; a slot no master serves is -1.
struct SlotMap {
  std::vector<ClusterMaster> masters;
  std::array<std::int16_t, hubstats::contract::kClusterSlots> owner{};
  SlotMap() { owner.fill(-1); }
  const ClusterMaster* master_of(int slot) const {
    const int i = owner[static_cast<std::size_t>(slot)];
    return i < 0 ? nullptr : &masters[static_cast<std::size_t>(i)];
  }
  // How many slots no master serves.
  int uncovered() const;
  // The index of the master called name, or -1.
  int index_of(std::string_view name) const;
};

// Builds the map from a CLUSTER SLOTS reply: an array of [first, last, master,
// replica...], each node [host, port, id, ...]. An empty host (Redis 7 when it does
// not know its own address) means the node the command was sent to: asked_host.
// nullopt on anything malformed (why says what).
std::optional<SlotMap> parse_cluster_slots(const redisReply* reply, std::string_view asked_host,
                                           std::string* why = nullptr);

// A ROLE reply: how many replicas a master has connected (its own view, which
// CLUSTER SLOTS lags: a replica is listed there only once gossip has carried a non-zero
// replication offset). nullopt when the node is not a master or the reply is malformed.
std::optional<int> parse_role_replicas(const redisReply* reply);

// A redirection error reply: "MOVED <slot> <host>:<port>" or "ASK <slot> <host>:<port>".
struct Redirect {
  enum class Kind { kMoved, kAsk };
  Kind kind = Kind::kMoved;
  int slot = 0;
  std::string host;  // IPv6 without brackets
  int port = 0;
  std::string name() const { return host + ":" + std::to_string(port); }
};

// nullopt when the error is not a well-formed MOVED or ASK.
std::optional<Redirect> parse_redirect(std::string_view error);

}  // namespace hubstats::module
