#include "record/cluster_map.h"

#include <hiredis/hiredis.h>

#include <charconv>

namespace hubstats::module {

namespace {

bool to_int(std::string_view s, int& out) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// [host, port, ...] -> host, port.
bool parse_node(const redisReply* n, std::string_view asked_host, std::string& host, int& port) {
  if (!n || n->type != REDIS_REPLY_ARRAY || n->elements < 2) return false;
  const redisReply* h = n->element[0];
  const redisReply* p = n->element[1];
  if (!h || (h->type != REDIS_REPLY_STRING && h->type != REDIS_REPLY_STATUS)) return false;
  if (!p || p->type != REDIS_REPLY_INTEGER || p->integer <= 0 || p->integer > 65535) return false;
  host.assign(h->str, h->len);
  if (host.empty() || host == "?") host = std::string(asked_host);
  port = static_cast<int>(p->integer);
  return !host.empty();
}

}  // namespace

int SlotMap::uncovered() const {
  int n = 0;
  for (auto o : owner) n += o < 0 ? 1 : 0;
  return n;
}

int SlotMap::index_of(std::string_view name) const {
  for (std::size_t i = 0; i < masters.size(); ++i) {
    if (masters[i].name() == name) return static_cast<int>(i);
  }
  return -1;
}

std::optional<SlotMap> parse_cluster_slots(const redisReply* reply, std::string_view asked_host,
                                           std::string* why) {
  auto fail = [&](const char* w) -> std::optional<SlotMap> {
    if (why) *why = w;
    return std::nullopt;
  };
  if (!reply) return fail("no reply");
  if (reply->type == REDIS_REPLY_ERROR) return fail("error reply");
  if (reply->type != REDIS_REPLY_ARRAY) return fail("not an array");
  SlotMap map;
  for (std::size_t i = 0; i < reply->elements; ++i) {
    const redisReply* r = reply->element[i];
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 3) return fail("bad slot range");
    const redisReply* a = r->element[0];
    const redisReply* b = r->element[1];
    if (a->type != REDIS_REPLY_INTEGER || b->type != REDIS_REPLY_INTEGER || a->integer < 0 ||
        b->integer < a->integer || b->integer >= hubstats::contract::kClusterSlots) {
      return fail("bad slot numbers");
    }
    ClusterMaster m;
    if (!parse_node(r->element[2], asked_host, m.host, m.port)) return fail("bad master node");
    for (std::size_t j = 3; j < r->elements; ++j) {
      std::string h;
      int p = 0;
      if (!parse_node(r->element[j], asked_host, h, p)) return fail("bad replica node");
      m.has_replica = true;
    }
    int idx = map.index_of(m.name());
    if (idx < 0) {
      idx = static_cast<int>(map.masters.size());
      map.masters.push_back(m);
    } else if (m.has_replica) {
      map.masters[static_cast<std::size_t>(idx)].has_replica = true;
    }
    for (long long s = a->integer; s <= b->integer; ++s) {
      map.owner[static_cast<std::size_t>(s)] = static_cast<std::int16_t>(idx);
    }
  }
  return map;
}

std::optional<int> parse_role_replicas(const redisReply* r) {
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 3) return std::nullopt;
  const redisReply* role = r->element[0];
  if (!role || (role->type != REDIS_REPLY_STRING && role->type != REDIS_REPLY_STATUS) ||
      std::string_view(role->str, role->len) != "master") {
    return std::nullopt;
  }
  const redisReply* replicas = r->element[2];
  if (!replicas || replicas->type != REDIS_REPLY_ARRAY) return std::nullopt;
  return static_cast<int>(replicas->elements);
}

std::optional<Redirect> parse_redirect(std::string_view e) {
  Redirect r;
  if (e.substr(0, 6) == "MOVED ") {
    r.kind = Redirect::Kind::kMoved;
    e.remove_prefix(6);
  } else if (e.substr(0, 4) == "ASK ") {
    r.kind = Redirect::Kind::kAsk;
    e.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  const std::size_t sp = e.find(' ');
  if (sp == std::string_view::npos) return std::nullopt;
  if (!to_int(e.substr(0, sp), r.slot) || r.slot < 0 ||
      r.slot >= hubstats::contract::kClusterSlots) {
    return std::nullopt;
  }
  std::string_view addr = e.substr(sp + 1);
  const std::size_t colon = addr.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::string_view host = addr.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (!to_int(addr.substr(colon + 1), r.port) || r.port <= 0 || r.port > 65535) {
    return std::nullopt;
  }
  r.host = std::string(host);
  return r;
}

}  // namespace hubstats::module
