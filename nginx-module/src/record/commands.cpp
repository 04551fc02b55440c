#include "record/commands.h"

#include "hubstats/contract/keys.h"

namespace hubstats::module {

namespace {

Command script_head(ScriptCall how, std::string_view body, const std::string& sha, int nkeys) {
  Command c;
  c.reserve(10);
  if (how == ScriptCall::kEvalSha) {
    c.emplace_back("EVALSHA");
    c.push_back(sha);
  } else {
    c.emplace_back("EVAL");
    c.emplace_back(body);
  }
  c.push_back(std::to_string(nkeys));
  return c;
}

}  // namespace

const std::string& record_batch_sha() {
  static const std::string sha = scripts::sha1_hex(scripts::kRecordBatch);
  return sha;
}

Command record_batch_command(const std::vector<Event>& events, const RecordSettings& s,
                             const BatchId& id, ScriptCall how) {
  const Event& first = events.front();
  std::vector<scripts::RecordedFile> files;
  for (const Event& e : events) {
    files.push_back({e.identity_hex.view(), e.authenticated, e.time_ms, e.path, e.family, e.bot});
  }
  auto a =
      scripts::record_batch_args(first.repo, first.day, s.window_ms, s.retention_s, first.time_ms,
                                 files, id.stream, id.seq, s.max_paths, s.compact_bytes);
  Command c =
      script_head(how, scripts::kRecordBatch, record_batch_sha(), static_cast<int>(a.keys.size()));
  for (auto& k : a.keys) c.push_back(std::move(k));
  for (auto& v : a.argv) c.push_back(std::move(v));
  return c;
}

Command dirty_command(int shard, const std::vector<std::string>& tags) {
  Command c{"SADD", keys::dirty(shard)};
  c.insert(c.end(), tags.begin(), tags.end());
  return c;
}

std::vector<Command> script_load_commands() {
  return {Command{"SCRIPT", "LOAD", std::string(scripts::kRecordBatch)}};
}

}  // namespace hubstats::module
