#include "record/outbox.h"

#include <gtest/gtest.h>

#include <memory>

using namespace hubstats::module;

namespace {

std::shared_ptr<RecordBatch> batch_of(std::size_t n, std::uint64_t seq) {
  auto b = std::make_shared<RecordBatch>();
  b->events.resize(n);
  b->id = BatchId{"0000000100000002", seq};
  return b;
}

}  // namespace

TEST(Outbox, CountsEventsUntilDoneAndKeepsOrder) {
  Outbox box;
  auto a = box.add(batch_of(3, 1), false);
  auto b = box.add(batch_of(2, 2), false);
  auto r = box.add(batch_of(4, 1), true);
  EXPECT_EQ(box.events(), 5u);
  EXPECT_EQ(box.replay_events(), 4u);
  // b done before a: it stays behind a until a is done too.
  box.finish(*b);
  EXPECT_EQ(box.batches().size(), 3u);
  EXPECT_EQ(box.events(), 3u);
  box.finish(*a);
  EXPECT_EQ(box.batches().size(), 1u);
  EXPECT_EQ(box.batches().front(), r);
  box.finish(*a);  // twice is once
  EXPECT_EQ(box.events(), 0u);
  EXPECT_EQ(box.replay_events(), 4u);
}

TEST(Outbox, AppliedThenMarkedIsDoneAndCountedOnce) {
  Outbox box;
  Counters c;
  auto o = box.add(batch_of(3, 1), false);
  o->state = Outgoing::State::kSent;
  EXPECT_TRUE(box.record_reply(*o, 2, c));
  EXPECT_EQ(o->state, Outgoing::State::kRecorded);
  EXPECT_EQ(c.sent, 3u);
  EXPECT_EQ(c.new_sessions, 2u);
  // The connection broke before the mark's reply: resent, applied before (-1).
  box.requeue();
  EXPECT_EQ(o->state, Outgoing::State::kQueued);
  o->state = Outgoing::State::kSent;
  EXPECT_TRUE(box.record_reply(*o, -1, c));
  EXPECT_EQ(c.sent, 3u);
  EXPECT_EQ(c.new_sessions, 2u);
  box.marked({o});
  EXPECT_EQ(o->state, Outgoing::State::kDone);
  EXPECT_TRUE(box.batches().empty());
}

TEST(Outbox, ReplayedBatchesCountAsReplayed) {
  Outbox box;
  Counters c;
  auto o = box.add(batch_of(4, 9), true);
  o->state = Outgoing::State::kSent;
  EXPECT_TRUE(box.record_reply(*o, 0, c));
  EXPECT_EQ(c.replayed, 4u);
  EXPECT_EQ(c.sent, 0u);
}

TEST(Outbox, AnythingElseRejectsTheBatch) {
  for (const std::optional<long long> reply :
       {std::optional<long long>(), std::optional<long long>(-2), std::optional<long long>(4)}) {
    Outbox box;
    Counters c;
    auto o = box.add(batch_of(3, 1), false);
    o->state = Outgoing::State::kSent;
    EXPECT_FALSE(box.record_reply(*o, reply, c));
    EXPECT_EQ(o->state, Outgoing::State::kDone);
    EXPECT_EQ(c.failed, 3u);
    EXPECT_EQ(c.sent, 0u);
    EXPECT_EQ(box.events(), 0u);
  }
}

TEST(Outbox, MarkFinishesOnlyRecordedBatches) {
  Outbox box;
  Counters c;
  auto a = box.add(batch_of(1, 1), false);
  auto b = box.add(batch_of(1, 2), false);
  a->state = b->state = Outgoing::State::kSent;
  EXPECT_TRUE(box.record_reply(*a, 1, c));
  box.marked({a, b});  // b's record reply has not come
  EXPECT_EQ(a->state, Outgoing::State::kDone);
  EXPECT_EQ(b->state, Outgoing::State::kSent);
}

TEST(Outbox, UnfinishedOwnLeavesOutReplayedAndDone) {
  Outbox box;
  auto a = box.add(batch_of(1, 1), false);
  box.add(batch_of(1, 1), true);
  auto c = box.add(batch_of(1, 2), false);
  auto d = box.add(batch_of(1, 3), false);
  box.finish(*c);
  const auto left = box.unfinished_own();
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0], a);
  EXPECT_EQ(left[1], d);
}

TEST(Outbox, FinalFlushCountsKnownOutcomesAndReturnsTheUnknown) {
  Outbox box;
  Counters c;
  auto applied = box.add(batch_of(2, 1), false);
  auto rejected = box.add(batch_of(3, 2), false);
  auto unknown = box.add(batch_of(4, 3), false);
  auto counted = box.add(batch_of(5, 4), false);
  counted->counted = true;  // its record reply came before the connection closed
  FlushResult fr;
  fr.new_sessions = 1;
  fr.outcomes = {Delivery::kApplied, Delivery::kRejected, Delivery::kUnknown, Delivery::kApplied};
  const auto left = box.final_flushed({applied, rejected, unknown, counted}, fr, c);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0], unknown);
  EXPECT_EQ(c.sent, 2u);
  EXPECT_EQ(c.failed, 3u);
  EXPECT_EQ(c.new_sessions, 1u);
  EXPECT_EQ(unknown->state, Outgoing::State::kQueued);
  EXPECT_EQ(box.events(), 4u);
}

namespace {

// A batch of repo `tag`, day `day`, session bucket `bucket`, events numbered from t0.
std::shared_ptr<RecordBatch> repo_batch(const std::string& tag, const std::string& day,
                                        std::int64_t bucket, int n, int t0, std::uint64_t seq) {
  auto b = batch_of(0, seq);
  b->keys = std::make_shared<RepoDayKeys>();
  b->keys->tag = tag;
  b->keys->day = day;
  b->bucket = bucket;
  for (int i = 0; i < n; ++i) {
    Event e;
    e.time_ms = t0 + i;
    b->events.push_back(e);
  }
  return b;
}

std::vector<std::int64_t> times(const RecordBatch& b) {
  std::vector<std::int64_t> t;
  for (const Event& e : b.events) t.push_back(e.time_ms);
  return t;
}

}  // namespace

TEST(Outbox, AbsorbTakesTheRepoNeverSentBatchesInOrder) {
  Outbox box;
  auto a1 = box.add(repo_batch("m/a/x", "d1", 7, 2, 0, 1), false);
  auto b1 = box.add(repo_batch("m/b/y", "d1", 7, 3, 100, 2), false);
  auto a2 = box.add(repo_batch("m/a/x", "d1", 7, 2, 2, 3), false);
  auto a3 = box.add(repo_batch("m/a/x", "d1", 7, 1, 4, 4), false);
  EXPECT_EQ(box.absorb(a1, 256), 3u);
  EXPECT_EQ(times(*a1->batch), (std::vector<std::int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(a2->state, Outgoing::State::kDone);
  EXPECT_EQ(a3->state, Outgoing::State::kDone);
  EXPECT_EQ(b1->state, Outgoing::State::kQueued);  // another repo: untouched
  EXPECT_EQ(box.events(), 8u);                     // the totals stand
  box.finish(*a1);
  box.finish(*b1);
  EXPECT_EQ(box.events(), 0u);
  EXPECT_TRUE(box.batches().empty());
}

TEST(Outbox, AbsorbStopsAtTheRepoFirstBatchItCannotTake) {
  Outbox box;
  auto a1 = box.add(repo_batch("m/a/x", "d1", 7, 2, 0, 1), false);
  auto next_bucket = box.add(repo_batch("m/a/x", "d1", 8, 1, 2, 2), false);
  auto a3 = box.add(repo_batch("m/a/x", "d1", 7, 1, 3, 3), false);
  EXPECT_EQ(box.absorb(a1, 256), 0u);  // a3 must not pass next_bucket
  EXPECT_EQ(a3->state, Outgoing::State::kQueued);

  auto sent = box.add(repo_batch("m/c/z", "d1", 7, 1, 0, 4), false);
  auto c2 = box.add(repo_batch("m/c/z", "d1", 7, 1, 1, 5), false);
  sent->sent_once = true;  // its id went out: it may be applied as it is
  EXPECT_EQ(box.absorb(sent, 256), 0u);
  EXPECT_EQ(box.absorb(c2, 256), 0u);  // nothing after it

  auto r1 = box.add(repo_batch("m/d/w", "d1", 7, 1, 0, 6), false);
  auto replayed = box.add(repo_batch("m/d/w", "d1", 7, 1, 1, 7), true);
  EXPECT_EQ(box.absorb(r1, 256), 0u);  // a spool file's batch keeps its id
  EXPECT_EQ(replayed->state, Outgoing::State::kQueued);

  auto e1 = box.add(repo_batch("m/e/v", "d1", 7, 200, 0, 8), false);
  auto e2 = box.add(repo_batch("m/e/v", "d1", 7, 100, 200, 9), false);
  EXPECT_EQ(box.absorb(e1, 256), 0u);  // would pass the cap
  EXPECT_EQ(e2->state, Outgoing::State::kQueued);
}
