// CPU of the module's per-event work outside nginx (what the log phase and the
// flush add to a counted request): classification, identity hash, the queued event,
// grouping into batches and encoding kRecordBatch. Socket I/O and hiredis's reply
// parsing are not included. Run: build/nginx-module/bench/hubstats_event_path_bench
#include <benchmark/benchmark.h>

#include <deque>
#include <string>

#include "record/resp.h"
#include "record/spool_format.h"
#include "record/spool_spiller.h"
#include "hubstats/classify.h"
#include "hubstats/clients.h"
#include "hubstats/identity.h"
#include "hubstats/contract/scripts.h"

namespace {

using namespace hubstats;
using namespace hubstats::module;

constexpr std::string_view kUri = "/models/demo/tiny-model/resolve/main/config.json";

IdentityKey bench_key() {
  return *identity_key_from_secret("bench-secret-0123456789abcdef");
}

void BM_Classify(benchmark::State& state) {
  RequestFacts f;
  f.method = "GET";
  f.status = 200;
  f.uri = kUri;
  for (auto _ : state) benchmark::DoNotOptimize(classify(f));
}
BENCHMARK(BM_Classify);

// The client family of a counted request (bot table first), for typical agents.
void BM_ClientFamily(benchmark::State& state) {
  static constexpr std::string_view kAgents[] = {
      "unknown/None; hf_hub/0.21.4; python/3.11.2; torch/2.2.1",
      "git/2.39.5",
      "curl/7.88.1",
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/120.0.0.0 Safari/537.36",
  };
  const std::string_view ua = kAgents[state.range(0)];
  for (auto _ : state) benchmark::DoNotOptimize(client_family(ua));
}
BENCHMARK(BM_ClientFamily)->DenseRange(0, 3);

void BM_DeriveIdentity(benchmark::State& state) {
  const IdentityKey k = bench_key();
  std::uint32_t n = 0;
  std::string addr;
  for (auto _ : state) {
    ++n;
    addr = "10.0." + std::to_string(n % 256) + "." + std::to_string(n / 256 % 256);
    benchmark::DoNotOptimize(derive_identity(k, {.client_addr = addr, .user_agent = "wrk-0"}));
  }
}
BENCHMARK(BM_DeriveIdentity);

// Events of one repo and day, grouped and encoded as the sink does per flush.
void BM_BatchAndEncode(benchmark::State& state) {
  const auto per_flush = static_cast<std::size_t>(state.range(0));
  const RecordArgs args(RecordSettings{});
  KeyCache cache;
  BatchNumbering numbering([]() -> std::uint64_t { return 42; }, 7 * 86400);
  const IdentityKey k = bench_key();
  std::deque<Event> q;
  for (auto _ : state) {
    for (std::size_t i = 0; i < per_flush; ++i) {
      Event e;
      e.repo = RepoRef{RepoType::kModel, "demo", "tiny-model"};
      e.identity_hex = derive_identity(k, {.client_addr = "10.0.0.1"}).hex;
      e.day = 20000;
      e.time_ms = 1790000000000;
      q.push_back(std::move(e));
    }
    auto batches =
        group_batches(q, q.size(), cache, kMaxRecordBatch, 1800000, numbering, 1790000000);
    for (const auto& b : batches) {
      benchmark::DoNotOptimize(record_batch_resp(b, args, ScriptCall::kEvalSha));
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * per_flush));
}
BENCHMARK(BM_BatchAndEncode)->Arg(1)->Arg(16)->Arg(64);

// One batch of n events of one repo and day, with distinct identities and paths.
RecordBatch bench_batch(std::size_t n) {
  KeyCache cache;
  BatchNumbering numbering([]() -> std::uint64_t { return 42; }, 7 * 86400);
  const IdentityKey k = bench_key();
  std::deque<Event> q;
  for (std::size_t i = 0; i < n; ++i) {
    Event e;
    e.repo = RepoRef{RepoType::kModel, "demo", "tiny-model"};
    e.identity_hex = derive_identity(k, {.client_addr = "10.0.0." + std::to_string(i)}).hex;
    e.day = 20000;
    e.time_ms = 1790000000000 + static_cast<std::int64_t>(i);
    e.path = "file-" + std::to_string(i % 4) + ".bin";
    e.family = static_cast<char>('a' + i % 3);
    q.push_back(std::move(e));
  }
  auto batches = group_batches(q, q.size(), cache, kMaxRecordBatch, 1800000, numbering, 1790000000);
  return std::move(batches.front());
}

// record_batch_resp's command through hiredis's redisFormatCommandArgv instead: the same
// arguments (from the same cached keys, formatted numbers kept alive beside them), then
// hiredis encodes. What the hand encoder would be replaced by (issue 9).
std::string record_batch_hiredis(const RecordBatch& b, const RecordArgs& a) {
  const RepoDayKeys& k = *b.keys;
  const std::size_t n = b.events.size();
  scripts::BatchBreakdown parts;
  for (const Event& e : b.events) parts.add(e.family, e.path, e.bot, e.authenticated);
  const std::string record = parts.record();
  const std::string letters(parts.letters());
  std::string s0 = k.sessions_prefix + a.window_ms + ":" + std::to_string(b.bucket);
  std::string s1 = k.sessions_prefix + a.window_ms + ":" + std::to_string(b.bucket - 1);
  const std::string seq = std::to_string(b.id.seq);
  const std::string bots = std::to_string(parts.bots());
  std::vector<std::string> times;
  times.reserve(n);
  for (const Event& e : b.events) times.push_back(std::to_string(e.time_ms));
  std::vector<std::string_view> argv{"EVALSHA",
                                     record_batch_sha(),
                                     "8",
                                     k.day,
                                     k.days,
                                     s0,
                                     s1,
                                     k.batches,
                                     k.paths,
                                     k.clients,
                                     k.log,
                                     a.window_ms,
                                     a.retention_s,
                                     k.compact_day,
                                     b.id.stream,
                                     seq,
                                     letters,
                                     bots,
                                     a.max_paths,
                                     a.compact_bytes};
  argv.reserve(argv.size() + 2 * n + 1);
  for (const Event& e : b.events) argv.push_back(e.identity_hex.view());
  for (const auto& t : times) argv.push_back(t);
  argv.push_back(record);
  return format_command(argv);
}

// Encoding one ready batch of n events as RESP: the hand encoder the sink uses...
void BM_EncodeBatchHand(benchmark::State& state) {
  const RecordBatch b = bench_batch(static_cast<std::size_t>(state.range(0)));
  const RecordArgs args(RecordSettings{});
  for (auto _ : state) benchmark::DoNotOptimize(record_batch_resp(b, args, ScriptCall::kEvalSha));
}
BENCHMARK(BM_EncodeBatchHand)->Arg(1)->Arg(16)->Arg(64);

// ... and the same bytes through redisFormatCommandArgv (checked equal first).
void BM_EncodeBatchHiredis(benchmark::State& state) {
  const RecordBatch b = bench_batch(static_cast<std::size_t>(state.range(0)));
  const RecordArgs args(RecordSettings{});
  if (record_batch_hiredis(b, args) != record_batch_resp(b, args, ScriptCall::kEvalSha)) {
    state.SkipWithError("the two encoders differ");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(record_batch_hiredis(b, args));
}
BENCHMARK(BM_EncodeBatchHiredis)->Arg(1)->Arg(16)->Arg(64);

// Everything per event: classify, hash, queue, group, encode (batches of 64).
void BM_WholeEventPath(benchmark::State& state) {
  const RecordArgs args(RecordSettings{});
  KeyCache cache;
  BatchNumbering numbering([]() -> std::uint64_t { return 42; }, 7 * 86400);
  const IdentityKey k = bench_key();
  std::deque<Event> q;
  RequestFacts f;
  f.method = "GET";
  f.status = 200;
  f.uri = kUri;
  std::uint32_t n = 0;
  std::string addr;
  for (auto _ : state) {
    for (int i = 0; i < 64; ++i) {
      Route r = classify(f);
      ++n;
      addr = "10.0." + std::to_string(n % 256) + "." + std::to_string(n / 256 % 256);
      const Identity id = derive_identity(k, {.client_addr = addr, .user_agent = "wrk-0"});
      Event e;
      e.repo = std::move(r.repo);
      e.identity_hex = id.hex;
      e.authenticated = id.authenticated;
      e.day = 20000;
      e.time_ms = 1790000000000;
      q.push_back(std::move(e));
    }
    auto batches =
        group_batches(q, q.size(), cache, kMaxRecordBatch, 1800000, numbering, 1790000000);
    for (const auto& b : batches) {
      benchmark::DoNotOptimize(record_batch_resp(b, args, ScriptCall::kEvalSha));
    }
  }
  state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK(BM_WholeEventPath);

// The spool path with Redis down: each spilled event framed into its repo's open
// record as it comes (spool::Spiller), the records closed into the write buffer (what
// the worker does per spilled event, before the buffered write). The argument is the
// number of repos the events alternate between.
void BM_SpoolEncode(benchmark::State& state) {
  const auto repos = static_cast<int>(state.range(0));
  BatchNumbering numbering([]() -> std::uint64_t { return 42; }, 1LL << 40);
  const IdentityKey k = bench_key();
  std::vector<Event> made;
  for (int i = 0; i < 4096; ++i) {
    Event e;
    e.repo = RepoRef{RepoType::kModel, "demo", "model-" + std::to_string(i % repos)};
    e.identity_hex = derive_identity(k, {.client_addr = "10.0.0." + std::to_string(i % 256)}).hex;
    e.day = 20000;
    e.time_ms = 1790000000000 + i;
    e.path = "config.json";
    made.push_back(std::move(e));
  }
  spool::Spiller spiller(kMaxRecordBatch, 1024);
  std::string buf;
  for (auto _ : state) {
    buf.clear();
    for (const Event& e : made) spiller.add(e, 0, numbering, 1790000000, buf);
    spiller.close_all(buf);
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetItemsProcessed(state.iterations() * 4096);
  state.counters["bytes_per_event"] = static_cast<double>(buf.size()) / 4096;
}
BENCHMARK(BM_SpoolEncode)->Arg(1)->Arg(8)->Arg(64)->Arg(1000);

}  // namespace

BENCHMARK_MAIN();
