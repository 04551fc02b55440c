#include "record/counters.h"

namespace hubstats::module {

namespace {

struct Field {
  const char* name;
  const char* prom_type;
  const char* help;
  std::uint64_t value;
};

template <typename F>
void for_each_field(const StatusSnapshot& s, F&& f) {
  const Counters& c = s.counters;
  const Field fields[] = {
      {"requests", "counter", "Requests seen in hubstats-enabled locations.", c.requests},
      {"counted", "counter", "Countable download events.", c.counted},
      {"new_sessions", "counter", "Events that opened a new download session.", c.new_sessions},
      {"sent", "counter", "Events recorded by Redis.", c.sent},
      {"failed", "counter", "Events Redis rejected with an error reply.", c.failed},
      {"dropped", "counter", "Events lost: queue full with the spool off, or spool full.",
       c.dropped},
      {"spooled", "counter", "Events written to the spool on disk.", c.spooled},
      {"replayed", "counter", "Events delivered to Redis from spool files.", c.replayed},
      {"queued", "gauge", "Events waiting for or in flight to Redis.", s.queued},
      {"redis_connected", "gauge", "1 when the worker's Redis connection is up.",
       s.redis_connected ? 1u : 0u},
  };
  for (const Field& field : fields) f(field);
}

}  // namespace

std::string format_status_plain(const StatusSnapshot& s) {
  std::string out = "pid: " + std::to_string(s.pid) + "\n";
  for_each_field(s, [&](const Field& f) {
    out += f.name;
    out += ": ";
    out += std::to_string(f.value);
    out += '\n';
  });
  if (s.cluster) {
    const ClusterStatus& c = *s.cluster;
    out += "redis_cluster: 1\nredis_moved: " + std::to_string(c.moved) +
           "\nredis_asked: " + std::to_string(c.asked) +
           "\nredis_unreplicated: " + std::to_string(c.unreplicated) +
           "\nredis_map_refreshes: " + std::to_string(c.map_refreshes) + "\n";
    for (const NodeStatus& n : c.nodes) {
      out += "node " + n.name + " connected: " + (n.connected ? "1" : "0") + "\n";
      out += "node " + n.name + " master: " + (n.master ? "1" : "0") + "\n";
      out += "node " + n.name + " inflight: " + std::to_string(n.inflight) + "\n";
    }
  }
  return out;
}

std::string format_status_prometheus(const StatusSnapshot& s) {
  std::string out;
  const std::string label = "{pid=\"" + std::to_string(s.pid) + "\"} ";
  for_each_field(s, [&](const Field& f) {
    const std::string prom_type = f.prom_type;
    std::string name = std::string("hubstats_") + f.name;
    if (prom_type == "counter") name += "_total";
    out += "# HELP " + name + " " + f.help + "\n";
    out += "# TYPE " + name + " " + prom_type + "\n";
    out += name + label + std::to_string(f.value) + "\n";
  });
  if (s.cluster) {
    const ClusterStatus& c = *s.cluster;
    const std::string pid = std::to_string(s.pid);
    auto counter = [&](const char* name, const char* help, std::uint64_t v) {
      out += std::string("# HELP hubstats_redis_") + name + "_total " + help + "\n";
      out += std::string("# TYPE hubstats_redis_") + name + "_total counter\n";
      out += std::string("hubstats_redis_") + name + "_total" + label + std::to_string(v) + "\n";
    };
    counter("moved", "MOVED replies from Redis Cluster.", c.moved);
    counter("asked", "ASK replies followed.", c.asked);
    counter("unreplicated", "Times WAIT found no replica and batches were kept.", c.unreplicated);
    counter("map_refreshes", "Cluster slot maps fetched.", c.map_refreshes);
    out += "# HELP hubstats_redis_node_connected 1 when the connection to the node is up.\n";
    out += "# TYPE hubstats_redis_node_connected gauge\n";
    for (const NodeStatus& n : c.nodes) {
      out += "hubstats_redis_node_connected{pid=\"" + pid + "\",node=\"" + n.name + "\",master=\"" +
             (n.master ? "1" : "0") + "\"} " + (n.connected ? "1" : "0") + "\n";
    }
  }
  return out;
}

}  // namespace hubstats::module
