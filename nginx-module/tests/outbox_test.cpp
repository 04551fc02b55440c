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
