#include "record/resp.h"

#include <algorithm>
#include <new>
#include <string_view>
#include <unordered_set>

#include "hubstats/contract/keys.h"
#include "hubstats/contract/resp.h"
#include "hubstats/contract/scripts.h"
#include "record/decimal.h"

namespace hubstats::module {

namespace {

void append_bulk(std::string& out, std::string_view arg) {
  out += '$';
  append_uint(out, arg.size());
  out += "\r\n";
  out.append(arg.data(), arg.size());
  out += "\r\n";
}

}  // namespace

std::string format_command(const std::vector<std::string_view>& argv) {
  std::string out;
  contract::append_command(out, argv);
  return out;
}

std::string to_resp(const Command& c) {
  return format_command(std::vector<std::string_view>(c.begin(), c.end()));
}

RecordArgs::RecordArgs(const RecordSettings& s)
    : window_ms(std::to_string(s.window_ms)),
      retention_s(std::to_string(s.retention_s)),
      max_paths(std::to_string(s.max_paths)),
      compact_bytes(std::to_string(s.compact_bytes)) {}

std::string record_batch_resp(const RecordBatch& b, const RecordArgs& a, ScriptCall how) {
  const RepoDayKeys& k = *b.keys;
  const bool sha = how == ScriptCall::kEvalSha;
  const std::string_view verb = sha ? std::string_view("EVALSHA") : std::string_view("EVAL");
  const std::string_view script =
      sha ? std::string_view(record_batch_sha()) : scripts::kRecordBatch;
  const std::size_t n = b.events.size();
  std::string arg;  // scratch for the formatted arguments
  arg.reserve(k.sessions_prefix.size() + 48);
  scripts::BatchBreakdown parts;
  for (const Event& e : b.events) parts.add(e.family, e.path, e.bot, e.authenticated);
  const std::string record = parts.record();
  std::size_t size = 280 + script.size() + k.day.size() + k.days.size() + k.batches.size() +
                     k.paths.size() + k.clients.size() + k.log.size() +
                     2 * k.sessions_prefix.size() + a.window_ms.size() + a.retention_s.size() +
                     a.max_paths.size() + a.compact_bytes.size() + k.compact_day.size() +
                     b.id.stream.size() + 3 * n + record.size();
  for (const Event& e : b.events) size += e.identity_hex.size() + 30;
  std::string out;
  out.reserve(size);
  out += '*';
  append_uint(out, 3 + 8 + 10 + 2 * n);
  out += "\r\n";
  append_bulk(out, verb);
  append_bulk(out, script);
  append_bulk(out, "8");
  append_bulk(out, k.day);
  append_bulk(out, k.days);
  for (const std::int64_t bk : {b.bucket, b.bucket - 1}) {
    arg = k.sessions_prefix;
    arg += a.window_ms;
    arg += ':';
    append_int(arg, bk);
    append_bulk(out, arg);
  }
  append_bulk(out, k.batches);
  append_bulk(out, k.paths);
  append_bulk(out, k.clients);
  append_bulk(out, k.log);
  append_bulk(out, a.window_ms);
  append_bulk(out, a.retention_s);
  append_bulk(out, k.compact_day);
  append_bulk(out, b.id.stream);
  arg.clear();
  append_uint(arg, b.id.seq);
  append_bulk(out, arg);
  append_bulk(out, parts.letters());
  arg.clear();
  append_uint(arg, static_cast<std::size_t>(parts.bots()));
  append_bulk(out, arg);
  append_bulk(out, a.max_paths);
  append_bulk(out, a.compact_bytes);
  for (const Event& e : b.events) append_bulk(out, e.identity_hex.view());
  for (const Event& e : b.events) {
    arg.clear();
    append_int(arg, e.time_ms);
    append_bulk(out, arg);
  }
  append_bulk(out, record);
  return out;
}

std::vector<std::string> dirty_resps(const std::vector<const RepoDayKeys*>& keys) {
  // Tags per shard, each once (a flush often holds several batches of one repo).
  std::vector<std::vector<std::string_view>> shards(keys::kDirtyShards);
  std::unordered_set<std::string_view> seen;
  for (const RepoDayKeys* k : keys) {
    if (seen.insert(k->tag).second)
      shards[static_cast<std::size_t>(k->dirty_shard)].push_back(k->tag);
  }
  std::vector<std::string> out;
  for (int shard = 0; shard < keys::kDirtyShards; ++shard) {
    const auto& tags = shards[static_cast<std::size_t>(shard)];
    if (tags.empty()) continue;
    const std::string key = keys::dirty(shard);
    std::vector<std::string_view> argv{"SADD", key};
    argv.insert(argv.end(), tags.begin(), tags.end());
    out.push_back(format_command(argv));
  }
  return out;
}

}  // namespace hubstats::module
