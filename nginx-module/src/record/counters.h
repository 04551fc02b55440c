// Per-worker counters shown by hubstats_status, and their text renderings.
// Pure: no nginx types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>
#include <string>

namespace hubstats::module {

struct Counters {
  std::uint64_t requests = 0;      // requests seen in hubstats-enabled locations
  std::uint64_t counted = 0;       // of those, countable download events
  std::uint64_t new_sessions = 0;  // events that opened a download session in Redis
  std::uint64_t sent = 0;          // events Redis recorded
  std::uint64_t failed = 0;        // events Redis rejected (an error reply)
  std::uint64_t dropped = 0;       // events lost: queue full without a spool, spool full
  std::uint64_t spooled = 0;       // events written to the spool (queue full, or at exit)
  std::uint64_t replayed = 0;      // events this worker delivered from spool files
};

// Redis Cluster mode: one master (or seed) connection of the worker.
struct NodeStatus {
  std::string name;  // host:port
  bool connected = false;
  bool master = false;         // serves slots in the worker's slot map
  std::uint64_t inflight = 0;  // commands waiting for their reply
};

struct ClusterStatus {
  std::uint64_t moved = 0;          // MOVED replies (the slot map was refreshed)
  std::uint64_t asked = 0;          // ASK replies followed
  std::uint64_t unreplicated = 0;   // WAIT found no replica: batches kept and resent
  std::uint64_t map_refreshes = 0;  // CLUSTER SLOTS answered
  std::vector<NodeStatus> nodes;
};

struct StatusSnapshot {
  long pid = 0;
  Counters counters;
  std::uint64_t queued = 0;  // waiting + in flight + waiting for the spool
  bool redis_connected = false;
  std::optional<ClusterStatus> cluster;  // hubstats_redis_cluster
};

// "key: value" lines, one per field (like stub_status, easy to grep).
std::string format_status_plain(const StatusSnapshot& s);
// Prometheus text exposition format 0.0.4, labelled with the worker pid.
std::string format_status_prometheus(const StatusSnapshot& s);

}  // namespace hubstats::module
