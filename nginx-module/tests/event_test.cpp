#include "record/batch_id.h"
#include "record/event.h"
#include "record/commands.h"
#include "record/group_batches.h"
#include "record/key_cache.h"
#include "record/resp.h"

#include <gtest/gtest.h>

#include "hubstats/contract/keys.h"
#include "hubstats/contract/scripts.h"

using namespace hubstats;
using namespace hubstats::module;

TEST(EventCommands, DirtyAddsTheRepoTagsToTheirShard) {
  const Command c = dirty_command(3, {"dataset/ns/data", "model/a/b"});
  const Command want{"SADD", "hs:{dirty:3}", "dataset/ns/data", "model/a/b"};
  EXPECT_EQ(c, want);
}

TEST(EventCommands, DirtyRespsGroupTagsPerShardOnce) {
  const Day d = days_from_civil(2025, 1, 15);
  std::vector<RepoDayKeys> ks;
  for (const char* name : {"a", "b", "c", "d", "e", "f", "g", "h"}) {
    ks.push_back(RepoDayKeys::of(RepoRef{RepoType::kModel, "ns", name}, d));
  }
  ks.push_back(RepoDayKeys::of(RepoRef{RepoType::kModel, "ns", "a"}, d + 1));  // a, another day
  std::vector<const RepoDayKeys*> ptrs;
  for (const auto& k : ks) ptrs.push_back(&k);
  const std::vector<std::string> got = dirty_resps(ptrs);
  // Expected: per shard in shard order, tags in first-seen order, "model/ns/a" once.
  std::vector<std::string> want;
  for (int shard = 0; shard < keys::kDirtyShards; ++shard) {
    std::vector<std::string> tags;
    for (std::size_t i = 0; i + 1 < ks.size(); ++i) {
      if (ks[i].dirty_shard == shard) tags.push_back(ks[i].tag);
    }
    if (!tags.empty()) want.push_back(to_resp(dirty_command(shard, tags)));
  }
  EXPECT_EQ(got, want);
  EXPECT_LT(got.size(), ks.size());
  EXPECT_EQ(ks[0].dirty_shard, keys::dirty_shard("model/ns/a"));
}

TEST(EventCommands, ScriptLoadsTheScriptTheModuleSends) {
  const auto loads = script_load_commands();
  ASSERT_EQ(loads.size(), 1u);
  EXPECT_EQ(loads[0], (Command{"SCRIPT", "LOAD", std::string(scripts::kRecordBatch)}));
}

TEST(EventCommands, RespEncodingMatchesTheArgvCommands) {
  EXPECT_EQ(to_resp(Command{"GET", "k"}), "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
  EXPECT_EQ(to_resp(Command{""}), "*1\r\n$0\r\n\r\n");
}

namespace {
Event ev(std::string_view name, Day d, std::string id, bool auth = false,
         std::int64_t time_ms = 1736942412345) {
  Event e;
  e.repo = RepoRef{RepoType::kModel, "ns", std::string(name)};
  e.identity_hex.assign(id);
  e.authenticated = auth;
  e.day = d;
  e.time_ms = time_ms;
  return e;
}

std::uint64_t fixed_random() {
  return 0xabcdef0123456789ULL;
}
}  // namespace

TEST(EventCommands, RecordBatchCommandAndResp) {
  const Day d = days_from_civil(2025, 1, 15);
  // 2025-01-15T12:00:12.345Z: bucket 347388482 of 5 s; the third event 2 s later.
  std::vector<Event> events{ev("m", d, "aa", true), ev("m", d, "bb"),
                            ev("m", d, "aa", false, 1736942414345)};
  events[0].path = "model.safetensors";
  events[0].family = 'b';  // transformers
  events[1].path = "sub/dir/f.bin";
  events[1].family = 'm';  // bot
  events[1].bot = true;
  events[2].path = "(git)";
  events[2].family = 'f';  // git
  const RecordSettings s{5000, 7200, 50};
  const BatchId id{"6787a38c0000002a", 17};
  const Command c = record_batch_command(events, s, id, ScriptCall::kEvalSha);
  const Command want{"EVALSHA",
                     scripts::sha1_hex(scripts::kRecordBatch),
                     "8",
                     "hs:{model/ns/m}:d:20250115",
                     "hs:{model/ns/m}:days",
                     "hs:{model/ns/m}:s:5000:347388482",
                     "hs:{model/ns/m}:s:5000:347388481",
                     "hs:{model/ns/m}:b",
                     "hs:{model/ns/m}:p:20250115",
                     "hs:{model/ns/m}:c:20250115",
                     "hs:{model/ns/m}:x:20250115",
                     "5000",
                     "7200",
                     "20250115",
                     "6787a38c0000002a",
                     "17",
                     "A\"c",  // transformers authenticated, bot, git anonymous
                     "1",     // one bot
                     "50",
                     std::to_string(scripts::kCompactLogBytes),
                     "aa",
                     "bb",
                     "aa",
                     "1736942412345",
                     "1736942412345",
                     "1736942414345",
                     "ftransformers\t1\nfbot\t1\nfgit\t1\npmodel.safetensors\t1\np(git)\t1\n"};
  EXPECT_EQ(c, want);
  const RecordBatch b{std::make_shared<RepoDayKeys>(RepoDayKeys::of(events[0].repo, d)), events, id,
                      347388482};
  const RecordArgs a(s);
  for (ScriptCall how : {ScriptCall::kEvalSha, ScriptCall::kEval}) {
    EXPECT_EQ(record_batch_resp(b, a, how), to_resp(record_batch_command(events, s, id, how)));
  }
  EXPECT_EQ(record_batch_command(events, s, id, ScriptCall::kEval)[1], scripts::kRecordBatch);
  // Ten-plus events: multi-digit counts in the RESP header; a time before 1970 floors
  // to a negative bucket.
  std::vector<Event> many;
  for (int i = 0; i < 120; ++i) many.push_back(ev("m", d, std::to_string(i), i % 3 == 0, -1));
  const RecordBatch big{b.keys, many, BatchId{"", 0}, -1};
  EXPECT_EQ(record_batch_resp(big, a, ScriptCall::kEvalSha),
            to_resp(record_batch_command(many, s, BatchId{"", 0}, ScriptCall::kEvalSha)));
  EXPECT_EQ(record_batch_command(many, s, BatchId{}, ScriptCall::kEvalSha)[5],
            "hs:{model/ns/m}:s:5000:-1");
}

TEST(EventBatches, StreamIdsAndNumbering) {
  EXPECT_EQ(stream_id(0x6787a38c, 0x2a), "6787a38c0000002a");
  BatchNumbering n(fixed_random, 100);
  const BatchId a = n.next(1000);
  EXPECT_EQ(a.stream, stream_id(1000, 0x23456789));
  EXPECT_EQ(a.seq, 1u);
  EXPECT_EQ(n.next(1099).seq, 2u);
  // Half a retention later: a new stream, numbered from 1 again.
  const BatchId c = n.next(1100);
  EXPECT_EQ(c.stream, stream_id(1100, 0x23456789));
  EXPECT_EQ(c.seq, 1u);
  // A clock that steps back also starts a new stream (its creation time stays true).
  EXPECT_EQ(n.next(900).stream, stream_id(900, 0x23456789));
}

TEST(EventBatches, SplitsWhereTheSessionBucketChanges) {
  const Day d = days_from_civil(2025, 1, 15);
  const std::int64_t w = 1000;
  std::deque<Event> q{ev("a", d, "1", false, 5000), ev("a", d, "2", false, 5999),
                      ev("a", d, "3", false, 6000), ev("b", d, "4", false, 6500),
                      ev("a", d, "5", false, 6001)};
  KeyCache cache;
  BatchNumbering n(fixed_random, 100);
  const auto batches = group_batches(q, q.size(), cache, 256, w, n, 50);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].bucket, 5);
  EXPECT_EQ(batches[0].events.size(), 2u);
  EXPECT_EQ(batches[1].bucket, 6);
  EXPECT_EQ(batches[1].events.size(), 2u);  // "3" and "5"
  EXPECT_EQ(batches[2].keys->tag, "model/ns/b");
  // Numbered in the order opened, in one stream.
  EXPECT_EQ(batches[0].id.seq, 1u);
  EXPECT_EQ(batches[1].id.seq, 2u);
  EXPECT_EQ(batches[2].id.seq, 3u);
  EXPECT_EQ(batches[0].id.stream, batches[2].id.stream);
}

TEST(EventBatches, GroupsPerRepoAndDayKeepingEachReposOrder) {
  const Day d1 = days_from_civil(2025, 1, 15);
  const Day d2 = d1 + 1;
  std::deque<Event> q{ev("a", d1, "1"), ev("b", d1, "2"), ev("a", d1, "3"), ev("a", d2, "4"),
                      ev("b", d1, "5"), ev("a", d1, "6"), ev("c", d1, "7")};
  KeyCache cache;
  BatchNumbering n(fixed_random, 100);
  const auto batches = group_batches(q, 6, cache, 256, 60000, n, 42);
  ASSERT_EQ(q.size(), 1u);  // only `count` events are taken
  EXPECT_EQ(q.front().identity_hex, "7");
  auto ids = [](const RecordBatch& b) {
    std::string s;
    for (const Event& e : b.events) s += e.identity_hex.view();
    return s;
  };
  ASSERT_EQ(batches.size(), 4u);
  // a@d1 [1,3], b@d1 [2,5], a@d2 [4], a@d1 again [6]: a's day changed in between.
  EXPECT_EQ(ids(batches[0]), "13");
  EXPECT_EQ(batches[0].keys->day, "hs:{model/ns/a}:d:20250115");
  EXPECT_EQ(ids(batches[1]), "25");
  EXPECT_EQ(batches[1].keys->tag, "model/ns/b");
  EXPECT_EQ(ids(batches[2]), "4");
  EXPECT_EQ(batches[2].keys->day, "hs:{model/ns/a}:d:20250116");
  EXPECT_EQ(ids(batches[3]), "6");
  // One keys object per (repo, day), shared through the cache.
  EXPECT_EQ(batches[0].keys, batches[3].keys);
  EXPECT_EQ(cache.size(), 3u);
}

TEST(EventBatches, SplitsAtTheBatchLimit) {
  const Day d = days_from_civil(2025, 1, 15);
  std::deque<Event> q;
  for (int i = 0; i < 7; ++i) q.push_back(ev("a", d, std::to_string(i)));
  KeyCache cache;
  BatchNumbering n(fixed_random, 100);
  const auto batches = group_batches(q, 100, cache, 3, 60000, n, 42);
  EXPECT_TRUE(q.empty());
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].events.size(), 3u);
  EXPECT_EQ(batches[1].events.size(), 3u);
  EXPECT_EQ(batches[2].events.size(), 1u);
  EXPECT_EQ(batches[2].events[0].identity_hex, "6");
}

TEST(EventBatches, KeyCacheStartsOverWhenFull) {
  KeyCache cache(2);
  const Day d = days_from_civil(2025, 1, 15);
  auto a = cache.get(RepoRef{RepoType::kModel, "ns", "a"}, d);
  EXPECT_EQ(cache.get(RepoRef{RepoType::kModel, "ns", "a"}, d), a);
  EXPECT_NE(cache.get(RepoRef{RepoType::kDataset, "ns", "a"}, d), a);
  EXPECT_EQ(cache.size(), 2u);
  cache.get(RepoRef{RepoType::kModel, "ns", "c"}, d);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.get(RepoRef{RepoType::kModel, "ns", "c"}, d)->tag, "model/ns/c");
}

TEST(EventBatches, RegroupedSpoolBatchKeepsItsIdKeysAndBucket) {
  const Day d = days_from_civil(2025, 1, 15);
  KeyCache cache;
  const RecordBatch b =
      regroup(BatchId{"00000001000000ff", 7},
              {ev("a", d, "1", false, 6500), ev("a", d, "2", false, 6900)}, cache, 1000);
  EXPECT_EQ(b.id.stream, "00000001000000ff");
  EXPECT_EQ(b.id.seq, 7u);
  EXPECT_EQ(b.bucket, 6);
  EXPECT_EQ(b.keys->tag, "model/ns/a");
  EXPECT_EQ(b.keys, cache.get(b.events.front().repo, d));
  EXPECT_EQ(b.events.size(), 2u);
}

TEST(Event, ClientFamilyLetterAndBotsApart) {
  Event e;
  set_client(e, ClientFamily::kHuggingfaceHub, true);
  EXPECT_EQ(e.family, 'a');
  EXPECT_FALSE(e.bot);
  set_client(e, ClientFamily::kOther, true);
  EXPECT_EQ(e.family, 'n');
  EXPECT_FALSE(e.bot);
  set_client(e, ClientFamily::kBot, true);
  EXPECT_EQ(e.family, 'm');
  EXPECT_TRUE(e.bot);
  // hubstats_bots count: a bot is counted as a person, under its own family.
  set_client(e, ClientFamily::kBot, false);
  EXPECT_EQ(e.family, 'm');
  EXPECT_FALSE(e.bot);
}
