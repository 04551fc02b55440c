// A countable download event as queued by a worker. Everything is copied out of the
// request: the request pool is gone by the time the event is sent. Pure: no nginx
// types.
#pragma once

#include <cstdint>
#include <string>

#include "hubstats/clients.h"
#include "hubstats/day.h"
#include "hubstats/identity.h"
#include "hubstats/repo.h"

namespace hubstats::module {

struct Event {
  RepoRef repo;
  IdentityHex identity_hex;
  bool authenticated = false;
  Day day = 0;                   // UTC day of the request
  std::int64_t time_ms = 0;      // request start, Unix ms: its session is judged at it
  std::string path = "(other)";  // per-file field (hubstats::path_field)
  char family = 'n';             // 'a' + hubstats::ClientFamily ('n': other)
  bool bot = false;              // a bot's fetch: counted apart
};

// Sets the event's client from its User-Agent's family: the family's letter, and
// whether it is a bot's fetch counted apart (hubstats_bots on, or a file of patterns)
// rather than as a person's (hubstats_bots count).
void set_client(Event& e, ClientFamily family, bool bots_apart) noexcept;

}  // namespace hubstats::module
