#include "hubstats/contract/resp.h"

#include <hiredis/hiredis.h>

#include <new>
#include <vector>

namespace hubstats::contract {

void append_command(std::string& out, std::span<const std::string_view> argv) {
  std::vector<const char*> ptrs;
  std::vector<std::size_t> lens;
  ptrs.reserve(argv.size());
  lens.reserve(argv.size());
  for (std::string_view a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  char* cmd = nullptr;
  const int n =
      redisFormatCommandArgv(&cmd, static_cast<int>(argv.size()), ptrs.data(), lens.data());
  if (n < 0) throw std::bad_alloc();
  out.append(cmd, static_cast<std::size_t>(n));
  redisFreeCommand(cmd);
}

}  // namespace hubstats::contract
