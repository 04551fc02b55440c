#include "record/spool_spiller.h"

#include <gtest/gtest.h>

#include "record/spool_format.h"

using namespace hubstats;
using namespace hubstats::module;
using namespace hubstats::module::spool;

namespace {

std::uint64_t fixed_random() {
  return 0x2a;
}

Event ev(std::string name, int n, Day day = 20000) {
  Event e;
  e.repo = RepoRef{RepoType::kModel, "org", std::move(name)};
  e.identity_hex.assign("00112233445566" + std::to_string(10 + n % 90));
  e.authenticated = n % 2 == 0;
  e.day = day;
  e.time_ms = 1790000000000 + n;
  e.path = "file" + std::to_string(n) + ".bin";
  e.family = static_cast<char>('a' + n % 5);
  e.bot = n % 3 == 0;
  return e;
}

// (repo name, time_ms) of every decoded event, record by record.
std::vector<std::vector<std::pair<std::string, std::int64_t>>> records_of(const std::string& out) {
  const Decoded d = decode_records(out);
  EXPECT_EQ(d.status, ReadStatus::kOk);
  EXPECT_EQ(d.consumed, out.size());
  std::vector<std::vector<std::pair<std::string, std::int64_t>>> r;
  for (const SpooledBatch& b : d.batches) {
    r.emplace_back();
    for (const Event& e : b.events) r.back().emplace_back(e.repo.name, e.time_ms);
  }
  return r;
}

}  // namespace

// The spiller's record is the record append_record writes for the same batch: spool
// files read the same whichever way their records were built.
TEST(SpoolSpiller, BuildsTheRecordAppendRecordWrites) {
  BatchNumbering ids(fixed_random, 1 << 30);
  Spiller s(256, 4);
  std::string out;
  std::vector<Event> events;
  std::size_t bytes = 0;
  for (int i = 0; i < 5; ++i) {
    events.push_back(ev("a", i));
    const auto added = s.add(events.back(), 7, ids, 1790000000, out);
    EXPECT_LE(added.bytes, bytes_at_most(events.back()));
    if (i == 0) {
      EXPECT_EQ(added.bytes, bytes_at_most(events.back()));  // the bound is tight
    }
    EXPECT_EQ(added.closed, 0u);
    bytes += added.bytes;
  }
  EXPECT_TRUE(out.empty());  // nothing is framed before the record closes
  EXPECT_EQ(s.events(), 5u);
  EXPECT_EQ(s.close_all(out), 5u);
  EXPECT_EQ(s.events(), 0u);
  EXPECT_EQ(bytes, out.size());  // the bytes reported are the bytes written

  BatchNumbering same(fixed_random, 1 << 30);
  std::string expected;
  append_record(expected, same.next(1790000000), events);
  EXPECT_EQ(out, expected);
  const Decoded d = decode_records(out);
  ASSERT_EQ(d.batches.size(), 1u);
  ASSERT_EQ(d.batches[0].events.size(), 5u);
  EXPECT_EQ(d.batches[0].events[3].path, "file3.bin");
  EXPECT_EQ(d.batches[0].events[3].bot, true);
  EXPECT_EQ(d.batches[0].events[4].family, 'e');
}

TEST(SpoolSpiller, InterleavedReposGetOneRecordEachInOrder) {
  BatchNumbering ids(fixed_random, 1 << 30);
  Spiller s(256, 4);
  std::string out;
  for (int i = 0; i < 6; ++i) s.add(ev(i % 2 ? "b" : "a", i), 0, ids, 1790000000, out);
  s.close_all(out);
  const auto r = records_of(out);
  ASSERT_EQ(r.size(), 2u);
  const std::vector<std::pair<std::string, std::int64_t>> a = {
      {"a", 1790000000000}, {"a", 1790000000002}, {"a", 1790000000004}};
  EXPECT_EQ(r[0], a);
  EXPECT_EQ(r[1].size(), 3u);
}

// A repo's next day or session bucket closes its open record first, so its records
// replay in its events' order; so does a full record.
TEST(SpoolSpiller, ARepoRecordClosesOnANewDayBucketOrWhenFull) {
  BatchNumbering ids(fixed_random, 1 << 30);
  Spiller s(3, 4);
  std::string out;
  EXPECT_EQ(s.add(ev("a", 1, 20000), 5, ids, 1790000000, out).closed, 0u);
  EXPECT_EQ(s.add(ev("a", 2, 20000), 6, ids, 1790000000, out).closed, 1u);  // new bucket
  EXPECT_EQ(s.add(ev("a", 3, 20001), 6, ids, 1790000000, out).closed, 1u);  // new day
  EXPECT_EQ(s.add(ev("a", 4, 20001), 6, ids, 1790000000, out).closed, 0u);
  EXPECT_EQ(s.add(ev("a", 5, 20001), 6, ids, 1790000000, out).closed, 0u);
  EXPECT_EQ(s.add(ev("a", 6, 20001), 6, ids, 1790000000, out).closed, 3u);  // was full
  s.close_all(out);
  const Decoded d = decode_records(out);
  ASSERT_EQ(d.batches.size(), 4u);
  std::vector<std::size_t> sizes;
  std::vector<std::uint64_t> seqs;
  std::vector<std::int64_t> times;
  for (const auto& b : d.batches) {
    sizes.push_back(b.events.size());
    seqs.push_back(b.id.seq);
    for (const Event& e : b.events) times.push_back(e.time_ms - 1790000000000);
  }
  EXPECT_EQ(sizes, (std::vector<std::size_t>{1, 1, 3, 1}));
  EXPECT_EQ(seqs, (std::vector<std::uint64_t>{1, 2, 3, 4}));  // a new id per record
  EXPECT_EQ(times, (std::vector<std::int64_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(d.batches[2].events[0].day, 20001);
}

TEST(SpoolSpiller, ANewRepoWithEverySlotTakenClosesThemAll) {
  BatchNumbering ids(fixed_random, 1 << 30);
  Spiller s(256, 2);
  std::string out;
  s.add(ev("a", 1), 0, ids, 1790000000, out);
  s.add(ev("b", 2), 0, ids, 1790000000, out);
  s.add(ev("a", 3), 0, ids, 1790000000, out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(s.add(ev("c", 4), 0, ids, 1790000000, out).closed, 3u);
  EXPECT_EQ(records_of(out),
            (decltype(records_of(out)){{{"a", 1790000000001}, {"a", 1790000000003}},
                                       {{"b", 1790000000002}}}));
  EXPECT_EQ(s.events(), 1u);
  s.add(ev("a", 5), 0, ids, 1790000000, out);  // a's next record comes after the first
  EXPECT_EQ(s.discard(), 2u);
  EXPECT_EQ(s.events(), 0u);
  EXPECT_EQ(s.bytes(), 0u);
  std::string none;
  EXPECT_EQ(s.close_all(none), 0u);
  EXPECT_TRUE(none.empty());
}
