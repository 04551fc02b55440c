#include "db/cluster_map.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace hubstatsd {

namespace {

std::string_view str_of(const redisReply* r) {
  if (r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS))
    return {r->str, r->len};
  return {};
}

bool int_of(const redisReply* r, std::int64_t& out) {
  if (!r) return false;
  if (r->type == REDIS_REPLY_INTEGER) {
    out = r->integer;
    return true;
  }
  const auto s = str_of(r);
  return !s.empty() && std::from_chars(s.data(), s.data() + s.size(), out).ec == std::errc();
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) ==
                  std::toupper(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::string node_address(std::string_view ip, std::int64_t port) {
  const bool v6 = ip.find(':') != std::string_view::npos;
  std::string out;
  if (v6) out += '[';
  out += ip;
  if (v6) out += ']';
  out += ':';
  out += std::to_string(port);
  return out;
}

std::optional<SlotMap> parse_cluster_slots(const redisReply* r, std::string_view asked_ip,
                                           std::string* why) {
  auto bad = [&](std::string w) -> std::optional<SlotMap> {
    if (why) *why = std::move(w);
    return std::nullopt;
  };
  if (!r || r->type != REDIS_REPLY_ARRAY) return bad("CLUSTER SLOTS: not an array");
  SlotMap m;
  m.owner.fill(-1);
  std::vector<std::string> replicas;
  for (std::size_t i = 0; i < r->elements; ++i) {
    const redisReply* row = r->element[i];
    std::int64_t lo = 0, hi = 0;
    if (!row || row->type != REDIS_REPLY_ARRAY || row->elements < 3 ||
        !int_of(row->element[0], lo) || !int_of(row->element[1], hi) || lo < 0 || hi < lo ||
        hi >= hubstats::contract::kClusterSlots)
      return bad("CLUSTER SLOTS: bad slot range in row " + std::to_string(i));
    std::vector<std::string> addrs;
    for (std::size_t k = 2; k < row->elements; ++k) {
      const redisReply* n = row->element[k];
      std::int64_t port = 0;
      if (!n || n->type != REDIS_REPLY_ARRAY || n->elements < 2 || !int_of(n->element[1], port) ||
          port <= 0 || port > 65535)
        return bad("CLUSTER SLOTS: bad node in row " + std::to_string(i));
      std::string_view ip = str_of(n->element[0]);
      if (ip.empty()) ip = asked_ip;
      if (ip == "?") continue;  // an endpoint the node does not know (yet)
      addrs.push_back(node_address(ip, port));
    }
    if (addrs.empty()) continue;
    auto it = std::find_if(m.masters.begin(), m.masters.end(),
                           [&](const SlotMap::Master& x) { return x.address == addrs[0]; });
    if (it == m.masters.end()) {
      m.masters.push_back({addrs[0], 0});
      it = m.masters.end() - 1;
    }
    it->replicas = std::max(it->replicas, static_cast<int>(addrs.size() - 1));
    const auto idx = static_cast<std::int16_t>(it - m.masters.begin());
    std::fill(m.owner.begin() + lo, m.owner.begin() + hi + 1, idx);
    for (std::size_t k = 1; k < addrs.size(); ++k) replicas.push_back(addrs[k]);
  }
  if (m.masters.empty()) return bad("CLUSTER SLOTS: no slot is served");
  for (const auto& x : m.masters) m.nodes.push_back(x.address);
  for (auto& a : replicas)
    if (std::find(m.nodes.begin(), m.nodes.end(), a) == m.nodes.end()) m.nodes.push_back(a);
  return m;
}

std::optional<Redirect> parse_redirect(std::string_view e, std::string_view answered_ip) {
  Redirect r;
  if (e.starts_with("MOVED "))
    e.remove_prefix(6);
  else if (e.starts_with("ASK ")) {
    r.ask = true;
    e.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  const auto sp = e.find(' ');
  if (sp == std::string_view::npos) return std::nullopt;
  const auto slot = e.substr(0, sp);
  auto addr = e.substr(sp + 1);
  if (std::from_chars(slot.data(), slot.data() + slot.size(), r.slot).ec != std::errc() ||
      r.slot < 0 || r.slot >= hubstats::contract::kClusterSlots)
    return std::nullopt;
  const auto colon = addr.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == addr.size()) return std::nullopt;
  int port = 0;
  const auto p = addr.substr(colon + 1);
  if (std::from_chars(p.data(), p.data() + p.size(), port).ec != std::errc() || port <= 0 ||
      port > 65535)
    return std::nullopt;
  auto host = addr.substr(0, colon);
  if (host.empty()) {
    r.address = node_address(answered_ip, port);
  } else {
    r.address = std::string(addr);
    if (host.find(':') != std::string_view::npos && !host.starts_with('['))
      r.address = node_address(host, port);
  }
  return r;
}

bool is_transient_cluster_error(std::string_view e) {
  return e.starts_with("TRYAGAIN") || e.starts_with("CLUSTERDOWN");
}

int command_slot(const std::vector<std::string>& argv) {
  if (argv.size() < 2) return -1;
  const std::string_view cmd = argv[0];
  std::size_t first = 1, last = 2;  // the keys: argv[first, last)
  if (iequals(cmd, "EVALSHA") || iequals(cmd, "EVAL") || iequals(cmd, "EVALSHA_RO") ||
      iequals(cmd, "EVAL_RO")) {
    std::size_t n = 0;
    if (argv.size() < 3 ||
        std::from_chars(argv[2].data(), argv[2].data() + argv[2].size(), n).ec != std::errc() ||
        3 + n > argv.size())
      throw CrossSlot("command_slot: bad " + std::string(cmd) + " key count");
    if (n == 0) return -1;
    first = 3;
    last = 3 + n;
  } else if (iequals(cmd, "DEL") || iequals(cmd, "EXISTS") || iequals(cmd, "UNLINK") ||
             iequals(cmd, "MGET") || iequals(cmd, "TOUCH")) {
    last = argv.size();
  } else if (iequals(cmd, "RENAME") || iequals(cmd, "RENAMENX") || iequals(cmd, "SMOVE")) {
    last = std::min<std::size_t>(3, argv.size());
  } else if (iequals(cmd, "PING") || iequals(cmd, "SCRIPT") || iequals(cmd, "SCAN") ||
             iequals(cmd, "INFO") || iequals(cmd, "CLUSTER") || iequals(cmd, "WAIT") ||
             iequals(cmd, "ASKING") || iequals(cmd, "DBSIZE") || iequals(cmd, "ROLE") ||
             iequals(cmd, "FLUSHALL") || iequals(cmd, "CONFIG")) {
    return -1;
  }
  const int slot = hubstats::contract::key_slot(argv[first]);
  for (std::size_t k = first + 1; k < last; ++k)
    if (hubstats::contract::key_slot(argv[k]) != slot)
      throw CrossSlot("keys of one " + std::string(cmd) + " in different slots: \"" + argv[first] +
                      "\" and \"" + argv[k] + "\"");
  return slot;
}

std::string node_for(int slot, const std::string& redirected_to, const SlotMap& map) {
  if (!redirected_to.empty()) return redirected_to;
  const SlotMap::Master* m = slot < 0 ? &map.masters.front() : map.master_of(slot);
  return m ? m->address : std::string();
}

std::vector<NodeGroup> split_by_node(const std::vector<std::size_t>& pending,
                                     const std::vector<std::string>& node_of) {
  std::vector<NodeGroup> groups;
  for (const std::size_t i : pending) {
    const std::string& node = node_of[i];
    auto it = std::find_if(groups.begin(), groups.end(),
                           [&](const NodeGroup& g) { return g.node == node; });
    if (it == groups.end()) {
      groups.push_back({node, {}});
      it = groups.end() - 1;
    }
    it->commands.push_back(i);
  }
  return groups;
}

}  // namespace hubstatsd
