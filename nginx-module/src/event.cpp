#include "event.h"

#include <algorithm>
#include <unordered_set>

#include "hubstats/contract/keys.h"
#include "hubstats/contract/scripts.h"

namespace hubstats::module {

namespace {

const std::string& record_batch_sha() {
  static const std::string sha = scripts::sha1_hex(scripts::kRecordBatch);
  return sha;
}

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

std::string stream_id(std::int64_t born_s, std::uint32_t random) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  const auto born = static_cast<std::uint32_t>(born_s);
  for (int i = 0; i < 8; ++i) {
    out[static_cast<std::size_t>(7 - i)] = kHex[(born >> (4 * i)) & 15];
    out[static_cast<std::size_t>(15 - i)] = kHex[(random >> (4 * i)) & 15];
  }
  return out;
}

BatchId BatchNumbering::next(std::int64_t now_s) {
  if (stream_.empty() || now_s - born_s_ >= rotate_s_ || now_s < born_s_) {
    born_s_ = now_s;
    stream_ = stream_id(now_s, static_cast<std::uint32_t>(random_()));
    seq_ = 0;
  }
  return BatchId{stream_, ++seq_};
}

Command record_batch_command(const std::vector<Event>& events, const RecordSettings& s,
                             const BatchId& id, ScriptCall how) {
  const Event& first = events.front();
  std::vector<scripts::RecordedFile> files;
  for (const Event& e : events) {
    files.push_back({e.identity_hex, e.authenticated, e.time_ms, e.path, e.family, e.bot});
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

namespace {

// Appends the decimal digits of n (no allocation, unlike std::to_string).
void append_uint(std::string& out, std::size_t n) {
  char buf[20];
  char* p = buf + sizeof buf;
  do {
    *--p = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n);
  out.append(p, static_cast<std::size_t>(buf + sizeof buf - p));
}

void append_int(std::string& out, std::int64_t n) {
  if (n < 0) {
    out += '-';
    append_uint(out, static_cast<std::size_t>(-(n + 1)) + 1);
  } else {
    append_uint(out, static_cast<std::size_t>(n));
  }
}

void append_bulk(std::string& out, std::string_view arg) {
  out += '$';
  append_uint(out, arg.size());
  out += "\r\n";
  out.append(arg.data(), arg.size());
  out += "\r\n";
}

}  // namespace

std::string to_resp(const Command& c) {
  std::string out = "*" + std::to_string(c.size()) + "\r\n";
  for (const auto& a : c) append_bulk(out, a);
  return out;
}

RepoDayKeys RepoDayKeys::of(const RepoRef& repo, Day d) {
  RepoDayKeys k;
  k.tag = keys::repo_tag(repo);
  k.sessions_prefix = keys::sessions_prefix(repo);
  k.day = keys::day(repo, d);
  k.days = keys::days(repo);
  k.batches = keys::batches(repo);
  k.paths = keys::paths(repo, d);
  k.clients = keys::clients(repo, d);
  k.log = keys::breakdown_log(repo, d);
  k.dirty_shard = keys::dirty_shard(k.tag);
  k.compact_day = format_compact(d);
  k.day_number = d;
  return k;
}

RecordArgs::RecordArgs(const RecordSettings& s)
    : window(s.window_ms),
      window_ms(std::to_string(s.window_ms)),
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
  for (const Event& e : b.events) parts.add(e.family, e.path, e.bot);
  const std::string record = parts.record();
  std::size_t size = 280 + script.size() + k.day.size() + k.days.size() + k.batches.size() +
                     k.paths.size() + k.clients.size() + k.log.size() +
                     2 * k.sessions_prefix.size() + a.window_ms.size() + a.retention_s.size() +
                     a.max_paths.size() + a.compact_bytes.size() + k.compact_day.size() +
                     b.id.stream.size() + 4 * n + record.size();
  for (const Event& e : b.events) size += e.identity_hex.size() + 30;
  std::string out;
  out.reserve(size);
  out += '*';
  append_uint(out, 3 + 8 + 11 + 2 * n);
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
  out += '$';
  append_uint(out, n);
  out += "\r\n";
  for (const Event& e : b.events) out += e.bot ? '2' : e.authenticated ? '1' : '0';
  out += "\r\n";
  append_bulk(out, parts.letters());
  append_bulk(out, a.max_paths);
  arg.clear();
  append_uint(arg, parts.families().size());
  append_bulk(out, arg);
  append_bulk(out, a.compact_bytes);
  for (const Event& e : b.events) append_bulk(out, e.identity_hex);
  for (const Event& e : b.events) {
    arg.clear();
    append_int(arg, e.time_ms);
    append_bulk(out, arg);
  }
  append_bulk(out, record);
  return out;
}

std::shared_ptr<RepoDayKeys> KeyCache::get(const RepoRef& repo, Day d) {
  id_.clear();
  id_ += static_cast<char>('0' + static_cast<int>(repo.type));
  id_ += repo.ns;
  id_ += '/';
  id_ += repo.name;
  id_ += '/';
  append_uint(id_, static_cast<std::size_t>(d));
  auto it = map_.find(id_);
  if (it != map_.end()) return it->second;
  if (map_.size() >= max_) map_.clear();
  auto k = std::make_shared<RepoDayKeys>(RepoDayKeys::of(repo, d));
  map_.emplace(id_, k);
  return k;
}

std::vector<RecordBatch> group_batches(std::deque<Event>& events, std::size_t count,
                                       KeyCache& cache, std::size_t max_batch,
                                       std::int64_t window_ms, BatchNumbering& ids,
                                       std::int64_t now_s) {
  std::vector<RecordBatch> out;
  // The open batch of each repo, by repo tag (the tag lives in the cached keys, which
  // the batches hold).
  std::unordered_map<std::string_view, std::size_t> open;
  count = std::min(count, events.size());
  std::size_t last = 0;  // batch of the previous event
  for (std::size_t i = 0; i < count; ++i) {
    Event& e = events[i];
    const std::int64_t bucket = keys::session_bucket(e.time_ms, window_ms);
    std::size_t at = out.size();
    std::shared_ptr<RepoDayKeys> k;
    if (!out.empty() && out[last].events.back().day == e.day && out[last].bucket == bucket &&
        out[last].events.back().repo == e.repo) {
      at = last;  // runs of one repo and day are the common case: no cache lookup
      k = out[at].keys;
    } else {
      k = cache.get(e.repo, e.day);
      auto it = open.find(k->tag);
      if (it != open.end() && out[it->second].keys == k && out[it->second].bucket == bucket) {
        at = it->second;
      }
    }
    if (at == out.size() || out[at].events.size() >= max_batch) {
      out.push_back(RecordBatch{std::move(k), {}, ids.next(now_s), bucket});
      out.back().events.reserve(std::min(count - i, max_batch));
      at = out.size() - 1;
      open[out[at].keys->tag] = at;
    }
    out[at].events.push_back(std::move(e));
    last = at;
  }
  events.erase(events.begin(), events.begin() + static_cast<std::ptrdiff_t>(count));
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
    std::string cmd;
    cmd += '*';
    append_uint(cmd, 2 + tags.size());
    cmd += "\r\n";
    append_bulk(cmd, "SADD");
    append_bulk(cmd, key);
    for (std::string_view t : tags) append_bulk(cmd, t);
    out.push_back(std::move(cmd));
  }
  return out;
}

std::vector<Command> script_load_commands() {
  return {Command{"SCRIPT", "LOAD", std::string(scripts::kRecordBatch)}};
}

}  // namespace hubstats::module
