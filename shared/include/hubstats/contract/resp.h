// Redis commands in wire format (RESP), encoded by hiredis's redisFormatCommandArgv:
// one encoder for the module and the daemon. The module's per-event record_batch is
// the one hand-encoded exception (nginx-module/src/record/resp.h: measured faster).
#pragma once

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace hubstats::contract {

// Appends one command (its arguments in order) to out.
void append_command(std::string& out, std::span<const std::string_view> argv);
inline void append_command(std::string& out, std::initializer_list<std::string_view> argv) {
  append_command(out, std::span<const std::string_view>(argv.begin(), argv.size()));
}

}  // namespace hubstats::contract
